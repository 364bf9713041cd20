"""The overview and household pages' callbacks, called as plain functions on a real store."""

from datetime import datetime, timezone

import pytest

from services.rollups import refresh_daily_energy
from services.store.db import session_scope
from services.store.models import Tariff
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
    from pages.overview import update_overview

    cards, figure, rows, note = update_overview("2025-06-02", "2025-06-03", "dark")
    assert kpi_text(cards, "overview-kpi-load_kwh") == "144 kWh"  # consumption: (24 + 48) kWh x 2 days
    assert kpi_text(cards, "overview-kpi-self_consumption") == "50 %"  # (8 - 4) / 8
    assert kpi_text(cards, "overview-kpi-energy_cost") == "40.00 EUR"  # 2 x (20 + 48) x 0.30 - 2 x 4 x 0.10
    assert figure.layout.template.layout.font.color == "#dee2e6"  # dark mode: light text
    assert [t.name for t in figure.data] == ["Consumption", "PV generation", "Grid import", "Grid export"]
    assert len(rows) == 2
    alpha = next(r for r in rows if "Alpha" in r["name"])
    assert alpha["name"] == f"[Alpha \\[east\\]](/household/{two_homes[0]})"
    assert alpha["load_kwh"] == pytest.approx(48.0)
    beta = next(r for r in rows if "Beta" in r["name"])
    assert beta["self_consumption"] is None  # no PV: shown as a dash, not 0 %
    assert "2 days" in note and "2 households" in note


def test_overview_preset_sets_range_from_newest_data(dash_app, two_homes):
    from pages.overview import apply_preset

    assert apply_preset("last_7_days") == ("2025-06-02", "2025-06-03")  # clipped to the data


def test_overview_layout_on_an_empty_store_says_what_to_do(dash_app, db_url):
    from pages.overview import layout, update_overview

    assert "No energy data yet" in str(layout())
    cards, _figure, rows, note = update_overview(None, None, "light")
    assert cards == [] and rows == [] and note == "No data yet."


def test_household_page_flows_follow_the_period_resolution(dash_app, two_homes):
    from pages.household import layout, update_household

    alpha = two_homes[0]
    cards, figure = update_household("2025-06-02", "2025-06-02", "light", alpha)
    assert kpi_text(cards, "household-kpi-load_kwh") == "24.0 kWh"  # one day of consumption
    bars = {t.name: t for t in figure.data}
    assert len(bars["Consumption"].x) == 96  # one day at 15 minutes
    assert min(bars["Consumption"].y) < 0 <= min(bars["PV generation"].y)  # use drawn below zero
    assert str(bars["Consumption"].x[0]).startswith("2025-06-02T00:00") or str(bars["Consumption"].x[0]).startswith(
        "2025-06-02 00:00")  # local time on the axis
    _cards, two_days = update_household("2025-06-02", "2025-06-03", "light", alpha)
    assert len({t.name: t for t in two_days.data}["Consumption"].x) == 192
    assert "Alpha" in str(layout(household_id=str(alpha)))


def test_household_page_for_an_unknown_id_says_so(dash_app, db_url):
    from pages.household import layout

    assert "Household not found" in str(layout(household_id="999"))
    assert "Household not found" in str(layout(household_id="abc"))
