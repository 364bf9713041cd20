"""What a schedule does: flows per step, money and energy per way of running the household.

Sign conventions as in :mod:`.problem`: every flow is non-negative [kW, mean over
the step]; import and charge flow in, export and discharge flow out;
``soc_kwh`` is the stored energy at the END of each step [kWh]. Money is in the
request's currency over the horizon; a cost is positive when the household pays.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from services.optimization.formulation import BLOCKS, Shape
from services.optimization.problem import ScheduleRequest

FLOW_NAMES = ("charge_kw", "discharge_kw", "import_kw", "export_kw", "curtail_kw", "soc_kwh")


@dataclass(frozen=True, eq=False)
class Flows:
    """Per-step flows of one way of running the household (arrays of length T)."""

    charge_kw: np.ndarray
    discharge_kw: np.ndarray
    import_kw: np.ndarray
    export_kw: np.ndarray
    curtail_kw: np.ndarray
    soc_kwh: np.ndarray
    unserved_kw: np.ndarray | None = None  # load no limit allowed to meet (baselines only)

    @classmethod
    def from_columns(cls, shape: Shape, x: np.ndarray) -> Flows:
        """Read the flows out of a solution vector in the :class:`~.formulation.LPData` layout."""
        return cls(*(np.array(x[shape.block(name)]) for name in BLOCKS))

    def clip_noise(self, tol: float) -> Flows:
        """Solver noise (|value| < ``tol``, or tiny negatives) set to zero; stored energy unchanged."""

        def clean(v: np.ndarray) -> np.ndarray:
            return np.where(v < tol, 0.0, v)

        return Flows(*(clean(getattr(self, n)) for n in FLOW_NAMES[:5]), self.soc_kwh, self.unserved_kw)

    def net_battery_kw(self) -> np.ndarray:
        """Battery power at the AC side [kW], positive when discharging."""
        return self.discharge_kw - self.charge_kw

    def net_grid_kw(self) -> np.ndarray:
        """Grid power [kW], positive when importing."""
        return self.import_kw - self.export_kw


@dataclass(frozen=True)
class Outcome:
    """Money and energy over the horizon for one way of running the household.

    energy_cost : import cost minus export revenue [currency].
    demand_cost : demand charge on the peak import [currency]; wear_cost : battery wear [currency].
    *_kwh : energy over the horizon [kWh]. peak_import_kw : highest import [kW].
    self_consumption : share of the available PV used on site, (PV - curtailed - exported) / PV.
    self_sufficiency : share of the load not bought from the grid, 1 - import / load (at least 0).
    equivalent_full_cycles : discharged energy / battery capacity.
    final_soc_kwh : stored energy at the end [kWh]; unserved_kwh : load no limit allowed to meet.
    """

    energy_cost: float
    demand_cost: float
    wear_cost: float
    import_kwh: float
    export_kwh: float
    curtailed_kwh: float
    charged_kwh: float
    discharged_kwh: float
    pv_kwh: float
    load_kwh: float
    peak_import_kw: float
    self_consumption: float | None
    self_sufficiency: float | None
    equivalent_full_cycles: float
    final_soc_kwh: float
    unserved_kwh: float = 0.0

    @property
    def total_cost(self) -> float:
        """Energy, demand and wear cost together [currency]."""
        return self.energy_cost + self.demand_cost + self.wear_cost


def evaluate(request: ScheduleRequest, flows: Flows) -> Outcome:
    """Money and energy of ``flows`` under ``request``'s prices and battery."""
    dt = request.dt_h
    p_imp, p_exp = request.prices.import_per_kwh, request.prices.export_per_kwh
    import_kwh, export_kwh = flows.import_kw.sum() * dt, flows.export_kw.sum() * dt
    pv_kwh, load_kwh = request.pv_kw.sum() * dt, request.load_kw.sum() * dt
    curtailed = flows.curtail_kw.sum() * dt
    discharged = flows.discharge_kw.sum() * dt
    peak = float(flows.import_kw.max(initial=0.0))
    capacity = request.battery.capacity_kwh
    unserved = 0.0 if flows.unserved_kw is None else float(flows.unserved_kw.sum() * dt)
    return Outcome(
        energy_cost=float(np.dot(p_imp, flows.import_kw) * dt - np.dot(p_exp, flows.export_kw) * dt),
        demand_cost=request.grid.demand_charge_per_kw * peak,
        wear_cost=request.battery.wear_cost_per_kwh * discharged,
        import_kwh=float(import_kwh),
        export_kwh=float(export_kwh),
        curtailed_kwh=float(curtailed),
        charged_kwh=float(flows.charge_kw.sum() * dt),
        discharged_kwh=float(discharged),
        pv_kwh=float(pv_kwh),
        load_kwh=float(load_kwh),
        peak_import_kw=peak,
        self_consumption=float((pv_kwh - curtailed - export_kwh) / pv_kwh) if pv_kwh > 0 else None,
        self_sufficiency=float(max(0.0, 1.0 - import_kwh / load_kwh)) if load_kwh > 0 else None,
        equivalent_full_cycles=float(discharged / capacity) if capacity > 0 else 0.0,
        final_soc_kwh=float(flows.soc_kwh[-1]) if len(flows.soc_kwh) else request.battery.initial_kwh,
        unserved_kwh=unserved,
    )


