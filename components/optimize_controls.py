"""Layout pieces of the What-if page (/optimize): the settings card, the results, and the cards of
the back-test, the sizing sweep and the fleet. Plain components, no callbacks."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from components import ids
from components.downloads import csv_button, grid_csv_button
from components.grid import data_grid
from components.roles import for_writers, viewer_note
from components.theme import GRAPH_CONFIG, HIDDEN, empty_figure

#: Export-limit slider position that means "no limit" [kW].
EXPORT_NO_LIMIT = 15.0
#: Longest horizon the page offers [h]; the household's inputs are read once for it.
HORIZON_MAX_H = 48
#: A job's chart is shown once the job has a result.
JOB_FIGURE_SHOWN, JOB_FIGURE_HIDDEN = {"height": "320px"}, {"height": "320px", "display": "none"}


def _slider(slider_id: str, label: str, lo: float, hi: float, step: float, value: float, marks: dict,
            unit: str, help_text: str | None = None, direct_input: bool = True) -> html.Div:
    """A slider that follows the pointer (``updatemode="drag"``) with its label and unit."""
    # Dash paints marks beyond the thumb in its faint "disabled" colour, too faint on a dark page: every
    # mark gets Bootstrap's secondary text colour, readable in both modes.
    readable = {k: {"label": v, "style": {"color": "var(--bs-secondary-color)"}} for k, v in marks.items()}
    children = [
        dbc.Label([label, html.Span(f" [{unit}]", className="text-body-secondary")], html_for=slider_id,
                  className="small mb-0"),
        dcc.Slider(id=slider_id, min=lo, max=hi, step=step, value=value, marks=readable, updatemode="drag",
                   tooltip={"placement": "bottom", "always_visible": False}, allow_direct_input=direct_input,
                   className="px-0"),
    ]
    if help_text:
        children.append(dbc.FormText(help_text))
    return html.Div(children, className="mb-3")


def settings_card(households: list[dict], tariffs: list[dict], household_value) -> dbc.Card:
    """Household, tariff and day, then the sliders of the battery, PV, export limit and horizon."""
    selects = dbc.Row([
        dbc.Col([dbc.Label("Household", html_for=ids.OPTIMIZE_HOUSEHOLD, className="small mb-1"),
                 dbc.Select(id=ids.OPTIMIZE_HOUSEHOLD, options=households, value=household_value)], xs=12),
        dbc.Col([dbc.Label("Tariff", html_for=ids.OPTIMIZE_TARIFF, className="small mb-1"),
                 dbc.Select(id=ids.OPTIMIZE_TARIFF, options=tariffs)], xs=12),
        dbc.Col([dbc.Label("Day", html_for=ids.OPTIMIZE_DAY, className="small mb-1"),
                 dcc.DatePickerSingle(id=ids.OPTIMIZE_DAY, placeholder="Tomorrow", clearable=True,
                                      display_format="YYYY-MM-DD", first_day_of_week=1),
                 dbc.FormText("Empty: tomorrow. A past day uses what was metered (perfect foresight).")],
                xs=12),
    ], className="g-2 mb-3")
    sliders = [
        _slider(ids.OPTIMIZE_CAPACITY, "Battery capacity", 0, 20, 0.5, 10,
                {0: "0", 5: "5", 10: "10", 15: "15", 20: "20"}, "kWh"),
        _slider(ids.OPTIMIZE_POWER, "Battery power, charge and discharge", 0, 10, 0.1, 5,
                {0: "0", 5: "5", 10: "10"}, "kW"),
        _slider(ids.OPTIMIZE_EFFICIENCY, "Efficiency, each way", 80, 100, 1, 95,
                {80: "80", 90: "90", 100: "100"}, "%"),
        _slider(ids.OPTIMIZE_SOC, "Stored energy at the start", 0, 100, 1, 50,
                {0: "0", 50: "50", 100: "100"}, "% of capacity",
                "Set to the latest measurement when the household is chosen."),
        _slider(ids.OPTIMIZE_PV_SCALE, "PV size", 0, 3, 0.1, 1, {0: "0×", 1: "1×", 2: "2×", 3: "3×"}, "× today's"),
        _slider(ids.OPTIMIZE_EXPORT_LIMIT, "Export limit", 0, EXPORT_NO_LIMIT, 0.5, EXPORT_NO_LIMIT,
                {0: "0", 5: "5", 10: "10", EXPORT_NO_LIMIT: "none"}, "kW",
                "At the right end: no limit. 0: no export at all.", direct_input=False),
        _slider(ids.OPTIMIZE_HORIZON, "Horizon", 6, HORIZON_MAX_H, 6, 24,
                {h: str(h) for h in (6, 12, 24, 36, 48)}, "h"),
    ]
    save = for_writers(html.Div([
        dbc.Button("Save this scenario", id=ids.OPTIMIZE_SAVE, color="secondary", outline=True, size="sm"),
        html.Span(id=ids.OPTIMIZE_SAVE_NOTE, className="small text-body-secondary ms-2"),
    ]))
    return dbc.Card(dbc.CardBody([html.H2("Settings", className="h5"), selects, *sliders, save]),
                    className="shadow-sm mb-3")


def results_column() -> html.Div:
    """Where the source of the inputs, the KPIs and the two charts of the schedule go."""
    return html.Div([
        dbc.Alert(id=ids.OPTIMIZE_ALERT, is_open=False, color="warning", className="mb-2"),
        html.Div(id=ids.OPTIMIZE_SOURCE, className="small mb-2"),
        dbc.Row(id=ids.OPTIMIZE_KPIS, className="g-2 mb-3"),
        dbc.Card([_csv(ids.OPTIMIZE_SCHEDULE),
                  dcc.Graph(id=ids.OPTIMIZE_SCHEDULE, figure=empty_figure("Choose a household"),
                            config=GRAPH_CONFIG, style={"height": "520px"})], className="shadow-sm mb-3"),
        dbc.Card([_csv(ids.OPTIMIZE_COST),
                  dcc.Graph(id=ids.OPTIMIZE_COST, figure=empty_figure(""),
                            config={**GRAPH_CONFIG, "displayModeBar": False}, style={"height": "260px"})],
                 className="shadow-sm mb-2"),
        html.P(id=ids.OPTIMIZE_TIMING, className="small text-body-secondary"),
    ])


def _progress(progress_id: str) -> dbc.Progress:
    return dbc.Progress(id=progress_id, value=0, label="", className="my-2", style=HIDDEN)


def backtest_card(currency: str) -> dbc.Card:
    """The back-test and the sizing sweep over a chosen period, each a background job."""
    return dbc.Card(dbc.CardBody([
        html.H2("Back-test and sizing", className="h5"),
        html.P("Replays a past period day by day: the battery planned with perfect foresight (what was "
               "metered) and with a forecast known at the time (the 7 days before each day). The sizing "
               "sweep tries 0 to 20 kWh over the same period.", className="small text-body-secondary"),
        dbc.Row([
            dbc.Col([dbc.Label("Period", html_for=ids.OPTIMIZE_PERIOD, className="small mb-1"),
                     dbc.Select(id=ids.OPTIMIZE_PERIOD, options=[])], xs=12, md=6),
            dbc.Col([dbc.Label(f"Battery price [{currency}/kWh installed]", html_for=ids.OPTIMIZE_BATTERY_PRICE,
                               className="small mb-1"),
                     dbc.Input(id=ids.OPTIMIZE_BATTERY_PRICE, type="number", min=0, max=10000, step=10, value=600)],
                    xs=12, md=6),
        ], className="g-2 mb-2"),
        viewer_note("Back-tests and sizing sweeps need the manager role."),
        for_writers(html.Div([
            dbc.Button("Run back-test", id=ids.OPTIMIZE_BACKTEST_RUN, color="primary"),
            dbc.Button("Run sizing sweep", id=ids.OPTIMIZE_SIZING_RUN, color="secondary", outline=True),
        ], className="d-flex flex-wrap gap-2")),
        _progress(ids.OPTIMIZE_BACKTEST_PROGRESS),
        _progress(ids.OPTIMIZE_SIZING_PROGRESS),
        dbc.Row([
            dbc.Col([_csv(ids.OPTIMIZE_BACKTEST_FIGURE), html.Div(id=ids.OPTIMIZE_BACKTEST_SUMMARY, className="small"),
                     dcc.Graph(id=ids.OPTIMIZE_BACKTEST_FIGURE, figure=empty_figure(""), config=GRAPH_CONFIG,
                               style=JOB_FIGURE_HIDDEN)], xs=12, lg=6),
            dbc.Col([_csv(ids.OPTIMIZE_SIZING_FIGURE), html.Div(id=ids.OPTIMIZE_SIZING_SUMMARY, className="small"),
                     dcc.Graph(id=ids.OPTIMIZE_SIZING_FIGURE, figure=empty_figure(""), config=GRAPH_CONFIG,
                               style=JOB_FIGURE_HIDDEN)], xs=12, lg=6),
        ], className="g-3 mt-1"),
        dcc.Store(id=ids.OPTIMIZE_BACKTEST_DATA),
        dcc.Store(id=ids.OPTIMIZE_SIZING_DATA),
    ]), className="shadow-sm mb-3")


#: How often the fleet view reads the shown run again while it is running [ms].
FLEET_TICK_MS = 2000
#: Class of grids as tall as their rows (assets/30_fleet.css).
COMPACT_GRID = "ed-compact-grid"


#: How the fleet table's savings are counted (as the what-if's cost chart counts them).
SAVINGS_TIP = ("Counts the energy left in the battery at the end of the day at its value, as the cost chart "
               "above does, so it can differ from the difference of the bills.")


def fleet_card(currency: str, count: int) -> dbc.Card:
    """Tomorrow's fleet run of every household with a battery (a background job that starts it), the
    organisation's recent fleet runs, and the households of the run chosen there, from the store."""
    runs = [
        {"field": "day", "headerName": "Day", "minWidth": 110},
        {"field": "started_by", "headerName": "Started by", "minWidth": 160},
        {"field": "state", "headerName": "State", "maxWidth": 110},
        {"field": "planned", "headerName": "Planned", "maxWidth": 110, "type": "numericColumn"},
        {"field": "failed", "headerName": "Failed", "maxWidth": 110, "type": "numericColumn"},
        {"field": "pending", "headerName": "Pending", "maxWidth": 110, "type": "numericColumn"},
        {"field": "households", "headerName": "Households", "maxWidth": 130, "type": "numericColumn"},
        {"field": "started", "headerName": "Started", "minWidth": 140},
        {"field": "finished", "headerName": "Finished", "minWidth": 140},
    ]
    households = [
        {"field": "household", "headerName": "Household", "minWidth": 220},
        {"field": "status", "headerName": "Status", "maxWidth": 120,
         "cellClassRules": {"text-danger fw-semibold": "params.value === 'failed'"}},
        {"field": "cost", "headerName": f"Bill [{currency}]", "valueFormatter": _number(2),
         "headerTooltip": "What the household pays for the day with the optimized plan."},
        {"field": "savings", "headerName": f"Saved vs no battery [{currency}]", "valueFormatter": _number(2),
         "headerTooltip": SAVINGS_TIP},
        {"field": "savings_vs_rule", "headerName": f"Saved vs rule [{currency}]", "valueFormatter": _number(2),
         "headerTooltip": SAVINGS_TIP},
        {"field": "self_sufficiency", "headerName": "Self-sufficiency",
         "valueFormatter": {"function": "params.value == null ? '' : d3.format('.0%')(params.value)"}},
        {"field": "cycles", "headerName": "Full cycles", "valueFormatter": _number(2)},
        {"field": "reason", "headerName": "Why not", "minWidth": 340, "flex": 3, "wrapText": True, "autoHeight": True,
         "cellStyle": {"lineHeight": "1.4", "paddingTop": "6px", "paddingBottom": "6px", "wordBreak": "normal"}},
    ]
    return dbc.Card(dbc.CardBody([
        html.H2("Fleet", className="h5"),
        html.P(f"Tomorrow's schedule for all {count} households with a battery, with their stored settings, as a "
               "fleet run: planned in chunks (by the workers when there are any), each run and its plans kept.",
               className="small text-body-secondary"),
        viewer_note("Optimizing the fleet needs the manager role."),
        for_writers(dbc.Button("Optimize the fleet for tomorrow", id=ids.OPTIMIZE_FLEET_RUN, color="primary")),
        html.Div(id=ids.OPTIMIZE_FLEET_NOTE, className="small my-2"),
        html.H3("Fleet runs", className="h6 mt-3"),
        html.P("Your organisation's recent runs, newest first: choose one to see its households.",
               className="small text-body-secondary mb-1"),
        data_grid(ids.OPTIMIZE_FLEET_RUNS, runs, getRowId="params.data.key", className=COMPACT_GRID,
                  grid_options={"paginationPageSize": 5, "paginationPageSizeSelector": False,
                                "rowSelection": {"mode": "singleRow", "checkboxes": False,
                                                 "enableClickSelection": True}}),
        _progress(ids.OPTIMIZE_FLEET_PROGRESS),
        html.Div([html.Div(id=ids.OPTIMIZE_FLEET_SUMMARY, className="small my-2"), grid_csv_button(ids.OPTIMIZE_FLEET_GRID)],
                 className="d-flex align-items-center gap-2 mt-2"),
        data_grid(ids.OPTIMIZE_FLEET_GRID, households, className=COMPACT_GRID,
                  grid_options={"paginationPageSize": 10, "paginationPageSizeSelector": [10, 50, 200]}),
        dcc.Store(id=ids.OPTIMIZE_FLEET_STARTED),
        dcc.Store(id=ids.OPTIMIZE_FLEET_SHOWN),
        dcc.Interval(id=ids.OPTIMIZE_FLEET_TICK, interval=FLEET_TICK_MS, disabled=True),
    ]), className="shadow-sm mb-3")


def _number(digits: int) -> dict:
    return {"function": f"params.value == null ? '' : d3.format(',.{digits}f')(params.value)"}


def _csv(target: str) -> html.Div:
    """The CSV button of the chart ``target``, at the right above it."""
    return html.Div(csv_button(ids.csv_button_id(target), ids.csv_download_id(target)), className="d-flex p-1")
