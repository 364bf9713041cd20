"""Battery schedule figures: the plan against prices, the cost comparison, a back-test and a sizing curve.

Pure builders: plain data in (a schedule frame, rows of money), a themed ``go.Figure`` out.
Sign conventions as in the optimization service: battery power positive when discharging,
grid power positive when importing; stored energy [kWh] at the end of each step.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from components.theme import FLOW_COLORS, apply_theme, empty_figure

RULE_COLOR = "#adb5bd"
PRICE_COLOR = "#fd7e14"
FORECAST_COLOR = "#d63384"


#: Traces of the schedule figure, in order: (column of :func:`schedule_series`, label, panel).
SCHEDULE_TRACES = (
    ("soc_kwh", "Stored energy (optimized)", "y"),
    ("rule_soc_kwh", "Stored energy (self-consumption rule)", "y"),
    ("battery_kw", "Battery (+ discharge, − charge)", "y2"),
    ("grid_kw", "Grid (+ import, − export)", "y2"),
    ("pv_kw", "PV", "y2"),
    ("load_kw", "Load", "y2"),
    ("import_price", "Import price", "y3"),
    ("export_price", "Export price", "y3"),
)
#: Rows of the cost comparison, top to bottom.
COST_ROWS = ("Optimized", "Self-consumption rule", "No battery")


def schedule_series(frame: pd.DataFrame, rule_soc_kwh) -> list[list[float]]:
    """The y values of each trace of :data:`SCHEDULE_TRACES`, in order: what changes when only the
    settings move (a page can send just these). Battery power is positive when discharging, grid
    power positive when importing [kW]; stored energy [kWh]; prices [currency/kWh]."""
    columns = {
        "soc_kwh": frame["soc_kwh"],
        "rule_soc_kwh": rule_soc_kwh,
        "battery_kw": frame["discharge_kw"] - frame["charge_kw"],
        "grid_kw": frame["import_kw"] - frame["export_kw"],
        "pv_kw": frame["pv_kw"],
        "load_kw": frame["load_kw"],
        "import_price": frame["import_price"],
        "export_price": frame["export_price"],
    }
    return [list(map(float, columns[key])) for key, _label, _axis in SCHEDULE_TRACES]


def schedule_figure(frame: pd.DataFrame, tz: str, currency: str, theme: str | None, rule_soc_kwh) -> go.Figure:
    """Stored energy, battery and grid power, and prices over the horizon, in three stacked panels.

    ``frame`` is indexed by UTC step start with columns ``soc_kwh`` [kWh], ``charge_kw``,
    ``discharge_kw``, ``import_kw``, ``export_kw``, ``pv_kw``, ``load_kw`` [kW], ``import_price``
    and ``export_price`` [currency/kWh] (``ScheduleResult.to_frame()``), drawn in local time ``tz``;
    ``rule_soc_kwh`` is the self-consumption rule's stored energy [kWh], for comparison.
    """
    if frame.empty:
        return empty_figure("Nothing to schedule", theme)
    x = frame.index.tz_convert(tz).tz_localize(None)
    unit = {"y": "kWh", "y2": "kW", "y3": f"{currency}/kWh"}
    style = {
        "soc_kwh": dict(line=dict(color=FLOW_COLORS["battery_soc"], width=3)),
        "rule_soc_kwh": dict(line=dict(color=RULE_COLOR, dash="dot", width=2)),
        "grid_kw": dict(line=dict(color=FLOW_COLORS["grid_import"], shape="hv")),
        "pv_kw": dict(line=dict(color=FLOW_COLORS["pv"], width=1, shape="hv"), visible="legendonly"),
        "load_kw": dict(line=dict(color=FLOW_COLORS["load"], width=1, shape="hv"), visible="legendonly"),
        "import_price": dict(line=dict(color=PRICE_COLOR, shape="hv")),
        "export_price": dict(line=dict(color=FLOW_COLORS["grid_export"], dash="dash", shape="hv")),
    }
    traces = []
    for (key, label, axis), y in zip(SCHEDULE_TRACES, schedule_series(frame, rule_soc_kwh), strict=True):
        hover = "%{y:.3f} " + unit[axis] + "<extra>" + label + "</extra>"
        if key == "battery_kw":
            traces.append(go.Bar(x=x, y=y, name=label, marker_color=FLOW_COLORS["battery_charge"], yaxis=axis,
                                 hovertemplate=hover))
        else:
            traces.append(go.Scatter(x=x, y=y, name=label, yaxis=axis, hovertemplate=hover, **style[key]))
    fig = go.Figure(traces)
    # Three panels on one x axis, laid out by hand: cheaper than make_subplots.
    fig.update_layout(
        title="Battery schedule",
        xaxis=dict(anchor="y3"),
        yaxis=dict(domain=[0.68, 1.0], title="kWh", rangemode="tozero"),
        yaxis2=dict(domain=[0.30, 0.63], title="kW", zeroline=True),
        yaxis3=dict(domain=[0.0, 0.25], title=f"{currency}/kWh"),
        legend=dict(orientation="h", y=-0.12),
        hovermode="x unified",
        bargap=0.1,
        uirevision="schedule",  # keep zoom and hidden traces while the sliders move
    )
    return apply_theme(fig, theme)


def cost_series(rows: list[dict], currency: str) -> tuple[list[float], list[str]]:
    """Adjusted cost [currency] and its label for each of :data:`COST_ROWS`, bottom to top (as a
    horizontal bar chart draws them), from ``savings_table`` rows."""
    by_name = {r["schedule"]: r["adjusted_cost"] for r in rows}
    costs = [float(by_name[name]) for name in reversed(COST_ROWS)]
    return costs, [f"{c:,.2f} {currency}" for c in costs]


def cost_figure(rows: list[dict], currency: str, theme: str | None) -> go.Figure:
    """Cost over the horizon of each way of running the household [currency], on adjusted costs
    (stored energy gained valued), from ``savings_table`` rows (``schedule``, ``adjusted_cost``)."""
    if not rows:
        return empty_figure("No schedule yet", theme)
    labels = list(reversed(COST_ROWS))
    costs, text = cost_series(rows, currency)
    colors = {"Optimized": FLOW_COLORS["battery_soc"], "Self-consumption rule": RULE_COLOR,
              "No battery": FLOW_COLORS["load"]}
    fig = go.Figure(go.Bar(
        x=costs, y=labels, orientation="h", marker_color=[colors[label] for label in labels],
        text=text, textposition="auto",
        hovertemplate="%{x:,.2f} " + currency + " (stored energy gained counted at its value)<extra>%{y}</extra>",
    ))
    fig.update_layout(title="Cost over the horizon", xaxis_title=currency,
                      showlegend=False, uirevision="cost")
    fig = apply_theme(fig, theme)
    fig.update_layout(margin=dict(l=150, r=16, t=40, b=40))
    return fig


def backtest_figure(daily: pd.DataFrame, currency: str, theme: str | None) -> go.Figure:
    """Cumulative savings against no battery per day [currency], with perfect foresight and with
    the forecast. ``daily`` is indexed by local day with columns ``no_battery``,
    ``perfect_foresight`` and ``forecast`` (cost per day)."""
    if daily.empty:
        return empty_figure("No days to show", theme)
    x = pd.to_datetime(pd.Index(daily.index))
    fig = go.Figure()
    for column, label, color in (("perfect_foresight", "Perfect foresight", FLOW_COLORS["battery_soc"]),
                                 ("forecast", "With the forecast", FORECAST_COLOR)):
        saved = (daily["no_battery"] - daily[column]).cumsum()
        fig.add_scatter(x=x, y=saved, name=label, line=dict(color=color),
                        hovertemplate="%{y:,.2f} " + currency + "<extra>" + label + "</extra>")
    fig.update_layout(title="Savings against no battery, cumulative", yaxis_title=currency,
                      legend=dict(orientation="h", y=-0.2), hovermode="x unified")
    return apply_theme(fig, theme)


def sizing_figure(rows: list[dict], currency: str, theme: str | None) -> go.Figure:
    """Savings per year [currency/year] by battery capacity [kWh], with the simple payback [years]
    on a second axis. ``rows`` as ``SizingReport.rows()``."""
    if not rows:
        return empty_figure("No capacities swept", theme)
    capacity = [r["capacity_kwh"] for r in rows]
    fig = go.Figure()
    fig.add_scatter(x=capacity, y=[r["annual_savings"] for r in rows], name="Savings per year",
                    mode="lines+markers", line=dict(color=FLOW_COLORS["battery_soc"]),
                    hovertemplate="%{y:,.0f} " + currency + "/year<extra>%{x} kWh</extra>")
    payback = [(r["capacity_kwh"], r["payback_years"]) for r in rows if r["payback_years"] is not None]
    if payback:
        fig.add_scatter(x=[p[0] for p in payback], y=[p[1] for p in payback], name="Simple payback",
                        mode="lines+markers", yaxis="y2", line=dict(color=PRICE_COLOR, dash="dot"),
                        hovertemplate="%{y:.1f} years<extra>%{x} kWh</extra>")
    fig.update_layout(title="Savings by battery size", xaxis_title="Capacity [kWh]",
                      yaxis=dict(title=f"{currency}/year", rangemode="tozero"),
                      yaxis2=dict(title="years", overlaying="y", side="right", rangemode="tozero", showgrid=False),
                      legend=dict(orientation="h", y=-0.25), hovermode="x unified")
    return apply_theme(fig, theme)
