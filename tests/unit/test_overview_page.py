"""The overview's callbacks (and the household page's unknown-id case), called as plain functions on a real
store. The household explorer's own callbacks are tested in test_explorer_page.py."""

from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import dash
import pandas as pd
import pytest
from dash.exceptions import PreventUpdate

from services.energy.rollups import refresh_daily_energy
from services.store.db import session_scope
from services.store.models import DailyEnergy, Tariff
from tests.factories import add_household, add_series

START = datetime(2025, 6, 1, 22, 0, tzinfo=timezone.utc)  # 2 June 00:00 in Berlin


def kpi_text(component, card_id: str) -> str | None:
    """The text of the KPI value with id ``card_id`` somewhere in ``component`` (a tree of Dash components)."""
    if isinstance(component, (list, tuple)):
        return next((t for t in (kpi_text(c, card_id) for c in component) if t is not None), None)
    if getattr(component, "id", None) == card_id:
        return "".join(_texts(component.children))
    children = getattr(component, "children", None)
    return None if children is None or isinstance(children, str) else kpi_text(children, card_id)


def _texts(node):
    if isinstance(node, str):
        yield node
    elif isinstance(node, (list, tuple)):
        for child in node:
            yield from _texts(child)
    elif getattr(node, "children", None) is not None:
        yield from _texts(node.children)


@pytest.fixture
def two_homes(db_url):
    with session_scope() as s:
        flat = Tariff(name="Flat", kind="flat", import_price=0.30, export_price=0.10)
        a = add_household(s, "Alpha [east]", tariff=flat, kwp=5.0)
        b = add_household(s, "Beta", tariff=flat)
        add_series(s, a.id, "load", START, [0.25] * 192)  # two days
        add_series(s, a.id, "pv", START, ([0.0] * 40 + [0.5] * 16 + [0.0] * 40) * 2)
        add_series(s, a.id, "grid_import", START, ([0.25] * 40 + [0.0] * 16 + [0.25] * 40) * 2)
        add_series(s, a.id, "grid_export", START, ([0.0] * 40 + [0.25] * 16 + [0.0] * 40) * 2)
        add_series(s, b.id, "load", START, [0.5] * 192)
        add_series(s, b.id, "grid_import", START, [0.5] * 192)
        ids = (a.id, b.id)
    refresh_daily_energy(list(ids))
    return ids


def test_overview_callback_shows_kpis_table_and_figure(dash_app, two_homes):
    from pages.overview import update_overview, update_table

    cards, figure, note = update_overview("2025-06-02", "2025-06-03", "dark")
    assert kpi_text(cards, "overview-kpi-load_kwh") == "144 kWh"  # consumption: (24 + 48) kWh x 2 days
    assert kpi_text(cards, "overview-kpi-self_consumption") == "50 %"  # (8 - 4) / 8
    assert kpi_text(cards, "overview-kpi-energy_cost") == "40.00 EUR"  # 2 x (20 + 48) x 0.30 - 2 x 4 x 0.10
    assert figure.layout.template.layout.font.color == "#dee2e6"  # dark mode: light text
    assert [t.name for t in figure.data] == ["Consumption", "PV generation", "Grid import", "Grid export"]
    assert "2 days" in note and "2 households" in note
    # A new colour mode leaves the period note alone, so the data-quality checks that start from it do not re-run.
    assert update_overview("2025-06-02", "2025-06-03", "light", note)[2] is dash.no_update

    rows, reset, table_note = update_table("2025-06-02", "2025-06-03", "load_kwh", "desc", "all")
    assert len(rows) == 2 and reset is True and table_note.startswith("2 of 2 households")
    alpha = next(r for r in rows if "Alpha" in r["name"])
    assert alpha["name"] == f"[Alpha \\[east\\]](/household/{two_homes[0]})"
    assert alpha["load_kwh"] == pytest.approx(48.0)
    beta = next(r for r in rows if "Beta" in r["name"])
    assert beta["self_consumption"] is None  # no PV: shown as a dash, not 0 %


def test_overview_preset_sets_range_from_newest_data(dash_app, two_homes):
    from pages.overview import apply_preset

    assert apply_preset("last_7_days") == ("2025-06-02", "2025-06-03")  # clipped to the data


def test_overview_layout_on_an_empty_store_says_what_to_do(dash_app, db_url):
    from pages.overview import layout, update_overview

    assert "No energy data yet" in str(layout())
    cards, _figure, note = update_overview(None, None, "light")
    assert cards == [] and note == "No data yet."


