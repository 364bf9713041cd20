"""Portfolio figures: the households on a map, and the portfolio month by month, this year against last.

Pure builders: a DataFrame in, a themed ``go.Figure`` out. The map is a ``scattergeo`` over
Natural Earth outlines that the app serves itself (``assets/topojson/``, see
:data:`TOPOJSON_ASSET_FOLDER`): the page gives its graph ``config={"topojsonURL": ...}``, so no
map tile or outline is fetched from the internet.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from components.format import format_value, plot_text
from components.theme import apply_theme, empty_figure, normalize_theme
from services.energy.kpi_definitions import KPI_DEFINITIONS

#: Where the outlines live under ``assets/``: plotly.js fetches ``<topojsonURL><scope>_<resolution>m.json``.
TOPOJSON_ASSET_FOLDER = "topojson/"
#: The outlines kept there: Europe when every household is in Europe, else the world, both at 1:110m
#: (1:50m Europe takes plotly.js three times as long to turn into shapes, for borders no one zooms into).
EUROPE_LON, EUROPE_LAT = (-25.0, 45.0), (34.0, 72.0)

#: Land, water and borders per colour mode.
GEO_COLORS = {
    "light": {"land": "#f1f3f5", "water": "#dde9f5", "lines": "#adb5bd"},
    "dark": {"land": "#343a40", "water": "#1b2631", "lines": "#6c757d"},
}
#: Marker diameter range [px] for the KPI the markers are sized by.
MARKER_PX = (9.0, 30.0)

#: Monthly metrics: column of :func:`services.energy.portfolio.monthly_trends` -> (label, unit).
MONTHLY_METRICS = {key: (definition.label, definition.unit) for key, definition in KPI_DEFINITIONS.items()}
MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def map_scope(latitude, longitude) -> tuple[str, int]:
    """``("europe", 110)`` when every point lies in Europe, else ``("world", 110)``: the outline file to use."""
    lat, lon = np.asarray(latitude, float), np.asarray(longitude, float)
    inside = (lon >= EUROPE_LON[0]) & (lon <= EUROPE_LON[1]) & (lat >= EUROPE_LAT[0]) & (lat <= EUROPE_LAT[1])
    return ("europe", 110) if len(lat) and inside.all() else ("world", 110)


def household_map_figure(frame: pd.DataFrame, kpi: str, label: str, unit: str, theme: str | None,
                         currency: str = "EUR") -> go.Figure:
    """Each household as a marker at its location, sized and coloured by ``kpi``.

    ``frame`` has ``household_id``, ``name``, ``latitude`` [°N], ``longitude`` [°E] and the ``kpi``
    column in ``unit`` (kWh, %, currency, kWh/kWp, kWp). Size follows the magnitude (area
    proportional to the value); households without a value are small grey markers. Each
    marker's ``customdata[0]`` is its household id (a click opens its page).
    """
    if frame.empty:
        return empty_figure("No households to show", theme)
    mode = normalize_theme(theme)
    colors = GEO_COLORS[mode]
    values = frame[kpi].astype(float)
    known = values.notna()
    text = [format_value(v, unit, currency) for v in values]
    fig = go.Figure()
    if known.any():
        shown = frame[known]
        magnitude = values[known].abs()
        top = float(magnitude.max()) or 1.0
        size = MARKER_PX[0] + (MARKER_PX[1] - MARKER_PX[0]) * np.sqrt(magnitude / top)
        unit_title = currency if unit == "currency" else unit
        fig.add_scattergeo(
            lat=shown["latitude"], lon=shown["longitude"], name=label,
            customdata=np.column_stack([shown["household_id"], np.asarray(text, dtype=object)[known.to_numpy()]]),
            text=shown["name"].map(plot_text), hovertemplate="<b>%{text}</b><br>" + label + ": %{customdata[1]}<extra></extra>",
            marker=dict(size=size, color=values[known], colorscale="Viridis", opacity=0.85,
                        line=dict(width=1, color=colors["water"]), sizemode="diameter",
                        # Below the map, not beside it: on a phone the map keeps the whole width.
                        colorbar=dict(title=dict(text=unit_title, side="right"), orientation="h", thickness=10,
                                      len=0.9, y=-0.02, yanchor="top", tickformat=".0%" if unit == "%" else None)),
        )
    if (~known).any():
        missing = frame[~known]
        fig.add_scattergeo(
            lat=missing["latitude"], lon=missing["longitude"], name="no value",
            customdata=np.column_stack([missing["household_id"], np.full(len(missing), "—", dtype=object)]),
            text=missing["name"].map(plot_text), hovertemplate="<b>%{text}</b><br>" + label + ": —<extra></extra>",
            marker=dict(size=MARKER_PX[0], color="#adb5bd", opacity=0.8),
        )
    scope, resolution = map_scope(frame["latitude"], frame["longitude"])
    fig.update_geos(
        scope=scope, resolution=resolution, fitbounds="locations", showland=True, landcolor=colors["land"],
        showocean=True, oceancolor=colors["water"], showlakes=True, lakecolor=colors["water"],
        showcountries=True, countrycolor=colors["lines"], coastlinecolor=colors["lines"],
        bgcolor="rgba(0,0,0,0)", showframe=False,
    )
    fig.update_layout(title=f"{label} by household", showlegend=False)
    apply_theme(fig, theme)
    fig.update_layout(margin=dict(l=0, r=0, t=40, b=50))  # the map uses the whole card, its scale below
    return fig


def monthly_trend_figure(monthly: pd.DataFrame, metric: str, theme: str | None, currency: str = "EUR") -> go.Figure:
    """``metric`` per calendar month, one group of bars per month with a bar per year (the last two
    years with data), so that this year reads against last. Months only partly covered by data are
    hatched and say so on hover.

    ``monthly`` is :func:`services.energy.portfolio.monthly_trends` (indexed by month start, with ``year``,
    ``month``, ``days``, ``days_in_month``, ``complete`` and the metric columns).
    """
    if monthly.empty:
        return empty_figure("No data yet", theme)
    label, unit = MONTHLY_METRICS[metric]
    years = sorted(monthly["year"].unique())[-2:]
    fig = go.Figure()
    for year in years:
        rows = monthly[monthly["year"] == year]
        latest = year == years[-1]
        values = rows[metric].astype(float)
        notes = [
            "" if complete else f" (partial: {days} of {total} days)"
            for complete, days, total in zip(rows["complete"], rows["days"], rows["days_in_month"])
        ]
        shown = [format_value(v, unit, currency) + note for v, note in zip(values, notes)]
        fig.add_bar(
            x=[MONTH_NAMES[m - 1] for m in rows["month"]], y=values, name=str(year),
            customdata=shown, hovertemplate="%{x} " + str(year) + ": %{customdata}<extra></extra>",
            marker=dict(color="#0d6efd" if latest else "#9ec5fe", opacity=1.0 if latest else 0.85,
                        pattern=dict(shape=["" if c else "/" for c in rows["complete"]], solidity=0.4)),
        )
    axis_title = {"kWh": "kWh", "%": None, "currency": currency}[unit]
    fig.update_layout(
        barmode="group", title=f"{label} per month",
        xaxis=dict(categoryorder="array", categoryarray=list(MONTH_NAMES), title=None),
        yaxis=dict(title=axis_title, tickformat=".0%" if unit == "%" else ",.0f",
                   rangemode="tozero" if unit != "currency" else "normal"),
        legend=dict(orientation="h", y=-0.15), hovermode="x unified",
    )
    return apply_theme(fig, theme)

