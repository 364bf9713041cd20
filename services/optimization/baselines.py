"""The two ways of running a household that an optimized schedule is compared with.

* :func:`no_battery`: PV covers the load first, the grid the rest; surplus is
  exported up to the export limit and curtailed beyond it, and where the household's export is
  curtailable (``grid.export_curtailable``) curtailed rather than exported at a negative export
  price (the optimizer may do the same: :func:`.formulation.curtail_limit_kw`).
* :func:`self_consumption_rule`: the battery charges from PV surplus and
  discharges to cover load, as far as its power and stored energy allow; it
  never uses the grid or prices. This is what most home batteries do by default.

Both obey the same limits as the optimizer, except that load above the import
limit is left unserved (reported as ``unserved_kw``) rather than declared infeasible.

:func:`self_consumption_rules` is the rule of many households at once (a fleet chunk): the
same arithmetic step by step, on vectors of households instead of one household's numbers, so
the flows are equal to the bit to :func:`self_consumption_rule` of each.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from services.optimization.problem import ScheduleRequest
from services.optimization.results import Flows


def no_battery(request: ScheduleRequest) -> Flows:
    """Flows without a battery; stored energy only decays by self-discharge."""
    T = request.steps
    imports, exports, curtail, unserved = _grid_side(request, request.load_kw - request.pv_kw)
    b = request.battery
    retention = 1.0 - b.self_discharge_per_h * request.dt_h
    soc = b.initial_kwh * retention ** np.arange(1, T + 1)
    zeros = np.zeros(T)
    return Flows(zeros, zeros.copy(), imports, exports, curtail, soc, unserved)


def self_consumption_rule(request: ScheduleRequest) -> Flows:
    """Flows of a battery that charges from PV surplus and discharges to cover the load."""
    b, dt, T = request.battery, request.dt_h, request.steps
    retention = 1.0 - b.self_discharge_per_h * dt
    charge, discharge, soc = np.zeros(T), np.zeros(T), np.zeros(T)
    max_charge = b.max_charge_kw if b.capacity_kwh > 0 else 0.0
    max_discharge = b.max_discharge_kw if b.capacity_kwh > 0 else 0.0
    net = request.load_kw - request.pv_kw  # > 0: deficit, < 0: surplus
    stored = b.initial_kwh
    # A sequential rule: each step depends on the energy the previous one left.
    for t in range(T):
        kept = stored * retention
        if net[t] < 0:
            room_kw = max(b.max_kwh - kept, 0.0) / (b.charge_efficiency * dt)
            charge[t] = min(max_charge, -net[t], room_kw)
        elif net[t] > 0:
            available_kw = max(kept - b.min_kwh, 0.0) * b.discharge_efficiency / dt
            discharge[t] = min(max_discharge, net[t], available_kw)
        stored = kept + (b.charge_efficiency * charge[t] - discharge[t] / b.discharge_efficiency) * dt
        soc[t] = stored
    imports, exports, curtail, unserved = _grid_side(request, net + charge - discharge)
    return Flows(charge, discharge, imports, exports, curtail, soc, unserved)


def self_consumption_rules(requests: Sequence[ScheduleRequest]) -> list[Flows]:
    """:func:`self_consumption_rule` of each request, equal to the bit: households with the same
    number of steps go through the steps together, as vectors over households [kW, kWh]."""
    out: list[Flows | None] = [None] * len(requests)
    by_steps: dict[int, list[int]] = {}
    for i, request in enumerate(requests):
        by_steps.setdefault(request.steps, []).append(i)
    for T, members in by_steps.items():
        group = [requests[i] for i in members]
        for i, flows in zip(members, _rule_of_group(group, T), strict=True):
            out[i] = flows
    return out


def _first_min(*values: np.ndarray) -> np.ndarray:
    """Python's ``min(a, b, ...)`` elementwise: the first of the smallest (as the loop above picks)."""
    best = values[0]
    for value in values[1:]:
        best = np.where(value < best, value, best)
    return best


def _first_max(a: np.ndarray, b) -> np.ndarray:
    """Python's ``max(a, b)`` elementwise: ``b`` only where it is greater."""
    return np.where(b > a, b, a)


def _rule_of_group(requests: list[ScheduleRequest], T: int) -> list[Flows]:
    """The rule's loop over ``T`` steps for households of ``T`` steps each (rows: households)."""
    batteries = [r.battery for r in requests]
    dt = np.array([r.dt_h for r in requests])
    retention = 1.0 - np.array([b.self_discharge_per_h for b in batteries]) * dt
    has_capacity = np.array([b.capacity_kwh > 0 for b in batteries])
    max_charge = np.where(has_capacity, [b.max_charge_kw for b in batteries], 0.0)
    max_discharge = np.where(has_capacity, [b.max_discharge_kw for b in batteries], 0.0)
    charge_eff = np.array([b.charge_efficiency for b in batteries])
    discharge_eff = np.array([b.discharge_efficiency for b in batteries])
    max_kwh, min_kwh = np.array([b.max_kwh for b in batteries]), np.array([b.min_kwh for b in batteries])
    net = np.array([r.load_kw - r.pv_kw for r in requests]).reshape(len(requests), T)  # > 0: deficit
    charge, discharge, soc = np.zeros(net.shape), np.zeros(net.shape), np.zeros(net.shape)
    stored = np.array([b.initial_kwh for b in batteries], dtype=float)
    zero = np.zeros(len(requests))
    with np.errstate(divide="ignore", invalid="ignore"):  # where a branch is not taken, its numbers are not used
        for t in range(T):
            kept = stored * retention
            step = net[:, t]
            room_kw = _first_max(max_kwh - kept, 0.0) / (charge_eff * dt)
            available_kw = _first_max(kept - min_kwh, 0.0) * discharge_eff / dt
            charge[:, t] = np.where(step < 0, _first_min(max_charge, -step, room_kw), zero)
            discharge[:, t] = np.where(step > 0, _first_min(max_discharge, step, available_kw), zero)
            stored = kept + (charge_eff * charge[:, t] - discharge[:, t] / discharge_eff) * dt
            soc[:, t] = stored
    out = []
    for k, request in enumerate(requests):
        imports, exports, curtail, unserved = _grid_side(request, net[k] + charge[k] - discharge[k])
        out.append(Flows(charge[k], discharge[k], imports, exports, curtail, soc[k], unserved))
    return out


def _grid_side(request: ScheduleRequest, need_kw: np.ndarray):
    """Import, export, curtailment and unserved load [kW] for a net need (positive = deficit)."""
    grid = request.grid
    deficit = np.maximum(need_kw, 0.0)
    surplus = np.maximum(-need_kw, 0.0)
    import_cap = np.inf if grid.import_limit_kw is None else grid.import_limit_kw
    export_cap = np.inf if grid.export_limit_kw is None else grid.export_limit_kw
    imports = np.minimum(deficit, import_cap)
    exports = np.minimum(surplus, export_cap)
    if grid.export_curtailable:  # exporting costs money: the inverter curtails instead
        exports = np.where(request.prices.export_per_kwh < 0, 0.0, exports)
    # Surplus beyond the export limit can only be PV, which the inverter curtails.
    curtail = np.minimum(surplus - exports, request.pv_kw)
    return imports, exports, curtail, deficit - imports
