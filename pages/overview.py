"""Overview (/): the portfolio for a period: KPIs, energy over time, alerts and data quality, the
households on a map, the portfolio month by month, and the households ranked and filtered by any KPI.

Each view has its own callback, so the KPIs never wait for the slow ones (the data-quality checks
behind the alerts take seconds); every chart and table offers its data as CSV.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone

import dash
import dash_bootstrap_components as dbc
import pandas as pd
from dash import Input, Output, State, callback, clientside_callback, dcc, html
from dash.exceptions import PreventUpdate

from components import ids
from components.downloads import register_grid_csv, send_csv
from components.figures.energy import portfolio_energy_figure
from components.figures.portfolio import MONTHLY_METRICS, household_map_figure, monthly_trend_figure
from components.kpi_cards import empty_state, energy_kpi_cards
from components.overview_sections import (
    alert_list,
    alerts_card,
    chart_card,
    household_columns,
    households_section,
    map_card,
    monthly_card,
    period_controls,
    status_card,
)
from components.period import picked_day
from components.theme import empty_figure
from services.access import browser_id, visible_household_ids
from services.config import get_settings
from services.energy import kpis, portfolio
from services.energy.kpi_definitions import KPI_DEFINITIONS
from services.quality import QUALITY_LABELS, Alert, portfolio_alerts

dash.register_page(__name__, path="/", name="Overview", title="Overview · Energy Dashboard", nav_order=0)

DEFAULT_PRESET = "last_30_days"
DEFAULT_RANK, DEFAULT_MAP_KPI, DEFAULT_MONTHLY = "self_sufficiency", "pv_yield_kwh_per_kwp", "load_kwh"
#: The data-quality counts on the overview: key in ``quality_counts`` -> label.
QUALITY_KINDS = QUALITY_LABELS


def layout(**_kwargs):
    household_ids = visible_household_ids()
    available = kpis.data_period(household_ids)
    if available is None:
        return html.Div([
            html.H1("Portfolio overview"),
            empty_state(
                "No energy data yet",
                "Add households and bring in their meter data, or load the demo portfolio with "
                "`flask --app app demo-data`. KPIs appear here as soon as readings arrive.",
                dbc.Button("Go to households", href="/households", color="primary"),
            ),
        ])
    start, end = kpis.resolve_period(DEFAULT_PRESET, available)
    return html.Div([
        dbc.Row([
            dbc.Col(html.H1("Portfolio overview", className="mb-0"), md=True),
            dbc.Col(period_controls(kpis.PERIOD_PRESETS, DEFAULT_PRESET, start, end, available), md="auto"),
        ], className="align-items-center mb-2 g-2"),
        html.P(id=ids.OVERVIEW_PERIOD_NOTE, className="text-body-secondary"),
        dcc.Loading(dbc.Row(id=ids.OVERVIEW_KPIS, className="g-3 mb-3"), type="dot"),
        dbc.Row([
            dbc.Col(quality_card(), xs=12, lg=5),
            dbc.Col(alerts_card(), xs=12, lg=7),
        ], className="g-3 mb-3"),
        chart_card(ids.OVERVIEW_TREND, "360px"),
        dbc.Row([
            dbc.Col(map_card(_kpi_options(get_settings().currency), DEFAULT_MAP_KPI), xs=12, xl=6),
            dbc.Col(monthly_card(DEFAULT_MONTHLY), xs=12, xl=6),
        ], className="g-3 mb-3"),
        html.Div(id=ids.OVERVIEW_HOUSEHOLDS, style={"minHeight": "24rem"}),
        dcc.Store(id=ids.OVERVIEW_IDLE_PERIOD),
    ])


def _kpi_options(currency: str) -> dict[str, str]:
    return {key: f"{k.label} [{currency if k.unit == 'currency' else k.unit}]" for key, k in portfolio.RANKING_KPIS.items()}


# --- period, KPIs and energy over time -------------------------------------------------------------


@callback(
    Output(ids.OVERVIEW_RANGE, "start_date"),
    Output(ids.OVERVIEW_RANGE, "end_date"),
    Input(ids.OVERVIEW_PRESET, "value"),
    prevent_initial_call=True,
)
def apply_preset(preset: str):
    """Set the date range from a preset such as "last 7 days", anchored at the newest data."""
    available = kpis.data_period(visible_household_ids())
    if available is None or not preset:
        return dash.no_update, dash.no_update
    start, end = kpis.resolve_period(preset, available)
    return start.isoformat(), end.isoformat()


def _resolution(n_days: int) -> str:
    return "D" if n_days <= 62 else ("W" if n_days <= 200 else "MS")


@callback(
    Output(ids.OVERVIEW_KPIS, "children"),
    Output(ids.OVERVIEW_TREND, "figure"),
    Output(ids.OVERVIEW_PERIOD_NOTE, "children"),
    Input(ids.OVERVIEW_RANGE, "start_date"),
    Input(ids.OVERVIEW_RANGE, "end_date"),
    Input(ids.THEME_STORE, "data"),
    State(ids.OVERVIEW_PERIOD_NOTE, "children"),
)
def update_overview(start_date: str | None, end_date: str | None, theme: str | None, shown_note: str | None = None):
    """Portfolio KPIs and energy per day (week, month for long periods) for the chosen local days.

    The period note changes only with the period (``shown_note`` is the one on screen): the
    data-quality checks start from it, after the KPIs, and a new colour mode does not re-run them.
    """
    start, end = picked_day(start_date), picked_day(end_date)
    overview = kpis.portfolio_overview(visible_household_ids(), start, end)
    if overview is None:
        return [], empty_figure("No data yet", theme), "No data yet."
    cards = energy_kpi_cards(overview.totals, KPI_DEFINITIONS, get_settings().currency, "overview")
    n_days = (overview.end - overview.start).days + 1
    figure = portfolio_energy_figure(overview.daily, theme, _resolution(n_days))
    note = (
        f"{overview.start:%d %b %Y} – {overview.end:%d %b %Y} · {n_days} days · "
        f"{len(overview.households)} households · each household's local calendar days"
    )
    return cards, figure, dash.no_update if note == shown_note else note


@callback(Output(ids.csv_download_id(ids.OVERVIEW_TREND), "data"),
          Input(ids.csv_button_id(ids.OVERVIEW_TREND), "n_clicks"),
          State(ids.OVERVIEW_RANGE, "start_date"), State(ids.OVERVIEW_RANGE, "end_date"), prevent_initial_call=True)
def download_trend(_n_clicks, start_date: str | None, end_date: str | None):
    """The portfolio's energy [kWh] and money [currency] per local day of the period, as CSV."""
    start, end = picked_day(start_date), picked_day(end_date)
    if start is None or end is None:
        raise PreventUpdate
    daily = kpis.daily_totals(visible_household_ids(), min(start, end), max(start, end))
    return send_csv(daily, f"portfolio-energy-{start}-{end}.csv", index=True)


