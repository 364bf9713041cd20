"""The What-if page (/optimize) in a real browser: dragging a slider re-optimizes the schedule and the
stored-energy chart follows; it fits a phone; without households it says how to add a battery."""

from __future__ import annotations

from components import ids
from tests.e2e.harness import goto, screenshot, wait_for_dash_idle

SCHEDULE = f"#{ids.OPTIMIZE_SCHEDULE} .js-plotly-plot"
SOC_Y = f"() => Array.from((document.querySelector('{SCHEDULE}') || {{data: [{{y: []}}]}}).data[0].y || [])"


def _open(server, page) -> list[float]:
    goto(page, server.url + "/optimize")
    page.wait_for_function(f"() => ({SOC_Y})().length === 96")
    wait_for_dash_idle(page)
    return page.evaluate(SOC_Y)


def _drag(page, slider_id: str, to_share: float) -> None:
    """Drag the thumb of ``slider_id`` to ``to_share`` (0..1) of its track, in small pointer moves."""
    thumb = page.locator(f"#{slider_id} [role='slider']")
    track = page.locator(f"#{slider_id} .dash-slider-track").bounding_box()
    box = thumb.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(track["x"] + to_share * track["width"], track["y"] + track["height"] / 2, steps=12)
    page.mouse.up()


def test_dragging_the_capacity_slider_changes_the_soc_chart(demo_server, page):
    before = _open(demo_server, page)
    capacity_before = float(page.locator(f"#{ids.OPTIMIZE_CAPACITY} [role='slider']").get_attribute("aria-valuenow"))
    assert "server time" in page.locator(f"#{ids.OPTIMIZE_TIMING}").inner_text()

    _drag(page, ids.OPTIMIZE_CAPACITY, 0.1)  # about 2 kWh of 0-20
    page.wait_for_function(f"(before) => JSON.stringify(({SOC_Y})()) !== JSON.stringify(before)", arg=before)
    wait_for_dash_idle(page)

    capacity = float(page.locator(f"#{ids.OPTIMIZE_CAPACITY} [role='slider']").get_attribute("aria-valuenow"))
    assert capacity < capacity_before
    after = page.evaluate(SOC_Y)
    assert len(after) == 96 and after != before
    assert max(after) <= capacity + 1e-6, "the stored energy exceeds the capacity on the slider"
    screenshot(page, "light-optimize")


def test_the_page_fits_a_phone(demo_server, new_page):
    page = new_page(viewport={"width": 390, "height": 844})
    _open(demo_server, page)
    overflow = page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the page is {overflow} px wider than a 390 px phone"
    screenshot(page, "phone-optimize")


def test_without_households_the_page_says_how_to_add_a_battery(empty_server, page):
    goto(page, empty_server.url + "/optimize")
    text = page.locator("#_pages_content").inner_text()
    assert "No household with a battery" in text and "Households page" in text
    screenshot(page, "empty-optimize")


def test_fleet_and_backtest_run_in_the_background_with_progress(demo_server, page):
    _open(demo_server, page)
    page.locator(f"#{ids.OPTIMIZE_FLEET_RUN}").click()
    summary = page.locator(f"#{ids.OPTIMIZE_FLEET_SUMMARY}")
    # The run shows in the Fleet runs list while it is planned, and its table once it is done.
    runs = page.locator(f"#{ids.OPTIMIZE_FLEET_RUNS} .ag-center-cols-container .ag-row")
    runs.first.wait_for(timeout=60_000)
    page.wait_for_function(f"() => /households planned(,|;)/.test(document.querySelector('#{ids.OPTIMIZE_FLEET_SUMMARY}')"
                           ".innerText) && !/^Planning/.test(document.querySelector("
                           f"'#{ids.OPTIMIZE_FLEET_SUMMARY}').innerText)", timeout=120_000)
    wait_for_dash_idle(page)
    text = summary.inner_text()
    planned, total = int(text.split(" of ")[0]), int(text.split(" of ")[1].split()[0])
    assert "against no battery" in text and planned > 0
    assert runs.count() == 1 and "done" in runs.first.inner_text()
    rows = page.locator(f"#{ids.OPTIMIZE_FLEET_GRID} .ag-center-cols-container .ag-row")
    shown = rows.count()
    assert shown == min(total, 10)  # one row per household with a battery, 10 to a page
    assert page.locator(f"#{ids.OPTIMIZE_FLEET_GRID} .ag-center-cols-container [col-id='status']").first.inner_text() \
        in ("planned", "failed")

    with page.expect_download() as download:
        page.locator(f"#{ids.csv_button_id(ids.OPTIMIZE_FLEET_GRID)}").click()
    assert download.value.suggested_filename == "fleet-run.csv"
    lines = download.value.path().read_text().splitlines()
    assert lines[0].startswith("Household,Status,Bill [") and "Why not" in lines[0]
    assert len(lines) == 1 + total
    assert sum(",planned," in line for line in lines[1:]) == planned
    screenshot(page, "light-optimize-fleet")

    page.locator(f"#{ids.OPTIMIZE_BACKTEST_RUN}").click()
    page.locator("#optimize-backtest-text").wait_for(timeout=60_000)
    text = page.locator("#optimize-backtest-text").inner_text()
    assert "with perfect foresight" in text and "Forecast errors cost" in text
    wait_for_dash_idle(page)
    assert page.locator(f"#{ids.OPTIMIZE_BACKTEST_RUN}").is_enabled()
    screenshot(page, "light-optimize-jobs")
