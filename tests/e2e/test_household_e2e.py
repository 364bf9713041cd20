"""The household explorer in a real browser over the small demo portfolio (60 days to 29 June
2026): a person picks a period and a resolution, compares with the previous period, and
downloads the data behind a chart."""

from __future__ import annotations

import csv
import io
import re

from components import ids
from tests.e2e.harness import goto, household_ids, screenshot, wait_for_dash_idle

NOTE = f"#{ids.HOUSEHOLD_NOTE}"


def _open(server, page) -> int:
    household_id = household_ids(server.database_url)[0]
    goto(page, f"{server.url}/household/{household_id}")
    page.locator(f"#{ids.HOUSEHOLD_FLOWS} .js-plotly-plot").wait_for()
    return household_id


def _choose_preset(page, label: str) -> None:
    page.locator(f"#{ids.HOUSEHOLD_PRESET}").click()
    page.get_by_role("option", name=label, exact=True).click()
    wait_for_dash_idle(page)


def _radio(control_id: str, value: str) -> str:
    return f"#{control_id} input[value='{value}']"


def _choose(page, control_id: str, value: str) -> None:
    """Click the toggle button (the label) of one option of a segmented control."""
    option = page.locator(_radio(control_id, value))
    page.locator(f"label[for='{option.get_attribute('id')}']").click()
    wait_for_dash_idle(page)


def _trace_lengths(page, graph_id: str) -> dict[str, int]:
    return page.evaluate(
        f"() => Object.fromEntries((document.querySelector('#{graph_id} .js-plotly-plot').data || [])"
        ".map(t => [t.name, t.x.length]))")


def test_pick_a_period_and_a_resolution_then_compare_with_the_previous_period(demo_server, page):
    _open(demo_server, page)
    assert "23 Jun – 29 Jun 2026" in page.locator(NOTE).inner_text()  # last 7 days of data by default

    _choose_preset(page, "Last month")
    assert page.locator(f"#{ids.HOUSEHOLD_RANGE}").input_value() == "2026-05-01"
    assert "1 May – 31 May 2026 · 31 days · hourly steps (auto)" in page.locator(NOTE).inner_text()
    _choose(page, ids.HOUSEHOLD_RESOLUTION, "day")
    assert "daily steps (chosen)" in page.locator(NOTE).inner_text()
    lengths = _trace_lengths(page, ids.HOUSEHOLD_FLOWS)
    assert lengths and set(lengths.values()) == {31}, lengths  # one bar per day of May

    # Keyboard only: the kW view is a radio input reached with Tab and chosen with Space.
    page.focus(_radio(ids.HOUSEHOLD_VIEW, "power"))
    page.keyboard.press("Space")
    wait_for_dash_idle(page)
    y_title = page.evaluate(f"() => document.querySelector('#{ids.HOUSEHOLD_FLOWS} .js-plotly-plot')"
                            "._fullLayout.yaxis.title.text")
    assert y_title == "kW"

    _choose_preset(page, "Last 7 days")
    _choose(page, ids.HOUSEHOLD_COMPARE, "previous")
    card = page.locator(f"#{ids.HOUSEHOLD_COMPARISON_CARD}")
    assert card.is_visible()
    names = list(_trace_lengths(page, ids.HOUSEHOLD_COMPARISON))
    assert "Consumption, 23 Jun – 29 Jun 2026" in names and "Consumption, 16 Jun – 22 Jun 2026" in names, names
    assert "compared with 16 Jun – 22 Jun 2026" in page.locator(NOTE).inner_text()
    change = page.locator("#household-kpi-load_kwh-change").inner_text()
    assert re.fullmatch(r"[▲▼±] \d+ % vs previous", change), change
    screenshot(page, "light-household-explorer-compare")

    _choose(page, ids.HOUSEHOLD_COMPARE, "none")
    card.wait_for(state="hidden")


def test_download_the_flows_behind_the_chart_as_csv(demo_server, page):
    household_id = _open(demo_server, page)
    _choose(page, ids.HOUSEHOLD_RESOLUTION, "day")
    consumption = page.locator("#household-kpi-load_kwh").inner_text()  # "110 kWh" (7 days)

    with page.expect_download() as download_info:
        page.locator(f"#{ids.household_csv_button('flows')}").click()
    download = download_info.value
    assert download.suggested_filename == f"household-{household_id}-flows-2026-06-23-2026-06-29.csv"
    rows = list(csv.DictReader(io.StringIO(open(download.path(), encoding="utf-8").read())))
    assert [r["start_local"][:10] for r in rows] == [f"2026-06-{d}" for d in range(23, 30)]
    assert {"load_kwh", "pv_to_home_kwh", "grid_to_home_kwh", "battery_to_home_kwh"} <= set(rows[0])
    total = sum(float(r["load_kwh"]) for r in rows)
    shown = float(re.sub(r"[^\d.]", "", consumption))
    assert abs(total - shown) <= 0.5 + 0.01 * shown, (total, consumption)  # the card rounds
    for r in rows:  # the split adds up to consumption on every row
        parts = float(r["pv_to_home_kwh"]) + float(r["grid_to_home_kwh"]) + float(r["battery_to_home_kwh"])
        assert abs(parts - float(r["load_kwh"])) < 1e-4  # the CSV keeps 6 significant digits


def test_explorer_at_phone_size_in_dark_mode(demo_server, new_page):
    page = new_page(viewport={"width": 390, "height": 844}, color_scheme="dark", is_mobile=True, has_touch=True)
    _open(demo_server, page)
    widths = page.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1], f"the explorer scrolls sideways on a phone: {widths}"
    fonts = page.evaluate("() => Array.from(document.querySelectorAll('.js-plotly-plot'))"
                          ".filter(gd => gd._fullLayout).map(gd => gd._fullLayout.font.color)")
    assert fonts and all(color == "#dee2e6" for color in fonts), fonts  # every figure in dark colours
    screenshot(page, "phone-dark-household-explorer")

