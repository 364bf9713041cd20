"""Data-quality figures: a timeline of each series' data, gaps and stuck periods."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from components.format import plot_text
from components.theme import apply_theme, empty_figure

#: Colour and legend label of each kind of span on the timeline.
SPAN_STYLE = {
    "data": ("#5cb85c", "Readings"),
    "gap": ("#d9534f", "Gap (missing readings)"),
    "stuck": ("#f0ad00", "Stuck value"),
}


def gap_timeline_figure(spans: pd.DataFrame, tz: str, theme: str | None) -> go.Figure:
    """One row per series: where it has readings, gaps and stuck values, in local time ``tz``.

    ``spans`` has columns ``series``, ``kind`` (``data``, ``gap``, ``stuck``), ``start`` and ``end``
    (UTC, timezone-aware; ``end`` exclusive) and optional ``label`` (hover text).
    """
    if spans.empty:
        return empty_figure("No readings to check yet", theme)
    frame = spans.copy()
    frame["start"] = pd.to_datetime(frame["start"], utc=True).dt.tz_convert(tz).dt.tz_localize(None)
    frame["end"] = pd.to_datetime(frame["end"], utc=True).dt.tz_convert(tz).dt.tz_localize(None)
    if "label" not in frame:
        frame["label"] = ""
    # Series names and labels come from senders: shown as written, never as HTML.
    frame["series"], frame["label"] = frame["series"].map(plot_text), frame["label"].map(plot_text)
    order = list(dict.fromkeys(frame["series"]))
    fig = go.Figure()
    for kind, (color, name) in SPAN_STYLE.items():
        part = frame[frame["kind"] == kind]
        if part.empty:
            continue
        # A horizontal bar per span: base at its start, length its duration in milliseconds
        # (Plotly's unit on a date axis), so a 3-day gap is as wide as 3 days.
        duration_ms = (part["end"] - part["start"]).dt.total_seconds() * 1000
        fig.add_bar(
            y=part["series"], x=duration_ms, base=part["start"], orientation="h", name=name,
            marker_color=color, customdata=part[["label"]].to_numpy(),
            hovertemplate="%{y}<br>%{customdata[0]}<extra>" + name + "</extra>",
        )
    fig.update_layout(barmode="overlay", title="Readings, gaps and stuck values", xaxis_type="date",
                      yaxis=dict(categoryorder="array", categoryarray=order[::-1], title=None),
                      legend=dict(orientation="h", y=-0.2), height=max(260, 80 + 28 * len(order)))
    return apply_theme(fig, theme)
