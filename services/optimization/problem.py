"""What a battery schedule is asked for: typed, validated inputs with units in their names.

Conventions (the household's point of view, as in
:mod:`services.store.models.planning`): powers are means over a step [kW] and
non-negative; import and charge flow in, export and discharge flow out. Energy
in the battery is stored energy [kWh] at the END of a step. Prices are in
currency per kWh; an export price is what the household is paid per kWh fed in
(negative = it pays to export). Efficiencies and state-of-charge limits are
fractions (0.95, not 95).

Every input is checked once, when it is built (:mod:`.input_checks`, choices in :mod:`.choices`); a wrong value raises
:class:`services.validation.ValidationProblem` with one field-level message per
mistake, written for the person who typed it ("Charge efficiency must be between
0 and 1, got 95: did you mean 0.95?"). Nothing downstream re-checks.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

import numpy as np
import pandas as pd

from services.equipment import BATTERY, GRID, GRID_COLUMNS, HOUSEHOLD_GRID
from services.optimization.choices import STEP_HOURS, Objective, Terminal
from services.optimization.input_checks import (
    battery_problems,
    grid_problems,
    price_problems,
    raise_problems,
    request_problems,
)

__all__ = ["STEP_HOURS", "BatteryParams", "GridParams", "Objective", "Prices", "ScheduleRequest", "Terminal"]


def _frozen_array(value) -> np.ndarray:
    """A read-only 1-D float copy of a scalar or a sequence."""
    array = np.array(value, dtype=float, copy=True).reshape(-1) if np.ndim(value) else np.array([float(value)])
    array.setflags(write=False)
    return array


@dataclass(frozen=True)
class BatteryParams:
    """A home battery as the optimizer sees it.

    capacity_kwh : nominal energy content [kWh]; 0 means "no battery" (sizing sweeps start there).
    max_charge_kw, max_discharge_kw : AC power limits of the battery inverter [kW].
    charge_efficiency, discharge_efficiency : one-way efficiencies (fractions); a kWh charged
        stores ``charge_efficiency`` kWh, a stored kWh delivers ``discharge_efficiency`` kWh.
    soc_min, soc_max : state-of-charge limits as fractions of ``capacity_kwh``.
    self_discharge_per_h : fraction of the stored energy lost per hour (0.0001 is typical).
    initial_soc_kwh : stored energy at the start [kWh]; None = halfway between the limits (say it
        when it is known: the latest measurement).
    wear_cost_per_kwh : wear cost of each kWh discharged [currency/kWh]; it also keeps the
        battery from cycling for gains smaller than its wear.
    """

    capacity_kwh: float
    max_charge_kw: float
    max_discharge_kw: float
    charge_efficiency: float = BATTERY.charge_efficiency.default
    discharge_efficiency: float = BATTERY.discharge_efficiency.default
    soc_min: float = BATTERY.soc_min.default
    soc_max: float = BATTERY.soc_max.default
    self_discharge_per_h: float = BATTERY.self_discharge_per_h.default
    initial_soc_kwh: float | None = BATTERY.initial_soc_kwh.default
    wear_cost_per_kwh: float = BATTERY.wear_cost_per_kwh.default

    def __post_init__(self) -> None:
        raise_problems(battery_problems(self, "battery"))

    @classmethod
    def of(cls, battery: object, **operation: float | None) -> BatteryParams:
        """The optimizer's view of a stored or entered battery (a store row, a
        :class:`~services.households.BatteryDetail` or a ``BatteryInput``: anything with the
        stored fields of :data:`services.equipment.BATTERY`), with the optimizer's own fields
        (``self_discharge_per_h``, ``initial_soc_kwh``, ``wear_cost_per_kwh``) as given."""
        return cls(**{f.name: getattr(battery, f.name) for f in BATTERY.stored()}, **operation)

    @property
    def min_kwh(self) -> float:
        """Lowest allowed stored energy [kWh]."""
        return self.soc_min * self.capacity_kwh

    @property
    def max_kwh(self) -> float:
        """Highest allowed stored energy [kWh]."""
        return self.soc_max * self.capacity_kwh

    @property
    def initial_kwh(self) -> float:
        """Stored energy at the start [kWh]."""
        if self.initial_soc_kwh is None:
            return (self.min_kwh + self.max_kwh) / 2
        return self.initial_soc_kwh


@dataclass(frozen=True)
class GridParams:
    """The grid connection and what the contract allows.

    import_limit_kw, export_limit_kw : connection limits [kW]; None = no limit, export 0 = no
        export allowed (surplus PV is then stored or curtailed).
    allow_grid_charging : False = the battery charges only from PV surplus (PV minus load).
    demand_charge_per_kw : charge on the highest import power over the horizon [currency/kW].
    export_curtailable : True = in steps with a negative export price the inverter may curtail PV
        instead of exporting it; False = surplus PV is exported whatever the price. Either way PV
        beyond the export limit is curtailed. The no-battery baseline and the optimizer obey the
        same rule (:func:`.formulation.curtail_limit_kw`), so curtailment is never counted as a
        battery's savings.
    """

    import_limit_kw: float | None = GRID.import_limit_kw.default
    export_limit_kw: float | None = GRID.export_limit_kw.default
    allow_grid_charging: bool = GRID.allow_grid_charging.default
    demand_charge_per_kw: float = GRID.demand_charge_per_kw.default
    export_curtailable: bool = GRID.export_curtailable.default

    def __post_init__(self) -> None:
        raise_problems(grid_problems(self, "grid"))

    @classmethod
    def of(cls, household: object, **contract: float | bool) -> GridParams:
        """The optimizer's view of a household's saved connection (a store row, a
        :class:`~services.households.HouseholdDetail` or a ``HouseholdInput``: anything with the
        fields of :data:`services.equipment.HOUSEHOLD_GRID`), with the contract's own fields
        (``allow_grid_charging``, ``demand_charge_per_kw``) as given."""
        saved = {GRID_COLUMNS[f.name]: f.saved(getattr(household, f.name)) for f in HOUSEHOLD_GRID}
        return cls(**saved, **contract)


@dataclass(frozen=True, eq=False)
class Prices:
    """Prices per step [currency/kWh]: a scalar applies to every step.

    import_per_kwh : what a kWh from the grid costs (may be negative on dynamic tariffs).
    export_per_kwh : what a kWh fed in earns (feed-in; negative = exporting costs money).
    """

    import_per_kwh: np.ndarray | float
    export_per_kwh: np.ndarray | float = 0.0
    currency: str = "EUR"

    def __post_init__(self) -> None:
        for name in ("import_per_kwh", "export_per_kwh"):
            object.__setattr__(self, name, _frozen_array(getattr(self, name)))
        raise_problems(price_problems(self, "prices"))

    def over(self, steps: int) -> Prices:
        """These prices with one value per step (scalars repeated); these prices themselves when
        they have that already (their arrays are read-only, so requests may share them)."""
        if len(self.import_per_kwh) == steps and len(self.export_per_kwh) == steps:
            return self
        return Prices(
            np.broadcast_to(self.import_per_kwh, (steps,)).copy(),
            np.broadcast_to(self.export_per_kwh, (steps,)).copy(),
            self.currency,
        )


@dataclass(frozen=True, eq=False)
class ScheduleRequest:
    """One schedule to optimize: T steps of ``dt_h`` hours.

    pv_kw, load_kw : forecast (or actual) PV output and household load, means per step [kW].
    prices : import/export prices, one per step or one for all [currency/kWh].
    battery, grid : see :class:`BatteryParams` and :class:`GridParams`.
    dt_h : step length [h]; 5, 15, 30 or 60 minutes.
    objective : ``cost`` (default, the bill plus wear), ``self_consumption`` (least grid import,
        then cost) or ``peak`` (lowest peak import, then cost).
    terminal : ``at_least_initial`` (default: end with at least the initial stored energy, so the
        plan does not empty the battery at the horizon's end), ``free``, or ``value`` (stored energy
        left at the end is worth ``terminal_value_per_kwh`` [currency/kWh]).
    start : UTC start of the first step (used to name times in messages and results); optional.
    timezone : IANA zone for times shown to people.
    """

    pv_kw: np.ndarray
    load_kw: np.ndarray
    prices: Prices
    battery: BatteryParams
    grid: GridParams = field(default_factory=GridParams)
    dt_h: float = 0.25
    objective: Objective = "cost"
    terminal: Terminal = "at_least_initial"
    terminal_value_per_kwh: float | None = None
    start: datetime | None = None
    timezone: str = "UTC"

    def __post_init__(self) -> None:
        pv, load = _frozen_array(self.pv_kw), _frozen_array(self.load_kw)
        object.__setattr__(self, "pv_kw", pv)
        object.__setattr__(self, "load_kw", load)
        raise_problems(request_problems(self))
        object.__setattr__(self, "prices", self.prices.over(len(pv)))

    @property
    def steps(self) -> int:
        """Number of steps T."""
        return len(self.load_kw)

    def times(self) -> pd.DatetimeIndex | None:
        """UTC start of each step, when ``start`` is known."""
        if self.start is None:
            return None
        return pd.date_range(
            pd.Timestamp(self.start).tz_convert("UTC"), periods=self.steps, freq=pd.Timedelta(hours=self.dt_h)
        )

    def step_label(self, t: int) -> str:
        """How a person names step ``t``: local clock time when ``start`` is known, else 'step t'."""
        times = self.times()
        if times is None:
            return f"step {t}"
        local = times[t].tz_convert(self.timezone)
        first = times[0].tz_convert(self.timezone)
        return local.strftime("%H:%M") if local.date() == first.date() else local.strftime("%a %H:%M")

    def replace(self, **changes) -> ScheduleRequest:
        """A copy with ``changes`` (validated again)."""
        return replace(self, **changes)
