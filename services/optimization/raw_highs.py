"""The program handed to HiGHS as arrays, and a persistent HiGHS instance that is re-solved with new numbers.

:func:`solve_cold` builds the program of :mod:`.formulation` directly as highspy
arrays and solves it: the reference the benchmark measures the Pyomo model
against, and the check that both give the same objective.

:class:`HighsProgram` keeps one ``highspy.Highs`` instance of a given shape and,
for new data, changes only what differs (costs, bounds, right-hand sides, the
few coefficients that depend on efficiencies) in bulk calls, then re-solves
from the previous basis. It serves both the direct build (identity layout) and
the Pyomo model (:mod:`.model`), whose compiled rows and columns it maps onto
the layout of :class:`~.formulation.LPData`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import highspy
import numpy as np
from scipy import sparse

from services.optimization.formulation import LPData, Shape, coefficient_key, matrix_triplets

#: HiGHS options used everywhere: silent, one thread (fleets run one solver per core), a MIP
#: gap tight enough that the two build paths agree to 1e-6, and a MIP feasibility tolerance
#: tight enough that a binary at 1e-6 cannot leak a visible flow through its big-M row.
HIGHS_OPTIONS = {"output_flag": False, "threads": 1, "mip_rel_gap": 1e-7, "mip_feasibility_tolerance": 1e-9}

_STATUS = {
    highspy.HighsModelStatus.kOptimal: "optimal",
    highspy.HighsModelStatus.kInfeasible: "infeasible",
    highspy.HighsModelStatus.kUnboundedOrInfeasible: "infeasible",
    highspy.HighsModelStatus.kUnbounded: "unbounded",
    highspy.HighsModelStatus.kTimeLimit: "time_limit",
    highspy.HighsModelStatus.kIterationLimit: "iteration_limit",
}


@dataclass(frozen=True, eq=False)
class LPSolution:
    """What a solve returned: ``status`` (optimal, infeasible, unbounded, error, ...), the objective,
    column values ``x`` in the :class:`~.formulation.LPData` layout (None without a solution),
    and the solver's wall time [ms]."""

    status: str
    objective: float | None
    x: np.ndarray | None
    solve_ms: float
    is_mip: bool = False


def new_highs() -> highspy.Highs:
    """A silent HiGHS instance with the project's options."""
    h = highspy.Highs()
    for key, value in HIGHS_OPTIONS.items():
        h.setOptionValue(key, value)
    return h


def solve_cold(lp: LPData) -> LPSolution:
    """Build ``lp`` as highspy arrays in a new HiGHS instance and solve it (no state kept)."""
    return HighsProgram.from_lp(lp).solve(lp, push=False)


def csc_arrays(rows: np.ndarray, cols: np.ndarray, vals: np.ndarray, shape: tuple[int, int]):
    """Column-wise (start, index, value) arrays, duplicates summed."""
    a = sparse.csc_matrix((vals, (rows, cols)), shape=shape)
    a.sum_duplicates()
    return a.indptr.astype(np.int32), a.indices.astype(np.int32), a.data


def pass_lp(h: highspy.Highs, cost, col_lb, col_ub, row_lb, row_ub, start, index, value) -> None:
    """Load a whole LP into ``h`` in one call."""
    model = highspy.HighsLp()
    model.num_col_, model.num_row_ = len(cost), len(row_lb)
    model.col_cost_, model.col_lower_, model.col_upper_ = cost, col_lb, col_ub
    model.row_lower_, model.row_upper_ = row_lb, row_ub
    model.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    model.a_matrix_.start_, model.a_matrix_.index_, model.a_matrix_.value_ = start, index, value
    status = h.passModel(model)
    if status == highspy.HighsStatus.kError:
        raise RuntimeError("HiGHS refused the model")


