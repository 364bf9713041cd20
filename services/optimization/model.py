"""The battery schedule as a Pyomo model with mutable parameters, kept loaded in HiGHS.

:func:`build_model` writes the program of :mod:`.formulation` in Pyomo: one
model per :class:`~.formulation.Shape` (number of steps, peak term, binary
steps), all numbers being mutable ``Param`` s. :class:`PyomoProgram` compiles it
once into a HiGHS instance and then re-solves it for new data by changing only
parameters: the Params are updated (so the Pyomo model always states the
problem being solved) and the same numbers go to HiGHS in bulk, which re-solves
from the previous basis.

Why not Pyomo's own persistent interfaces for the updates: at T = 96 on the
2-core machine, ``pyomo.contrib.solver`` ``Highs`` and ``appsi_highs`` took
12-16 ms to load the model (``set_instance``) and 14-24 ms per re-solve, because
they update every mutable coefficient one Python call at a time and capture the
solver's output through threads; Pyomo's ``LinearStandardFormCompiler`` compiles
the same model in 4-14 ms (machine load varies), and bulk updates re-solve in
1-2 ms (benchmarks/optimize.py prints the current figures side by side).
:func:`solve_with_pyomo_interface` keeps the generic path; a test checks that
both give the same schedule.
"""

from __future__ import annotations

import time

import numpy as np
import pyomo.environ as pyo
from pyomo.contrib.solver.solvers.highs import Highs as PyomoHighs
from pyomo.repn.plugins.standard_form import LinearStandardFormCompiler

from services.optimization.formulation import BLOCKS, INF, LPData, Shape
from services.optimization.raw_highs import HighsProgram, LPSolution, new_highs, pass_lp

_VAR_NAMES = {
    "charge": "charge_kw",
    "discharge": "discharge_kw",
    "import": "import_kw",
    "export": "export_kw",
    "curtail": "curtail_kw",
    "soc": "soc_kwh",
}


def build_model(shape: Shape) -> pyo.ConcreteModel:
    """The Pyomo model of ``shape``; all data are mutable Params (set them with :func:`load_data`).

    Variables [kW, kWh as named]: charge_kw, discharge_kw, import_kw, export_kw, curtail_kw,
    soc_kwh (stored energy at the end of each step), peak_kw, and binaries ``charging`` /
    ``importing`` on the exclusive steps. Objective coefficients are per step: a price times
    ``dt`` [currency per kW held for one step].
    """
    T = shape.steps
    steps = range(T)
    m = pyo.ConcreteModel(name=f"battery_schedule_{T}")

    def series():
        return pyo.Param(steps, mutable=True, initialize=0.0, within=pyo.Any)

    def scalar():
        return pyo.Param(mutable=True, initialize=0.0, within=pyo.Any)

    m.net_load_kw = series()  # load - pv
    for name in ("charge", "discharge", "import", "export", "curtail"):
        setattr(m, f"{name}_max_kw", series())
    m.soc_min_kwh, m.soc_max_kwh = scalar(), scalar()
    m.import_cost, m.export_cost, m.discharge_cost = series(), series(), series()
    m.end_soc_cost, m.peak_cost = scalar(), scalar()  # end_soc_cost = -(value of a kWh left)
    m.retention, m.charge_gain, m.discharge_drain = scalar(), scalar(), scalar()
    m.initial_soc_term_kwh, m.terminal_min_kwh = scalar(), scalar()

    for name in ("charge", "discharge", "import", "export", "curtail"):
        upper = getattr(m, f"{name}_max_kw")
        setattr(m, _VAR_NAMES[name], pyo.Var(steps, bounds=lambda _, t, ub=upper: (0.0, ub[t])))
    m.soc_kwh = pyo.Var(steps, bounds=(m.soc_min_kwh, m.soc_max_kwh))
    c, d, g, e, x, s = (getattr(m, _VAR_NAMES[n]) for n in BLOCKS)

    # Written without subtraction: negating a Param term costs Pyomo ~50 us, a third of the build.
    m.balance = pyo.Constraint(steps, rule=lambda m, t: g[t] + d[t] == m.net_load_kw[t] + c[t] + e[t] + x[t])

    def soc_rule(m, t):
        before = m.retention * s[t - 1] if t else m.initial_soc_term_kwh
        return s[t] + m.discharge_drain * d[t] == before + m.charge_gain * c[t]

    m.soc_balance = pyo.Constraint(steps, rule=soc_rule)
    m.terminal = pyo.Constraint(expr=s[T - 1] >= m.terminal_min_kwh)
    # One flat list of terms: summing per-step sub-sums makes Pyomo copy the growing sum (quadratic).
    terms = [m.import_cost[t] * g[t] for t in steps] + [m.export_cost[t] * e[t] for t in steps]
    terms += [m.discharge_cost[t] * d[t] for t in steps] + [m.end_soc_cost * s[T - 1]]
    cost = pyo.quicksum(terms)
    if shape.with_peak:
        m.peak_kw = pyo.Var(bounds=(0.0, None))
        m.peak_def = pyo.Constraint(steps, rule=lambda m, t: g[t] <= m.peak_kw)
        cost += m.peak_cost * m.peak_kw
    _add_exclusive(m, "charging", shape.exclusive_battery, c, d)
    _add_exclusive(m, "importing", shape.exclusive_grid, g, e)
    m.objective = pyo.Objective(expr=cost, sense=pyo.minimize)
    return m


