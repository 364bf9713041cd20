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
"""

from __future__ import annotations

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
