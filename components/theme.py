"""Light and dark themes for figures, following the Bootstrap colour mode of the page."""

from __future__ import annotations

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


def apply_theme(fig: go.Figure, theme: str | None) -> go.Figure:
    """Give ``fig`` the Plotly template of ``theme`` with a transparent background, in place."""
    template = "plotly_dark" if normalize_theme(theme) == DARK else "plotly_white"
    fig.update_layout(
        template=template,
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
