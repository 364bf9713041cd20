"""The app's shell in a real browser: every registered page loads cleanly in light mode, dark
mode and at phone size; the navbar collapses on phones; the theme toggle and the system
colour scheme drive Bootstrap and the Plotly figures; unknown URLs get the 404 page.

Each page load is checked by the ``problems`` recorder (conftest): a console error, a failed
request, an HTTP error or a request leaving 127.0.0.1 fails the test.
"""

from __future__ import annotations

import re

import pytest

from tests.e2e.harness import goto, low_contrast_texts, relative_luminance, screenshot, wait_for_dash_idle

PHONE = {"width": 390, "height": 844}


def _registered_pages() -> list[dict]:
    """Dash's page registry, as the app builds it (importing ``app`` registers the pages)."""
    import dash

    import app  # noqa: F401 - side effect: dash.page_registry is filled

    return sorted(dash.page_registry.values(), key=lambda p: (p.get("nav_order") is None, p["path"]))


PAGES = _registered_pages()
PAGE_IDS = [p["module"].rsplit(".", 1)[-1] for p in PAGES]


def _page_path(page_info: dict, household_id: int) -> str:
    """A concrete URL path for a registered page; path variables get a real household id
    (or the number given, for the empty database)."""
    template = page_info.get("path_template")
    if not template:
        return page_info["path"]
    return re.sub(r"<[^>]+>", str(household_id), template)


def _first_household_id(server) -> int:
    from tests.e2e.harness import household_ids

    found = household_ids(server.database_url)
    return found[0] if found else 1


def _figure_font_luminances(page) -> list[float]:
    """Luminance of the text colour Plotly resolved for each figure on the page (its template
    plus our layout), so that light text means a dark template."""
    colors = page.evaluate(
        """() => Array.from(document.querySelectorAll('.js-plotly-plot'))
                 .filter(gd => gd._fullLayout)
                 .map(gd => gd._fullLayout.font.color)"""
    )
    return [relative_luminance(c) for c in colors]


def _assert_theme(page, mode: str) -> None:
    """Bootstrap's colour mode, the page's colours and every Plotly figure agree on ``mode``."""
    assert page.evaluate("document.documentElement.getAttribute('data-bs-theme')") == mode
    body_bg = relative_luminance(page.evaluate("getComputedStyle(document.body).backgroundColor"))
    body_fg = relative_luminance(page.evaluate("getComputedStyle(document.body).color"))
    if mode == "dark":
        assert body_bg < 0.1 < 0.5 < body_fg, f"dark mode is not dark: bg {body_bg:.2f}, text {body_fg:.2f}"
    else:
        assert body_fg < 0.1 < 0.5 < body_bg, f"light mode is not light: bg {body_bg:.2f}, text {body_fg:.2f}"
    for luminance in _figure_font_luminances(page):
        if mode == "dark":
            assert luminance > 0.5, f"a figure kept dark text in dark mode (luminance {luminance:.2f})"
        else:
            assert luminance < 0.3, f"a figure kept light text in light mode (luminance {luminance:.2f})"


def _assert_page_rendered(page, page_info: dict) -> None:
    content = page.locator("#_pages_content")
    assert content.inner_text().strip(), f"{page_info['path']} rendered an empty page"
    title = page.title()
    if isinstance(page_info.get("title"), str):
        assert title == page_info["title"]
    else:  # a title computed from the path variables: at least it is the page's own
        assert title and title != "Energy Dashboard", f"{page_info['path']} has no title of its own"


def _assert_no_horizontal_scroll(page) -> None:
    widths = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1], f"the page scrolls sideways: {widths[0]} px of content in {widths[1]} px"


@pytest.mark.parametrize("page_info", PAGES, ids=PAGE_IDS)
@pytest.mark.parametrize("mode", ["light", "dark", "phone"])
def test_every_page_loads_cleanly(live_server, new_page, page_info, mode):
    """Each page renders with its own title and no error, in the colour mode of the system
    setting (a context in dark mode starts dark, without touching the toggle), readable, and
    on a phone without sideways scrolling and with the menu folded away."""
    if mode == "phone":
        page = new_page(viewport=PHONE, color_scheme="light", is_mobile=True, has_touch=True)
    else:
        page = new_page(color_scheme=mode)
    goto(page, live_server.url + _page_path(page_info, _first_household_id(live_server)))

    _assert_page_rendered(page, page_info)
    _assert_theme(page, "dark" if mode == "dark" else "light")
    screenshot(page, f"{mode}-{page_info['module'].rsplit('.', 1)[-1]}")
    _assert_navbar(page, folded=mode == "phone")
    if mode != "phone":
        assert page.locator("#shell-theme-toggle").inner_text() == ("Light mode" if mode == "dark" else "Dark mode")
    else:
        _assert_no_horizontal_scroll(page)
    _assert_readable(page)


