"""Simulate a month or a year of battery operation, re-planned at regular intervals.

Every ``apply_steps`` steps (a day by default) the battery is re-optimized over
the next ``horizon_steps`` with what is known then, the first ``apply_steps``
steps of the plan are applied to what actually happens, and the stored energy
carries over. Two modes:

* perfect foresight (no ``forecast``): the plan sees the actual PV and load, so
  the result is the best the battery could have done;
* forecast: ``forecast(step)`` returns the PV and load forecasts [kW] issued at
  ``step`` for the next ``horizon_steps``; the battery follows the planned charge
  and discharge, the grid takes up the forecast errors. Realized cost minus the
  perfect-foresight cost is what forecast errors cost.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from services.optimization.baselines import self_consumption_rule
from services.optimization.feasibility import ScheduleInfeasible
from services.optimization.problem import BatteryParams, GridParams, Objective, Prices, ScheduleRequest
from services.optimization.results import Flows, Outcome, evaluate
from services.optimization.service import solve_flows

Forecast = Callable[[int], tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True, eq=False)
class RecedingResult:
    """The realized operation over the whole period.

    flows : realized flows, one value per step of the period.
    outcome : money and energy over the period (see :class:`~.results.Outcome`).
    window_costs : realized total cost of each applied window [currency].
    solves : number of re-plans; solve_ms : solver time summed [ms]; wall_s : wall time [s].
    binary_windows : windows that needed binaries (negative prices).
    fallback_windows : windows with no feasible plan, run by the self-consumption rule instead
        (their load beyond the limits shows as ``flows.unserved_kw``).
    """

    mode: str
    flows: Flows
    outcome: Outcome
    window_costs: np.ndarray
    solves: int
    solve_ms: float
    wall_s: float
    binary_windows: int
    fallback_windows: int = 0


def simulate_receding_horizon(
    pv_kw: np.ndarray,
    load_kw: np.ndarray,
    prices: Prices,
    battery: BatteryParams,
    grid: GridParams | None = None,
    *,
    dt_h: float = 0.25,
    horizon_steps: int = 96,
    apply_steps: int = 96,
    forecast: Forecast | None = None,
    objective: Objective = "cost",
    engine: str = "pyomo",
    progress: Callable[[int, int], None] | None = None,
) -> RecedingResult:
    """Re-plan every ``apply_steps`` over ``horizon_steps`` and apply the plan to the actuals.

    ``pv_kw``, ``load_kw`` and the prices cover the whole period (prices a scalar or one per
    step); the battery starts at ``battery.initial_kwh``. ``progress(done, total)`` counts windows.
    """
    grid = grid or GridParams()
    n = len(load_kw)
    whole = ScheduleRequest(pv_kw, load_kw, prices, battery, grid, dt_h=dt_h, objective=objective, terminal="free")
    pv, load = whole.pv_kw, whole.load_kw
    p_imp, p_exp = whole.prices.import_per_kwh, whole.prices.export_per_kwh
    if apply_steps < 1 or horizon_steps < apply_steps:
        raise ValueError(f"apply_steps ({apply_steps}) must be at least 1 and at most horizon_steps ({horizon_steps})")
    parts: list[Flows] = []
    costs, solve_ms, binary_windows, fallback_windows = [], 0.0, 0, 0
    stored = battery.initial_kwh
    starts = list(range(0, n, apply_steps))
    t0 = time.perf_counter()
    for i, k in enumerate(starts):
        end = min(k + horizon_steps, n)
        if forecast is None:
            pv_plan, load_plan = pv[k:end], load[k:end]
        else:
            pv_plan, load_plan = (np.asarray(a, dtype=float)[: end - k] for a in forecast(k))
        request = ScheduleRequest(
            pv_plan,
            load_plan,
            Prices(p_imp[k:end], p_exp[k:end], prices.currency),
            replace(battery, initial_soc_kwh=stored),
            grid,
            dt_h=dt_h,
            objective=objective,
        )
        try:
            flows, solution, binaries, timings = solve_flows(request, engine=engine)
            solve_ms += timings["solve"]
            binary_windows += bool(binaries)
        except ScheduleInfeasible:
            # No plan meets the limits (say, load above the import limit): run the battery by the
            # simple rule for this window, as a real controller would, and count it.
            flows = self_consumption_rule(request)
            fallback_windows += 1
        stop = min(apply_steps, n - k)
        planned = _head(flows, stop)
        if forecast is None:
            applied = planned
        else:
            applied = apply_plan(
                request.replace(
                    pv_kw=pv[k : k + stop],
                    load_kw=load[k : k + stop],
                    prices=Prices(p_imp[k : k + stop], p_exp[k : k + stop]),
                ),
                planned,
            )
        parts.append(applied)
        stored = float(applied.soc_kwh[-1])
        window = whole.replace(
            pv_kw=pv[k : k + stop],
            load_kw=load[k : k + stop],
            prices=Prices(p_imp[k : k + stop], p_exp[k : k + stop], prices.currency),
        )
        costs.append(evaluate(window, applied).total_cost)
        if progress is not None:
            progress(i + 1, len(starts))
    realized = Flows(
        *(
            np.concatenate([getattr(p, name) for p in parts])
            for name in ("charge_kw", "discharge_kw", "import_kw", "export_kw", "curtail_kw", "soc_kwh")
        ),
        np.concatenate([p.unserved_kw if p.unserved_kw is not None else np.zeros(len(p.soc_kwh)) for p in parts]),
    )
    return RecedingResult(
        "perfect_foresight" if forecast is None else "forecast",
        realized,
        evaluate(whole, realized),
        np.array(costs),
        len(starts),
        solve_ms,
        time.perf_counter() - t0,
        binary_windows,
        fallback_windows,
    )


def _head(flows: Flows, steps: int) -> Flows:
    return Flows(
        flows.charge_kw[:steps],
        flows.discharge_kw[:steps],
        flows.import_kw[:steps],
        flows.export_kw[:steps],
        flows.curtail_kw[:steps],
        flows.soc_kwh[:steps],
        None if flows.unserved_kw is None else flows.unserved_kw[:steps],
    )


def apply_plan(actual: ScheduleRequest, plan: Flows) -> Flows:
    """What happens when the battery follows ``plan``'s charge and discharge under ``actual`` PV and load.

    The battery does what it was told as far as its stored energy (and, without grid charging,
    the actual PV surplus) allows; the grid takes the rest. Surplus is exported up to the export
    limit, or curtailed when exporting would cost money and the household's export is curtailable
    (as in :func:`.baselines.no_battery`); load beyond the import limit is unserved.
    """
    b, grid, dt = actual.battery, actual.grid, actual.dt_h
    T = actual.steps
    retention = 1.0 - b.self_discharge_per_h * dt
    charge, discharge, soc = np.zeros(T), np.zeros(T), np.zeros(T)
    surplus = np.maximum(actual.pv_kw - actual.load_kw, 0.0)
    stored = b.initial_kwh
    # Sequential: what the battery can do at a step depends on what it did before.
    for t in range(T):
        kept = stored * retention
        c = plan.charge_kw[t] if grid.allow_grid_charging else min(plan.charge_kw[t], surplus[t])
        charge[t] = min(c, max(b.max_kwh - kept, 0.0) / (b.charge_efficiency * dt))
        discharge[t] = min(plan.discharge_kw[t], max(kept - b.min_kwh, 0.0) * b.discharge_efficiency / dt)
        stored = kept + (b.charge_efficiency * charge[t] - discharge[t] / b.discharge_efficiency) * dt
        soc[t] = stored
    need = actual.load_kw - actual.pv_kw + charge - discharge
    import_cap = np.inf if grid.import_limit_kw is None else grid.import_limit_kw
    export_cap = np.inf if grid.export_limit_kw is None else grid.export_limit_kw
    imports = np.minimum(np.maximum(need, 0.0), import_cap)
    spare = np.maximum(-need, 0.0)
    # Curtailed instead of exported where exporting costs money, if this household's export can be.
    paid_to_export = (actual.prices.export_per_kwh >= 0) | (not grid.export_curtailable)
    exports = np.where(paid_to_export, np.minimum(spare, export_cap), 0.0)
    curtail = np.minimum(spare - exports, actual.pv_kw)
    unserved = np.maximum(need, 0.0) - imports
    return Flows(charge, discharge, imports, exports, curtail, soc, unserved)
