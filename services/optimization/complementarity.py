"""Never charge and discharge (or import and export) in the same step: when a linear program is enough.

A battery cannot charge and discharge at once, nor a meter import and export at
once. The linear program of :mod:`.formulation` does not say so; this module
decides when it does not need to, and cleans up the ties it may leave.

Why the LP is exact when, in every step, ``import price >= 0`` and
``export price <= import price`` (the usual household tariff):

* Import and export together. Lowering both g_t and e_t by m = min(g_t, e_t)
  keeps the balance and every limit, and changes the cost by
  ``-(p_imp - p_exp) m dt <= 0``. So an optimum without it exists; where the
  solver returns one with it (a tie, p_imp = p_exp), :func:`tidy` nets it out at
  no cost.
* Charge and discharge together. Lowering c_t by a and d_t by
  ``eta_c eta_d a`` keeps every stored energy s_t unchanged and frees
  ``a (1 - eta_c eta_d) >= 0`` kW at the meter, which can go to less import
  (saves ``p_imp >= 0``), more curtailment (free) or more export; the discharge
  wear cost falls. Burning energy in the battery therefore never beats
  curtailing it while energy is worth zero or more, and where the solver
  returns such a tie, :func:`tidy` removes it at no cost. If no sink is left in
  that step (no import to lower, PV fully curtailed, export at its limit),
  :func:`tidy` reports the step and the service adds a binary there.

When a step has a negative import price, burning pays (each kWh lost in the
battery is one more kWh bought at a negative price), and when the export price
exceeds the import price, cycling through the meter pays; the LP would exploit
both. Those are the :func:`risky_steps`. The service solves the LP first: if its
solution needs no repair, it is optimal for the problem with binaries too (it
is a relaxation whose optimum happens to be feasible). Otherwise it adds
binaries on the risky steps (and any step :func:`tidy` could not repair) and
solves the mixed-integer program, which HiGHS solves exactly.
"""

from __future__ import annotations

import numpy as np

from services.optimization.formulation import curtail_limit_kw
from services.optimization.problem import ScheduleRequest
from services.optimization.results import Flows

#: Flows below this are zero [kW]; solver tolerances are around 1e-7.
FLOW_TOL_KW = 1e-6


def risky_steps(request: ScheduleRequest) -> tuple[list[int], list[int]]:
    """Steps where the LP could profit from simultaneous flows: (battery steps, grid steps).

    Battery: a negative import price, with both charging and discharging possible.
    Grid: an export price above the import price, with both import and export possible.
    """
    p_imp, p_exp = request.prices.import_per_kwh, request.prices.export_per_kwh
    b, g = request.battery, request.grid
    battery_can_cycle = b.capacity_kwh > 0 and b.max_charge_kw > 0 and b.max_discharge_kw > 0
    battery = np.flatnonzero(p_imp < 0) if battery_can_cycle else np.array([], dtype=int)
    grid_can_cycle = (g.import_limit_kw is None or g.import_limit_kw > 0) and g.export_limit_kw != 0
    grid = np.flatnonzero(p_exp > p_imp) if grid_can_cycle else np.array([], dtype=int)
    return battery.tolist(), grid.tolist()


def simultaneous_steps(flows: Flows, tol: float = FLOW_TOL_KW) -> tuple[list[int], list[int]]:
    """Steps with charge and discharge both above ``tol``, and with import and export both above it."""
    battery = np.flatnonzero(np.minimum(flows.charge_kw, flows.discharge_kw) > tol)
    grid = np.flatnonzero(np.minimum(flows.import_kw, flows.export_kw) > tol)
    return battery.tolist(), grid.tolist()


def tidy(request: ScheduleRequest, flows: Flows, tol: float = FLOW_TOL_KW) -> tuple[Flows, list[int], list[int]]:
    """Remove cost-neutral simultaneous flows (see the module docstring).

    Returns the tidied flows and the (battery, grid) steps that could not be tidied without
    changing the cost; those need binaries. Stored energy is left exactly as it was.
    """
    c, d = flows.charge_kw.copy(), flows.discharge_kw.copy()
    g, e, x = flows.import_kw.copy(), flows.export_kw.copy(), flows.curtail_kw.copy()
    p_imp, p_exp = request.prices.import_per_kwh, request.prices.export_per_kwh
    eta = request.battery.charge_efficiency * request.battery.discharge_efficiency
    export_ub = np.inf if request.grid.export_limit_kw is None else request.grid.export_limit_kw
    stuck_battery: list[int] = []
    both = np.flatnonzero(np.minimum(c, d) > tol).tolist()
    curtail_ub = curtail_limit_kw(request) if both else None  # most schedules have no such step
    for t in both:
        a = min(c[t], d[t] / eta)
        freed = a * (1.0 - eta)
        from_import = min(g[t], freed) if p_imp[t] >= 0 else 0.0  # less import saves p_imp >= 0
        to_curtail = max(min(curtail_ub[t] - x[t], freed - from_import), 0.0)
        to_export = min(export_ub - e[t], freed - from_import - to_curtail) if p_exp[t] >= 0 else 0.0
        if freed - from_import - to_curtail - to_export > tol:
            stuck_battery.append(t)
            continue
        c[t] -= a
        d[t] -= eta * a
        g[t] -= from_import
        x[t] += to_curtail
        e[t] += max(to_export, 0.0)
    stuck_grid: list[int] = []
    for t in np.flatnonzero(np.minimum(g, e) > tol).tolist():
        if p_exp[t] > p_imp[t]:
            stuck_grid.append(t)
            continue
        m = min(g[t], e[t])
        g[t] -= m
        e[t] -= m
    cleaned = Flows(c, d, g, e, x, flows.soc_kwh)
    return cleaned.clip_noise(tol), stuck_battery, stuck_grid
