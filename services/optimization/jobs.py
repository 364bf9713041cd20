"""Longer battery jobs on stored households: a period's back-test and a sizing sweep.

Each reads what it needs from the store (household ids given explicitly), calls the solvers of
this package and returns plain results; pages run them as background callbacks and pass
``progress(done, total, stage)`` to move a progress bar.

* :func:`backtest_period`: the household's battery re-planned every day over past days, once with
  perfect foresight (the metered PV and load) and once with a forecast available at the time (the
  mean profile of the 7 days before each day): what forecast errors cost.
* :func:`sizing_for_household`: the savings curve over battery capacities and the simple payback.

Money in the tariff's currency over the period; energy [kWh]; power [kW].
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta

import numpy as np
import pandas as pd

from services.energy.flows import metered_flows
from services.households.tariffs import load_tariff_spec
from services.optimization.baselines import no_battery
from services.optimization.feasibility import ScheduleInfeasible
from services.optimization.inputs import (
    InputsUnavailable,
    household_grid,
    local_day_start,
    stored_battery,
    stored_household,
)
from services.optimization.problem import BatteryParams, GridParams, Prices, ScheduleRequest
from services.optimization.receding import simulate_receding_horizon
from services.optimization.results import Flows, evaluate
from services.optimization.service import tariff_prices
from services.optimization.sizing import SizingResult, sweep_capacity
from services.store.db import session_scope
from services.validation import FieldProblem, ValidationProblem

Progress = Callable[[int, int, str], None]

STEP_H = 0.25
DAY_STEPS = 96
HISTORY_DAYS = 7
FORECAST_LABEL = "forecast: mean profile of the 7 days before each day"
#: Capacities of the sizing sweep [kWh].
SIZING_CAPACITIES_KWH = (0.0, 2.5, 5.0, 7.5, 10.0, 12.5, 15.0, 17.5, 20.0)
#: Power per kWh of capacity for swept batteries without a stored one [kW/kWh].
DEFAULT_C_RATE_PER_H = 0.5


@dataclass(frozen=True, eq=False)
class PeriodInputs:
    """A household's metered PV and load [kW, 15-min steps] over whole local days, with the 7 days
    before (for the forecast), its tariff's prices, battery and grid limits."""

    household_id: int
    household_name: str
    timezone: str
    first_day: date
    days: int
    pv_kw: np.ndarray
    load_kw: np.ndarray
    history_pv_kw: np.ndarray
    history_load_kw: np.ndarray
    prices: Prices
    battery: BatteryParams | None
    grid: GridParams
    notes: tuple[str, ...] = ()


def period_inputs(household_id: int, first_day: date, days: int, url: str | None = None) -> PeriodInputs:
    """The metered days ``first_day`` .. ``first_day + days - 1`` (local) of the household.

    Raises HouseholdNotFound, or InputsUnavailable when the household has no tariff or the period
    has too few load readings. Gaps are interpolated (and said so in ``notes``).
    """
    with session_scope(url) as session:
        household = stored_household(session, household_id)
        tz, name = household.timezone, household.name
        battery = stored_battery(household) if household.battery is not None else None
        grid = household_grid(household)
        if household.tariff_id is None:
            raise InputsUnavailable(f"{name} has no tariff: choose one on the Households page", "tariff_id")
        start = local_day_start(first_day, tz)
        steps = days * DAY_STEPS
        spec = load_tariff_spec(session, household.tariff_id, start, start + timedelta(days=days + 1))
        prices = tariff_prices(spec, start, steps, STEP_H, tz)
    lo = start - timedelta(days=HISTORY_DAYS)
    index = pd.date_range(lo, periods=(days + HISTORY_DAYS) * DAY_STEPS, freq="15min")
    metered = metered_flows(household_id, int(STEP_H * 3600), lo, index[-1].to_pydatetime() + timedelta(minutes=15),
                            url)
    flows = metered.frame
    notes = metered.notes(("pv", "load"))
    series = {}
    for target in ("pv", "load"):
        kw = flows[target].reindex(index) / STEP_H if target in flows else pd.Series(np.nan, index=index)
        inside = kw.iloc[HISTORY_DAYS * DAY_STEPS:]
        if target == "load" and inside.isna().mean() > 0.25:
            raise InputsUnavailable(
                f"{name} has load readings for only {inside.notna().mean():.0%} of the chosen period: "
                "choose a period with meter data", "period")
        if kw.isna().all():
            kw[:] = 0.0
        elif kw.isna().any():
            notes.append(f"{int(inside.isna().sum())} steps without {target} readings were interpolated")
            kw = kw.interpolate(limit_direction="both")
        series[target] = kw.to_numpy()
    cut = HISTORY_DAYS * DAY_STEPS
    return PeriodInputs(household_id, name, tz, first_day, days, series["pv"][cut:], series["load"][cut:],
                        series["pv"][:cut], series["load"][:cut], prices, battery, grid, tuple(notes))


