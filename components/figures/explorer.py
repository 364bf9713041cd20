"""Figures of the household explorer: stacked flows, Sankey, comparison, heatmap and cost.

Pure builders: DataFrames indexed by local wall time in, ``go.Figure`` out, themed with
:func:`components.theme.themed_figure` (the colours of ``apply_theme``, in one constructor call)
so that dark mode reaches the figures too.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from components.theme import FLOW_COLORS, empty_figure, themed_figure

#: Label and colour of each flow between PV, grid, battery and home.
FLOW_STYLE = {
    "pv_to_home": ("PV → home", FLOW_COLORS["pv"]),
    "battery_to_home": ("Battery → home", FLOW_COLORS["battery_discharge"]),
    "grid_to_home": ("Grid → home", FLOW_COLORS["grid_import"]),
    "pv_to_battery": ("PV → battery", FLOW_COLORS["battery_charge"]),
    "pv_to_grid": ("PV → grid", FLOW_COLORS["grid_export"]),
    "grid_to_battery": ("Grid → battery", "#fd7e14"),
    "battery_to_grid": ("Battery → grid", "#d63384"),
}
#: Drawn above zero: what supplied the home (they add up to consumption).
TO_HOME = ("pv_to_home", "battery_to_home", "grid_to_home")
#: Drawn below zero: energy that went into the battery or the grid.
AWAY = ("pv_to_battery", "pv_to_grid", "grid_to_battery", "battery_to_grid")

#: Sankey node of each end of a flow name (``pv_to_grid``: from "pv" to "grid").
_NODE = {"pv": "PV", "grid": "Grid", "battery": "Battery", "home": "Home"}
_LEGEND = dict(orientation="h", y=-0.18, x=0, xanchor="left", traceorder="normal")


def _unit(view: str, step_label: str) -> str:
    return "kW" if view == "power" else f"kWh per {step_label}"


def _number(view: str) -> str:
    return "%{customdata:,.2f} kW" if view == "power" else "%{customdata:,.2f} kWh"


def flows_figure(flows: pd.DataFrame, view: str, step_label: str, theme: str | None) -> go.Figure:
    """Stacked flows of a household: what supplied the home above zero, what went into the battery
    or the grid below zero.

    ``flows`` is indexed by local wall time (naive) with the split-flow columns, in kWh per step
    (``view="energy"``, drawn as bars) or kW averaged over each step (``view="power"``, stacked steps).
    """
    if flows.empty:
        return empty_figure("No readings in this period", theme)
    traces = []
    for key in TO_HOME + AWAY:
        values = flows[key] if key in flows else None
        if values is None or not (values.abs() > 0).any():
            continue
        label, color = FLOW_STYLE[key]
        sign = 1 if key in TO_HOME else -1
        trace = dict(x=flows.index, y=sign * values, name=label, customdata=values,
                     hovertemplate=_number(view) + f"<extra>{label}</extra>")
        if view == "power":
            trace.update(type="scatter", mode="lines", line=dict(width=0.5, color=color, shape="hv"),
                         fillcolor=color, stackgroup="home" if sign > 0 else "away")
        else:
            trace.update(type="bar", marker=dict(color=color, line=dict(width=0)))
        traces.append(trace)
    # One constructor call with plain dicts (and the theme): a fraction of add_bar + update_layout.
    return themed_figure(traces, dict(
        barmode="relative", bargap=0.05, hovermode="x unified", legend=_LEGEND,
        yaxis=dict(title=dict(text=_unit(view, step_label))),
    ), theme)


def sankey_figure(totals: pd.Series, theme: str | None) -> go.Figure:
    """Where the period's energy came from (PV, grid, battery) and where it went (home, battery,
    grid) [kWh]; ``totals`` is indexed by flow name (``pv_to_home``, ...)."""
    links = {k: float(v) for k, v in totals.items() if k in FLOW_STYLE and v > 0.005}
    if not links:
        return empty_figure("No energy flows in this period", theme)
    sources = ["PV", "Grid", "Battery"]
    targets = ["Home", "Battery", "Grid"]
    node_colors = [FLOW_COLORS["pv"], FLOW_COLORS["grid_import"], FLOW_COLORS["battery_discharge"],
                   FLOW_COLORS["load"], FLOW_COLORS["battery_charge"], FLOW_COLORS["grid_export"]]
    out_of = {s: sum(v for k, v in links.items() if _NODE[k.partition("_to_")[0]] == s) for s in sources}
    into = {t: sum(v for k, v in links.items() if _NODE[k.partition("_to_")[2]] == t) for t in targets}
    labels = [f"{s} {out_of[s]:,.0f} kWh" for s in sources] + [f"{t} {into[t]:,.0f} kWh" for t in targets]
    source, target, value, colors, names = [], [], [], [], []
    for key, kwh in links.items():
        frm, _, to = key.partition("_to_")
        source.append(sources.index(_NODE[frm]))
        target.append(len(sources) + targets.index(_NODE[to]))
        value.append(kwh)
        colors.append(_translucent(FLOW_STYLE[key][1]))
        names.append(FLOW_STYLE[key][0])
    sankey = dict(
        type="sankey", arrangement="fixed", valueformat=",.0f", valuesuffix=" kWh",
        node=dict(label=labels, color=node_colors, pad=18, thickness=16, line=dict(width=0)),
        link=dict(source=source, target=target, value=value, color=colors, customdata=names,
                  hovertemplate="%{customdata}: %{value}<extra></extra>"),
    )
    return themed_figure([sankey], {}, theme)


def _translucent(hex_color: str, alpha: float = 0.45) -> str:
    r, g, b = (int(hex_color[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def comparison_figure(current: pd.DataFrame, earlier: pd.DataFrame, current_label: str, earlier_label: str,
                      view: str, step_label: str, theme: str | None) -> go.Figure:
    """Consumption and PV of the period (solid) over those of the period compared with (dashed),
    both on the period's local time axis; columns ``load`` and ``pv`` in the view's unit."""
    if current.empty and earlier.empty:
        return empty_figure("No readings in either period", theme)
    traces = []
    for key, name, color in (("load", "Consumption", FLOW_COLORS["load"]), ("pv", "PV", FLOW_COLORS["pv"])):
        for frame, label, dash in ((current, current_label, "solid"), (earlier, earlier_label, "dot")):
            if frame.empty or not (frame[key].abs() > 0).any():
                continue
            traces.append(dict(
                type="scatter", x=frame.index, y=frame[key], name=f"{name}, {label}", mode="lines",
                line=dict(color=color, dash=dash, width=2 if dash == "solid" else 1.5, shape="hv"),
                customdata=frame[key], hovertemplate=_number(view) + f"<extra>{name}, {label}</extra>"))
    if not traces:
        return empty_figure("No consumption or PV in either period", theme)
    missing = [label for frame, label in ((current, current_label), (earlier, earlier_label)) if frame.empty]
    notes = [dict(text=f"No readings in {label}", showarrow=False, xref="paper", yref="paper", x=0, y=1,
                  xanchor="left", yanchor="bottom") for label in missing]
    return themed_figure(traces, dict(
        yaxis=dict(title=dict(text=_unit(view, step_label))), hovermode="x unified", legend=_LEGEND,
        annotations=notes), theme)


def heatmap_figure(matrix: pd.DataFrame, theme: str | None) -> go.Figure:
    """Consumption per local day (rows, earliest on top) and local hour (24 columns) [kWh]."""
    if matrix.empty or not matrix.notna().to_numpy().any():
        return empty_figure("No consumption readings in this period", theme)
    days = [d.isoformat() for d in matrix.index]
    heatmap = dict(
        type="heatmap", z=matrix.to_numpy(), x=[int(h) for h in matrix.columns], y=days,
        colorscale="Viridis", colorbar=dict(title=dict(text="kWh"), thickness=12),
        hovertemplate="%{y} %{x}:00: %{z:,.2f} kWh<extra></extra>", hoverongaps=False,
    )
    return themed_figure([heatmap], dict(
        xaxis=dict(title=dict(text="local hour"), tickmode="linear", tick0=0, dtick=3, range=[-0.5, 23.5]),
        yaxis=dict(autorange="reversed", type="category" if len(days) <= 62 else "date"),
    ), theme)


def cost_figure(cost: pd.DataFrame, currency: str, step_label: str, theme: str | None) -> go.Figure:
    """Import cost above zero, feed-in revenue below, and the running net cost (line, right axis) [currency];
    ``cost`` is indexed by local step start with ``import_cost``, ``export_revenue``, ``net_cost``."""
    if cost.empty:
        return empty_figure("No grid readings in this period", theme)
    traces = [
        dict(type="bar", x=cost.index, y=cost["import_cost"], name="Import cost",
             marker=dict(color=FLOW_COLORS["grid_import"]),
             hovertemplate=f"%{{y:,.2f}} {currency}<extra>Import cost</extra>"),
        dict(type="bar", x=cost.index, y=-cost["export_revenue"], name="Feed-in revenue",
             marker=dict(color=FLOW_COLORS["grid_export"]), customdata=cost["export_revenue"],
             hovertemplate=f"%{{customdata:,.2f}} {currency}<extra>Feed-in revenue</extra>"),
        dict(type="scatter", x=cost.index, y=cost["net_cost"].cumsum(), name="Net cost so far", mode="lines",
             line=dict(color=FLOW_COLORS["load"], width=2), yaxis="y2",
             hovertemplate=f"%{{y:,.2f}} {currency}<extra>Net cost so far</extra>"),
    ]
    return themed_figure(traces, dict(
        barmode="relative", hovermode="x unified", legend=_LEGEND,
        yaxis=dict(title=dict(text=f"{currency} per {step_label}")),
        yaxis2=dict(overlaying="y", side="right", showgrid=False, automargin=True),  # the line's: no title,
        # which the modebar would cover on a phone; the legend names the line.
    ), theme)
