"""Schedules on real negative prices, receding-horizon runs, fleets, and runs kept in the store."""

from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from services.households.tariffs import PeriodSpec, TariffSpec
from services.optimization import (
    BatteryParams,
    GridParams,
    Prices,
    ScheduleRequest,
    schedule_battery,
    sweep_capacity,
    tariff_prices,
)
from services.optimization.fleet import optimize_fleet
from services.optimization.formulation import formulate
from services.optimization.raw_highs import solve_cold
from services.optimization.receding import simulate_receding_horizon
from services.optimization.store import run_steps, store_run
from services.store.db import session_scope
from services.store.models import OptimizationRun
from tests.factories import add_household

PRICES_FILE = "prices/opsd_DE_LU_price_day_ahead_2015-2020.csv"
CITYLEARN_BATTERY = BatteryParams(6.4, 5.0, 5.0, 0.95, 0.95, soc_min=0.0, soc_max=1.0, initial_soc_kwh=3.2)


def _spot_eur_per_kwh(shared_data) -> pd.Series:
    raw = pd.read_csv(
        shared_data / PRICES_FILE,
        usecols=["utc_timestamp", "DE_LU_price_day_ahead"],
        parse_dates=["utc_timestamp"],
        index_col="utc_timestamp",
    )
    return raw["DE_LU_price_day_ahead"].dropna() / 1000.0  # EUR/MWh -> EUR/kWh


def _household_day(shared_data, hour_of_year: int, hours: int = 24):
    """CityLearn building 1: load and PV (4 kWp) [kW, hourly means]."""
    building = pd.read_csv(shared_data / "citylearn_2022_fontana_ca" / "Building_1.csv")
    rows = slice(hour_of_year, hour_of_year + hours)
    return building["solar_generation"].to_numpy()[rows] * 4 / 1000, building["non_shiftable_load"].to_numpy()[rows]


@pytest.mark.parametrize("day", ["2019-06-23", "2019-09-28", "2019-03-16", "2018-12-25"])
def test_real_negative_price_days_never_charge_and_discharge_at_once(shared_data, day):
    spot = _spot_eur_per_kwh(shared_data)[day]
    assert len(spot) == 24 and spot.min() < 0  # a real day with negative hours
    pv, load = _household_day(shared_data, 24 * 300)
    request = ScheduleRequest(pv, load, Prices(spot.to_numpy(), spot.to_numpy()), CITYLEARN_BATTERY, dt_h=1.0)
    result = schedule_battery(request)
    f = result.flows
    assert np.minimum(f.charge_kw, f.discharge_kw).max() == 0
    assert np.minimum(f.import_kw, f.export_kw).max() == 0
    # On these days the LP alone burns energy in the battery (charges and discharges in a negative
    # hour) and promises a lower cost than is physically possible; the binaries take that away.
    relaxed = solve_cold(formulate(request))
    assert relaxed.objective < result.objective - 1e-6
    assert set(result.binary_steps) == set(np.flatnonzero(spot.to_numpy() < 0).tolist())
    assert result.optimized.total_cost <= result.no_battery.total_cost + 1e-9


def test_perfect_foresight_over_days_carries_the_stored_energy(shared_data):
    spot = _spot_eur_per_kwh(shared_data)["2019-05-01":"2019-05-03"].to_numpy()
    pv, load = _household_day(shared_data, 24 * 270, hours=72)
    prices = Prices(spot + 0.20, spot)  # a dynamic household tariff: spot plus grid fees and levies
    run = simulate_receding_horizon(pv, load, prices, CITYLEARN_BATTERY, dt_h=1.0, horizon_steps=24, apply_steps=24)
    assert run.solves == 3 and len(run.flows.soc_kwh) == 72
    # The first day alone, planned with the same start, is exactly the simulation's first day.
    first = schedule_battery(
        ScheduleRequest(pv[:24], load[:24], Prices(spot[:24] + 0.2, spot[:24]), CITYLEARN_BATTERY, dt_h=1.0)
    )
    assert run.window_costs[0] == pytest.approx(first.optimized.total_cost)
    assert run.flows.soc_kwh[23] == pytest.approx(first.flows.soc_kwh[-1])
    assert run.outcome.total_cost == pytest.approx(run.window_costs.sum())
    # A forecast equal to the actuals realizes the perfect-foresight cost; a biased one costs more.
    exact = simulate_receding_horizon(
        pv,
        load,
        prices,
        CITYLEARN_BATTERY,
        dt_h=1.0,
        horizon_steps=24,
        apply_steps=24,
        forecast=lambda k: (pv[k : k + 24], load[k : k + 24]),
    )
    assert exact.outcome.total_cost == pytest.approx(run.outcome.total_cost)
    biased = simulate_receding_horizon(
        pv,
        load,
        prices,
        CITYLEARN_BATTERY,
        dt_h=1.0,
        horizon_steps=24,
        apply_steps=24,
        forecast=lambda k: (pv[k : k + 24] * 1.6, load[k : k + 24] * 0.5),
    )
    assert biased.mode == "forecast"
    assert biased.outcome.total_cost > run.outcome.total_cost


def test_a_window_without_a_feasible_plan_falls_back_to_the_rule():
    load = np.array([1.0, 1.0, 9.0, 1.0, 1.0, 1.0])  # 9 kW in hour 2, above 3 kW import + 5 kW discharge
    grid = GridParams(import_limit_kw=3)
    run = simulate_receding_horizon(
        np.zeros(6), load, Prices(0.3), CITYLEARN_BATTERY, grid, dt_h=1.0, horizon_steps=3, apply_steps=3
    )
    assert run.fallback_windows == 1 and run.solves == 2
    # The rule covered hours 0 and 1 from the battery (2 / 0.95 kWh of its 3.2), so in hour 2 it
    # delivers 3.2 * 0.95 - 2 = 1.04 kW: 9 - 3 - 1.04 = 4.96 kW stay unserved.
    assert run.flows.unserved_kw.tolist() == pytest.approx([0, 0, 4.96, 0, 0, 0])
    assert run.outcome.unserved_kwh == pytest.approx(4.96)


