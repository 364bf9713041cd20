"""The battery schedule as one linear program: layout, coefficients and bounds.

Both solvers, the Pyomo model (:mod:`.model`) and the direct highspy build
(:mod:`.raw_highs`), take their numbers from :func:`formulate`, so they solve
the same problem column for column and their objectives can be compared.

Variables, per step t of ``dt`` hours (all >= 0, powers in kW, energy in kWh)::

    charge c_t, discharge d_t, import g_t, export e_t, curtail x_t, stored energy s_t (end of step)
    peak P (kW, only with a demand charge or the 'peak' objective)
    binaries: b_t (1 = may charge, 0 = may discharge), z_t (1 = may import, 0 = may export),
              only on the steps listed in the shape (see :mod:`.complementarity`)

Rows::

    balance_t   g_t + d_t - c_t - e_t - x_t = load_t - pv_t
    soc_t       s_t - k s_{t-1} - eta_c dt c_t + dt/eta_d d_t = 0      (t = 0: right side k s_init)
    terminal    s_{T-1} >= s_init   (or free)
    peak_t      g_t - P <= 0
    exclusive   c_t - Mc_t b_t <= 0,  d_t + Md_t b_t <= Md_t,  g_t - Mg_t z_t <= 0,  e_t + Me_t z_t <= Me_t

with k = 1 - self_discharge_per_h * dt. Limits are column bounds: c_t <= max charge power (and,
without grid charging, <= the PV surplus pv_t - load_t), d_t <= max discharge power, g_t and e_t
<= the connection limits (and g_t <= load_t + max charge, e_t <= pv_t + max discharge, which any
schedule that does not import and export at once meets), soc_min <= s_t <= soc_max, and x_t <= the
curtailment allowed (:func:`curtail_limit_kw`: all of pv_t at a negative export price where the
household's export is curtailable, else only the surplus the export limit cannot take).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from services.optimization.problem import ScheduleRequest

INF = float("inf")
#: Weight of the secondary cost term in the 'self_consumption' and 'peak' objectives, relative
#: to the primary one: small enough never to trade a primary unit, large enough to break ties.
TIE_BREAK = 1e-3


@dataclass(frozen=True)
class Shape:
    """What fixes the structure of the program: a model built for a shape is re-used for any data."""

    steps: int
    with_peak: bool = False
    exclusive_battery: tuple[int, ...] = ()  # steps with a charge-or-discharge binary
    exclusive_grid: tuple[int, ...] = ()  # steps with an import-or-export binary

    @property
    def is_mip(self) -> bool:
        return bool(self.exclusive_battery or self.exclusive_grid)

    @property
    def n_cols(self) -> int:
        return 6 * self.steps + int(self.with_peak) + len(self.exclusive_battery) + len(self.exclusive_grid)

    @property
    def n_rows(self) -> int:
        extra = 2 * (len(self.exclusive_battery) + len(self.exclusive_grid))
        return (3 if self.with_peak else 2) * self.steps + 1 + extra

    def block(self, name: str) -> slice:
        """Column slice of a per-step block: charge, discharge, import, export, curtail, soc."""
        return _block_slices(self.steps)[name]

    @property
    def peak_col(self) -> int:
        return 6 * self.steps

    @property
    def first_binary_col(self) -> int:
        return 6 * self.steps + int(self.with_peak)

    @property
    def terminal_row(self) -> int:
        return 2 * self.steps

    @property
    def first_exclusive_row(self) -> int:
        return 2 * self.steps + 1 + (self.steps if self.with_peak else 0)


BLOCKS = ("charge", "discharge", "import", "export", "curtail", "soc")


@lru_cache(maxsize=64)
def _block_slices(steps: int) -> dict[str, slice]:
    return {name: slice(i * steps, (i + 1) * steps) for i, name in enumerate(BLOCKS)}


@dataclass(frozen=True, eq=False)
class LPData:
    """The numbers of one program of a given :class:`Shape`.

    cost : objective coefficient of each column (currency per kW held for a step, etc.).
    col_lb, col_ub, row_lb, row_ub : bounds (``inf`` = none).
    retention : k, the fraction of stored energy kept over one step.
    charge_gain : eta_c * dt [kWh stored per kW charged]; discharge_drain : dt / eta_d.
    big_m_* : per exclusive step, the largest flow each side can take [kW].
    """

    shape: Shape
    cost: np.ndarray
    col_lb: np.ndarray
    col_ub: np.ndarray
    row_lb: np.ndarray
    row_ub: np.ndarray
    retention: float
    charge_gain: float
    discharge_drain: float
    big_m_charge: np.ndarray
    big_m_discharge: np.ndarray
    big_m_import: np.ndarray
    big_m_export: np.ndarray


def shape_of(request: ScheduleRequest, exclusive_battery=(), exclusive_grid=()) -> Shape:
    """The shape a request needs, with binaries on the given steps."""
    with_peak = request.objective == "peak" or request.grid.demand_charge_per_kw > 0
    return Shape(request.steps, with_peak, tuple(sorted(exclusive_battery)), tuple(sorted(exclusive_grid)))


def charge_limit_kw(request: ScheduleRequest) -> np.ndarray:
    """Upper bound of charging per step [kW]: the battery's limit, and without grid charging the PV surplus."""
    b = request.battery
    limit = np.full(request.steps, b.max_charge_kw if b.capacity_kwh > 0 else 0.0)
    if not request.grid.allow_grid_charging:
        limit = np.minimum(limit, np.maximum(request.pv_kw - request.load_kw, 0.0))
    return limit


