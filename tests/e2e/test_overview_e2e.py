"""The overview (/) with the demo portfolio: KPIs with real values, the energy chart, and a
household table whose names lead to each household's page."""

from __future__ import annotations

import re

from components import ids
from tests.e2e.harness import goto, household_ids, screenshot, wait_for_dash_idle

FIRST_ROW_LINK = f"#{ids.OVERVIEW_TABLE} .ag-row[row-index='0'] a[href^='/household/']"


def _open_overview(server, page):
    goto(page, server.url + "/")
    page.locator(FIRST_ROW_LINK).wait_for()  # the grid renders its rows after the callback


def test_overview_shows_kpis_chart_and_every_household(demo_server, page):
    _open_overview(demo_server, page)

    values = page.locator(f"#{ids.OVERVIEW_KPIS} .kpi-value").all_inner_texts()
    assert len(values) >= 4, f"expected the portfolio KPIs, found {values}"
    for value in values:
        # "—" means no data, "0 kWh" means none summed: the demo portfolio has both PV and load.
        assert re.search(r"[1-9]", value), f"a KPI shows no value: {values}"

    traces = page.evaluate(
        f"() => (document.querySelector('#{ids.OVERVIEW_TREND} .js-plotly-plot') || {{}}).data?.length || 0")
    assert traces > 0, "the energy chart has no data"

    rows = page.locator(f"#{ids.OVERVIEW_TABLE} .ag-center-cols-container .ag-row")
    assert rows.count() == len(household_ids(demo_server.database_url))
    assert page.locator(f"#{ids.OVERVIEW_PERIOD_NOTE}").inner_text().strip()
    screenshot(page, "light-overview-demo")


def test_first_household_in_the_table_links_to_its_page(demo_server, page):
    _open_overview(demo_server, page)
    link = page.locator(FIRST_ROW_LINK)
    name = link.inner_text().strip()
    href = link.get_attribute("href")
    household_id = int(href.rsplit("/", 1)[-1])
    assert household_id in household_ids(demo_server.database_url)

    link.click()
    page.wait_for_url(f"{demo_server.url}/household/{household_id}")
    wait_for_dash_idle(page)
    content = page.locator("#_pages_content")
    assert "Page not found" not in content.inner_text()
    assert name in content.inner_text(), f"the household page does not name {name!r}"
    screenshot(page, "light-household-from-overview")


# --- portfolio views: ranking, filter, map, alerts, downloads -----------------------------------------

TABLE = f"#{ids.OVERVIEW_TABLE}"
#: The rows the grid shows, in order (after its filter and sort), from AG Grid's own API: columns to
#: the right are not in the DOM (AG Grid draws only the visible ones).
SHOWN_ROWS_JS = """(grid) => { const api = dash_ag_grid.getApi(grid); const rows = [];
  api.forEachNodeAfterFilterAndSort(n => rows.push(n.data)); return rows; }"""


def _shown_rows(page) -> list[dict]:
    return page.evaluate(SHOWN_ROWS_JS, ids.OVERVIEW_TABLE)


def _pv_household_count(server) -> int:
    import sqlalchemy as sa

    from services.store.db import get_engine

    with get_engine(server.database_url).connect() as conn:
        return conn.execute(sa.text("SELECT COUNT(DISTINCT household_id) FROM pv_systems")).scalar_one()


def test_rank_filter_and_search_the_households(demo_server, page):
    _open_overview(demo_server, page)
    total = len(household_ids(demo_server.database_url))

    page.select_option(f"#{ids.OVERVIEW_RANK_BY}", "energy_cost")
    page.select_option(f"#{ids.OVERVIEW_RANK_ORDER}", "asc")
    page.locator(f"#{ids.OVERVIEW_TABLE_NOTE}", has_text="ranked by Energy cost, lowest first").wait_for()
    wait_for_dash_idle(page)
    rows = _shown_rows(page)
    costs = [r["energy_cost"] for r in rows]
    assert len(rows) == total and costs == sorted(costs) and [r["rank"] for r in rows] == list(range(1, total + 1))
    assert page.locator(f"{TABLE} .ag-row[row-index='0'] [col-id='rank']").inner_text() == "1"

    page.select_option(f"#{ids.OVERVIEW_FILTER}", "has_pv")
    page.locator(f"#{ids.OVERVIEW_TABLE_NOTE}", has_text=f"of {total} households").wait_for()
    wait_for_dash_idle(page)
    with_pv = _shown_rows(page)
    assert len(with_pv) == _pv_household_count(demo_server) and all(r["pv_kwp"] > 0 for r in with_pv)

    page.select_option(f"#{ids.OVERVIEW_FILTER}", "all")
    wait_for_dash_idle(page)
    search = page.locator(f"#{ids.OVERVIEW_SEARCH}")
    search.fill("Gruber")
    search.press("Enter")  # debounced: applied on Enter or when the box loses focus
    page.wait_for_function(f"() => ({SHOWN_ROWS_JS})('{ids.OVERVIEW_TABLE}').length === 1")
    assert "Gruber" in _shown_rows(page)[0]["name"]
    screenshot(page, "light-overview-ranked")


