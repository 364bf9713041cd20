"""Overview (/): portfolio KPIs for a period, energy per day, and the table of households."""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, callback, dcc, html

from components import ids
from components.figures.energy import portfolio_energy_figure
from components.grid import data_grid
from components.kpi_cards import empty_state, energy_kpi_cards
from components.period import day_range_picker, picked_day
from components.theme import empty_figure
from services import kpis
from services.access import visible_household_ids
from services.config import get_settings
from services.quality import quality_counts

dash.register_page(__name__, path="/", name="Overview", title="Overview · Energy Dashboard", nav_order=0)

DEFAULT_PRESET = "last_30_days"
#: The data-quality counts on the overview: key in ``quality_counts`` -> label.
QUALITY_KINDS = {"gaps": "gaps", "stuck": "stuck periods", "spikes": "spikes",
                 "pv_underperforming": "PV under-performing", "duplicates": "duplicate readings"}


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
    controls = dbc.Row(
        [
            dbc.Col(dbc.Label("Period", html_for=ids.OVERVIEW_PRESET, className="visually-hidden"), width="auto"),
            dbc.Col(
                dcc.Dropdown(
                    id=ids.OVERVIEW_PRESET,
                    options=[{"label": v, "value": k} for k, v in kpis.PERIOD_PRESETS.items()],
                    value=DEFAULT_PRESET,
                    clearable=False,
                    searchable=False,
                    style={"minWidth": "11rem"},
                ),
                xs=12, sm="auto",
            ),
            dbc.Col(
                day_range_picker(ids.OVERVIEW_RANGE, start, end, available),
                xs=12, sm="auto",
            ),
        ],
        className="g-2 align-items-center",
    )
    return html.Div(
        [
            dbc.Row(
                [
                    dbc.Col(html.H1("Portfolio overview", className="mb-0"), md=True),
                    dbc.Col(controls, md="auto"),
                ],
                className="align-items-center mb-2 g-2",
            ),
            html.P(id=ids.OVERVIEW_PERIOD_NOTE, className="text-body-secondary"),
            dcc.Loading(dbc.Row(id=ids.OVERVIEW_KPIS, className="g-3 mb-3"), type="dot"),
            quality_card(),
            dbc.Card(
                dcc.Loading(dcc.Graph(id=ids.OVERVIEW_TREND, figure=empty_figure("Loading…"),
                                      config={"displaylogo": False}, style={"height": "360px"})),
                className="mb-3 shadow-sm",
            ),
            html.H2("Households", className="h4"),
            data_grid(ids.OVERVIEW_TABLE, _column_defs(get_settings().currency),
                      grid_options={"paginationPageSizeSelector": [25, 50, 100]}),
        ]
    )


def _column_defs(currency: str) -> list[dict]:
    kwh = {"function": "params.value == null ? '—' : d3.format(',.0f')(params.value)"}
    pct = {"function": "params.value == null ? '—' : d3.format('.0%')(params.value)"}
    money = {"function": "params.value == null ? '—' : d3.format(',.2f')(params.value)"}
    num = {"type": "numericColumn", "minWidth": 125}
    return [
        {"field": "name", "headerName": "Household", "cellRenderer": "markdown", "pinned": "left", "minWidth": 200},
        {"field": "pv_kwp", "headerName": "PV kWp", "valueFormatter": {"function": "d3.format('.1f')(params.value)"}, **num},
        {"field": "battery_kwh", "headerName": "Battery kWh",
         "valueFormatter": {"function": "params.value == null ? '—' : d3.format('.1f')(params.value)"}, **num},
        {"field": "load_kwh", "headerName": "Consumption kWh", "valueFormatter": kwh, **num, "minWidth": 150},
        {"field": "pv_kwh", "headerName": "PV kWh", "valueFormatter": kwh, **num},
        {"field": "import_kwh", "headerName": "Import kWh", "valueFormatter": kwh, **num},
        {"field": "export_kwh", "headerName": "Export kWh", "valueFormatter": kwh, **num},
        {"field": "self_consumption", "headerName": "Self-consumption", "valueFormatter": pct,
         "headerTooltip": kpis.KPI_DEFINITIONS["self_consumption"].formula, **num, "minWidth": 160},
        {"field": "self_sufficiency", "headerName": "Self-sufficiency", "valueFormatter": pct,
         "headerTooltip": kpis.KPI_DEFINITIONS["self_sufficiency"].formula, **num, "minWidth": 150},
        {"field": "energy_cost", "headerName": f"Cost {currency}", "valueFormatter": money,
         "headerTooltip": kpis.KPI_DEFINITIONS["energy_cost"].formula, **num},
        {"field": "tariff", "headerName": "Tariff"},
    ]


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