def discharge_limit_kw(request: ScheduleRequest) -> np.ndarray:
    """Upper bound of discharging per step [kW]."""
    b = request.battery
    return np.full(request.steps, b.max_discharge_kw if b.capacity_kwh > 0 else 0.0)


def curtail_limit_kw(request: ScheduleRequest) -> np.ndarray:
    """Upper bound of curtailment per step [kW], the same for the optimizer and the baselines.

    PV that neither the load nor the export limit can take is always curtailed. Beyond that,
    a household whose export is curtailable (``grid.export_curtailable``) may curtail all its PV in
    steps where exporting costs money (export price < 0); otherwise its surplus is exported.
    """
    pv, grid = request.pv_kw, request.grid
    export_cap = INF if grid.export_limit_kw is None else grid.export_limit_kw
    forced = np.minimum(np.maximum(pv - request.load_kw - export_cap, 0.0), pv)
    if grid.export_curtailable:
        return np.where(request.prices.export_per_kwh < 0, pv, forced)
    return forced


def formulate(request: ScheduleRequest, shape: Shape | None = None) -> LPData:
    """The program's numbers for ``request`` in ``shape`` (default: no binaries)."""
    shape = shape or shape_of(request)
    T, dt, b, grid = request.steps, request.dt_h, request.battery, request.grid
    pv, load = request.pv_kw, request.load_kw
    p_imp, p_exp = request.prices.import_per_kwh, request.prices.export_per_kwh
    n = shape.n_cols

    cost = np.zeros(n)
    cost[shape.block("import")] = p_imp * dt
    cost[shape.block("export")] = -p_exp * dt
    cost[shape.block("discharge")] = b.wear_cost_per_kwh * dt
    if request.terminal == "value":
        cost[shape.block("soc").stop - 1] = -float(request.terminal_value_per_kwh)
    if shape.with_peak:
        cost[shape.peak_col] = grid.demand_charge_per_kw
    cost = _objective(request, shape, cost)

    charge_ub, discharge_ub = charge_limit_kw(request), discharge_limit_kw(request)
    # Besides the connection limits: a meter that does not import and export at once never imports
    # more than load plus charging, nor exports more than PV plus discharging. Stating it keeps
    # the LP bounded when exporting pays more than importing costs (and gives finite big-Ms).
    import_ub = np.minimum(INF if grid.import_limit_kw is None else grid.import_limit_kw, load + charge_ub)
    export_ub = np.minimum(INF if grid.export_limit_kw is None else grid.export_limit_kw, pv + discharge_ub)
    col_lb, col_ub = np.zeros(n), np.full(n, INF)
    col_ub[shape.block("charge")] = charge_ub
    col_ub[shape.block("discharge")] = discharge_ub
    col_ub[shape.block("import")] = import_ub
    col_ub[shape.block("export")] = export_ub
    col_ub[shape.block("curtail")] = curtail_limit_kw(request)
    col_lb[shape.block("soc")] = b.min_kwh
    col_ub[shape.block("soc")] = b.max_kwh
    col_ub[shape.first_binary_col :] = 1.0

    retention = 1.0 - b.self_discharge_per_h * dt
    s0 = b.initial_kwh
    row_lb, row_ub = np.full(shape.n_rows, -INF), np.zeros(shape.n_rows)
    row_lb[:T] = row_ub[:T] = load - pv
    row_lb[T : 2 * T] = 0.0
    row_lb[T] = row_ub[T] = retention * s0
    row_lb[shape.terminal_row] = s0 if request.terminal == "at_least_initial" else -INF
    row_ub[shape.terminal_row] = INF

    cd, ge = np.array(shape.exclusive_battery, dtype=int), np.array(shape.exclusive_grid, dtype=int)
    big_m = {"charge": charge_ub[cd], "discharge": discharge_ub[cd], "import": import_ub[ge], "export": export_ub[ge]}
    r = shape.first_exclusive_row
    row_ub[r + 1 : r + 2 * len(cd) : 2] = big_m["discharge"]
    r += 2 * len(cd)
    row_ub[r + 1 : r + 2 * len(ge) : 2] = big_m["export"]
    return LPData(
        shape,
        cost,
        col_lb,
        col_ub,
        row_lb,
        row_ub,
        retention,
        b.charge_efficiency * dt,
        dt / b.discharge_efficiency,
        big_m["charge"],
        big_m["discharge"],
        big_m["import"],
        big_m["export"],
    )


