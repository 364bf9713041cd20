"""The What-if page's callbacks called as plain functions, against a real store on each backend."""

from __future__ import annotations

import numpy as np
import pytest
import sqlalchemy as sa

from components import ids
from services.store.db import session_scope
from services.store.models import OptimizationRun
from tests.dash_tree import find
from tests.optimize_helpers import add_battery_home


@pytest.fixture
def page(dash_app):
    import pages.optimize as page

    return page


def soc_trace(figure) -> np.ndarray:
    data = figure.to_plotly_json()["data"] if hasattr(figure, "to_plotly_json") else figure["data"]
    assert data[0]["name"] == "Stored energy (optimized)"
    return np.asarray(data[0]["y"], dtype=float)


def patched(patch, location: list) -> list:
    """The value a Patch assigns at ``location`` (e.g. ``["data", 0, "y"]``)."""
    for op in patch.to_plotly_json()["operations"]:
        if op["operation"] == "Assign" and op["location"] == location:
            return op["params"]["value"]
    raise AssertionError(f"the patch does not assign {location}")


def home_inputs(page, **settings):
    """The household chosen in the page: slider values from its battery, base inputs from the store."""
    home = add_battery_home(days=15)
    tariff, capacity, power, efficiency, export, periods, period = page.choose_household(str(home))
    base, soc, alert, alert_open = page.load_inputs(str(home), tariff, None)
    assert alert_open is False and base is not None
    sliders = {"capacity": capacity, "power": power, "efficiency": efficiency, "soc": soc, "pv_scale": 1.0,
               "export_limit": export, "horizon": 24}
    sliders.update(settings)
    return home, base, sliders


def whatif(page, base, sliders, drawn=None, theme="light"):
    return page.run_whatif(base, sliders["capacity"], sliders["power"], sliders["efficiency"], sliders["soc"],
                           sliders["pv_scale"], sliders["export_limit"], sliders["horizon"], theme, drawn)


def test_without_a_battery_household_the_page_says_how_to_add_one(db_url, page):
    add_battery_home(battery=None, readings=False)
    layout = page.layout()
    assert "No household with a battery" in str(layout) and "Households page" in str(layout)
    assert find(layout, ids.OPTIMIZE_CAPACITY) is None


def test_sliders_follow_the_drag_and_start_at_the_stored_battery(db_url, page):
    home, base, sliders = home_inputs(page)
    layout = page.layout()
    for slider_id in page.SLIDERS:
        assert find(layout, slider_id).updatemode == "drag"
    assert find(layout, ids.OPTIMIZE_HOUSEHOLD).value == str(home)
    assert (sliders["capacity"], sliders["power"], sliders["efficiency"]) == (10.0, 5.0, 95)
    assert sliders["soc"] == 65  # the measured 6.5 kWh of 10 kWh
    assert sliders["export_limit"] == page.EXPORT_NO_LIMIT  # no stored export limit
    assert len(base["load_kw"]) == 4 * page.HORIZON_MAX_H


def tariff_of(household_id: int) -> int:
    from services.households import get_household
    return get_household(household_id).tariff_id


def test_a_household_in_the_query_string_is_preselected_and_a_stranger_is_not(db_url, page):
    first = add_battery_home(readings=False, name="First Battery Home")
    second = add_battery_home(readings=False, name="Second Battery Home", tariff_id=tariff_of(first))
    assert find(page.layout(household=str(second)), ids.OPTIMIZE_HOUSEHOLD).value == str(second)
    assert find(page.layout(household="99999"), ids.OPTIMIZE_HOUSEHOLD).value == str(first)
    assert find(page.layout(), ids.OPTIMIZE_HOUSEHOLD).value == str(first)


def test_moving_capacity_changes_the_soc_trace(db_url, page):
    home, base, sliders = home_inputs(page)
    big = whatif(page, base, sliders)
    small = whatif(page, base, dict(sliders, capacity=2.0))
    soc_big, soc_small = soc_trace(big[0]), soc_trace(small[0])
    assert len(soc_big) == 96
    assert soc_small.max() <= 2.0 + 1e-9 < soc_big.max()  # the surplus at noon fills more of the big one
    assert big[-1] == small[-1] and big[-1].startswith(f"{home}|")  # what the browser now shows
    saved_vs_rule = next(v for c in big[2] if (v := find(c, "optimize-kpi-saved-rule")) is not None)
    assert float(saved_vs_rule.children[0]) >= 0  # never worse than the simple rule
    assert "server time" in big[4] and big[6] is False