def test_household_page_for_an_unknown_id_says_so(dash_app, db_url):
    from pages.household import layout

    assert "Household not found" in str(layout(household_id="999"))
    assert "Household not found" in str(layout(household_id="abc"))


# --- portfolio views: ranking, filter, map, monthly trends, alerts, downloads -------------------------

ALPHA_COST, BETA_COST = 2 * 20 * 0.30 - 2 * 4 * 0.10, 2 * 48 * 0.30  # 11.2 and 28.8 EUR


def _names(rows) -> list[str]:
    return [r["name"].split("](")[0].lstrip("[") for r in rows]


def test_table_ranks_by_any_kpi_within_the_whole_portfolio(dash_app, two_homes):
    from pages.overview import update_table

    rows, _reset, note = update_table("2025-06-02", "2025-06-03", "self_sufficiency", "desc", "all")
    assert _names(rows) == ["Alpha \\[east\\]", "Beta"] and [r["rank"] for r in rows] == [1, 2]
    assert rows[0]["self_sufficiency"] == pytest.approx(8 / 48)  # (48 - 40) / 48
    assert "ranked by Self-sufficiency, highest first" in note

    rows, _reset, note = update_table("2025-06-02", "2025-06-03", "energy_cost", "asc", "all")
    assert [r["energy_cost"] for r in rows] == pytest.approx([ALPHA_COST, BETA_COST]) and "lowest first" in note
    rows, *_ = update_table("2025-06-02", "2025-06-03", "energy_cost", "desc", "all")
    assert [r["rank"] for r in rows] == [1, 2] and _names(rows)[0] == "Beta"

    # PV yield [kWh/kWp]: Alpha's 2 x 8 kWh from 5 kWp; Beta has no PV, so no rank, and comes last either way.
    for order in ("desc", "asc"):
        rows, *_ = update_table("2025-06-02", "2025-06-03", "pv_yield_kwh_per_kwp", order, "all")
        assert rows[0]["pv_yield_kwh_per_kwp"] == pytest.approx(3.2) and rows[0]["rank"] == 1
        assert rows[1]["pv_yield_kwh_per_kwp"] is None and rows[1]["rank"] is None


def test_quick_filters_keep_the_portfolio_rank(dash_app, two_homes):
    from pages.overview import update_table

    def shown(quick_filter):
        rows, _reset, note = update_table("2025-06-02", "2025-06-03", "self_sufficiency", "desc", quick_filter)
        return [(name, r["rank"]) for name, r in zip(_names(rows), rows)], note

    assert shown("has_pv")[0] == [("Alpha \\[east\\]", 1)]
    assert shown("no_pv") == ([("Beta", 2)], shown("no_pv")[1]) and shown("no_pv")[1].startswith("1 of 2 households")
    assert shown("has_battery")[0] == [] and len(shown("no_battery")[0]) == 2
    assert len(shown("tz:Europe/Berlin")[0]) == 2 and shown("tz:Asia/Tokyo")[0] == []
    assert shown("pv_underperforming")[0] == []  # one PV household: nobody to compare it with

    rows, reset, note = update_table("2025-06-02", "2025-06-03", "self_sufficiency", "desc", "nonsense")
    assert rows is dash.no_update and reset is False and "unknown filter 'nonsense'" in note
    rows, _reset, note = update_table("2025-06-02", "2025-06-03", "bogus_kpi", "desc", "all")
    assert rows is dash.no_update and "cannot rank by 'bogus_kpi'" in note
    assert update_table(None, None, "load_kwh", "desc", "all")[0] == []


def test_household_section_comes_once_with_every_kpi_column_and_filter(dash_app, two_homes):
    from components import ids
    from pages.overview import show_households
    from tests.dash_tree import find

    section = show_households("note", None)
    grid = find(section, ids.OVERVIEW_TABLE)
    headers = [c["headerName"] for c in grid.columnDefs]
    for header in ("#", "Household", "PV yield kWh/kWp", "PV yield vs site median", "Self-sufficiency",
                   "Cost EUR", "Time zone", "Site"):
        assert header in headers
    assert all(c.get("sortable", True) for c in grid.columnDefs) and grid.defaultColDef["filter"] is True
    filters = {o["value"] for o in find(section, ids.OVERVIEW_FILTER).options}
    assert {"all", "pv_underperforming", "has_battery", "tz:Europe/Berlin"} <= filters
    assert find(section, ids.csv_button_id(ids.OVERVIEW_TABLE)) is not None
    with pytest.raises(PreventUpdate):  # a new period keeps the table and the choices made in it
        show_households("another note", section.to_plotly_json())


