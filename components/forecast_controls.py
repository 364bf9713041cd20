"""Layout pieces of the Forecast page (/forecast): the household choice, the two charts with their
CSV buttons, the model card with its background jobs, the accuracy table, and the alerts and the
model status built from a forecast. Plain components, no callbacks."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from components import ids
from components.downloads import csv_button
from components.grid import data_grid
from components.roles import for_writers, viewer_note
from components.theme import GRAPH_CONFIG, HIDDEN, empty_figure

#: Back-test periods offered [days before the last reading].
BACKTEST_DAYS = (7, 14, 30, 60)
METHOD_LABELS = {"ml": "ML model", "physical": "Physical model only", "persistence": "Persistence only"}
REFRESH_HINT = ["Run ", html.Code("flask --app app weather-refresh", className="text-reset"), " to fetch a weather forecast (pages never "
                "fetch one themselves: they use the weather in the store)."]
TRAIN_HINT = "Press “Retrain models” to learn from this household's readings."
BACKTEST_HINT = ("The model is kept but not used while its newest back-test says it does worse: after "
                 "“Retrain models”, “Run back-test” checks it again.")


def controls(options: list[dict], value: str | None) -> dbc.Row:
    """The household select and the line saying when the forecast was issued."""
    return dbc.Row([
        dbc.Col([dbc.Label("Household", html_for=ids.FORECAST_HOUSEHOLD, className="small mb-1"),
                 dbc.Select(id=ids.FORECAST_HOUSEHOLD, options=options, value=value)], xs=12, md=5, lg=4),
        dbc.Col(html.Div(id=ids.FORECAST_ISSUED, className="small text-body-secondary"), xs=12, md=7, lg=8,
                className="align-self-end"),
    ], className="g-2 mb-3")


def chart_card(title: str, graph_id: str, button_id: str, download_id: str) -> dbc.Card:
    """A chart under a header with its CSV button."""
    header = dbc.CardHeader(html.Div([html.Span(title, className="fw-semibold"),
                                      csv_button(button_id, download_id)], className="d-flex align-items-center"))
    graph = dcc.Loading(dcc.Graph(id=graph_id, figure=empty_figure("Loading…"), config=GRAPH_CONFIG,
                                  style={"height": "380px"}), type="dot")
    return dbc.Card([header, graph], className="shadow-sm mb-3")


def _progress(progress_id: str) -> dbc.Progress:
    return dbc.Progress(id=progress_id, value=0, label="", className="my-2", style=HIDDEN)


def model_card() -> dbc.Card:
    """The stored models' status, retraining and the back-test, each job in the background."""
    days = [{"label": f"Last {d} days of readings", "value": str(d)} for d in BACKTEST_DAYS]
    return dbc.Card(dbc.CardBody([
        html.H2("Models", className="h5"),
        html.Div(id=ids.FORECAST_STATUS, className="mb-2"),
        viewer_note("Retraining and back-tests need the manager role."),
        for_writers(html.Div([
            dbc.Button("Retrain models", id=ids.FORECAST_TRAIN_RUN, color="primary"),
            html.Div([
                dbc.Label("Back-test period", html_for=ids.FORECAST_BACKTEST_DAYS, className="visually-hidden"),
                dbc.Select(id=ids.FORECAST_BACKTEST_DAYS, options=days, value="14", style={"width": "auto"}),
                dbc.Button("Run back-test", id=ids.FORECAST_BACKTEST_RUN, color="secondary", outline=True),
            ], className="d-flex flex-wrap gap-2 align-items-center"),
        ], className="d-flex flex-wrap gap-3 align-items-center")),
        _progress(ids.FORECAST_TRAIN_PROGRESS),
        _progress(ids.FORECAST_BACKTEST_PROGRESS),
        html.Div(id=ids.FORECAST_TRAIN_NOTE, className="small mt-2"),
        html.Div(id=ids.FORECAST_BACKTEST_NOTE, className="small mt-1"),
        html.P("Training learns each model from up to a year of this household's readings (seconds). The back-test "
               "replays the chosen days: a forecast from each local midnight, by models trained only on the "
               "readings before it, with the weather as it was known then.",
               className="small text-body-secondary mt-2 mb-0"),
        dcc.Store(id=ids.FORECAST_TRAIN_RESULT),
        dcc.Store(id=ids.FORECAST_BACKTEST_RESULT),
    ]), className="shadow-sm mb-3")


def _number(digits: int, percent: bool = False) -> dict:
    fmt = f".{digits}%" if percent else f",.{digits}f"
    return {"function": f"params.value == null ? '—' : d3.format('{fmt}')(params.value)"}


ACCURACY_COLUMNS = [
    {"field": "target", "headerName": "Forecast", "minWidth": 110, "maxWidth": 130},
    {"field": "period", "headerName": "Month", "minWidth": 110, "maxWidth": 130},
    {"field": "method", "headerName": "Method", "minWidth": 250, "wrapText": True, "autoHeight": True},
    {"field": "n", "headerName": "Steps scored", "maxWidth": 120},
    {"field": "mae", "headerName": "MAE [kWh per step]", "valueFormatter": _number(3)},
    {"field": "rmse", "headerName": "RMSE [kWh per step]", "valueFormatter": _number(3)},
    {"field": "nmae", "headerName": "nMAE", "valueFormatter": _number(1, percent=True),
     "headerTooltip": "MAE over the PV system's peak output (99.9th percentile) or the household's mean load"},
    {"field": "bias", "headerName": "Bias [kWh per step]", "valueFormatter": _number(3),
     "headerTooltip": "Mean of forecast minus metered: above zero forecasts too much"},
    {"field": "skill_persistence", "headerName": "Skill vs persistence", "valueFormatter": _number(0, percent=True),
     "headerTooltip": "1 − MAE / MAE of persistence: above zero beats it"},
    {"field": "skill_physical", "headerName": "Skill vs physical", "valueFormatter": _number(0, percent=True),
     "headerTooltip": "1 − MAE / MAE of the physical model alone (PV)"},
    {"field": "step_minutes", "headerName": "Step [min]", "maxWidth": 100},
]