def test_while_the_figures_stay_only_their_values_are_sent(db_url, page):
    home, base, sliders = home_inputs(page)
    first = whatif(page, base, sliders)
    moved = whatif(page, base, dict(sliders, capacity=3.0), drawn=first[-1])
    full = whatif(page, base, dict(sliders, capacity=3.0))
    assert hasattr(moved[0], "to_plotly_json") and "operations" in moved[0].to_plotly_json()
    np.testing.assert_allclose(patched(moved[0], ["data", 0, "y"]), soc_trace(full[0]))
    assert patched(moved[1], ["data", 0, "x"]) == list(full[1].to_plotly_json()["data"][0]["x"])
    # A new horizon or theme redraws the figures.
    assert soc_trace(whatif(page, base, dict(sliders, horizon=12), drawn=first[-1])[0]).size == 48
    assert "template" in whatif(page, base, sliders, drawn=first[-1], theme="dark")[0].to_plotly_json()["layout"]


def test_kpis_and_sources_describe_the_schedule(db_url, page):
    home, base, sliders = home_inputs(page)
    out = whatif(page, base, sliders)
    kpis = str(out[2])
    for label in ("Saved vs no battery", "Saved vs simple rule", "Import avoided", "Self-consumption",
                  "Self-sufficiency", "Full cycles"):
        assert label in kpis
    source = str(out[3])
    assert "fallback: profile of the last 7 days" in source and "Battery Home" in source
    assert "readings stop at" in source  # the test readings end in June 2026


def test_no_inputs_show_why_instead_of_a_chart(db_url, page):
    home = add_battery_home(readings=False)
    base, soc, alert, alert_open = page.load_inputs(str(home), None, None)
    assert base is None and alert_open is True and "no load readings" in alert
    out = page.run_whatif(None, 10, 5, 95, 50, 1, 15, 24, "light", None)
    assert "see the message above" in str(out[0].to_plotly_json()["layout"]["annotations"][0]["text"])


def test_saving_a_scenario_keeps_a_whatif_run(db_url, page):
    home, base, sliders = home_inputs(page)
    note = page.save_scenario(1, base, *[sliders[k] for k in ("capacity", "power", "efficiency", "soc", "pv_scale",
                                                               "export_limit", "horizon")])
    with session_scope() as session:
        run = session.scalars(sa.select(OptimizationRun)).one()
    assert note == f"Saved as run {run.id}." and (run.household_id, run.kind) == (home, "whatif")


def test_backtest_and_sizing_jobs_report_progress_and_results(db_url, page):
    home, base, sliders = home_inputs(page)
    progress = []
    data = page.run_backtest(progress.append, 1, str(home), "2026-06-09|7")
    assert "error" not in data, data
    assert progress[-1][0] == 100 and len(data["daily"]["day"]) == 7
    assert data["perfect"] <= data["forecast"] + 1e-9 and data["perfect"] <= data["no_battery"] + 1e-9
    summary, figure, style = page.show_backtest(data, "light")
    assert "Forecast errors cost" in str(summary) and len(figure.to_plotly_json()["data"]) == 2
    assert "display" not in style and page.show_backtest(None, "light")[2]["display"] == "none"

    sizing = page.run_sizing(progress.append, 1, str(home), "2026-06-09|7", 500)
    capacities = [r["capacity_kwh"] for r in sizing["rows"]]
    assert capacities[0] == 0 and capacities[-1] == 20 and sizing["rows"][0]["savings"] == 0
    summary, figure, style = page.show_sizing(sizing, "light")
    assert "scaled to a year" in str(summary)
    assert "battery price" in str(page.run_sizing(progress.append, 1, str(home), "2026-06-09|7", None)).lower()


def test_period_options_are_months_with_a_week_of_data(page):
    from datetime import date

    options = page.period_options((date(2026, 5, 3), date(2026, 6, 29)))
    assert [o["label"] for o in options] == ["Last 30 days", "June 2026 (29 days)", "May 2026 (29 days)"]
    assert options[1]["value"] == "2026-06-01|29"
    assert page.period_options(None) == []
    assert [o["label"] for o in page.period_options((date(2026, 6, 25), date(2026, 6, 29)))] == []


def test_a_past_day_is_replayed_from_what_was_metered(db_url, page):
    home = add_battery_home(days=15)
    # The last metered day: no day after it, so the page falls back to that day alone.
    base, soc, alert, alert_open = page.load_inputs(str(home), None, "2026-06-16")
    assert alert_open is False and len(base["load_kw"]) == 96
    assert base["sources"]["summary"] == "perfect foresight: actuals"
    out = page.run_whatif(base, 10, 5, 95, soc, 1, page.EXPORT_NO_LIMIT, 48, "light", None)
    assert "Only 24 h of inputs" in str(out[3]) and len(soc_trace(out[0])) == 96
    base, soc, alert, alert_open = page.load_inputs(str(home), None, "2026-01-01")
    assert base is None and alert_open is True and "choose a day with complete meter data" in alert
