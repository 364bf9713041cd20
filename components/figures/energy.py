"""Energy figures: portfolio days and a household's flows over time."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from components.theme import FLOW_COLORS, apply_theme, empty_figure
from services.formatting import QUANTITY_LABELS as _LABELS


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
