"""Can the schedule's limits be met at all? If not, say which one, when, and what to change.

:func:`check_feasible` runs before the solver. It walks the horizon once with the
battery kept as full as the limits allow, discharging only what the load needs
beyond the import limit and PV. Keeping the battery as full as possible never
makes a later step harder (more stored energy only widens what the next step
can do), so if this walk meets every step and the terminal rule, a schedule
exists; if it fails, none does, and the walk knows the first step that fails
and why. Surplus PV never makes a schedule infeasible: it can always be exported or curtailed.
"""

from __future__ import annotations

import numpy as np

from services.optimization.formulation import charge_limit_kw, discharge_limit_kw
from services.optimization.problem import ScheduleRequest

#: Shortfalls below this are solver-tolerance noise, not infeasibility [kW or kWh].
TOL = 1e-6


class ScheduleInfeasible(ValueError):
    """No schedule meets every limit. ``reason`` says which limit, in words; ``step`` is the first
    step that fails (None for the terminal rule); ``field`` names the input most worth changing."""

    def __init__(self, reason: str, step: int | None = None, field: str | None = None):
        super().__init__(reason)
        self.reason, self.step, self.field = reason, step, field


def check_feasible(request: ScheduleRequest) -> None:
    """Raise :class:`ScheduleInfeasible` when no schedule can meet the limits of ``request``."""
    b, grid, dt = request.battery, request.grid, request.dt_h
    pv, load = request.pv_kw, request.load_kw
    import_cap = np.inf if grid.import_limit_kw is None else grid.import_limit_kw
    charge_max, discharge_max = charge_limit_kw(request), discharge_limit_kw(request)
    _check_power(request, import_cap, discharge_max)
    outpaces_self_discharge = b.charge_efficiency * b.max_charge_kw >= b.self_discharge_per_h * b.max_kwh
    if grid.import_limit_kw is None and grid.allow_grid_charging and outpaces_self_discharge:
        return  # the grid covers any load and can always top the battery up: nothing can fail
    retention = 1.0 - b.self_discharge_per_h * dt
    need = load - pv - import_cap  # > 0: the battery must deliver this [kW]
    stored = b.initial_kwh
    for t in range(request.steps):
        kept = stored * retention
        if need[t] > TOL:
            required_kwh = need[t] * dt / b.discharge_efficiency
            if kept - required_kwh < b.min_kwh - TOL:
                raise ScheduleInfeasible(
                    _energy_message(request, t, need[t], kept, required_kwh), t, "battery.initial_soc_kwh"
                )
            stored = kept - required_kwh
        else:
            # Headroom for charging: the import limit minus what the load already draws (grid charging),
            # or only the PV surplus (charge_max already says which).
            headroom = min(charge_max[t], -need[t]) if np.isfinite(import_cap) else charge_max[t]
            stored = min(b.max_kwh, kept + b.charge_efficiency * max(headroom, 0.0) * dt)
            if stored < b.min_kwh - TOL:
                raise ScheduleInfeasible(_self_discharge_message(request, t), t, "battery.self_discharge_per_h")
    if request.terminal == "at_least_initial" and stored < b.initial_kwh - TOL:
        raise ScheduleInfeasible(_terminal_message(request, stored), None, "terminal")


def _check_power(request: ScheduleRequest, import_cap: float, discharge_max: np.ndarray) -> None:
    shortfall = request.load_kw - request.pv_kw - import_cap - discharge_max
    bad = np.flatnonzero(shortfall > TOL)
    if not len(bad):
        return
    t = int(bad[0])
    pv = request.pv_kw[t]
    pv_part = f" and {pv:.1f} kW PV" if pv > 0.05 else ""
    battery = f"{discharge_max[t]:g} kW battery discharge" if discharge_max[t] > 0 else "no battery discharge"
    more = f" (and {len(bad) - 1} later steps)" if len(bad) > 1 else ""
    raise ScheduleInfeasible(
        f"Load of {request.load_kw[t]:.1f} kW at {request.step_label(t)}{more} exceeds the {import_cap:g} kW import "
        f"limit plus {battery}{pv_part}: raise the import limit or the battery's discharge power.",
        t,
        "grid.import_limit_kw",
    )


def _energy_message(request: ScheduleRequest, t: int, need_kw: float, kept_kwh: float, required_kwh: float) -> str:
    b = request.battery
    left = max(kept_kwh - b.min_kwh, 0.0)
    return (
        f"At {request.step_label(t)} the load exceeds the import limit plus PV by {need_kw:.1f} kW, so the battery "
        f"must deliver {required_kwh:.2f} kWh, but it has only {left:.2f} kWh left above its minimum of "
        f"{b.min_kwh:g} kWh even if charged as much as possible before: start with more stored energy, "
        f"or raise the import limit."
    )


def _self_discharge_message(request: ScheduleRequest, t: int) -> str:
    b = request.battery
    return (
        f"At {request.step_label(t)} self-discharge takes the battery below its minimum of {b.min_kwh:g} kWh and it "
        f"cannot charge then{' (it may charge only from PV surplus)' if not request.grid.allow_grid_charging else ''}: "
        f"start with more stored energy, allow grid charging, or lower the minimum state of charge."
    )


def _terminal_message(request: ScheduleRequest, reachable_kwh: float) -> str:
    b, grid = request.battery, request.grid
    why = []
    if not grid.allow_grid_charging:
        why.append("it may charge only from PV surplus")
    if b.self_discharge_per_h > 0:
        lost = b.initial_kwh * (1 - (1 - b.self_discharge_per_h * request.dt_h) ** request.steps)
        why.append(f"self-discharge alone loses {lost:.2f} kWh")
    if grid.import_limit_kw is not None:
        why.append(f"the import limit is {grid.import_limit_kw:g} kW")
    because = f" ({'; '.join(why)})" if why else ""
    return (
        f"The battery cannot end the horizon with at least its initial {b.initial_kwh:g} kWh: at most "
        f"{reachable_kwh:.2f} kWh is reachable{because}. Use terminal 'free' or 'value', allow grid charging, "
        f"or start with less stored energy."
    )