class HighsProgram:
    """One HiGHS instance holding a program of one :class:`Shape`, updated in place for new data.

    ``col_index[j]`` / ``row_index[i]`` give the HiGHS column / row of LPData column j / row i
    (identity for the direct build). Not thread-safe: callers hold :attr:`lock`-like exclusion
    (see :class:`.model.ProgramCache`).
    """

    def __init__(self, h: highspy.Highs, shape: Shape, col_index: np.ndarray, row_index: np.ndarray, pushed: LPData):
        self.highs, self.shape = h, shape
        self.col_index = np.asarray(col_index, dtype=np.int32)
        self.row_index = np.asarray(row_index, dtype=np.int32)
        self._remember(pushed)
        self._loaded = pushed
        if shape.is_mip:
            binaries = self.col_index[shape.first_binary_col :]
            h.changeColsIntegrality(len(binaries), binaries, np.full(len(binaries), highspy.HighsVarType.kInteger))

    @classmethod
    def from_lp(cls, lp: LPData) -> HighsProgram:
        """Build ``lp`` directly as arrays (identity layout)."""
        s = lp.shape
        h = new_highs()
        rows, cols, vals = matrix_triplets(lp)
        start, index, value = csc_arrays(rows, cols, vals, (s.n_rows, s.n_cols))
        pass_lp(h, lp.cost, lp.col_lb, lp.col_ub, lp.row_lb, lp.row_ub, start, index, value)
        return cls(h, s, np.arange(s.n_cols), np.arange(s.n_rows), lp)

    def _remember(self, lp: LPData) -> None:
        self._cost, self._col_lb, self._col_ub = lp.cost, lp.col_lb, lp.col_ub
        self._row_lb, self._row_ub = lp.row_lb, lp.row_ub
        self._coef_key, self._coefs = coefficient_key(lp), None

    def push(self, lp: LPData) -> None:
        """Make the HiGHS model equal to ``lp``, sending only the arrays that changed."""
        if lp.shape != self.shape:
            raise ValueError(f"program built for {self.shape}, data is for {lp.shape}")
        h, ci, ri = self.highs, self.col_index, self.row_index
        if not np.array_equal(lp.cost, self._cost):
            h.changeColsCost(len(ci), ci, lp.cost)
        if not (np.array_equal(lp.col_lb, self._col_lb) and np.array_equal(lp.col_ub, self._col_ub)):
            h.changeColsBounds(len(ci), ci, lp.col_lb, lp.col_ub)
        if not (np.array_equal(lp.row_lb, self._row_lb) and np.array_equal(lp.row_ub, self._row_ub)):
            h.changeRowsBounds(len(ri), ri, lp.row_lb, lp.row_ub)
        key = coefficient_key(lp)
        if key != self._coef_key:
            # The pattern is fixed by the shape; only values move (efficiencies, self-discharge, big-Ms).
            before = self._coefs if self._coefs is not None else matrix_triplets(self._loaded)
            rows, cols, vals = matrix_triplets(lp)
            for k in np.flatnonzero(vals != before[2]).tolist():
                h.changeCoeff(int(ri[rows[k]]), int(ci[cols[k]]), float(vals[k]))
            self._coefs = (rows, cols, vals)
        self._cost, self._col_lb, self._col_ub = lp.cost, lp.col_lb, lp.col_ub
        self._row_lb, self._row_ub = lp.row_lb, lp.row_ub
        self._coef_key, self._loaded = key, lp

    def solve(self, lp: LPData, push: bool = True, time_limit_s: float | None = None) -> LPSolution:
        """Push ``lp`` (unless already loaded) and solve, from the previous basis where there is one.

        ``time_limit_s`` bounds a mixed-integer solve; when it runs out with a schedule in hand,
        the status is ``feasible`` (not proven best).
        """
        if push:
            self.push(lp)
        self.highs.setOptionValue("time_limit", float(time_limit_s) if time_limit_s else highspy.kHighsInf)
        t0 = time.perf_counter()
        self.highs.run()
        solve_ms = (time.perf_counter() - t0) * 1e3
        return self.read(solve_ms)

    def read(self, solve_ms: float) -> LPSolution:
        """The outcome of the last solve, in the LPData layout."""
        h = self.highs
        status = _STATUS.get(h.getModelStatus(), "error")
        solution = h.getSolution()
        if status == "time_limit" and solution.value_valid and self.shape.is_mip:
            status = "feasible"
        elif status == "optimal" and not solution.value_valid:
            status = "error"
        if status not in ("optimal", "feasible"):
            return LPSolution(status, None, None, solve_ms, self.shape.is_mip)
        x = np.asarray(solution.col_value)[self.col_index]
        return LPSolution(status, float(h.getInfo().objective_function_value), x, solve_ms, self.shape.is_mip)