def _assert_navbar(page, folded: bool) -> None:
    """Opaque (it is sticky: see-through, its links would sit on the charts scrolling under
    it); on a phone folded behind its toggler, on a desktop open."""
    background = page.evaluate("getComputedStyle(document.querySelector('nav.navbar')).backgroundColor")
    alpha = re.findall(r"[\d.]+", background)[3:4]
    assert not alpha or float(alpha[0]) == 1, f"the navbar's background is see-through: {background}"
    assert page.locator("#shell-navbar-toggler").is_visible() == folded
    assert page.locator("#shell-theme-toggle").is_visible() != folded
    links = page.locator("#shell-navbar-collapse .nav-link")
    assert links.count() >= 1
    assert links.first.is_visible() != folded


def _assert_readable(page) -> None:
    hard_to_read = low_contrast_texts(page)
    assert not hard_to_read, "text too faint to read (WCAG AA):\n" + "\n".join(map(str, hard_to_read))


@pytest.mark.parametrize("page_info", PAGES, ids=PAGE_IDS)
def test_every_page_has_an_empty_state(empty_server, page, page_info):
    """With nothing in the database (and an id that does not exist) each page still renders
    something a person can read, without errors."""
    goto(page, empty_server.url + _page_path(page_info, 1))
    assert page.locator("#_pages_content").inner_text().strip()
    screenshot(page, f"empty-{page_info['module'].rsplit('.', 1)[-1]}")
    _assert_readable(page)


def test_navbar_collapses_behind_a_toggler_on_a_phone(live_server, new_page):
    page = new_page(viewport=PHONE, is_mobile=True, has_touch=True)
    goto(page, live_server.url + "/404")  # the lightest page: the navbar is the same everywhere
    toggler = page.locator("#shell-navbar-toggler")
    menu = page.locator("#shell-navbar-collapse")
    theme_button = page.locator("#shell-theme-toggle")

    assert toggler.is_visible()
    assert not theme_button.is_visible(), "the menu should be folded away on a phone"

    toggler.click()
    page.locator("#shell-navbar-collapse.show").wait_for()  # opened, animation over
    assert menu.locator(".nav-link").first.is_visible()
    assert theme_button.is_visible()
    _assert_readable(page)
    screenshot(page, "phone-navbar-open")

    toggler.click()
    theme_button.wait_for(state="hidden")


def test_theme_toggle_switches_bootstrap_and_figures_and_is_remembered(live_server, page):
    goto(page, live_server.url + "/")
    assert _figure_font_luminances(page), "the overview draws no figure to check the Plotly template on"
    toggle = page.locator("#shell-theme-toggle")
    _assert_theme(page, "light")
    assert toggle.inner_text() == "Dark mode"

    toggle.click()
    page.wait_for_function("() => document.documentElement.getAttribute('data-bs-theme') === 'dark'")
    wait_for_dash_idle(page)  # figures are re-themed by server callbacks
    _assert_theme(page, "dark")
    assert toggle.inner_text() == "Light mode"
    page.mouse.move(640, 700)  # judge the button at rest, not in its hover colours
    _assert_readable(page)

    page.reload()
    wait_for_dash_idle(page)
    _assert_theme(page, "dark")  # the choice outlives a reload (localStorage)

    toggle.click()
    page.wait_for_function("() => document.documentElement.getAttribute('data-bs-theme') === 'light'")
    wait_for_dash_idle(page)
    _assert_theme(page, "light")


def test_unknown_url_shows_the_404_page_with_a_way_back(live_server, page):
    goto(page, live_server.url + "/no/such/page")
    assert page.locator("h1").first.inner_text() == "Page not found"
    assert page.title() == "Not found · Energy Dashboard"
    screenshot(page, "light-unknown-url")

    back = page.locator("#_pages_content a[href='/']")  # a link (styled as a button) home
    assert back.inner_text() == "Back to the overview"
    back.click()
    page.wait_for_url(live_server.url + "/")
    wait_for_dash_idle(page)
    assert page.locator("h1").first.inner_text() != "Page not found"
    overview = next(p for p in PAGES if p["path"] == "/")
    assert page.title() == overview["title"]


def test_every_page_has_a_title_of_its_own():
    titles = [p["title"] for p in PAGES if isinstance(p.get("title"), str)]
    assert all(t.strip() for t in titles)
    assert len(set(titles)) == len(titles), f"two pages share a title: {titles}"