def test_fleet_in_two_processes_matches_one_by_one_and_reports_the_infeasible():
    t = np.arange(96)
    pv = np.clip(4 * np.sin((t - 24) / 48 * np.pi), 0, None)
    requests = {}
    for household_id in range(1, 9):
        load = 0.3 + 0.1 * household_id + 0.5 * (t >= 68) * (t < 84)
        price = 0.25 + 0.1 * np.sin(t / 96 * 2 * np.pi + household_id)
        requests[household_id] = ScheduleRequest(
            pv * household_id / 4, load, Prices(price, 0.07), BatteryParams(5 + household_id, 3, 3, initial_soc_kwh=4)
        )
    requests[99] = requests[1].replace(load_kw=np.full(96, 12.0), grid=GridParams(import_limit_kw=4))
    seen = []
    fleet = optimize_fleet(requests, workers=2, chunk_size=3, progress=lambda done, total: seen.append((done, total)))
    assert set(fleet.results) == set(range(1, 9))
    assert "exceeds the 4 kW import limit" in fleet.errors[99]
    assert seen[-1] == (9, 9)
    for household_id, result in fleet.results.items():
        alone = schedule_battery(requests[household_id])
        assert result.objective == pytest.approx(alone.objective, rel=1e-7, abs=1e-9)
    rows = fleet.summary_rows()
    assert [row["household_id"] for row in rows] == [1, 2, 3, 4, 5, 6, 7, 8, 99]


def test_a_run_is_stored_with_its_steps(db_url):
    start = datetime(2025, 6, 1, 22, tzinfo=UTC)
    request = ScheduleRequest(
        [0, 0, 2, 3],
        [1, 1, 1, 1],
        Prices([0.1, 0.1, 0.4, 0.4], 0.05),
        BatteryParams(4, 2, 2, initial_soc_kwh=2),
        dt_h=1.0,
        start=start,
    )
    result = schedule_battery(request)
    with session_scope() as session:
        household_id = add_household(session, "Stored run").id
    run_id = store_run(household_id, result, kind="whatif")
    with session_scope() as session:
        run = session.get(OptimizationRun, run_id)
        steps = run_steps(run_id, session=session)
        assert run.status == "optimal" and run.kind == "whatif" and run.household_id == household_id
        assert run.cost == pytest.approx(result.optimized.total_cost)
        assert run.request["battery"]["capacity_kwh"] == 4 and run.request["steps"] == 4
        assert run.baselines["no_battery"]["import_kwh"] == pytest.approx(result.no_battery.import_kwh)
        assert "solve" in run.timings_ms
        assert list(steps.index.to_pydatetime()) == list(pd.date_range(start, periods=4, freq="h").to_pydatetime())
        assert steps["soc_kwh"].tolist() == pytest.approx(result.flows.soc_kwh.tolist())
        assert steps["import_price"].tolist() == [0.1, 0.1, 0.4, 0.4]


def test_a_run_without_start_or_with_an_unknown_kind_is_not_stored(db_url):
    result = schedule_battery(ScheduleRequest([0, 0], [1, 1], Prices(0.3), BatteryParams(4, 2, 2), dt_h=1.0))
    with pytest.raises(ValueError, match="needs the request's start time"):
        store_run(None, result)
    with pytest.raises(ValueError, match="kind must be one of"):
        store_run(None, result, kind="guess")
    with session_scope() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(OptimizationRun)) == 0


def test_sizing_sweep_gives_a_savings_curve_and_payback(shared_data):
    spot = _spot_eur_per_kwh(shared_data)["2019-07-01":"2019-07-07"].to_numpy()
    pv, load = _household_day(shared_data, 24 * 330, hours=len(spot))
    seen = []
    sizing = sweep_capacity(
        pv,
        load,
        Prices(spot + 0.2, spot),
        CITYLEARN_BATTERY,
        [10, 5],
        dt_h=1.0,
        horizon_steps=24,
        c_rate_per_h=0.5,
        progress=lambda done, total: seen.append(done),
    )
    assert [p.capacity_kwh for p in sizing.points] == [0, 5, 10] and seen == [1, 2, 3]
    assert sizing.points[0].savings == 0
    savings = [p.savings for p in sizing.points]
    assert 0 < savings[1] <= savings[2]  # a bigger battery never saves less here, with perfect foresight
    payback = sizing.payback_years(500.0)
    assert payback[0] is None
    assert payback[1] == pytest.approx(500 * 5 / (savings[1] * 365 / 7))


def test_tariff_prices_follow_local_time_of_use_periods():
    tou = TariffSpec(
        kind="tou",
        currency="EUR",
        import_price=0.30,
        export_price=0.08,
        periods=(PeriodSpec(17 * 60, 21 * 60, 0b1111111, 0.45),),
    )
    prices = tariff_prices(tou, datetime(2025, 1, 6, 15, tzinfo=UTC), 4, 1.0, "Europe/Berlin")
    assert prices.import_per_kwh.tolist() == [0.30, 0.45, 0.45, 0.45]  # 16:00 local, then the evening peak
    assert prices.export_per_kwh.tolist() == [0.08] and prices.currency == "EUR"
