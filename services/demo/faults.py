"""Data-quality faults planted in the demo portfolio, for data-quality features to find.

Three faults, each in its own household (the household of a fault is fixed by
its index, so its name does not depend on the seed):

``gap``
    "Huber family, Schwabing" (household 1): every series is missing for 84 hours
    (3.5 days) from 09:00 UTC on the day 45 % into the period: the logger was
    offline. The physical simulation runs through the gap (the battery keeps
    cycling); only the readings are absent from the store.
``stuck_meter``
    "Petersen family, Altona" (household 2): the load meter repeats its last
    good value for 36 hours from 14:00 UTC on the day 70 % into the period.
    Grid flows are derived from that stuck value, so the energy balance still
    closes and only a flat-line check reveals it.
``underperforming_pv``
    "Gruber family, Döbling" (household 3): its PV delivers 45 % of what its
    rating and the weather would give (heavy shading or soiling) for the whole
    period, about 400-500 kWh/kWp a year against 800-1,200 for healthy systems.

A fault is planted only where it fits: its household exists (``n_households``
is large enough) and its window ends before the period does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from services.demo.portfolio import UNDERPERFORMING_PV_INDEX, household_name


@dataclass(frozen=True)
class FaultPlan:
    """Where a fault goes: ``household_index``, ``kind``, when it starts (the day
    ``start_fraction`` into the period, at ``start_hour_utc``) and how long it lasts
    [h] (None: the whole period); ``pv_factor`` scales PV for under-performance [-]."""

    household_index: int
    kind: str
    description: str
    start_fraction: float | None = None
    start_hour_utc: int = 0
    duration_hours: float | None = None
    pv_factor: float = 1.0


@dataclass(frozen=True)
class PlantedFault:
    """A fault as planted: household name, kind, UTC period ``[start, end)`` and a description."""

    household: str
    kind: str
    start: pd.Timestamp
    end: pd.Timestamp
    description: str


FAULT_PLANS: tuple[FaultPlan, ...] = (
    FaultPlan(1, "gap", "all readings missing for 3.5 days (logger offline)",
              start_fraction=0.45, start_hour_utc=9, duration_hours=84.0),
    FaultPlan(2, "stuck_meter", "load meter stuck at one value for 36 h",
              start_fraction=0.70, start_hour_utc=14, duration_hours=36.0),
    FaultPlan(UNDERPERFORMING_PV_INDEX, "underperforming_pv",
              "PV at 45 % of expected for the whole period (shading or soiling)", pv_factor=0.45),
)

#: Household name -> planned fault (kind, description, position in the period).
FAULTS: dict[str, FaultPlan] = {household_name(p.household_index): p for p in FAULT_PLANS}


def planted_faults(n_households: int, index: pd.DatetimeIndex) -> tuple[PlantedFault, ...]:
    """The faults that fit a portfolio of ``n_households`` over ``index`` (15-min UTC starts)."""
    start, end = index[0], index[-1] + pd.Timedelta(minutes=15)
    faults = []
    for plan in FAULT_PLANS:
        if plan.household_index >= n_households:
            continue
        if plan.duration_hours is None:
            f_start, f_end = start, end
        else:
            days = (end - start).days
            f_start = start + pd.Timedelta(days=int(plan.start_fraction * days), hours=plan.start_hour_utc)
            f_end = f_start + pd.Timedelta(hours=plan.duration_hours)
            if f_end > end:
                continue
        faults.append(PlantedFault(household_name(plan.household_index), plan.kind, f_start, f_end,
                                   plan.description))
    return tuple(faults)


def window(index: pd.DatetimeIndex, fault: PlantedFault) -> np.ndarray:
    """Boolean mask of the steps of ``index`` inside the fault's period."""
    return np.asarray((index >= fault.start) & (index < fault.end))


def pv_factor(household_index: int, faults: tuple[PlantedFault, ...]) -> float:
    """How much of its physical PV output household ``household_index`` delivers [-]."""
    name = household_name(household_index)
    for fault in faults:
        if fault.household == name and fault.kind == "underperforming_pv":
            return FAULTS[name].pv_factor
    return 1.0


def stick_meter(load_kwh: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``load_kwh`` with the masked steps replaced by the last value before them [kWh]."""
    out = load_kwh.copy()
    first = int(np.argmax(mask))
    out[mask] = out[first - 1] if first > 0 else out[first]
    return out