def accuracy_card() -> dbc.Card:
    """The newest back-test per target as a table (with its empty state and CSV button)."""
    header = dbc.CardHeader(html.Div([
        html.Span("Accuracy (back-test)", className="fw-semibold"),
        csv_button(ids.FORECAST_ACCURACY_CSV, ids.FORECAST_ACCURACY_DOWNLOAD),
    ], className="d-flex align-items-center"))
    empty = html.Div([
        html.P("No back-test yet for this household.", className="fw-semibold mb-1"),
        html.P(["Choose a period above and press “Run back-test”, or run ",
                html.Code("flask --app app forecast-backtest --household ID --start YYYY-MM-DD --end YYYY-MM-DD"),
                ". The table then compares the forecast with persistence (the same time on the last day) and, "
                "for PV, with the physical model alone, overall and per month."], className="mb-0"),
    ], id=ids.FORECAST_ACCURACY_EMPTY, className="small", style=HIDDEN)
    return dbc.Card([header, dbc.CardBody([
        empty,
        html.Div(id=ids.FORECAST_ACCURACY_SUMMARY, className="small text-body-secondary mb-2"),
        html.Div(data_grid(ids.FORECAST_ACCURACY_GRID, ACCURACY_COLUMNS, grid_options={"paginationPageSize": 20}),
                 id=ids.FORECAST_ACCURACY_WRAP, style=HIDDEN),
    ])], className="shadow-sm mb-3")


# --- built from a forecast (the page's store) -----------------------------------------------------


def forecast_alerts(data: dict) -> list:
    """One alert per thing a person should know: readings too old (full width), then side by side
    on wide screens a fallback forecast, weather missing, stale or degraded, a model that needs
    retraining. ``data`` as the page stores it."""
    as_of = [dbc.Alert(note, color="info", className="mb-2", id="forecast-alert-as-of")
             for note in data.get("notes", [])]
    alerts = []
    weather, weather_notes = None, []
    for key in ("pv", "load"):
        target = data["targets"].get(key)
        if target is None:
            continue
        weather = weather or target["weather"]
        weather_notes += [n for n in target["weather_notes"] if n not in weather_notes]
        notes = [n for n in target["notes"] if n not in target["weather_notes"]]
        label = "PV" if key == "pv" else "Load"
        if target["method"] != "ml":
            hint = BACKTEST_HINT if target.get("overruled_by_backtest") else TRAIN_HINT
            alerts.append(_alert(f"{label} forecast: {METHOD_LABELS[target['method']].lower()}",
                                 notes, hint, "warning", f"forecast-alert-{key}"))
        elif notes:
            alerts.append(_alert(f"{label} forecast by the ML model", notes, None, "info", f"forecast-alert-{key}"))
    headline = {"none": "No weather forecast for these hours", "stale": "The stored weather forecast is old",
                "degraded": "The weather provider is failing: stored weather is used"}
    if weather in headline:
        details = [n for n in weather_notes if not n.startswith("no weather forecast stored")]  # the headline says it
        alerts.append(_alert(headline[weather], details, REFRESH_HINT, "warning", "forecast-alert-weather"))
    stale = [m for m in data["models"].values() if m["trained_at"] and m["needs_training"]]
    for m in stale:
        label = "PV" if m["target"] == "pv" else "Load"
        alerts.append(_alert(f"The {label} model needs retraining", [m["why"]], TRAIN_HINT, "warning",
                             f"forecast-alert-stale-{m['target']}"))
    if not alerts:
        return as_of
    return [*as_of, dbc.Row([dbc.Col(a, xs=12, lg=True) for a in alerts], className="g-2 mb-2")]


def _alert(title: str, notes: list[str], hint, color: str, alert_id: str) -> dbc.Alert:
    body = [html.Strong(title)]
    if notes:
        body.append(html.Ul([html.Li(n[:1].upper() + n[1:]) for n in notes], className="mb-0 small"))
    if hint:
        body.append(html.Div(hint, className="small"))
    return dbc.Alert(body, color=color, className="mb-0 h-100", id=alert_id)


def model_status(data: dict) -> dbc.Table:
    """Per target: the method of the forecast shown, and the stored model (trained when, on which
    readings, version, whether it needs training)."""
    rows = []
    for key, label in (("pv", "PV"), ("load", "Load")):
        target, model = data["targets"].get(key), data["models"][key]
        method = METHOD_LABELS[target["method"]] if target else "— (no PV system)"
        if model["trained_at"]:
            trained = f"{model['trained_at'][:16].replace('T', ' ')} UTC"
            if model["train_seconds"] is not None:
                trained += f" ({model['train_seconds']:.1f} s)"
            window = f"{model['train_start'][:10]} to {model['train_end'][:10]}"
            state = f"needs retraining: {model['why']}" if model["needs_training"] else "up to date"
        else:
            trained, window, state = "never", "—", "no model trained yet"
        rows.append(html.Tr([html.Th(label), html.Td(method, id=f"forecast-method-{key}"), html.Td(trained),
                             html.Td(window), html.Td(model["version"] or "—"), html.Td(state)]))
    head = html.Thead(html.Tr([html.Th(h) for h in ("", "Forecast by", "Model trained", "Trained on readings",
                                                     "Version", "State")]))
    return dbc.Table([head, html.Tbody(rows)], size="sm", responsive=True, className="small mb-2")
