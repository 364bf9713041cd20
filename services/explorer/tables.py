"""The data behind each explorer chart as a flat table for CSV: units in the column names, times
as local ISO timestamps with their UTC offset (unambiguous on the night clocks go back)."""

from __future__ import annotations

import pandas as pd

from services.energy.flows import SPLIT_FLOWS
from services.energy.kpi_definitions import KPI_DEFINITIONS
from services.energy.kpis import totals_as_dict
from services.explorer.data import ComparisonCurves, CostSeries, Exploration, in_view
from services.store.models import ENERGY_QUANTITIES

#: Where each split flow goes from and to (Sankey nodes, CSV columns).
FLOW_ENDS = {
    "pv_to_home": ("PV", "Home"),
    "pv_to_battery": ("PV", "Battery"),
    "pv_to_grid": ("PV", "Grid"),
    "grid_to_home": ("Grid", "Home"),
    "battery_to_home": ("Battery", "Home"),
    "grid_to_battery": ("Grid", "Battery"),
    "battery_to_grid": ("Battery", "Grid"),
}


def _local_iso(index: pd.DatetimeIndex, tz: str) -> list[str]:
    return [t.isoformat() for t in index.tz_convert(tz)]


def flows_table(exploration: Exploration, view: str) -> pd.DataFrame:
    """One row per step: local start, step length [h], metered quantities and split flows in
    kWh per step (``view="energy"``) or average kW (``view="power"``)."""
    tz = exploration.household.timezone
    flows = exploration.flows
    unit = "kw" if view == "power" else "kwh"
    values = in_view(flows, tz, view)
    out = pd.DataFrame({"start_local": _local_iso(flows.index, tz), "hours": flows["hours"].to_numpy()})
    for column in [*ENERGY_QUANTITIES, *SPLIT_FLOWS]:
        out[f"{column}_{unit}"] = values[column].to_numpy()
    return out


def sankey_table(exploration: Exploration) -> pd.DataFrame:
    """The period's flows between PV, grid, battery and home [kWh]."""
    totals = exploration.flow_totals()
    return pd.DataFrame([
        {"flow": name, "from": FLOW_ENDS[name][0], "to": FLOW_ENDS[name][1], "kwh": float(totals[name]),
         "period_start": exploration.start.isoformat(), "period_end": exploration.end.isoformat()}
        for name in SPLIT_FLOWS
    ])


def kpi_table(exploration: Exploration) -> pd.DataFrame:
    """Each KPI of the period with its unit and, when comparing, the other period's value."""
    now = totals_as_dict(exploration.totals)
    before = totals_as_dict(exploration.comparison.totals) if exploration.comparison else {}
    currency = exploration.household.currency or ""
    rows = []
    for key, definition in KPI_DEFINITIONS.items():
        unit = currency if definition.unit == "currency" else ("fraction" if definition.unit == "%" else definition.unit)
        row = {"kpi": definition.label, "unit": unit, "value": now[key],
               "period_start": exploration.start.isoformat(), "period_end": exploration.end.isoformat()}
        if exploration.comparison:
            row.update(compared_value=before[key], compared_start=exploration.comparison.start.isoformat(),
                       compared_end=exploration.comparison.end.isoformat())
        rows.append(row)
    return pd.DataFrame(rows)


def comparison_table(curves: ComparisonCurves, view: str) -> pd.DataFrame:
    """Consumption and PV of both periods side by side, on the period's local wall time."""
    unit = "kw" if view == "power" else "kwh"
    joined = curves.current.add_suffix(f"_{unit}").join(curves.earlier.add_suffix(f"_compared_{unit}"), how="outer")
    joined.index.name = "local_time"
    return joined.reset_index().assign(local_time=lambda f: f["local_time"].dt.strftime("%Y-%m-%d %H:%M"))


def heatmap_table(matrix: pd.DataFrame) -> pd.DataFrame:
    """Consumption per local day (rows) and local hour (columns ``h00_kwh``..``h23_kwh``)."""
    out = matrix.copy()
    out.columns = [f"h{int(h):02d}_kwh" for h in out.columns]
    out.index = [d.isoformat() for d in out.index]
    out.index.name = "day"
    return out.reset_index()


def cost_table(cost: CostSeries) -> pd.DataFrame:
    """Grid energy [kWh] and money [currency] per step."""
    currency = (cost.currency or "currency").lower()
    out = cost.frame.rename(columns={c: f"{c}_{currency}" for c in ("import_cost", "export_revenue", "net_cost")})
    out.index.name = "local_start"
    return out.reset_index().assign(local_start=lambda f: f["local_start"].dt.strftime("%Y-%m-%d %H:%M"))
