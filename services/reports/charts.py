"""The report's charts as plotly figures, drawn for paper: white background, print colours.

Each builder takes a :class:`~services.reports.data.ReportData` and returns a ``go.Figure``;
the PDF turns them into SVG with :mod:`services.reports.renderer`, the interactive HTML report
embeds them as they are. Energies in kWh; the average day in kWh per hour, i.e. average kW.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from services.formatting import QUANTITY_LABELS
from services.reports.data import ReportData
from services.reports.renderer import renderer

#: Flow colours: the hues of the app's charts, a little deeper so they hold on paper.
COLORS = {
    "load": "#5c636a",
    "pv": "#e0a100",
    "grid_import": "#c9302c",
    "grid_export": "#3d8b3d",
    "battery_charge": "#0b5ed7",
    "battery_discharge": "#5a0fc8",
}
LABELS = QUANTITY_LABELS
FONT = "Liberation Sans, DejaVu Sans, Arial, sans-serif"
#: Width of a chart in the PDF [CSS px] (it is scaled to the A4 text column) and each chart's height.
WIDTH = 720
HEIGHTS = {"energy": 270, "flows": 250, "profile": 240}
#: Periods up to this many days are drawn per day, longer ones per month.
DAILY_MAX_DAYS = 62


def _style(fig: go.Figure, title: str, y_title: str | None = None, height: int = 270) -> go.Figure:
    fig.update_layout(
        width=WIDTH, height=height,
        title=dict(text=title, x=0.0, xanchor="left", font=dict(size=14, color="#212529")),
        font=dict(family=FONT, size=11, color="#343a40"),
        paper_bgcolor="white", plot_bgcolor="white",
        margin=dict(l=56, r=12, t=40, b=36),
        legend=dict(orientation="h", x=0, y=-0.16, font=dict(size=10)),
        yaxis=dict(title=y_title, gridcolor="#e9ecef", zerolinecolor="#adb5bd", rangemode="tozero"),
        xaxis=dict(gridcolor="#f1f3f5", linecolor="#ced4da"),
        bargap=0.25,
    )
    return fig


def _empty(title: str, message: str, height: int) -> go.Figure:
    fig = go.Figure()
    fig.add_annotation(text=message, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper",
                       font=dict(size=13, color="#6c757d"))
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return _style(fig, title, height=height)


def energy_figure(report: ReportData) -> go.Figure:
    """Consumption and PV as bars, grid import and export as lines: per day, or per month for long periods [kWh]."""
    per_day = report.period.days <= DAILY_MAX_DAYS
    frame = report.daily if per_day else report.monthly
    title = "Energy per day" if per_day else "Energy per month"
    if frame.empty:
        return _empty(title, "No data in this period", HEIGHTS["energy"])
    x = pd.to_datetime(pd.Index(frame.index))
    fig = go.Figure()
    for column, key in (("load_kwh", "load"), ("pv_kwh", "pv")):
        if key == "pv" and frame[column].abs().sum() < 1e-9:
            continue  # a household without PV: no empty legend entry
        fig.add_bar(x=x, y=frame[column], name=LABELS[key], marker_color=COLORS[key],
                    hovertemplate="%{y:,.1f} kWh<extra>" + LABELS[key] + "</extra>")
    for column, key in (("import_kwh", "grid_import"), ("export_kwh", "grid_export")):
        if frame[column].abs().sum() < 1e-9:
            continue
        fig.add_scatter(x=x, y=frame[column], name=LABELS[key], mode="lines+markers",
                        line=dict(color=COLORS[key], width=2), marker=dict(size=4),
                        hovertemplate="%{y:,.1f} kWh<extra>" + LABELS[key] + "</extra>")
    fig.update_layout(barmode="group")
    fig.update_xaxes(tickformat="%d %b" if per_day else "%b %Y", dtick=None if per_day else "M1")
    return _style(fig, title, "kWh", HEIGHTS["energy"])


def flows_figure(report: ReportData) -> go.Figure:
    """Where the energy came from and went over the period: a Sankey diagram [kWh]."""
    s = report.split
    links = [
        ("PV", "Home", s.pv_to_home), ("PV", "Battery", s.pv_to_battery), ("PV", "Grid export", s.pv_to_grid),
        ("Grid import", "Home", s.grid_to_home), ("Grid import", "Battery", s.grid_to_battery),
        ("Battery", "Home", s.battery_to_home), ("Battery", "Grid export", s.battery_to_grid),
    ]
    links = [link for link in links if link[2] > 0.05]
    title = "Energy flows over the period"
    if not links:
        return _empty(title, "No energy flows in this period", HEIGHTS["flows"])
    nodes = list(dict.fromkeys(name for a, b, _ in links for name in (a, b)))
    totals = {n: max(sum(v for a, _, v in links if a == n), sum(v for _, b, v in links if b == n)) for n in nodes}
    color = {"PV": COLORS["pv"], "Grid import": COLORS["grid_import"], "Battery": COLORS["battery_charge"],
             "Home": COLORS["load"], "Grid export": COLORS["grid_export"]}
    fig = go.Figure(go.Sankey(
        arrangement="snap", valueformat=",.0f", valuesuffix=" kWh",
        node=dict(label=[f"{n}: {totals[n]:,.0f} kWh" for n in nodes], color=[color[n] for n in nodes],
                  pad=18, thickness=16, line=dict(width=0)),
        link=dict(source=[nodes.index(a) for a, _, _ in links], target=[nodes.index(b) for _, b, _ in links],
                  value=[v for _, _, v in links], color=[_fade(color[a]) for a, _, _ in links]),
    ))
    return _style(fig, title, height=HEIGHTS["flows"])


def profile_figure(report: ReportData) -> go.Figure:
    """The average day in local time: mean energy per hour of day [kWh per hour = average kW]."""
    title = "Average day (local time)"
    profile = report.profile
    if profile.empty:
        return _empty(title, "No readings in this period", HEIGHTS["profile"])
    fig = go.Figure()
    hours = list(profile.index)
    for key in ("load", "pv", "grid_import", "grid_export", "battery_charge", "battery_discharge"):
        if key not in profile or profile[key].fillna(0).abs().sum() < 1e-9:
            continue
        dash = "dot" if key.startswith("battery") else None
        fig.add_scatter(x=hours, y=profile[key], name=LABELS[key], mode="lines",
                        line=dict(color=COLORS[key], width=2.5 if key in ("load", "pv") else 1.8, dash=dash),
                        hovertemplate="%{y:,.2f} kW<extra>" + LABELS[key] + "</extra>")
    fig.update_xaxes(tickmode="array", tickvals=list(range(0, 24, 3)),
                     ticktext=[f"{h:02d}:00" for h in range(0, 24, 3)], range=[-0.3, 23.3])
    return _style(fig, title, "kW (average)", HEIGHTS["profile"])


def report_figures(report: ReportData) -> dict[str, go.Figure]:
    """The charts of one report, by name, in the order they appear, sized for the PDF."""
    return {"energy": energy_figure(report), "profile": profile_figure(report), "flows": flows_figure(report)}


def render_svgs(figures: dict[str, go.Figure]) -> dict[str, str]:
    """Each figure as SVG text at its layout's size, drawn by the warm kaleido browser
    (see :mod:`services.reports.renderer`)."""
    images = renderer.render(list(figures.values()), fmt="svg")
    return {name: image.decode("utf-8") for name, image in zip(figures, images)}


def _fade(hex_color: str, alpha: float = 0.45) -> str:
    r, g, b = (int(hex_color[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"
