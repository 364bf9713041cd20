"""Component ids, one place for all of them, so ids never collide across pages.

Page-specific ids are prefixed with the page's name (``overview-``, ``households-``).
"""

# Shell
URL = "shell-url"
THEME_STORE = "shell-theme"
THEME_TOGGLE = "shell-theme-toggle"
NAVBAR_TOGGLER = "shell-navbar-toggler"
NAVBAR_COLLAPSE = "shell-navbar-collapse"