def profile_forecast(period: PeriodInputs, horizon_steps: int = DAY_STEPS):
    """``forecast(step)`` for :func:`~.receding.simulate_receding_horizon`: PV and load [kW] for the
    ``horizon_steps`` from ``step``, each the mean of the same time of day over the 7 days before
    ``step``: what a household knows without a forecasting model."""
    pv = np.concatenate([period.history_pv_kw, period.pv_kw])
    load = np.concatenate([period.history_load_kw, period.load_kw])
    offset = len(period.history_load_kw)

    def forecast(step: int) -> tuple[np.ndarray, np.ndarray]:
        k = offset + step
        week = slice(k - HISTORY_DAYS * DAY_STEPS, k)
        day_pv = pv[week].reshape(HISTORY_DAYS, DAY_STEPS).mean(axis=0)
        day_load = load[week].reshape(HISTORY_DAYS, DAY_STEPS).mean(axis=0)
        reps = -(-horizon_steps // DAY_STEPS)
        return np.tile(day_pv, reps)[:horizon_steps], np.tile(day_load, reps)[:horizon_steps]

    return forecast


# --- back-test -----------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class BacktestReport:
    """What the battery earned over the period [currency], planned each day.

    daily : per local day, cost without a battery, with perfect foresight and with the forecast.
    """

    household_id: int
    household_name: str
    first_day: date
    days: int
    currency: str
    cost_no_battery: float
    cost_perfect: float
    cost_forecast: float
    daily: pd.DataFrame
    forecast_label: str = FORECAST_LABEL
    notes: tuple[str, ...] = ()

    @property
    def savings_perfect(self) -> float:
        """Savings against no battery with perfect foresight: the best achievable [currency]."""
        return self.cost_no_battery - self.cost_perfect

    @property
    def savings_forecast(self) -> float:
        """Savings against no battery realized with the forecast [currency]."""
        return self.cost_no_battery - self.cost_forecast

    @property
    def forecast_error_cost(self) -> float:
        """What forecast errors cost over the period [currency]."""
        return self.cost_forecast - self.cost_perfect


def backtest_period(household_id: int, first_day: date, days: int, *, progress: Progress | None = None,
                    url: str | None = None) -> BacktestReport:
    """Re-plan the household's battery every local day of the period, with perfect foresight and
    with the 7-day profile forecast, and compare with no battery. Raises NoBattery without one."""
    period = period_inputs(household_id, first_day, days, url)
    if period.battery is None:
        with session_scope(url) as session:
            stored_battery(stored_household(session, household_id))  # raises NoBattery with its message
    battery = period.battery
    initial = (battery.min_kwh + battery.max_kwh) / 2
    battery = replace(battery, initial_soc_kwh=initial)

    def stage(offset: int, label: str):
        return None if progress is None else (lambda done, total: progress(offset + done, 2 * total, label))

    perfect = simulate_receding_horizon(period.pv_kw, period.load_kw, period.prices, battery, period.grid,
                                        progress=stage(0, "perfect foresight"))
    forecast = simulate_receding_horizon(period.pv_kw, period.load_kw, period.prices, battery, period.grid,
                                         forecast=profile_forecast(period), progress=stage(days, "forecast"))
    whole = ScheduleRequest(period.pv_kw, period.load_kw, period.prices, battery, period.grid, dt_h=STEP_H,
                            terminal="free")
    baseline = no_battery(whole)
    no_battery_daily = []
    for d in range(days):
        s = slice(d * DAY_STEPS, (d + 1) * DAY_STEPS)
        day = whole.replace(pv_kw=whole.pv_kw[s], load_kw=whole.load_kw[s],
                            prices=Prices(whole.prices.import_per_kwh[s], whole.prices.export_per_kwh[s]))
        no_battery_daily.append(evaluate(day, _slice(baseline, s)).total_cost)
    daily = pd.DataFrame(
        {"no_battery": no_battery_daily, "perfect_foresight": perfect.window_costs, "forecast": forecast.window_costs},
        index=pd.Index([first_day + timedelta(days=d) for d in range(days)], name="day"),
    )
    return BacktestReport(household_id, period.household_name, first_day, days, period.prices.currency,
                          evaluate(whole, baseline).total_cost, perfect.outcome.total_cost,
                          forecast.outcome.total_cost, daily, notes=period.notes)


def _slice(flows: Flows, s: slice) -> Flows:
    return Flows(*(None if v is None else v[s] for v in (flows.charge_kw, flows.discharge_kw, flows.import_kw,
                                                          flows.export_kw, flows.curtail_kw, flows.soc_kwh,
                                                          flows.unserved_kw)))


# --- sizing --------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class SizingReport:
    """The savings curve of a household over a period and the simple payback per capacity."""

    household_id: int
    household_name: str
    currency: str
    battery_price_per_kwh: float
    result: SizingResult
    payback_years: tuple[float | None, ...]
    notes: tuple[str, ...] = ()  # how the metered period was read (resampled meters, derived load, gaps)

    def rows(self) -> list[dict]:
        """One row per capacity: savings over the period and per year [currency], cycles, payback [years]."""
        annual = self.result.annual_savings()
        return [
            {"capacity_kwh": p.capacity_kwh, "savings": p.savings, "annual_savings": float(a),
             "equivalent_full_cycles": p.equivalent_full_cycles, "payback_years": y}
            for p, a, y in zip(self.result.points, annual, self.payback_years, strict=True)
        ]


def sizing_for_household(household_id: int, first_day: date, days: int, *, battery_price_per_kwh: float,
                         capacities_kwh: Sequence[float] = SIZING_CAPACITIES_KWH,
                         progress: Progress | None = None, url: str | None = None) -> SizingReport:
    """Savings of each capacity over the period (perfect foresight, re-planned daily) and the simple
    payback at ``battery_price_per_kwh`` [currency per kWh installed]. Power scales with capacity
    as in the stored battery (or 0.5 kW per kWh without one)."""
    if not 0 <= battery_price_per_kwh <= 10_000:
        raise ValidationProblem([FieldProblem(
            "battery_price_per_kwh",
            f"Battery price must be from 0 to 10000 per kWh installed, got {battery_price_per_kwh:g}")])
    period = period_inputs(household_id, first_day, days, url)
    template = period.battery or BatteryParams(0.0, 0.0, 0.0)
    c_rate = (template.max_charge_kw / template.capacity_kwh if template.capacity_kwh > 0 else DEFAULT_C_RATE_PER_H)
    result = sweep_capacity(
        period.pv_kw, period.load_kw, period.prices, template, capacities_kwh, grid=period.grid, dt_h=STEP_H,
        c_rate_per_h=c_rate,
        progress=None if progress is None else (lambda done, total: progress(done, total, "capacities")),
    )
    return SizingReport(household_id, period.household_name, period.prices.currency, battery_price_per_kwh,
                        result, tuple(result.payback_years(battery_price_per_kwh)), period.notes)


__all__ = [
    "BacktestReport",
    "PeriodInputs",
    "ScheduleInfeasible",
    "SizingReport",
    "backtest_period",
    "period_inputs",
    "profile_forecast",
    "sizing_for_household",
]