def _add_exclusive(m: pyo.ConcreteModel, name: str, steps: tuple[int, ...], inflow, outflow) -> None:
    """On ``steps``, a binary lets either ``inflow`` (1) or ``outflow`` (0) be positive, not both."""
    k = range(len(steps))
    mode = pyo.Var(k, within=pyo.Binary)
    big_in = pyo.Param(k, mutable=True, initialize=0.0, within=pyo.Any)
    big_out = pyo.Param(k, mutable=True, initialize=0.0, within=pyo.Any)
    setattr(m, name, mode)
    setattr(m, f"{name}_big_in_kw", big_in)
    setattr(m, f"{name}_big_out_kw", big_out)
    setattr(m, f"{name}_in", pyo.Constraint(k, rule=lambda _, i: inflow[steps[i]] <= big_in[i] * mode[i]))
    setattr(
        m, f"{name}_out", pyo.Constraint(k, rule=lambda _, i: outflow[steps[i]] + big_out[i] * mode[i] <= big_out[i])
    )


def load_data(m: pyo.ConcreteModel, lp: LPData) -> None:
    """Set every Param of ``m`` from ``lp`` (same shape)."""
    s = lp.shape
    T = s.steps
    cost, ub = lp.cost, lp.col_ub
    zero_blocks = [cost[s.block(n)] for n in ("charge", "curtail")] + [cost[s.block("soc")][:-1]]
    if any(block.any() for block in zero_blocks):
        raise ValueError("the Pyomo model has no cost on charge, curtailment or intermediate stored energy")

    def put(param, values: np.ndarray) -> None:
        # check=False skips Pyomo's per-item validation: the values come from a validated request.
        param.store_values(dict(enumerate(values.tolist())), check=False)

    put(m.net_load_kw, lp.row_lb[:T])
    for name in ("charge", "discharge", "import", "export", "curtail"):
        put(getattr(m, f"{name}_max_kw"), ub[s.block(name)])
    put(m.import_cost, cost[s.block("import")])
    put(m.export_cost, cost[s.block("export")])
    put(m.discharge_cost, cost[s.block("discharge")])
    soc = s.block("soc")
    m.soc_min_kwh.set_value(float(lp.col_lb[soc][0]))
    m.soc_max_kwh.set_value(float(ub[soc][0]))
    m.end_soc_cost.set_value(float(cost[soc.stop - 1]))
    m.retention.set_value(lp.retention)
    m.charge_gain.set_value(lp.charge_gain)
    m.discharge_drain.set_value(lp.discharge_drain)
    m.initial_soc_term_kwh.set_value(float(lp.row_lb[T]))
    m.terminal_min_kwh.set_value(float(lp.row_lb[s.terminal_row]))
    if s.with_peak:
        m.peak_cost.set_value(float(cost[s.peak_col]))
    for name, big_in, big_out in (
        ("charging", lp.big_m_charge, lp.big_m_discharge),
        ("importing", lp.big_m_import, lp.big_m_export),
    ):
        put(getattr(m, f"{name}_big_in_kw"), big_in)
        put(getattr(m, f"{name}_big_out_kw"), big_out)


def columns_in_layout(m: pyo.ConcreteModel, shape: Shape) -> list:
    """The model's variables in the :class:`~.formulation.LPData` column order."""
    cols = [v for name in BLOCKS for v in getattr(m, _VAR_NAMES[name]).values()]
    if shape.with_peak:
        cols.append(m.peak_kw)
    return cols + list(m.charging.values()) + list(m.importing.values())


