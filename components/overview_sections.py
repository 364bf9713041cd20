"""Layout pieces of the overview (/): period controls, chart cards with their CSV buttons, the
household table and its ranking controls, the data-quality and alerts cards. Plain components, no
callbacks (those are in ``pages/overview.py``)."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from components import ids
from components.downloads import csv_button, grid_csv_button
from components.figures.portfolio import MONTHLY_METRICS, TOPOJSON_ASSET_FOLDER
from components.grid import data_grid, number_format, percent_format
from components.period import day_range_picker
from components.theme import GRAPH_CONFIG, empty_figure

SEVERITY_BADGES = {"high": ("High", "danger"), "medium": ("Medium", "warning"), "low": ("Low", "secondary")}
#: Alerts listed on the card; the CSV has them all.
MAX_ALERTS_SHOWN = 8


def period_controls(presets: dict[str, str], preset: str, start, end, available) -> dbc.Row:
    """The period preset and the exact days."""
    return dbc.Row([
        dbc.Col(dbc.Label("Period", html_for=ids.OVERVIEW_PRESET, className="visually-hidden"), width="auto"),
        dbc.Col(dcc.Dropdown(id=ids.OVERVIEW_PRESET, options=[{"label": v, "value": k} for k, v in presets.items()],
                             value=preset, clearable=False, searchable=False, style={"minWidth": "11rem"}),
                xs=12, sm="auto"),
        dbc.Col(day_range_picker(ids.OVERVIEW_RANGE, start, end, available), xs=12, sm="auto"),
    ], className="g-2 align-items-center")


def chart_card(graph_id: str, height: str, controls: list | None = None, config: dict | None = None) -> dbc.Card:
    """A chart in a card, with its controls and CSV button above it and a loading state on it."""
    header = html.Div([*(controls or []), csv_button(ids.csv_button_id(graph_id), ids.csv_download_id(graph_id))],
                      className="d-flex flex-wrap gap-2 align-items-center mb-1")
    graph = dcc.Graph(id=graph_id, figure=empty_figure("Loading…"), config=config or GRAPH_CONFIG,
                      style={"height": height})
    return dbc.Card(dbc.CardBody([header, dcc.Loading(graph, type="dot", delay_show=300)], className="p-2"),
                    className="mb-3 shadow-sm h-100")


def labelled_select(select_id: str, label: str, options: dict[str, str], value: str, width: str = "12rem") -> html.Div:
    """A native select with a visible label: reachable and operable by keyboard."""
    return html.Div([
        dbc.Label(label, html_for=select_id, className="small mb-0 me-1 text-nowrap"),
        dbc.Select(id=select_id, options=[{"label": v, "value": k} for k, v in options.items()], value=value,
                   size="sm", style={"maxWidth": width}),
    ], className="d-flex align-items-center")


def map_card(kpis: dict[str, str], value: str) -> dbc.Card:
    """The households on a map whose outlines come from ``assets/topojson`` (offline)."""
    config = {**GRAPH_CONFIG, "topojsonURL": dash.get_asset_url(TOPOJSON_ASSET_FOLDER), "scrollZoom": False}
    return chart_card(ids.OVERVIEW_MAP, "420px", [labelled_select(ids.OVERVIEW_MAP_KPI, "Size and colour", kpis, value)],
                      config)


def monthly_card(value: str) -> dbc.Card:
    """The portfolio month by month, this year against last."""
    options = {key: label for key, (label, _unit) in MONTHLY_METRICS.items()}
    return chart_card(ids.OVERVIEW_MONTHLY, "420px", [labelled_select(ids.OVERVIEW_MONTHLY_METRIC, "Show", options, value)])


def household_columns(currency: str, definitions: dict) -> list[dict]:
    """Columns of the household table: every KPI sortable and filterable, units in the headers."""
    kwh, pct = number_format(0), percent_format()
    num = {"type": "numericColumn", "filter": "agNumberColumnFilter", "minWidth": 120}
    return [
        {"field": "rank", "headerName": "#", "maxWidth": 70, "minWidth": 60, "pinned": "left", **{
            k: v for k, v in num.items() if k != "minWidth"}},
        {"field": "name", "headerName": "Household", "cellRenderer": "markdown", "pinned": "left", "minWidth": 200},
        {"field": "site", "headerName": "Site", "minWidth": 130},
        {"field": "timezone", "headerName": "Time zone", "minWidth": 140},
        {"field": "pv_kwp", "headerName": "PV kWp", "valueFormatter": number_format(1), **num},
        {"field": "battery_kwh", "headerName": "Battery kWh", "valueFormatter": number_format(1), **num},
        {"field": "load_kwh", "headerName": "Consumption kWh", "valueFormatter": kwh, **num, "minWidth": 150},
        {"field": "pv_kwh", "headerName": "PV kWh", "valueFormatter": kwh, **num},
        {"field": "pv_yield_kwh_per_kwp", "headerName": "PV yield kWh/kWp", "valueFormatter": kwh, **num,
         "headerTooltip": "PV generation ÷ installed kWp: comparable between arrays of any size."},
        {"field": "pv_vs_peers", "headerName": "PV yield vs site median", "valueFormatter": pct, **num,
         "minWidth": 150, "headerTooltip": "PV yield ÷ median PV yield of the other PV households at the same "
                                           "site over the same days."},
        {"field": "import_kwh", "headerName": "Import kWh", "valueFormatter": kwh, **num},
        {"field": "export_kwh", "headerName": "Export kWh", "valueFormatter": kwh, **num},
        {"field": "self_consumption", "headerName": "Self-consumption", "valueFormatter": pct,
         "headerTooltip": definitions["self_consumption"].formula, **num, "minWidth": 150},
        {"field": "self_sufficiency", "headerName": "Self-sufficiency", "valueFormatter": pct,
         "headerTooltip": definitions["self_sufficiency"].formula, **num, "minWidth": 150},
        {"field": "energy_cost", "headerName": f"Cost {currency}", "valueFormatter": number_format(2),
         "headerTooltip": definitions["energy_cost"].formula, **num},
        {"field": "tariff", "headerName": "Tariff"},
        {"field": "derived", "headerName": "Not metered", "minWidth": 170,
         "headerTooltip": "Quantities derived from the energy balance where a home has no meter for them: "
                          "consumption = PV + grid import − grid export (± battery), or grid = consumption − PV."},
    ]


def households_section(columns: list[dict], rank_options: dict[str, str], rank_by: str,
                       filters: dict[str, str]) -> html.Div:
    """Ranking and quick-filter controls, a search box, the table and its CSV button."""
    controls = html.Div([
        labelled_select(ids.OVERVIEW_RANK_BY, "Rank by", rank_options, rank_by),
        labelled_select(ids.OVERVIEW_RANK_ORDER, "Order", {"desc": "Highest first", "asc": "Lowest first"}, "desc",
                        "9rem"),
        labelled_select(ids.OVERVIEW_FILTER, "Show", filters, "all", "16rem"),
        html.Div([
            dbc.Label("Search", html_for=ids.OVERVIEW_SEARCH, className="visually-hidden"),
            dbc.Input(id=ids.OVERVIEW_SEARCH, type="search", placeholder="Search households", size="sm",
                      debounce=True, style={"maxWidth": "14rem"}),
        ]),
        grid_csv_button(ids.OVERVIEW_TABLE),
    ], className="d-flex flex-wrap gap-2 align-items-center mb-2")
    return html.Div([
        html.H2("Households", className="h4"),
        controls,
        html.P(id=ids.OVERVIEW_TABLE_NOTE, className="small text-body-secondary mb-1"),
        data_grid(ids.OVERVIEW_TABLE, columns, grid_options={"paginationPageSizeSelector": [25, 50, 100]}),
    ])


def status_card(title: str, body_id: str, running_id: str, placeholder: str, extra: list | None = None) -> dbc.Card:
    """A card filled by a slow callback: its title, a spinner while it runs, and a placeholder."""
    header = html.Div([
        html.H2(title, className="h5 mb-0 me-2 d-inline"),
        dbc.Spinner(size="sm", id=running_id, spinner_style={"display": "none"}, color="secondary"),
        *(extra or []),
    ], className="d-flex align-items-center mb-2")
    body = html.Div(html.Span(placeholder, className="text-body-secondary"), id=body_id)
    return dbc.Card(dbc.CardBody([header, body]), className="mb-3 shadow-sm h-100")


def alerts_card() -> dbc.Card:
    """Alerts from data quality and PV under-performance, filled with the data-quality card."""
    return html.Div([
        status_card("Alerts", ids.OVERVIEW_ALERTS, ids.OVERVIEW_ALERTS_RUNNING,
                    "Looking for gaps, stuck meters and under-performing PV…",
                    [csv_button(ids.csv_button_id(ids.OVERVIEW_ALERTS), ids.csv_download_id(ids.OVERVIEW_ALERTS))]),
        dcc.Store(id=ids.OVERVIEW_ALERTS_DATA),
    ], className="h-100")


def alert_list(alerts) -> html.Div:
    """Alerts (``services.quality.alerts.Alert``), most severe first: severity, household (a link to its
    page), what was found and what to do."""
    if not alerts:
        return html.Div("No alerts for this period: no gaps, stuck meters or under-performing PV found.",
                        className="text-body-secondary")
    items = []
    for alert in alerts[:MAX_ALERTS_SHOWN]:
        label, color = SEVERITY_BADGES[alert.severity]
        items.append(dbc.ListGroupItem([
            html.Div([
                dbc.Badge(label, color=color, text_color="dark" if color == "warning" else None, className="me-2"),
                dcc.Link(alert.household, href=f"/household/{alert.household_id}", className="fw-semibold me-2"),
                html.Span(alert.title),
            ], className="d-flex flex-wrap align-items-center"),
            html.Small(alert.detail, className="d-block text-body-secondary"),
            html.Small([html.Strong("What to do: "), alert.action], className="d-block"),
        ], className="overview-alert px-2"))
    more = len(alerts) - MAX_ALERTS_SHOWN
    footer = [html.Small(f"{more} more in the CSV.", className="text-body-secondary")] if more > 0 else []
    return html.Div([dbc.ListGroup(items, flush=True), *footer])