def _objective(request: ScheduleRequest, shape: Shape, cost: np.ndarray) -> np.ndarray:
    """Turn the money cost vector into the requested objective (a primary term plus a tie-breaker)."""
    if request.objective == "cost":
        return cost
    scale = max(np.abs(cost).max(initial=0.0), 1e-9)
    primary = np.zeros_like(cost)
    if request.objective == "self_consumption":
        primary[shape.block("import")] = request.dt_h  # kWh imported
        return primary + cost * (TIE_BREAK / scale)
    primary[shape.peak_col] = 1.0  # kW of peak import
    return primary + cost * (TIE_BREAK / (scale * request.steps))


def coefficient_key(lp: LPData) -> tuple:
    """The numbers of the constraint matrix that vary with the data (the rest are +-1)."""
    return (
        lp.retention,
        lp.charge_gain,
        lp.discharge_drain,
        lp.big_m_charge.tobytes(),
        lp.big_m_discharge.tobytes(),
        lp.big_m_import.tobytes(),
        lp.big_m_export.tobytes(),
    )


def matrix_triplets(lp: LPData) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The constraint matrix as (row, col, value) triplets in the layout above."""
    s = lp.shape
    T = s.steps
    t = np.arange(T)
    c, d, g, e, x, soc = (s.block(name).start + t for name in BLOCKS)
    rows, cols, vals = [], [], []

    def put(r, col, v):
        rows.append(np.broadcast_to(r, np.shape(col)))
        cols.append(col)
        vals.append(np.broadcast_to(np.asarray(v, dtype=float), np.shape(col)))

    for col, v in ((g, 1.0), (d, 1.0), (c, -1.0), (e, -1.0), (x, -1.0)):
        put(t, col, v)
    put(T + t, soc, 1.0)
    put(T + t[1:], soc[:-1], -lp.retention)
    put(T + t, c, -lp.charge_gain)
    put(T + t, d, lp.discharge_drain)
    put(np.array([s.terminal_row]), soc[-1:], 1.0)
    if s.with_peak:
        put(2 * T + 1 + t, g, 1.0)
        put(2 * T + 1 + t, np.full(T, s.peak_col), -1.0)
    r, b = s.first_exclusive_row, s.first_binary_col
    for steps, (lo, hi), (m_lo, m_hi) in (
        (s.exclusive_battery, (c, d), (lp.big_m_charge, lp.big_m_discharge)),
        (s.exclusive_grid, (g, e), (lp.big_m_import, lp.big_m_export)),
    ):
        k = np.arange(len(steps))
        idx = np.array(steps, dtype=int)
        put(r + 2 * k, lo[idx], 1.0)
        put(r + 2 * k, b + k, -m_lo)
        put(r + 2 * k + 1, hi[idx], 1.0)
        put(r + 2 * k + 1, b + k, m_hi)
        r, b = r + 2 * len(steps), b + len(steps)
    return np.concatenate(rows), np.concatenate(cols), np.concatenate(vals)
