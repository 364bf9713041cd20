"""Household explorer (/household/<id>): one home's KPIs, energy flows, Sankey, comparison with
another period, consumption heatmap and cost, over a chosen period and resolution.

The main callback draws the KPI cards, the flows and the Sankey from one service call; the
comparison, heatmap and cost have callbacks of their own, so the main chart comes first.
"""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, ctx, dcc, html, no_update

from components import ids
from components.downloads import send_csv
from components.explorer_controls import (
    controls_card,
    explorer_sections,
    household_links,
    kpi_changes,
    period_note,
    period_text,
)
from components.figures.explorer import comparison_figure, cost_figure, flows_figure, heatmap_figure, sankey_figure
from components.format import format_money
from components.kpi_cards import empty_state, energy_kpi_cards
from components.period import picked_day
from components.theme import HIDDEN, SHOWN, empty_figure
from services import explorer, households
from services.access import browser_id, visible_household_id
from services.config import get_settings
from services.energy import kpis
from services.energy.kpi_definitions import KPI_DEFINITIONS, KPI_OF_QUANTITY

dash.register_page(
    __name__, path_template="/household/<household_id>", name="Household", title="Household · Energy Dashboard"
)

DEFAULT_PRESET = "last_7_days"


def layout(household_id: str | None = None, **_kwargs):
    household = _find(household_id)
    if household is None:
        return empty_state(
            "Household not found",
            f"There is no household with id {household_id!r}. It may have been deleted.",
            dbc.Button("Back to the overview", href="/", color="primary"),
        )
    available = kpis.data_period([household.id])
    header = dbc.Row([
        dbc.Col([html.H1(household.name, className="mb-1"),
                 html.P(_describe(household), className="text-body-secondary mb-2")], md=True),
        dbc.Col(household_links(household.id, household.battery is not None), md="auto"),
    ], className="align-items-center g-2 mb-2")
    if available is None:
        return html.Div([header, empty_state(
            "No readings yet",
            "This household has no meter data yet. Upload files or connect its meters on the Data page.",
            dbc.Button("Go to the Data page", href="/data", color="primary"),
        )])
    today = explorer.local_today(household.timezone)
    start, end = explorer.resolve_preset(DEFAULT_PRESET, available, today)
    return html.Div([
        dcc.Store(id=ids.HOUSEHOLD_ID, data=household.id),
        dcc.Store(id=ids.HOUSEHOLD_PERIOD_INFO, data={"first": available[0].isoformat(),
                                                      "last": available[1].isoformat(), "today": today.isoformat()}),
        header,
        controls_card(explorer.PRESETS, DEFAULT_PRESET, start, end, available, explorer.COMPARISONS),
        *explorer_sections(),
    ])


def _find(household_id: str | None):
    """The household of the URL, or None when the id is not a number, unknown or not visible."""
    try:
        wanted = visible_household_id(household_id)
        return households.get_household(wanted) if wanted is not None else None
    except households.HouseholdNotFound:
        return None


def _describe(household) -> str:
    parts = [f"{household.timezone}", f"{household.latitude:.3f}°, {household.longitude:.3f}°"]
    kwp = household.pv_kwp
    parts.append(f"PV {kwp:.1f} kWp" if kwp else "no PV")
    parts.append(f"battery {household.battery.capacity_kwh:.1f} kWh" if household.battery else "no battery")
    if household.tariff_name:
        parts.append(f"tariff: {household.tariff_name}")
    return " · ".join(parts)


def _period(start_date: str | None, end_date: str | None):
    start, end = picked_day(start_date), picked_day(end_date)
    if start is None or end is None:
        return None
    return (start, end) if start <= end else (end, start)


#: What the main chart, the Sankey and the comparison follow: period, resolution, kW/kWh, comparison,
#: theme (inputs), and the household (state). The callbacks take them in this order.
VIEW_INPUTS = (
    Input(ids.HOUSEHOLD_RANGE, "start_date"),
    Input(ids.HOUSEHOLD_RANGE, "end_date"),
    Input(ids.HOUSEHOLD_RESOLUTION, "value"),
    Input(ids.HOUSEHOLD_VIEW, "value"),
    Input(ids.HOUSEHOLD_COMPARE, "value"),
    Input(ids.THEME_STORE, "data"),
    State(ids.HOUSEHOLD_ID, "data"),
)


