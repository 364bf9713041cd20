"""Light and dark themes for figures, following the Bootstrap colour mode of the page."""

from __future__ import annotations

import copy
from functools import lru_cache

import plotly.graph_objects as go

LIGHT, DARK = "light", "dark"

#: Colours of the energy flows, the same on every chart.
FLOW_COLORS = {
    "load": "#6c757d",
    "pv": "#f0ad00",
    "grid_import": "#d9534f",
    "grid_export": "#5cb85c",
    "battery_charge": "#0d6efd",
    "battery_discharge": "#6610f2",
    "battery_soc": "#0dcaf0",
}


def normalize_theme(theme: str | None) -> str:
    """``dark`` or ``light`` (anything unknown, including None, is light)."""
    return DARK if theme == DARK else LIGHT


def _template(text: str, grid: str, line: str, hover_bg: str) -> go.layout.Template:
    # A small layout-only template in Bootstrap's colours. Plotly's full templates carry defaults
    # for every trace type and cost 10-30 ms to validate on each figure; this one well under 1 ms.
    axis = dict(gridcolor=grid, zerolinecolor=line, linecolor=line, automargin=True, title=dict(standoff=8))
    return go.layout.Template(layout=dict(
        font=dict(color=text), colorway=COLORWAY, xaxis=axis, yaxis=axis,
        hoverlabel=dict(bgcolor=hover_bg, font=dict(color=text), bordercolor=line),
        legend=dict(font=dict(color=text)), title=dict(font=dict(color=text)),
    ))


#: Plotly's default qualitative colours, for traces without a colour of their own.
COLORWAY = ["#636efa", "#ef553b", "#00cc96", "#ab63fa", "#ffa15a", "#19d3f3", "#ff6692", "#b6e880"]
TEMPLATES = {
    LIGHT: _template(text="#212529", grid="#e9ecef", line="#ced4da", hover_bg="#ffffff"),
    DARK: _template(text="#dee2e6", grid="#343a40", line="#495057", hover_bg="#2b3035"),
}


def apply_theme(fig: go.Figure, theme: str | None) -> go.Figure:
    """Give ``fig`` the colours of ``theme`` (Bootstrap's light or dark mode) on a transparent background, in place."""
    fig.update_layout(
        template=TEMPLATES[normalize_theme(theme)],
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        margin=dict(l=40, r=16, t=40, b=40),
        font=dict(family="system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"),
        modebar=dict(orientation="v"),  # on the right edge, never over the title on a phone
    )
    return fig


def empty_figure(message: str, theme: str | None = None) -> go.Figure:
    """A blank figure that says why it is blank (no data yet, nothing selected)."""
    fig = go.Figure()
    fig.add_annotation(text=message, showarrow=False, font=dict(size=14), x=0.5, y=0.5,
                       xref="paper", yref="paper")
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return apply_theme(fig, theme)


@lru_cache(maxsize=2)
def _themed_layout(theme: str) -> dict:
    return apply_theme(go.Figure(), theme).layout.to_plotly_json()


def themed_figure(data: list[dict], layout: dict, theme: str | None) -> go.Figure:
    """``go.Figure(data=data, layout=layout)`` in the colours of ``theme``, exactly as
    :func:`apply_theme` would give it, in one constructor call.

    Plotly's ``update_layout`` on a figure that already has traces costs 10-30 ms; building the
    figure with the themed layout costs a few. For callbacks with a time budget. Keys of
    ``layout`` that the theme sets (template, background colours, margin, font, modebar) are the theme's.
    """
    return go.Figure(data=data, layout={**layout, **copy.deepcopy(_themed_layout(normalize_theme(theme)))})


#: The ``dcc.Graph`` config of every chart: no Plotly logo, resizes with its card, and only
#: "download as PNG" and "reset view" in the mode bar (on a phone the bar is always shown and a
#: long one covers the chart; zoom and pan still work with the mouse or fingers).
GRAPH_CONFIG = {"displaylogo": False, "responsive": True, "modeBarButtonsToRemove": [
    "zoom2d", "pan2d", "select2d", "lasso2d", "zoomIn2d", "zoomOut2d", "autoScale2d", "zoomInGeo", "zoomOutGeo",
    "hoverClosestGeo", "hoverClosestCartesian", "hoverCompareCartesian"]}

#: Inline styles that hide a component and show it again (progress bars, cards of optional charts).
HIDDEN, SHOWN = {"display": "none"}, {}
