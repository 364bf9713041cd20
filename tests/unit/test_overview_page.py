"""The overview and household pages' callbacks, called as plain functions on a real store."""

from datetime import datetime, timezone

import pytest

from services.rollups import refresh_daily_energy
from services.store.db import session_scope
from services.store.models import Tariff
from tests.factories import add_household, add_series

START = datetime(2025, 6, 1, 22, 0, tzinfo=timezone.utc)  # 2 June 00:00 in Berlin


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
    text = str(cards)
    assert "144 kWh" in text  # consumption: (24 + 48) kWh x 2 days
    assert "50 %" in text  # self-consumption (8 - 4) / 8
    assert figure.layout.template.layout.paper_bgcolor is not None  # dark template applied
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