def rows_in_layout(m: pyo.ConcreteModel, shape: Shape) -> list:
    """The model's constraints in the :class:`~.formulation.LPData` row order."""
    rows = list(m.balance.values()) + list(m.soc_balance.values()) + [m.terminal]
    if shape.with_peak:
        rows += list(m.peak_def.values())
    for name in ("charging", "importing"):
        ins, outs = getattr(m, f"{name}_in"), getattr(m, f"{name}_out")
        rows += [con for pair in zip(ins.values(), outs.values(), strict=True) for con in pair]
    return rows


class PyomoProgram:
    """A Pyomo model of one shape, compiled once into a persistent HiGHS instance.

    ``build_ms`` records the Pyomo build, ``compile_ms`` the compilation and load into HiGHS.
    """

    def __init__(self, lp: LPData):
        t0 = time.perf_counter()
        self.shape = lp.shape
        self.model = build_model(lp.shape)
        load_data(self.model, lp)
        t1 = time.perf_counter()
        self.program = _compile_into_highs(self.model, lp)
        self.build_ms, self.compile_ms = (t1 - t0) * 1e3, (time.perf_counter() - t1) * 1e3
        self._loaded = lp

    def solve(self, lp: LPData, time_limit_s: float | None = None) -> LPSolution:
        """Set the Params to ``lp``, push the same numbers to HiGHS, and re-solve."""
        if lp is not self._loaded:
            load_data(self.model, lp)
            self.program.push(lp)
            self._loaded = lp
        return self.program.solve(lp, push=False, time_limit_s=time_limit_s)


def _compile_into_highs(m: pyo.ConcreteModel, lp: LPData) -> HighsProgram:
    """Compile ``m`` with Pyomo's standard-form compiler and load the result into HiGHS.

    Costs, right-hand sides and coefficients come from the compiled Pyomo model (its Params hold
    ``lp``), so a mistake in the model shows up as a different objective from the direct build.
    """
    shape = lp.shape
    cols, rows = columns_in_layout(m, shape), rows_in_layout(m, shape)
    info = LinearStandardFormCompiler().write(m, mixed_form=True, column_order=cols, row_order=rows)
    col_of = {id(v): j for j, v in enumerate(info.columns)}
    row_of = {id(entry.constraint): i for i, entry in enumerate(info.rows)}
    if len(info.columns) != shape.n_cols or len(info.rows) != shape.n_rows:
        raise RuntimeError("the compiled Pyomo model does not have the program's layout")
    col_index = np.array([col_of[id(v)] for v in cols])
    row_index = np.array([row_of[id(c)] for c in rows])
    kind = np.array([entry.bound_type for entry in info.rows])
    rhs = np.asarray(info.rhs, dtype=float)
    row_lb = np.where(kind <= 0, rhs, -INF)
    row_ub = np.where(kind >= 0, rhs, INF)
    # Column bounds straight from ``lp`` (the Params hold the same numbers): evaluating Pyomo's bound
    # expressions one variable at a time would cost as much as the compilation.
    col_lb, col_ub = np.empty(shape.n_cols), np.empty(shape.n_cols)
    col_lb[col_index], col_ub[col_index] = lp.col_lb, lp.col_ub
    a = info.A.tocsc()
    h = new_highs()
    pass_lp(
        h,
        info.c.toarray().ravel(),
        col_lb,
        col_ub,
        row_lb,
        row_ub,
        a.indptr.astype(np.int32),
        a.indices.astype(np.int32),
        a.data.astype(float),
    )
    return HighsProgram(h, shape, col_index, row_index, pushed=lp)


def solve_with_pyomo_interface(m: pyo.ConcreteModel) -> tuple[float | None, dict[str, np.ndarray]]:
    """Solve ``m`` through Pyomo's generic persistent HiGHS interface (``pyomo.contrib.solver``).

    The slow reference path: returns the objective and the variable values per block, to check
    that :class:`PyomoProgram` solves the same problem.
    """
    opt = PyomoHighs()
    results = opt.solve(
        m, load_solutions=True, raise_exception_on_nonoptimal_result=False, solver_options={"threads": 1}
    )
    if results.incumbent_objective is None:
        return None, {}
    values = {name: np.array([pyo.value(v) for v in getattr(m, _VAR_NAMES[name]).values()]) for name in BLOCKS}
    return float(results.incumbent_objective), values
