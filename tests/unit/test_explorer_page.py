"""The household explorer's callbacks called as plain functions, on SQLite and PostgreSQL."""

from __future__ import annotations

import contextvars
import io

import pandas as pd
import pytest
from dash._callback_context import context_value
from dash._utils import AttributeDict

from components import ids
from tests.unit.test_explorer import home  # noqa: F401 - the fixture, shared
from tests.unit.test_overview_page import kpi_text


def _triggered(prop_id: str, fn, *args):
    """Call callback ``fn`` as if ``prop_id`` (``"component.prop"``) had triggered it."""
    def run():
        context_value.set(AttributeDict(triggered_inputs=[{"prop_id": prop_id, "value": None}]))
        return fn(*args)
    return contextvars.copy_context().run(run)


def _csv(payload: dict) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(payload["content"]))


def test_main_callback_draws_kpis_flows_and_sankey_for_one_day(dash_app, home):  # noqa: F811
    from pages.household import update_explorer

    cards, flows, sankey, note = update_explorer("2025-06-03", "2025-06-03", "auto", "energy", "none", "dark", home)
    assert kpi_text(cards, "household-kpi-load_kwh") == "24.0 kWh"
    assert kpi_text(cards, "household-kpi-self_consumption") == "67 %"
    assert kpi_text(cards, "household-kpi-self_sufficiency") == "33 %"
    assert kpi_text(cards, "household-kpi-energy_cost") == "4.40 EUR"
    bars = {t.name: t for t in flows.data}
    assert set(bars) == {"PV → home", "Battery → home", "Grid → home", "PV → battery", "PV → grid"}
    assert len(bars["PV → home"].x) == 96  # one day at 15 minutes
    assert str(bars["PV → home"].x[40]).startswith("2025-06-03")  # local wall time on the axis
    assert min(bars["PV → grid"].y) < 0 < max(bars["Grid → home"].y)  # away from the home drawn below zero
    assert flows.layout.template.layout.font.color == "#dee2e6"  # dark mode reaches the figure
    assert sorted(sankey.data[0].link.value) == pytest.approx([4.0, 4.0, 4.0, 4.0, 16.0])
    assert "15-minute steps (auto)" in note[0] and "Europe/Berlin" in note[0]


def test_kpi_cards_show_the_change_against_the_previous_period(dash_app, home):  # noqa: F811
    from pages.household import update_explorer

    cards, _flows, _sankey, note = update_explorer("2025-06-03", "2025-06-03", "auto", "power", "previous", "light",
                                                   home)
    assert "compared with 2 Jun 2025" in note[0]
    assert kpi_text(cards, "household-kpi-import_kwh-change") == "▼ 33 % vs previous"  # 16 kWh after 24 kWh
    assert kpi_text(cards, "household-kpi-load_kwh-change") == "± 0 % vs previous"
    assert kpi_text(cards, "household-kpi-pv_kwh-change") == "▲ from 0 vs previous"
    assert kpi_text(cards, "household-kpi-self_sufficiency-change") == "▲ 33 pp vs previous"
    assert kpi_text(cards, "household-kpi-energy_cost-change") == "▼ 2.80 EUR vs previous"  # 4.40 after 7.20


def test_a_resolution_that_draws_too_many_points_is_refused_with_a_note(dash_app, home):  # noqa: F811
    from pages.household import update_explorer

    _cards, flows, _sankey, note = update_explorer("2025-01-01", "2025-12-31", "15min", "energy", "none", "light",
                                                   home)
    assert "daily steps (chosen)" in note[0]
    refusal = note[1]
    assert refusal.id == f"{ids.HOUSEHOLD_NOTE}-refused" and "31 days or fewer" in refusal.children
    assert all(len(t.x) == 2 for t in flows.data)  # the two days with data, per day


def test_main_callback_without_a_period_or_household_says_what_to_do(dash_app, db_url):
    from pages.household import update_explorer

    cards, flows, _sankey, note = update_explorer(None, "2025-06-03", "auto", "energy", "none", "light", 1)
    assert cards == [] and note == "Choose a period."
    _cards, flows, _sankey, note = update_explorer("2025-06-03", "2025-06-03", "auto", "energy", "none", "light", 404)
    assert "no household with id 404" in note
    assert flows.layout.annotations[0].text == "Household not found"


