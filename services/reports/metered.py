"""What a household's metered flows say beyond the period totals: where the PV energy went,
where the consumption came from (:func:`flow_totals`), and what the battery saved
(:func:`battery_savings`).

Inputs are energy flows per step as :func:`services.energy.flows.energy_flows` returns them: a frame
indexed by UTC step start with columns ``load``, ``pv``, ``grid_import``, ``grid_export``,
``battery_charge``, ``battery_discharge`` [kWh per step], every value >= 0 (a missing column or
reading counts as 0).

Battery savings (the method the reports state)
    The cost without the battery is what the same household would have paid over the same
    steps if the battery had not been there: in each step PV first covers the load, the grid
    the rest, and the surplus is exported (up to the export limit, the rest curtailed)::

        import_without = max(load - pv, 0)        export_without = min(max(pv - load, 0), limit)

    except that a household whose export is curtailable curtails instead of exporting where the
    export price is negative (export_without = 0 there), as the optimizer's baseline does; priced
    with the household's tariff at each step. Savings = cost without - cost with,
    where the cost with the battery is the metered import and export priced the same way.
    This is the optimizer's "no battery" baseline (:func:`services.optimization.baselines.no_battery`)
    applied to what was metered, not to a forecast. Netting over a longer step than the meter's
    hides some import and export in both cases: with hourly steps (long periods) the savings are
    a slight underestimate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from services.energy.flows import SPLIT_FLOWS, split_flows

#: The energy quantities a frame of flows may hold [kWh per step].
FLOW_COLUMNS = ("load", "pv", "grid_import", "grid_export", "battery_charge", "battery_discharge")

SAVINGS_METHOD = (
    "Cost without the battery: in every metered step PV first covers consumption, the grid supplies the rest "
    "(import = consumption − PV when positive) and surplus PV is exported (up to the export limit), priced with "
    "the household's tariff. Savings = cost without the battery − metered cost with it."
)
#: What the cost without the battery does with surplus PV at a negative feed-in price, by ``export_curtailable``.
CURTAILMENT_METHOD = {
    True: "At a negative feed-in price surplus PV is curtailed rather than exported (this household's export "
          "can be curtailed), so curtailment is not counted as a battery saving.",
    False: "At a negative feed-in price surplus PV is still exported and paid for (this household's export "
           "cannot be curtailed).",
}


def savings_method(export_curtailable: bool = True) -> str:
    """The method of :func:`battery_savings` in words, with how surplus PV is treated at negative prices."""
    return f"{SAVINGS_METHOD} {CURTAILMENT_METHOD[bool(export_curtailable)]}"


@dataclass(frozen=True)
class FlowSplit:
    """Where energy went over a period [kWh] (the columns of :data:`services.energy.flows.SPLIT_FLOWS`, summed);
    PV = pv_to_home + pv_to_battery + pv_to_grid and consumption = pv_to_home + battery_to_home + grid_to_home."""

    pv_to_home: float = 0.0
    pv_to_battery: float = 0.0
    pv_to_grid: float = 0.0
    grid_to_home: float = 0.0
    grid_to_battery: float = 0.0
    battery_to_home: float = 0.0
    battery_to_grid: float = 0.0


@dataclass(frozen=True)
class BatterySavings:
    """The metered period with and without the battery: costs [currency], energy [kWh].

    ``step_label`` is the step the flows were netted over (``15 min`` or ``hour``).
    """

    cost_with: float
    cost_without: float
    import_with_kwh: float
    import_without_kwh: float
    export_with_kwh: float
    export_without_kwh: float
    step_label: str
    export_curtailable: bool = True

    @property
    def method(self) -> str:
        """How the cost without the battery was computed, in words (:func:`savings_method`)."""
        return savings_method(self.export_curtailable)

    @property
    def savings(self) -> float:
        """Cost without the battery minus cost with it [currency]; positive = the battery saved money."""
        return self.cost_without - self.cost_with

    @property
    def import_avoided_kwh(self) -> float:
        """Grid import without the battery minus metered grid import [kWh]."""
        return self.import_without_kwh - self.import_with_kwh


def _column(flows: pd.DataFrame, name: str) -> np.ndarray:
    if name not in flows:
        return np.zeros(len(flows))
    return np.clip(flows[name].fillna(0.0).to_numpy(dtype=float), 0.0, None)


def flow_totals(flows: pd.DataFrame) -> FlowSplit:
    """The period's flows between PV, grid, battery and home [kWh]: :func:`services.energy.flows.split_flows`
    step by step (so the split sees each step's balance), then summed."""
    if flows.empty:
        return FlowSplit()
    totals = split_flows(flows).sum()
    return FlowSplit(**{name: float(totals[name]) for name in SPLIT_FLOWS})


def battery_savings(flows: pd.DataFrame, import_price: pd.Series | np.ndarray, export_price: float,
                    export_limit_kwh: float | None, step_label: str, export_curtailable: bool = True) -> BatterySavings:
    """Cost with the metered battery and without it over the same steps (see the module's method).

    Parameters
    ----------
    flows : DataFrame
        Energy flows per step [kWh per step] (see the module docstring).
    import_price : Series or array
        Import price at each step [currency/kWh], aligned with ``flows``.
    export_price : float
        Feed-in remuneration [currency/kWh] (positive = paid to the household).
    export_limit_kwh : float or None
        Most energy the grid connection may take in one step [kWh per step]; None = unlimited.
    step_label : str
        The step of ``flows`` in words, for the report.
    export_curtailable : bool
        True: without the battery, surplus PV is curtailed where the feed-in price is negative.
    """
    prices = np.asarray(import_price, dtype=float)
    load, pv = _column(flows, "load"), _column(flows, "pv")
    imp, exp = _column(flows, "grid_import"), _column(flows, "grid_export")
    net = load - pv  # > 0: the grid must supply it without a battery
    import_without = np.maximum(net, 0.0)
    export_without = np.maximum(-net, 0.0)
    if export_limit_kwh is not None:
        export_without = np.minimum(export_without, export_limit_kwh)
    if export_curtailable and export_price < 0:
        export_without = np.zeros_like(export_without)  # curtailed: exporting would cost money
    return BatterySavings(
        cost_with=float((imp * prices).sum() - exp.sum() * export_price),
        cost_without=float((import_without * prices).sum() - export_without.sum() * export_price),
        import_with_kwh=float(imp.sum()), import_without_kwh=float(import_without.sum()),
        export_with_kwh=float(exp.sum()), export_without_kwh=float(export_without.sum()),
        step_label=step_label, export_curtailable=bool(export_curtailable),
    )