def test_table_csv_is_the_rows_as_shown_with_units_in_the_headers(dash_app, two_homes):
    from components.downloads import grid_frame, send_csv
    from components.overview_sections import household_columns
    from pages.overview import update_table
    from services.energy.kpi_definitions import KPI_DEFINITIONS

    rows, *_ = update_table("2025-06-02", "2025-06-03", "load_kwh", "asc", "all")
    rows[0]["tariff"] = "=HYPERLINK(evil)"
    frame = grid_frame(rows, household_columns("EUR", KPI_DEFINITIONS))
    assert list(frame["Household"]) == ["Alpha [east]", "Beta"]  # the link's text, brackets unescaped
    assert list(frame["Consumption kWh"]) == pytest.approx([48.0, 96.0])
    assert list(frame.columns[:2]) == ["#", "Household"]
    payload = send_csv(frame, "households.csv")
    assert payload["filename"] == "households.csv"
    assert "'=HYPERLINK(evil)" in payload["content"]  # a spreadsheet would have run it


def test_map_sizes_and_colours_households_by_a_kpi_offline(dash_app, two_homes):
    from pages.overview import update_map

    figure = update_map("2025-06-02", "2025-06-03", "pv_yield_kwh_per_kwp", "dark")
    valued, missing = figure.data
    assert valued.type == "scattergeo" and list(valued.customdata[:, 0]) == [two_homes[0]]
    assert list(valued.text) == ["Alpha [east]"] and valued.customdata[0, 1] == "3.2 kWh/kWp"
    assert list(missing.customdata[:, 0]) == [two_homes[1]] and missing.name == "no value"
    geo = figure.layout.geo
    assert (geo.scope, geo.resolution, geo.fitbounds) == ("europe", 110, "locations")  # europe_110m.json
    assert geo.landcolor == "#343a40"  # dark mode on the map too
    assert figure.layout.template.layout.font.color == "#dee2e6"

    cost = update_map("2025-06-02", "2025-06-03", "energy_cost", "light").data[0]
    assert list(cost.marker.color) == pytest.approx([ALPHA_COST, BETA_COST])
    assert cost.marker.size[1] > cost.marker.size[0]  # the larger cost, the larger marker
    assert "Choose" in update_map("2025-06-02", "2025-06-03", "nope", "light").layout.annotations[0].text


def test_map_outlines_are_served_by_the_app(dash_app, two_homes):
    from components import ids
    from components.figures.portfolio import map_scope
    from pages.overview import layout
    from tests.dash_tree import find

    graph = find(layout(), ids.OVERVIEW_MAP)
    assert graph.config["topojsonURL"] == "/assets/topojson/"
    assets = Path(__file__).resolve().parents[2] / "assets" / "topojson"
    for scope, resolution in (map_scope([52.5], [13.4]), map_scope([34.09, 52.5], [-117.43, 13.4])):
        assert (assets / f"{scope}_{resolution}m.json").stat().st_size > 10_000
    assert map_scope([34.09], [-117.43]) == ("world", 110)


def test_a_click_on_a_marker_opens_the_household(dash_app):
    from pages.overview import open_household_from_map

    assert open_household_from_map({"points": [{"customdata": [7, "1.6 kWh/kWp"]}]}) == "/household/7"
    for nothing in (None, {"points": []}, {"points": [{"lat": 1}]}):
        with pytest.raises(PreventUpdate):
            open_household_from_map(nothing)


@pytest.fixture
def thirteen_months(db_url):
    """One household with 10 kWh consumption, 5 kWh PV, 6 kWh import and 1 kWh export every day
    from 1 June 2024 to 10 June 2025."""
    with session_scope() as s:
        home = add_household(s, "Gamma", kwp=4.0)
        day, last = date(2024, 6, 1), date(2025, 6, 10)
        while day <= last:
            s.add(DailyEnergy(household_id=home.id, day=day, load_kwh=10.0, pv_kwh=5.0, import_kwh=6.0,
                              export_kwh=1.0, import_cost=1.8, export_revenue=0.1))
            day += timedelta(days=1)
    return home.id


