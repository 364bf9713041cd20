"""Screenshots for review: every page in Dash's page registry (whatever pages exist when the suite
runs), on the demo portfolio, in light and dark mode on a desktop and on a phone (390 x 844), taken
once every chart has drawn, into ``tests/e2e/screenshots/review-<variant>-<page>.png``.

Each is also checked: no error in the browser or the server (the ``problems`` recorder), every chart
drawn in the page's colour mode (a map with its outlines), and on a phone no sideways scrolling.
"""

from __future__ import annotations

import pytest

from tests.e2e.harness import goto, relative_luminance, screenshot, wait_for_dash_idle
from tests.e2e.test_shell import PAGE_IDS, PAGES, PHONE, _assert_no_horizontal_scroll, _first_household_id, _page_path

VARIANTS = {
    "light": {"color_scheme": "light"},
    "dark": {"color_scheme": "dark"},
    "phone-light": {"viewport": PHONE, "color_scheme": "light", "is_mobile": True, "has_touch": True},
    "phone-dark": {"viewport": PHONE, "color_scheme": "dark", "is_mobile": True, "has_touch": True},
}

#: Every visible chart has drawn (Plotly has laid it out; a map has its land outlines): the
#: text colour Plotly resolved for each, to compare with the colour mode.
_CHARTS_DRAWN_JS = """
() => {
  const plots = [...document.querySelectorAll('#_pages_content .js-plotly-plot')]
    .filter(gd => gd.offsetParent !== null);
  for (const gd of plots) {
    if (!gd._fullLayout || !gd.querySelector('.main-svg')) return false;
    if (gd.querySelector('.geo') && !gd.querySelector('.geo .layer.land path[d]')) return false;
  }
  return plots.map(gd => gd._fullLayout.font.color);
}
"""


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("page_info", PAGES, ids=PAGE_IDS)
def test_screenshot_of_every_page(demo_server, new_page, page_info, variant):
    page = new_page(**VARIANTS[variant])
    goto(page, demo_server.url + _page_path(page_info, _first_household_id(demo_server)))
    font_colors = page.wait_for_function(_CHARTS_DRAWN_JS).json_value()
    wait_for_dash_idle(page)  # slow cards (the overview's alerts) filled too

    shot = screenshot(page, f"review-{variant}-{page_info['module'].rsplit('.', 1)[-1]}")
    assert shot.stat().st_size > 5_000
    dark = variant.endswith("dark")
    assert page.evaluate("document.documentElement.getAttribute('data-bs-theme')") == ("dark" if dark else "light")
    for color in font_colors:
        assert (relative_luminance(color) > 0.5) if dark else (relative_luminance(color) < 0.3), \
            f"a chart on {page_info['path']} is not in {'dark' if dark else 'light'} mode (text {color})"
    if variant.startswith("phone"):
        _assert_no_horizontal_scroll(page)
