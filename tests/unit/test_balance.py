"""Homes without a consumption meter (grid import + export + PV) and without a grid meter (consumption
+ PV): the quantity missing comes from the energy balance, on each backend, in the KPIs, the explorer,
the reports, the forecasts and the optimizer's inputs, and says it is derived."""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import pandas as pd
import pytest

from services import explorer
from services.energy import kpis
from services.energy.balance import derivable, derive_from_balance
from services.energy.rollups import refresh_daily_energy
from services.households import create_household, create_tariff
from services.optimization.inputs import perfect_foresight_inputs
from services.reports.data import gather_report_data
from services.reports.period import ReportPeriod
from services.reports.summary import kpis as report_kpis
from services.store.db import session_scope
from tests.factories import add_series

TZ = "Europe/Berlin"
DAY = date(2026, 6, 3)
START = datetime(2026, 6, 2, 22, 0, tzinfo=UTC)  # local midnight of DAY


def _day(kw_day: float, kw_night: float) -> np.ndarray:
    """kWh per quarter hour of one local day: ``kw_day`` from 08:00 to 16:00, ``kw_night`` else."""
    kw = np.full(96, kw_night)
    kw[32:64] = kw_day
    return kw * 0.25


# One day of a home metered at the grid: PV 3 kW from 08:00 to 16:00, the home uses 1 kW all day.
PV = _day(3.0, 0.0)
LOAD = _day(1.0, 1.0)
IMPORT = np.clip(LOAD - PV, 0, None)
EXPORT = np.clip(PV - LOAD, 0, None)


def _home(name: str, series: dict[str, np.ndarray], days: int = 1) -> int:
    tariff = create_tariff({"name": f"Flat {name}", "kind": "flat", "import_price": 0.3, "export_price": 0.1})
    home = create_household({"name": name, "timezone": TZ, "latitude": 52.5, "longitude": 13.4,
                             "tariff_id": tariff, "pv_systems": [{"kwp": 4.0}],
                             "battery": {"capacity_kwh": 5.0, "max_charge_kw": 2.5, "max_discharge_kw": 2.5}})
    start = pd.Timestamp(DAY).tz_localize(TZ).tz_convert("UTC").to_pydatetime()
    with session_scope() as session:
        for quantity, values in series.items():
            add_series(session, home, quantity, start - pd.Timedelta(days=days - 1), np.tile(values, days).tolist())
    refresh_daily_energy([home])
    return home


def test_the_balance_rules():
    assert derivable({"pv", "grid_import", "grid_export"}) == ("load",)
    assert derivable({"grid_import"}) == ("load",)
    assert derivable({"load", "pv"}) == ("grid_import", "grid_export")
    assert derivable({"load", "pv", "grid_import", "grid_export"}) == ()
    assert derivable({"pv"}) == ()  # a PV meter alone says nothing of the home
    frame = pd.DataFrame({"pv": [2.0, np.nan], "grid_import": [0.0, np.nan], "grid_export": [1.5, np.nan],
                          "battery_charge": [0.25, np.nan], "battery_discharge": [0.0, np.nan]})
    out, derived = derive_from_balance(frame, set(frame.columns))
    assert derived == ("load",)
    assert out["load"].iloc[0] == pytest.approx(0.25) and np.isnan(out["load"].iloc[1])


def test_a_grid_metered_home_gets_consumption_and_every_kpi(db_url):
    home = _home("Grid-metered Home", {"pv": PV, "grid_import": IMPORT, "grid_export": EXPORT})
    totals = kpis.portfolio_totals([home], DAY, DAY)
    assert totals.load_kwh == pytest.approx(24.0)  # was 0
    assert totals.pv_kwh == pytest.approx(24.0)
    assert totals.self_sufficiency == pytest.approx((24.0 - 16.0) / 24.0)  # was None
    assert totals.self_consumption == pytest.approx(8.0 / 24.0)
    table = kpis.household_table([home], DAY, DAY)
    assert table["derived"].tolist() == ["derived: consumption"]
    assert kpis.derived_of([home]) == {home: ("load",)}


def test_the_explorer_shows_derived_consumption_and_labels_it(db_url, dash_app):
    home = _home("Explored Grid Home", {"pv": PV, "grid_import": IMPORT, "grid_export": EXPORT})
    data = explorer.explore(home, DAY, DAY, "15min")
    assert data.derived == ("load",) and "derived" in data.derived_note
    assert data.flows["load"].sum() == pytest.approx(24.0)
    assert data.flow_totals()["pv_to_home"] == pytest.approx(8.0)
    heat = explorer.consumption_heatmap(home, DAY, DAY)
    assert float(np.nansum(heat.to_numpy())) == pytest.approx(24.0)
    from pages.household import update_explorer

    cards, *_rest, note = update_explorer(DAY.isoformat(), DAY.isoformat(), "15min", "energy", "none", "light", home)
    assert "derived" in str(cards[0]) and "Consumption is derived" in str(note)


def test_a_home_without_grid_meter_gets_import_and_export(db_url):
    home = _home("Consumption-metered Home", {"pv": PV, "load": LOAD})
    totals = kpis.portfolio_totals([home], DAY, DAY)
    assert totals.import_kwh == pytest.approx(16.0) and totals.export_kwh == pytest.approx(16.0)
    assert totals.energy_cost == pytest.approx(16.0 * 0.3 - 16.0 * 0.1)
    assert kpis.household_table([home], DAY, DAY)["derived"].tolist() == ["derived: grid import, grid export"]


def test_reports_and_the_optimizer_read_derived_consumption(db_url):
    home = _home("Reported Grid Home", {"pv": PV, "grid_import": IMPORT, "grid_export": EXPORT})
    report = gather_report_data(home, ReportPeriod("custom", DAY, DAY))
    assert report.totals.load_kwh == pytest.approx(24.0) and report.derived == ("load",)
    assert any("Consumption is derived" in n for n in report.flow_notes)
    tile = next(t for t in report_kpis(report) if t.key == "load_kwh")
    assert "derived" in tile.note
    inputs = perfect_foresight_inputs(home, DAY)
    assert inputs.request.load_kw.sum() * 0.25 == pytest.approx(24.0)
    assert any("Consumption is derived" in n for n in inputs.notes)