# What is below the charts and slow (the household grid to start in the browser, the data-quality
# checks on the server) waits until the browser has drawn the KPIs and charts of a new period and is
# idle: on two cores, starting them at once would slow the charts down.
clientside_callback(
    """async function(note) {
        await new Promise(done => (window.requestIdleCallback || setTimeout)(done, {timeout: 3000}));
        return note;
    }""",
    Output(ids.OVERVIEW_IDLE_PERIOD, "data"),
    Input(ids.OVERVIEW_PERIOD_NOTE, "children"),
    prevent_initial_call=True,
)


# --- households: table, map ------------------------------------------------------------------------


@callback(Output(ids.OVERVIEW_HOUSEHOLDS, "children"), Input(ids.OVERVIEW_IDLE_PERIOD, "data"),
          State(ids.OVERVIEW_HOUSEHOLDS, "children"))
def show_households(_period_note, shown):
    """The household table with its ranking, filter and search, placed once the KPIs and charts are
    on screen: the grid is the heaviest component to start in the browser, and it sits below them."""
    if shown:
        raise PreventUpdate
    currency = get_settings().currency
    filters = portfolio.filter_options(portfolio.household_places(visible_household_ids()))
    return households_section(household_columns(currency, KPI_DEFINITIONS), _kpi_options(currency),
                              DEFAULT_RANK, filters)


