"""Component ids, one place for all of them, so ids never collide across pages.

Page-specific ids are prefixed with the page's name (``overview-``, ``households-``).
"""

# Shell
URL = "shell-url"
THEME_STORE = "shell-theme"
THEME_TOGGLE = "shell-theme-toggle"
NAVBAR_TOGGLER = "shell-navbar-toggler"
NAVBAR_COLLAPSE = "shell-navbar-collapse"

# Overview (/)
OVERVIEW_PRESET = "overview-preset"
OVERVIEW_RANGE = "overview-range"
OVERVIEW_KPIS = "overview-kpis"
OVERVIEW_TABLE = "overview-table"
OVERVIEW_TREND = "overview-trend"
OVERVIEW_PERIOD_NOTE = "overview-period-note"
OVERVIEW_BODY = "overview-body"

# Household detail (/household/<id>)
HOUSEHOLD_RANGE = "household-range"
HOUSEHOLD_ID = "household-id"
HOUSEHOLD_KPIS = "household-kpis"
HOUSEHOLD_FLOWS = "household-flows"