@callback(
    Output(ids.HOUSEHOLD_PRESET, "value"),
    Output(ids.HOUSEHOLD_RANGE, "start_date"),
    Output(ids.HOUSEHOLD_RANGE, "end_date"),
    Input(ids.HOUSEHOLD_PRESET, "value"),
    Input(ids.HOUSEHOLD_RANGE, "start_date"),
    Input(ids.HOUSEHOLD_RANGE, "end_date"),
    State(ids.HOUSEHOLD_PERIOD_INFO, "data"),
    prevent_initial_call=True,
)
def sync_period(preset: str | None, start_date: str | None, end_date: str | None, info: dict | None):
    """A preset sets the exact days; days picked by hand select the preset they match, or "Custom"."""
    if not info:
        return no_update, no_update, no_update
    available = (picked_day(info["first"]), picked_day(info["last"]))
    today = picked_day(info["today"])
    if ctx.triggered_id == ids.HOUSEHOLD_PRESET:
        if not preset or preset == "custom":
            return no_update, no_update, no_update
        start, end = explorer.resolve_preset(preset, available, today)
        return no_update, start.isoformat(), end.isoformat()
    period = _period(start_date, end_date)
    if period is None:
        return "custom", no_update, no_update
    return explorer.matching_preset(*period, available, today), no_update, no_update


@callback(
    Output(ids.HOUSEHOLD_KPIS, "children"),
    Output(ids.HOUSEHOLD_FLOWS, "figure"),
    Output(ids.HOUSEHOLD_SANKEY, "figure"),
    Output(ids.HOUSEHOLD_NOTE, "children"),
    *VIEW_INPUTS,
)
def update_explorer(start_date, end_date, resolution, view, compare, theme, household_id):
    """KPI cards (with changes against the compared period), stacked flows and the Sankey."""
    period = _period(start_date, end_date)
    household_id = browser_id(household_id)  # the page's store, as the browser sent it back
    if period is None or household_id is None:
        blank = empty_figure("Choose a period: a preset or the first and last day", theme)
        return [], blank, blank, "Choose a period."
    try:
        data = explorer.explore(household_id, *period, resolution or "auto", compare or "none")
    except explorer.HouseholdUnavailable as exc:
        blank = empty_figure("Household not found", theme)
        return [], blank, blank, str(exc)
    currency = data.household.currency or get_settings().currency
    compared = data.comparison is not None and data.comparison.totals.days > 0
    before = kpis.totals_as_dict(data.comparison.totals) if compared else None
    notes = kpi_changes(kpis.totals_as_dict(data.totals), before, compare, currency)
    for quantity in data.derived:  # from the energy balance, not a meter: say so on its card
        key = KPI_OF_QUANTITY[quantity]
        notes[key] = " · ".join(n for n in ("derived", notes.get(key)) if n)
    cards = energy_kpi_cards(data.totals, KPI_DEFINITIONS, currency, "household", notes)
    step = data.resolution.resolution
    flows = flows_figure(explorer.in_view(data.flows, data.household.timezone, view), view, step.label, theme)
    return cards, flows, sankey_figure(data.flow_totals(), theme), period_note(data)


@callback(
    Output(ids.HOUSEHOLD_COMPARISON, "figure"),
    Output(ids.HOUSEHOLD_COMPARISON_CARD, "style"),
    *VIEW_INPUTS,
)
def update_comparison(start_date, end_date, resolution, view, compare, theme, household_id):
    """Consumption and PV of the period overlaid on those of the period compared with (hidden without one)."""
    period = _period(start_date, end_date)
    household_id = browser_id(household_id)  # the page's store, as the browser sent it back
    if period is None or household_id is None or not compare or compare == "none":
        return empty_figure("Choose a period to compare with", theme), HIDDEN
    try:
        curves = explorer.comparison_curves(household_id, *period, resolution or "auto", compare, view)
    except explorer.HouseholdUnavailable as exc:
        return empty_figure(str(exc), theme), SHOWN
    figure = comparison_figure(curves.current, curves.earlier, period_text(curves.start, curves.end),
                               period_text(curves.other_start, curves.other_end), view,
                               curves.resolution.resolution.label, theme)
    return figure, SHOWN


@callback(
    Output(ids.HOUSEHOLD_HEATMAP, "figure"),
    Input(ids.HOUSEHOLD_RANGE, "start_date"),
    Input(ids.HOUSEHOLD_RANGE, "end_date"),
    Input(ids.THEME_STORE, "data"),
    State(ids.HOUSEHOLD_ID, "data"),
)
def update_heatmap(start_date, end_date, theme, household_id):
    """Consumption per local day and hour of day."""
    period = _period(start_date, end_date)
    household_id = browser_id(household_id)  # the page's store, as the browser sent it back
    if period is None or household_id is None:
        return empty_figure("Choose a period", theme)
    try:
        return heatmap_figure(explorer.consumption_heatmap(household_id, *period), theme)
    except explorer.HouseholdUnavailable as exc:
        return empty_figure(str(exc), theme)