@dataclass(frozen=True, eq=False)
class ScheduleResult:
    """An optimized schedule with its baselines.

    status : ``optimal``, or ``feasible`` when a mixed-integer solve hit its time limit with a
        schedule it could not prove best (``notes`` says so).
    objective : the solver's objective (equals ``optimized.total_cost`` for the cost objective
        with the default terminal rule).
    binary_steps : steps solved with binaries (see :mod:`.complementarity`).
    timings_ms : ``formulate``, ``solve`` (solver wall time), ``total`` and, for a model built for
        this call, ``build``.
    stored_energy_value_per_kwh : what a kWh left in the battery at the end is worth [currency/kWh].
        Schedules that end with different stored energy are compared on :meth:`adjusted_cost`:
        the self-consumption rule, for one, may end a day with the battery emptier than the
        optimizer (held to its terminal rule) is allowed to, and would otherwise look cheaper.
    """

    request: ScheduleRequest
    flows: Flows
    optimized: Outcome
    no_battery: Outcome
    rule_based: Outcome
    status: str
    objective: float
    engine: str
    stored_energy_value_per_kwh: float = 0.0
    binary_steps: tuple[int, ...] = ()
    timings_ms: dict[str, float] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    no_battery_flows: Flows | None = None  # per-step baselines, for charts (fleet runs leave them out)
    rule_based_flows: Flows | None = None

    def adjusted_cost(self, outcome: Outcome) -> float:
        """Total cost minus the value of the stored energy gained over the horizon [currency]."""
        gained = outcome.final_soc_kwh - self.request.battery.initial_kwh
        return outcome.total_cost - self.stored_energy_value_per_kwh * gained

    @property
    def savings_vs_no_battery(self) -> float:
        """Money saved against the household without a battery, on adjusted costs [currency]."""
        return self.adjusted_cost(self.no_battery) - self.adjusted_cost(self.optimized)

    @property
    def savings_vs_rule(self) -> float:
        """Money saved against the battery run by the self-consumption rule, on adjusted costs [currency]."""
        return self.adjusted_cost(self.rule_based) - self.adjusted_cost(self.optimized)

    @property
    def import_kwh_saved_vs_no_battery(self) -> float:
        """Grid import avoided against the household without a battery [kWh]."""
        return self.no_battery.import_kwh - self.optimized.import_kwh

    @property
    def import_kwh_saved_vs_rule(self) -> float:
        """Grid import avoided against the rule-based battery [kWh]."""
        return self.rule_based.import_kwh - self.optimized.import_kwh

    def compact(self) -> tuple:
        """The result without its request and baseline flows, as plain data: what a worker process
        sends back (about a quarter of the pickled size). :meth:`from_compact` rebuilds it."""
        stacked = np.vstack([getattr(self.flows, name) for name in FLOW_NAMES])
        return (
            stacked,
            self.optimized,
            self.no_battery,
            self.rule_based,
            self.status,
            self.objective,
            self.engine,
            self.stored_energy_value_per_kwh,
            self.binary_steps,
            self.timings_ms,
            self.notes,
        )

    @classmethod
    def from_compact(cls, request: ScheduleRequest, data: tuple) -> ScheduleResult:
        """Rebuild a result from :meth:`compact` and its request."""
        stacked, *rest = data
        return cls(request, Flows(*stacked), *rest)

    def to_frame(self) -> pd.DataFrame:
        """One row per step: inputs, prices and the optimized flows, indexed by UTC time when known."""
        r = self.request
        data = {
            "pv_kw": r.pv_kw,
            "load_kw": r.load_kw,
            "import_price": r.prices.import_per_kwh,
            "export_price": r.prices.export_per_kwh,
        }
        data.update({name: getattr(self.flows, name) for name in FLOW_NAMES})
        index = r.times()
        return pd.DataFrame(data, index=index if index is not None else pd.RangeIndex(r.steps, name="step"))