@callback(
    Output(ids.OVERVIEW_TABLE, "rowData"),
    Output(ids.OVERVIEW_TABLE, "resetColumnState"),
    Output(ids.OVERVIEW_TABLE_NOTE, "children"),
    Input(ids.OVERVIEW_RANGE, "start_date"),
    Input(ids.OVERVIEW_RANGE, "end_date"),
    Input(ids.OVERVIEW_RANK_BY, "value"),
    Input(ids.OVERVIEW_RANK_ORDER, "value"),
    Input(ids.OVERVIEW_FILTER, "value"),
)
def update_table(start_date, end_date, rank_by, order, quick_filter):
    """The households ranked by ``rank_by`` (``order`` ``desc``: highest first) and kept by
    ``quick_filter``; the rank is within the whole portfolio, before filtering. Any sort the user
    clicked on a header is cleared, so the rows follow the ranking."""
    start, end = picked_day(start_date), picked_day(end_date)
    if start is None or end is None:
        return [], True, "Choose a period."
    frame = portfolio.household_ranking(visible_household_ids(), min(start, end), max(start, end))
    try:
        ranked = portfolio.rank_households(frame, rank_by or DEFAULT_RANK, descending=order != "asc")
        shown = portfolio.filter_households(ranked, quick_filter)
    except ValueError as exc:
        return dash.no_update, False, f"Cannot show the table: {exc}."
    kpi = portfolio.RANKING_KPIS[rank_by or DEFAULT_RANK].label
    note = (f"{len(shown)} of {len(ranked)} households · ranked by {kpi}, "
            f"{'lowest' if order == 'asc' else 'highest'} first · click a header to sort by another column")
    return table_rows(shown), True, note


def table_rows(frame) -> list[dict]:
    """Rows for the household grid; names link to the household page; NaN becomes null."""
    if frame.empty:
        return []
    rows = frame.astype(object).where(frame.notna(), None).to_dict("records")
    for row in rows:
        name = str(row["name"]).replace("[", "\\[").replace("]", "\\]")
        row["name"] = f"[{name}](/household/{row['household_id']})"
    return rows


register_grid_csv(ids.OVERVIEW_TABLE, "households.csv")

# The quick search filters the rows already in the browser: no round trip.
clientside_callback(
    "function(text, options) { return Object.assign({}, options || {}, {quickFilterText: text || ''}); }",
    Output(ids.OVERVIEW_TABLE, "dashGridOptions"),
    Input(ids.OVERVIEW_SEARCH, "value"),
    State(ids.OVERVIEW_TABLE, "dashGridOptions"),
    prevent_initial_call=True,
)


@callback(
    Output(ids.OVERVIEW_MAP, "figure"),
    Input(ids.OVERVIEW_RANGE, "start_date"),
    Input(ids.OVERVIEW_RANGE, "end_date"),
    Input(ids.OVERVIEW_MAP_KPI, "value"),
    Input(ids.THEME_STORE, "data"),
)
def update_map(start_date, end_date, kpi, theme):
    """The households at their locations, sized and coloured by ``kpi`` over the period."""
    start, end = picked_day(start_date), picked_day(end_date)
    definition = portfolio.RANKING_KPIS.get(kpi or "")
    if start is None or end is None or definition is None:
        return empty_figure("Choose a period and a KPI", theme)
    frame = portfolio.household_ranking(visible_household_ids(), min(start, end), max(start, end))
    return household_map_figure(frame, kpi, definition.label, definition.unit, theme, get_settings().currency)


@callback(Output(ids.URL, "pathname", allow_duplicate=True), Input(ids.OVERVIEW_MAP, "clickData"),
          prevent_initial_call=True)
def open_household_from_map(click_data):
    """A click on a household's marker opens its page."""
    points = (click_data or {}).get("points") or []
    household_id = browser_id(points[0]["customdata"][0]) if points and points[0].get("customdata") else None
    if household_id is None:
        raise PreventUpdate
    return f"/household/{household_id}"


@callback(Output(ids.csv_download_id(ids.OVERVIEW_MAP), "data"), Input(ids.csv_button_id(ids.OVERVIEW_MAP), "n_clicks"),
          State(ids.OVERVIEW_RANGE, "start_date"), State(ids.OVERVIEW_RANGE, "end_date"), prevent_initial_call=True)
def download_map(_n_clicks, start_date, end_date):
    """Every household with its location [°N, °E] and KPIs over the period, as CSV."""
    start, end = picked_day(start_date), picked_day(end_date)
    if start is None or end is None:
        raise PreventUpdate
    frame = portfolio.household_ranking(visible_household_ids(), min(start, end), max(start, end))
    return send_csv(frame, f"households-{start}-{end}.csv")


# --- the portfolio month by month -----------------------------------------------------------------


@callback(Output(ids.OVERVIEW_MONTHLY, "figure"), Input(ids.OVERVIEW_MONTHLY_METRIC, "value"),
          Input(ids.THEME_STORE, "data"))
def update_monthly(metric, theme):
    """``metric`` per calendar month over the last two years with data."""
    if metric not in MONTHLY_METRICS:
        return empty_figure("Choose what to show", theme)
    return monthly_trend_figure(portfolio.monthly_trends(visible_household_ids()), metric, theme,
                                get_settings().currency)