def test_monthly_trends_this_year_against_last(dash_app, thirteen_months):
    from pages.overview import download_monthly, update_monthly

    figure = update_monthly("load_kwh", "light")
    last_year, this_year = figure.data
    assert (last_year.name, this_year.name) == ("2024", "2025")
    june_2024 = dict(zip(last_year.x, last_year.y))["Jun"]
    june_2025 = dict(zip(this_year.x, this_year.y))["Jun"]
    assert (june_2024, june_2025) == (300.0, 100.0)
    assert "partial: 10 of 30 days" in dict(zip(this_year.x, this_year.customdata))["Jun"]
    assert this_year.marker.pattern.shape[-1] == "/" and last_year.marker.pattern.shape[0] == ""
    assert list(figure.layout.xaxis.categoryarray[:3]) == ["Jan", "Feb", "Mar"]

    ratio = update_monthly("self_sufficiency", "dark")
    assert list(ratio.data[1].y) == pytest.approx([0.4] * 6) and ratio.layout.yaxis.tickformat == ".0%"
    assert "Choose" in update_monthly("nonsense", "light").layout.annotations[0].text

    csv = download_monthly(1)["content"].splitlines()
    assert len(csv) == 1 + 13 and csv[0].startswith("day,load_kwh,pv_kwh")


def test_trend_and_map_downloads_carry_the_period(dash_app, two_homes):
    from pages.overview import download_map, download_trend

    trend = download_trend(1, "2025-06-02", "2025-06-03")
    lines = trend["content"].splitlines()
    assert trend["filename"] == "portfolio-energy-2025-06-02-2025-06-03.csv"
    assert lines[0].startswith("day,load_kwh,pv_kwh") and len(lines) == 3 and lines[1].startswith("2025-06-02,72")
    places = download_map(1, "2025-06-02", "2025-06-03")["content"]
    assert "latitude" in places.splitlines()[0] and "pv_yield_kwh_per_kwp" in places.splitlines()[0]
    with pytest.raises(PreventUpdate):
        download_trend(1, None, "2025-06-03")


def test_alerts_list_links_each_household_and_says_what_to_do(dash_app):
    from components.overview_sections import MAX_ALERTS_SHOWN, alert_list
    from pages.overview import download_alerts
    from services.quality.alerts import ACTIONS, Alert, AlertReport

    alerts = [Alert(3, "Gruber", "high", "pv", "PV at 45% of the clear-sky expectation", "detail", ACTIONS["pv"],
                    datetime(2025, 6, 1, tzinfo=timezone.utc))]
    alerts += [Alert(10 + i, f"H{i}", "low", "spikes", "1 spike(s) in load", "d", ACTIONS["spikes"])
               for i in range(MAX_ALERTS_SHOWN)]
    shown = alert_list(alerts).to_plotly_json()
    text = str(shown)
    assert "'/household/3'" in text and "Gruber" in text and "What to do: " in text and ACTIONS["pv"] in text
    assert "1 more in the CSV." in text
    assert "No alerts for this period" in str(alert_list([]))

    rows = AlertReport(tuple(alerts), {}).frame()
    rows["start"] = rows["start"].astype(str)
    csv = download_alerts(1, rows.to_dict("records"))["content"].splitlines()
    assert csv[0].startswith("household_id,household,severity,kind,title,detail,action")
    assert len(csv) == 1 + len(alerts) and csv[1].startswith("3,Gruber,high,pv")
    with pytest.raises(PreventUpdate):
        download_alerts(1, None)


def test_quality_callback_fills_the_card_and_the_alerts_in_one_pass(dash_app, two_homes):
    from pages.overview import update_quality

    # Both hand-made load series repeat one value for two days: stuck meters, found by the card and alerted.
    card, alerts, rows = update_quality("2025-06-02", "2025-06-03", "a period note")
    assert "2 / 2" in str(card)
    assert [(r["household_id"], r["kind"], r["severity"]) for r in rows] == [
        (two_homes[0], "stuck", "high"), (two_homes[1], "stuck", "high")]
    assert f"'/household/{two_homes[1]}'" in str(alerts.to_plotly_json())
    assert pd.Timestamp(rows[0]["start"]) == pd.Timestamp("2025-06-02T00:00:00Z")  # UTC days; ISO text for the CSV

    _card, none, rows = update_quality("2025-06-05", "2025-06-06", "another note")  # after the readings
    assert "No alerts for this period" not in str(none) and {r["kind"] for r in rows} == {"no_data"}
