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
