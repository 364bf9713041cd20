"""Quantities a household has no meter for, derived from the energy balance: the one place.

Every step of a home obeys (all terms >= 0, kWh per step; the direction is in the name)::

    load + grid_export + battery_charge = pv + grid_import + battery_discharge

so one missing term follows from the others. Two meter set-ups are common:

* grid import + export (+ PV, + battery) but no consumption meter: ``load`` is derived,
  ``load = pv + grid_import - grid_export + battery_discharge - battery_charge``;
* consumption (+ PV, + battery) but no grid meter: the grid is derived from the net,
  ``grid_import = max(net, 0)`` and ``grid_export = max(-net, 0)`` with
  ``net = load - pv + battery_charge - battery_discharge``.

Derived values are clipped at 0 per step (meters that tick a moment apart can make a step's
balance slightly negative). Whatever shows a derived quantity says so (:func:`derived_note`,
:data:`DERIVED_FORMULAS`).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.store.models import ENERGY_QUANTITIES, Series

#: How each derivable quantity is computed, in words for labels and reports.
DERIVED_FORMULAS = {
    "load": "PV + grid import − grid export (+ battery discharge − battery charge)",
    "grid_import": "consumption − PV (+ battery charge − battery discharge), where positive",
    "grid_export": "PV − consumption (+ battery discharge − battery charge), where positive",
}
_LABELS = {"load": "consumption", "grid_import": "grid import", "grid_export": "grid export"}
_GRID = ("grid_import", "grid_export")


def derivable(metered: Collection[str]) -> tuple[str, ...]:
    """The quantities derived for a household whose meters measure ``metered`` (energy quantities)."""
    if "load" not in metered and ({"pv", *_GRID} & set(metered)) and (set(_GRID) & set(metered)):
        return ("load",)
    if "load" in metered and not (set(_GRID) & set(metered)) and "pv" in metered:
        return _GRID
    return ()


def derive_from_balance(flows: pd.DataFrame, metered: Collection[str]) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """``flows`` with the quantities :func:`derivable` from ``metered`` added [kWh per step].

    A derived step is NaN where none of the meters it is derived from has a value; a meter
    without a value in a step counts as 0 there. Returns the frame and the names derived.
    """
    names = derivable(metered)
    if not names or flows.empty:
        return flows, ()

    def term(name: str) -> np.ndarray:
        return np.nan_to_num(flows[name].to_numpy(dtype=float)) if name in flows else np.zeros(len(flows))

    net_battery = term("battery_charge") - term("battery_discharge")
    out = flows.copy()
    if names == ("load",):
        sources = [c for c in ("pv", *_GRID, "battery_charge", "battery_discharge") if c in flows]
        load = np.clip(term("pv") + term("grid_import") - term("grid_export") - net_battery, 0.0, None)
        out["load"] = np.where(flows[sources].notna().any(axis=1), load, np.nan)
    else:
        sources = [c for c in ("load", "pv") if c in flows]
        net = term("load") - term("pv") + net_battery
        missing = ~flows[sources].notna().any(axis=1).to_numpy()
        out["grid_import"] = np.where(missing, np.nan, np.clip(net, 0.0, None))
        out["grid_export"] = np.where(missing, np.nan, np.clip(-net, 0.0, None))
    return out, names


def derived_note(derived: Sequence[str]) -> str:
    """One sentence naming the derived quantities and how they were computed."""
    if tuple(derived) == ("load",):
        return f"Consumption is derived, not metered: {DERIVED_FORMULAS['load']}"
    return ("Grid import and export are derived, not metered: consumption − PV "
            "(+ battery charge − battery discharge), import where positive, export where negative")


def derived_label(derived: Sequence[str]) -> str:
    """A short tag for a KPI or column label: ``derived: consumption`` (empty when nothing is derived)."""
    return "" if not derived else "derived: " + ", ".join(_LABELS[d] for d in derived if d in _LABELS)


def metered_quantities(household_ids: Sequence[int], session: Session) -> dict[int, set[str]]:
    """The energy quantities each household has a series of (households without any are absent)."""
    rows = session.execute(
        sa.select(Series.household_id, Series.quantity).distinct()
        .where(Series.household_id.in_(list(household_ids)), Series.quantity.in_(ENERGY_QUANTITIES))
    ).all()
    out: dict[int, set[str]] = {}
    for household_id, quantity in rows:
        out.setdefault(int(household_id), set()).add(quantity)
    return out


def derived_quantities(household_ids: Sequence[int], session: Session) -> dict[int, tuple[str, ...]]:
    """Per household with something derived, the quantities derived from the balance."""
    return {h: d for h, m in metered_quantities(household_ids, session).items() if (d := derivable(m))}
