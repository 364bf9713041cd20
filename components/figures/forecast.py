"""Forecast figures: a forecast (P50 line in its P10-P90 band) against the readings.

Pure builders: a frame in, a themed ``go.Figure`` out. Energies are kWh per step (the
interval starting at the time stamp), drawn at local time.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from components.figures.optimize import FORECAST_COLOR
from components.theme import FLOW_COLORS, apply_theme, empty_figure

#: Columns of :func:`chart_frame`: the reading and the forecast's quantiles [kWh per step].
CHART_COLUMNS = ("actual", "p10", "p50", "p90")
BAND_COLOR = "rgba(214, 51, 132, 0.18)"  # FORECAST_COLOR, see-through


def chart_frame(actual: pd.Series | None, forecast: pd.DataFrame) -> pd.DataFrame:
    """The readings and the forecast on one UTC time index: ``actual``, ``p10``, ``p50``, ``p90``
    [kWh per step], NaN where one of them has no value (readings before the forecast starts)."""
    forecast = forecast.reindex(columns=["p10", "p50", "p90"]).astype(float)
    frame = forecast.copy()
    if actual is not None and not actual.dropna().empty:
        frame = frame.reindex(frame.index.union(actual.dropna().index))
        frame["actual"] = actual.astype(float).reindex(frame.index)
    else:
        frame["actual"] = float("nan")
    frame = frame[list(CHART_COLUMNS)]
    frame.index.name = "ts"
    return frame


def forecast_figure(frame: pd.DataFrame, tz: str, title: str, target: str, step_label: str,
                    theme: str | None, issued_at: pd.Timestamp | None = None) -> go.Figure:
    """Readings (solid, in the flow's colour) and the forecast's P50 (dashed) in its shaded
    P10-P90 band, with a dotted line where the forecast was issued.

    ``frame`` as :func:`chart_frame` (UTC index), drawn in local time ``tz``; ``target`` is the
    flow (``pv`` or ``load``) whose colour the readings take; ``step_label`` names the step
    of the energies (``15 min``).
    """
    if frame.empty or frame[["p50"]].dropna().empty:
        return empty_figure("No forecast to show", theme)
    x = pd.DatetimeIndex(frame.index).tz_convert(tz).tz_localize(None)
    unit = f"kWh per {step_label}"
    hover = "%{y:.3f} " + unit + "<extra>%{fullData.name}</extra>"
    fig = go.Figure()
    # The band: P90 as an invisible upper edge, P10 filled up to it.
    fig.add_scatter(x=x, y=frame["p90"], name="P90", line=dict(width=0, color=FORECAST_COLOR), showlegend=False,
                    hovertemplate=hover, connectgaps=False)
    fig.add_scatter(x=x, y=frame["p10"], name="P10–P90 band", fill="tonexty", fillcolor=BAND_COLOR,
                    line=dict(width=0, color=FORECAST_COLOR), hovertemplate=hover, connectgaps=False)
    fig.add_scatter(x=x, y=frame["p50"], name="Forecast (P50)", line=dict(color=FORECAST_COLOR, dash="dash", width=2),
                    hovertemplate=hover, connectgaps=False)
    if frame["actual"].notna().any():
        fig.add_scatter(x=x, y=frame["actual"], name="Metered", line=dict(color=FLOW_COLORS[target], width=2),
                        hovertemplate=hover, connectgaps=False)
    if issued_at is not None:
        at = pd.Timestamp(issued_at).tz_convert(tz).tz_localize(None)
        fig.add_shape(type="line", x0=at, x1=at, y0=0, y1=1, yref="paper",
                      line=dict(color="#adb5bd", dash="dot", width=1))
        fig.add_annotation(x=at, y=1, yref="paper", text="issued", showarrow=False, xanchor="left", yanchor="top",
                           font=dict(size=11))
    fig.update_layout(title=title, yaxis=dict(title=unit, rangemode="tozero"), hovermode="x unified",
                      legend=dict(orientation="h", y=-0.18), uirevision=f"forecast-{target}")
    return apply_theme(fig, theme)