@callback(Output(ids.csv_download_id(ids.OVERVIEW_MONTHLY), "data"),
          Input(ids.csv_button_id(ids.OVERVIEW_MONTHLY), "n_clicks"), prevent_initial_call=True)
def download_monthly(_n_clicks):
    """The portfolio's energy [kWh], cost [currency] and ratios per month, as CSV."""
    return send_csv(portfolio.monthly_trends(visible_household_ids()), "portfolio-monthly.csv", index=True)


# --- data quality and alerts (slow: a callback of their own) --------------------------------------


def quality_card() -> dbc.Card:
    """The "Data quality" card: filled by :func:`update_quality` after the page has shown."""
    return status_card("Data quality", ids.OVERVIEW_QUALITY, ids.OVERVIEW_QUALITY_RUNNING,
                       "Checking gaps, stuck meters, spikes and PV…")


# The checks read every reading of every household (and a year of PV): seconds, not milliseconds.
# They run in a callback of their own, apart from the KPIs above, so the page never waits for them.
# Not a background callback: those fork the server per job, and a fork of the threaded server
# now and then hung on a lock inherited from another thread, leaving the card empty.
# They start once the charts of a new period are drawn (OVERVIEW_IDLE_PERIOD), so that on two cores
# they do not slow the KPIs and charts down; the keyword signature keeps (start_date, end_date) first.
@callback(
    output=[Output(ids.OVERVIEW_QUALITY, "children"), Output(ids.OVERVIEW_ALERTS, "children"),
            Output(ids.OVERVIEW_ALERTS_DATA, "data")],
    inputs=dict(period_note=Input(ids.OVERVIEW_IDLE_PERIOD, "data")),
    state=dict(start_date=State(ids.OVERVIEW_RANGE, "start_date"), end_date=State(ids.OVERVIEW_RANGE, "end_date")),
    running=[(Output(ids.OVERVIEW_QUALITY_RUNNING, "spinner_style"), {}, {"display": "none"}),
             (Output(ids.OVERVIEW_ALERTS_RUNNING, "spinner_style"), {}, {"display": "none"})],
)
def update_quality(start_date: str | None, end_date: str | None, period_note: str | None = None):
    """Households with data-quality issues (the count of each kind), and the alerts, over the chosen days.

    The days are taken as UTC days (the checks work on UTC readings; a household's local day
    differs by at most a few hours, which does not change what is found).
    """
    first, last = picked_day(start_date), picked_day(end_date)
    start = datetime.combine(first, time(), timezone.utc) if first else None
    end = datetime.combine(last, time(), timezone.utc) + timedelta(days=1) if last else None
    report = portfolio_alerts(visible_household_ids(), start, end)
    rows = report.frame()
    for column in ("start", "end"):
        rows[column] = rows[column].map(lambda t: t.isoformat() if t is not None and not pd.isna(t) else None)
    return quality_summary(report.counts), alert_list(report.alerts), rows.to_dict("records")


@callback(Output(ids.csv_download_id(ids.OVERVIEW_ALERTS), "data"),
          Input(ids.csv_button_id(ids.OVERVIEW_ALERTS), "n_clicks"), State(ids.OVERVIEW_ALERTS_DATA, "data"),
          prevent_initial_call=True)
def download_alerts(_n_clicks, rows):
    """The alerts on screen (all of them, not only those listed), as CSV."""
    if rows is None:
        raise PreventUpdate
    return send_csv(pd.DataFrame(rows, columns=list(Alert.__dataclass_fields__)), "alerts.csv")


def quality_summary(counts: dict) -> html.Div:
    """Households with issues out of all, then one link to the Data page per kind of finding."""
    total, with_issues = counts["households"], counts["households_with_issues"]
    if not total:
        return html.Div("No households to check yet.", className="text-body-secondary")
    headline = html.P([html.Span(f"{with_issues} / {total}", className="fs-4 fw-semibold me-2"),
                       "households with data-quality issues"], className="mb-2")
    links = [
        dbc.Badge(f"{counts[kind]} {label}", href="/data", id=f"{ids.OVERVIEW_QUALITY}-{kind}",
                  color="danger" if counts[kind] else "success", pill=True, className="me-2 mb-1 text-decoration-none")
        for kind, label in QUALITY_KINDS.items()
        # Two readings in one interval is rare (a drifting clock): named only when found, so the
        # count of households with issues always has a badge to show for it.
        if kind != "duplicates" or counts[kind]
    ]
    note = html.Small("PV is judged on the clearest days of the year before the period's end. "
                      "Open the Data page for each household's findings.", className="text-body-secondary d-block mt-1")
    return html.Div([headline, html.Div(links), note])
