"""Energy figures: portfolio days and a household's flows over time."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from components.theme import FLOW_COLORS, apply_theme, empty_figure

_LABELS = {
    "load": "Consumption",
    "pv": "PV generation",
    "grid_import": "Grid import",
    "grid_export": "Grid export",
    "battery_charge": "Battery charge",
    "battery_discharge": "Battery discharge",
}


def portfolio_energy_figure(daily: pd.DataFrame, theme: str | None, resolution: str = "D") -> go.Figure:
    """Portfolio consumption, PV, import and export per day (or week/month for long periods) [kWh].

    ``daily`` is indexed by local day with columns load_kwh, pv_kwh, import_kwh, export_kwh.
    """
    if daily.empty:
        return empty_figure("No data in this period", theme)
    frame = daily.copy()
    frame.index = pd.to_datetime(frame.index)
    if resolution != "D":
        frame = frame.resample(resolution).sum()
    fig = go.Figure()
    for column, key in (("load_kwh", "load"), ("pv_kwh", "pv"), ("import_kwh", "grid_import"), ("export_kwh", "grid_export")):
        fig.add_bar(x=frame.index, y=frame[column], name=_LABELS[key], marker_color=FLOW_COLORS[key],
                    hovertemplate="%{y:,.0f} kWh<extra>" + _LABELS[key] + "</extra>")
    step = {"D": "day", "W": "week", "MS": "month"}.get(resolution, "period")
    fig.update_layout(barmode="group", title=f"Portfolio energy per {step}", yaxis_title="kWh",
                      legend=dict(orientation="h", y=-0.15), hovermode="x unified")
    return apply_theme(fig, theme)


def household_flows_figure(flows: pd.DataFrame, tz: str, step_label: str, theme: str | None) -> go.Figure:
    """A household's energy flows over time [kWh per step]: supply above zero, use below.

    ``flows`` is indexed by UTC step start with energy-quantity columns; it is drawn in local time ``tz``.
    """
    if flows.empty:
        return empty_figure("No readings in this period", theme)
    local = flows.copy()
    local.index = local.index.tz_convert(tz).tz_localize(None)
    fig = go.Figure()
    supply = ("pv", "grid_import", "battery_discharge")
    use = ("load", "grid_export", "battery_charge")
    for key in supply + use:
        if key not in local:
            continue
        sign = 1 if key in supply else -1
        fig.add_bar(x=local.index, y=sign * local[key], name=_LABELS[key], marker_color=FLOW_COLORS[key],
                    customdata=local[key], hovertemplate="%{customdata:,.2f} kWh<extra>" + _LABELS[key] + "</extra>")
    fig.update_layout(barmode="relative", bargap=0.05, title=f"Energy flows ({step_label}; supply up, use down)",
                      yaxis_title=f"kWh per {step_label}", legend=dict(orientation="h", y=-0.15), hovermode="x unified")
    return apply_theme(fig, theme)