@callback(
    Output(ids.OVERVIEW_KPIS, "children"),
    Output(ids.OVERVIEW_TREND, "figure"),
    Output(ids.OVERVIEW_TABLE, "rowData"),
    Output(ids.OVERVIEW_PERIOD_NOTE, "children"),
    Input(ids.OVERVIEW_RANGE, "start_date"),
    Input(ids.OVERVIEW_RANGE, "end_date"),
    Input(ids.THEME_STORE, "data"),
)
def update_overview(start_date: str | None, end_date: str | None, theme: str | None):
    """Portfolio KPIs, energy per day and the household table for the chosen local days."""
    start, end = picked_day(start_date), picked_day(end_date)
    overview = kpis.portfolio_overview(visible_household_ids(), start, end)
    if overview is None:
        return [], empty_figure("No data yet", theme), [], "No data yet."
    currency = get_settings().currency
    cards = energy_kpi_cards(overview.totals, kpis.KPI_DEFINITIONS, currency, "overview")
    n_days = (overview.end - overview.start).days + 1
    resolution = "D" if n_days <= 62 else ("W" if n_days <= 200 else "MS")
    figure = portfolio_energy_figure(overview.daily, theme, resolution)
    note = (
        f"{overview.start:%d %b %Y} – {overview.end:%d %b %Y} · {n_days} days · "
        f"{len(overview.households)} households · each household's local calendar days"
    )
    return cards, figure, table_rows(overview.households), note


def quality_card() -> dbc.Card:
    """The "Data quality" card: filled by :func:`update_quality` after the page has shown."""
    header = html.Div([
        html.H2("Data quality", className="h5 mb-0 me-2 d-inline"),
        dbc.Spinner(size="sm", id=ids.OVERVIEW_QUALITY_RUNNING, spinner_style={"display": "none"},
                    color="secondary"),
    ], className="d-flex align-items-center mb-2")
    body = html.Div(html.Span("Checking gaps, stuck meters, spikes and PV…", className="text-body-secondary"),
                    id=ids.OVERVIEW_QUALITY)
    return dbc.Card(dbc.CardBody([header, body]), className="mb-3 shadow-sm")


# The checks read every reading of every household (and a year of PV): seconds, not milliseconds.
# They run in a callback of their own, apart from the KPIs above, so the page never waits for them.
# Not a background callback: those fork the server per job, and a fork of the threaded server
# now and then hung on a lock inherited from another thread, leaving the card empty.
@callback(
    Output(ids.OVERVIEW_QUALITY, "children"),
    Input(ids.OVERVIEW_RANGE, "start_date"),
    Input(ids.OVERVIEW_RANGE, "end_date"),
    running=[(Output(ids.OVERVIEW_QUALITY_RUNNING, "spinner_style"), {}, {"display": "none"})],
)
def update_quality(start_date: str | None, end_date: str | None):
    """Households with data-quality issues and the count of each kind over the chosen days.

    The days are taken as UTC days (the checks work on UTC readings; a household's local day
    differs by at most a few hours, which does not change what is found).
    """
    first, last = picked_day(start_date), picked_day(end_date)
    start = datetime.combine(first, time(), timezone.utc) if first else None
    end = datetime.combine(last, time(), timezone.utc) + timedelta(days=1) if last else None
    return quality_summary(quality_counts(visible_household_ids(), start, end))


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


def table_rows(frame) -> list[dict]:
    """Rows for the household grid; names link to the household page; NaN becomes null."""
    if frame.empty:
        return []
    rows = frame.astype(object).where(frame.notna(), None).to_dict("records")
    for row in rows:
        name = str(row["name"]).replace("[", "\\[").replace("]", "\\]")
        row["name"] = f"[{name}](/household/{row['household_id']})"
    return rows