def test_rank_by_is_operable_with_the_keyboard(demo_server, page):
    _open_overview(demo_server, page)
    rank_by = page.locator(f"#{ids.OVERVIEW_RANK_BY}")
    rank_by.focus()
    before = rank_by.input_value()
    page.keyboard.press("ArrowDown")  # a native select changes its value with the arrow keys
    page.locator(f"#{ids.OVERVIEW_TABLE_NOTE}", has_text="ranked by").wait_for()
    wait_for_dash_idle(page)
    assert rank_by.input_value() != before
    label = page.locator(f"#{ids.OVERVIEW_RANK_BY} option:checked").inner_text()
    assert label.split(" [")[0] in page.locator(f"#{ids.OVERVIEW_TABLE_NOTE}").inner_text()


def test_map_draws_offline_and_a_marker_opens_the_household(demo_server, page, problems):
    outlines = []
    page.on("request", lambda r: outlines.append(r.url) if "topojson" in r.url else None)
    _open_overview(demo_server, page)
    page.locator(f"#{ids.OVERVIEW_MAP} .geo .layer.land path[d]").wait_for()  # the outlines are drawn
    assert outlines and all(u.startswith(demo_server.url + "/assets/topojson/") for u in outlines), outlines
    assert not problems.external_requests  # nothing went to cdn.plot.ly (the recorder would fail the test too)

    markers = page.locator(f"#{ids.OVERVIEW_MAP} .scattergeo path.point")
    assert markers.count() == len(household_ids(demo_server.database_url))
    page.select_option(f"#{ids.OVERVIEW_MAP_KPI}", "energy_cost")
    page.locator(f"#{ids.OVERVIEW_MAP} .gtitle", has_text="Energy cost by household").wait_for()

    markers.first.scroll_into_view_if_needed()  # the mouse only reaches what is in the viewport
    box = markers.first.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    # The app changes its URL in place (no page load): wait for the path, then for the page.
    page.wait_for_function("() => /^\\/household\\/\\d+$/.test(location.pathname)")
    wait_for_dash_idle(page)
    assert "Page not found" not in page.locator("#_pages_content").inner_text()


def test_alerts_name_the_underperforming_pv_and_link_to_its_household(demo_server, page):
    _open_overview(demo_server, page)
    link = page.locator(f"#{ids.OVERVIEW_ALERTS} a[href^='/household/']", has_text="Gruber")
    link.wait_for(timeout=60_000)  # filled with the data-quality card, after the KPIs
    alerts = page.locator(f"#{ids.OVERVIEW_ALERTS}").inner_text()
    assert "High" in alerts and "What to do:" in alerts and "PV at" in alerts
    href = link.get_attribute("href")

    link.click()
    page.wait_for_url(demo_server.url + href)
    wait_for_dash_idle(page)
    assert "Gruber" in page.locator("#_pages_content").inner_text()


def test_table_and_chart_csv_downloads(demo_server, page):
    _open_overview(demo_server, page)
    total = len(household_ids(demo_server.database_url))

    with page.expect_download() as table_download:
        page.locator(f"#{ids.csv_button_id(ids.OVERVIEW_TABLE)}").click()
    lines = table_download.value.path().read_text().splitlines()
    assert table_download.value.suggested_filename == "households.csv"
    assert lines[0].startswith("#,Household,Site,Time zone,PV kWp") and len(lines) == 1 + total
    assert "](/household/" not in "".join(lines)  # names, not markdown links

    with page.expect_download() as trend_download:
        page.locator(f"#{ids.csv_button_id(ids.OVERVIEW_TREND)}").click()
    trend = trend_download.value.path().read_text().splitlines()
    assert trend[0].startswith("day,load_kwh,pv_kwh,import_kwh,export_kwh") and len(trend) == 1 + 30

    page.locator(f"#{ids.OVERVIEW_ALERTS} .overview-alert").first.wait_for(timeout=60_000)
    with page.expect_download() as alerts_download:
        page.locator(f"#{ids.csv_button_id(ids.OVERVIEW_ALERTS)}").click()
    alerts = alerts_download.value.path().read_text().splitlines()
    assert alerts[0].startswith("household_id,household,severity,kind") and len(alerts) >= 2


def test_overview_reads_on_a_phone_without_sideways_scrolling(demo_server, new_page):
    page = new_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, color_scheme="dark")
    _open_overview(demo_server, page)
    page.locator(f"#{ids.OVERVIEW_MAP} .geo .layer.land path[d]").wait_for()
    widths = page.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1], f"the overview scrolls sideways on a phone: {widths}"
    land = page.evaluate(f"() => document.querySelector('#{ids.OVERVIEW_MAP} .js-plotly-plot')._fullLayout.geo.landcolor")
    assert land == "#343a40"  # the map follows dark mode
    screenshot(page, "phone-dark-overview-demo")