def test_comparison_card_shows_overlaid_curves_only_when_comparing(dash_app, home):  # noqa: F811
    from pages.household import HIDDEN, update_comparison

    figure, style = update_comparison("2025-06-03", "2025-06-03", "auto", "energy", "previous", "light", home)
    assert style == {}
    names = [t.name for t in figure.data]
    assert names == ["Consumption, 3 Jun 2025", "Consumption, 2 Jun 2025", "PV, 3 Jun 2025"]  # no PV on 2 June
    assert figure.data[0].x[0] == figure.data[1].x[0]  # the earlier day drawn over the chosen one
    assert update_comparison("2025-06-03", "2025-06-03", "auto", "energy", "none", "light", home)[1] == HIDDEN


def test_heatmap_and_cost_callbacks(dash_app, home):  # noqa: F811
    from pages.household import update_cost, update_heatmap

    heatmap = update_heatmap("2025-06-02", "2025-06-03", "dark", home)
    assert heatmap.data[0].z.shape == (2, 24)
    figure, note = update_cost("2025-06-02", "2025-06-03", "auto", "light", home)
    assert [t.name for t in figure.data] == ["Import cost", "Feed-in revenue", "Net cost so far"]
    assert figure.data[2].y[-1] == pytest.approx(11.60)  # 7.20 + 4.40: the running net cost ends at the total
    assert note == "Tariff “Flat 30”: import 12.00 EUR, feed-in 0.40 EUR, net 11.60 EUR over the period."


def test_csv_downloads_carry_the_data_behind_each_chart(dash_app, home):  # noqa: F811
    from pages.household import download_csv

    states = ("2025-06-02", "2025-06-03", "hour", "power", "previous", home)
    clicks = [None] * len(ids.HOUSEHOLD_CSV_CHARTS)

    def download(chart: str) -> pd.DataFrame:
        out = _triggered(f"{ids.household_csv_button(chart)}.n_clicks", download_csv, *clicks, *states)
        sent = [o for o in out if isinstance(o, dict)]
        assert len(sent) == 1 and out[ids.HOUSEHOLD_CSV_CHARTS.index(chart)] is sent[0]
        assert sent[0]["filename"] == f"household-{home}-{chart}-2025-06-02-2025-06-03.csv"
        return _csv(sent[0])

    flows = download("flows")
    assert len(flows) == 48 and flows["start_local"][0] == "2025-06-02T00:00:00+02:00"
    assert flows["load_kw"].tolist() == pytest.approx([1.0] * 48)  # the kW view, as on screen
    assert flows["grid_to_home_kw"].sum() == pytest.approx(24 + 16)  # kW over one-hour steps = kWh
    sankey = download("sankey").set_index("flow")
    assert sankey.loc["grid_to_home", "kwh"] == pytest.approx(40.0) and sankey.loc["pv_to_grid", "to"] == "Grid"
    kpi = download("kpis").set_index("kpi")
    assert kpi.loc["Energy cost", "value"] == pytest.approx(11.60) and kpi.loc["Energy cost", "unit"] == "EUR"
    assert "compared_value" in kpi.columns
    assert download("heatmap").shape == (2, 25)
    cost = download("cost")
    assert cost["net_cost_eur"].sum() == pytest.approx(11.60)
    comparison = download("comparison")
    assert {"load_kw", "load_compared_kw", "pv_kw", "pv_compared_kw"} <= set(comparison.columns)


def test_preset_and_days_follow_each_other(dash_app, home):  # noqa: F811
    from pages.household import layout, sync_period

    info = {"first": "2025-06-02", "last": "2025-06-03", "today": "2026-11-26"}
    assert _triggered(f"{ids.HOUSEHOLD_PRESET}.value", sync_period, "yesterday", "x", "x", info)[1:] == (
        "2025-06-02", "2025-06-02")
    assert _triggered(f"{ids.HOUSEHOLD_RANGE}.start_date", sync_period, "yesterday", "2025-06-03", "2025-06-03",
                      info)[0] == "today"
    assert _triggered(f"{ids.HOUSEHOLD_RANGE}.end_date", sync_period, "today", "2025-06-02", "2025-06-02",
                      info)[0] == "yesterday"
    page = str(layout(household_id=str(home)))
    assert "Explorer home" in page and "/forecast?household=" in page and "/optimize?household=" in page


def test_household_layouts_for_unknown_ids_and_homes_without_data(dash_app, db_url):
    from pages.household import layout
    from services.store.db import session_scope
    from tests.factories import add_household

    assert "Household not found" in str(layout(household_id="999"))
    assert "Household not found" in str(layout(household_id="abc"))
    with session_scope() as s:
        empty = add_household(s, "No meters yet").id
    page = str(layout(household_id=str(empty)))
    assert "No readings yet" in page and "What-if" not in page  # no battery: nothing to schedule