@callback(
    Output(ids.HOUSEHOLD_COST, "figure"),
    Output(ids.HOUSEHOLD_COST_NOTE, "children"),
    Input(ids.HOUSEHOLD_RANGE, "start_date"),
    Input(ids.HOUSEHOLD_RANGE, "end_date"),
    Input(ids.HOUSEHOLD_RESOLUTION, "value"),
    Input(ids.THEME_STORE, "data"),
    State(ids.HOUSEHOLD_ID, "data"),
)
def update_cost(start_date, end_date, resolution, theme, household_id):
    """Import cost, feed-in revenue and the running net cost with the household's tariff."""
    period = _period(start_date, end_date)
    household_id = browser_id(household_id)  # the page's store, as the browser sent it back
    if period is None or household_id is None:
        return empty_figure("Choose a period", theme), ""
    try:
        cost = explorer.cost_over_period(household_id, *period, resolution or "auto")
    except explorer.HouseholdUnavailable as exc:
        return empty_figure(str(exc), theme), ""
    currency = cost.currency or get_settings().currency
    figure = cost_figure(cost.frame, currency, cost.resolution.resolution.label, theme)
    if cost.tariff_name is None:
        return figure, ("No tariff is set for this household, so costs read as zero: choose one on the "
                        "Households page (Edit).")
    total = cost.frame.sum()
    return figure, (f"Tariff “{cost.tariff_name}”: import {format_money(total['import_cost'], currency)}, "
                    f"feed-in {format_money(total['export_revenue'], currency)}, "
                    f"net {format_money(total['net_cost'], currency)} over the period.")


@callback(
    *[Output(ids.household_download(chart), "data") for chart in ids.HOUSEHOLD_CSV_CHARTS],
    *[Input(ids.household_csv_button(chart), "n_clicks") for chart in ids.HOUSEHOLD_CSV_CHARTS],
    State(ids.HOUSEHOLD_RANGE, "start_date"),
    State(ids.HOUSEHOLD_RANGE, "end_date"),
    State(ids.HOUSEHOLD_RESOLUTION, "value"),
    State(ids.HOUSEHOLD_VIEW, "value"),
    State(ids.HOUSEHOLD_COMPARE, "value"),
    State(ids.HOUSEHOLD_ID, "data"),
    prevent_initial_call=True,
)
def download_csv(*args):
    """The data behind the chart whose CSV button was pressed, as the chart shows it."""
    start_date, end_date, resolution, view, compare, household_id = args[len(ids.HOUSEHOLD_CSV_CHARTS):]
    outputs = [no_update] * len(ids.HOUSEHOLD_CSV_CHARTS)
    chart = next((c for c in ids.HOUSEHOLD_CSV_CHARTS if ctx.triggered_id == ids.household_csv_button(c)), None)
    period = _period(start_date, end_date)
    if chart is None or period is None or not household_id:
        return outputs
    outputs[ids.HOUSEHOLD_CSV_CHARTS.index(chart)] = csv_download(chart, household_id, *period,
                                                                  resolution or "auto", view or "energy",
                                                                  compare or "none")
    return outputs


def csv_download(chart: str, household_id: int, start, end, resolution: str, view: str, compare: str):
    """The ``dcc.Download`` payload for ``chart`` (a key of ``ids.HOUSEHOLD_CSV_CHARTS``), or no_update."""
    name = f"household-{household_id}-{chart}-{start.isoformat()}-{end.isoformat()}.csv"
    try:
        if chart == "heatmap":
            return send_csv(explorer.heatmap_table(explorer.consumption_heatmap(household_id, start, end)), name)
        if chart == "cost":
            return send_csv(explorer.cost_table(explorer.cost_over_period(household_id, start, end, resolution)), name)
        if chart == "comparison":
            curves = explorer.comparison_curves(household_id, start, end, resolution, compare, view)
            return no_update if curves is None else send_csv(explorer.comparison_table(curves, view), name)
        data = explorer.explore(household_id, start, end, resolution, compare)
    except explorer.HouseholdUnavailable:
        return no_update
    table = {"kpis": explorer.kpi_table, "sankey": explorer.sankey_table}.get(chart)
    return send_csv(table(data) if table else explorer.flows_table(data, view), name)
