"""Forecast (/forecast): a household's PV and consumption forecast for the next 48 hours against its
readings, the state of its models, retraining and a back-test in the background, and the accuracy
of the newest back-test against persistence and the physical model.

The page never trains a model or asks the weather provider: a forecast runs the stored models on
the weather already in the store (``weather-refresh`` fetches it), and says when it falls back.
``?household=<id>`` preselects a household (the household explorer links here so).
"""

from __future__ import annotations

from datetime import UTC, datetime

import dash
import dash_bootstrap_components as dbc
import pandas as pd
from dash import Input, Output, State, callback, dcc, html, no_update

from components import ids
from components.background import as_caller
from components.downloads import send_csv
from components.figures.forecast import chart_frame, forecast_figure
from components.forecast_controls import (
    BACKTEST_DAYS,
    METHOD_LABELS,
    accuracy_card,
    chart_card,
    controls,
    forecast_alerts,
    model_card,
    model_status,
)
from components.format import format_ratio
from components.jobs import job_outcome, progress_job
from components.kpi_cards import empty_state
from components.theme import HIDDEN, SHOWN, empty_figure
from services.access import current_scope, visible_household_id, visible_household_ids
from services.forecasting.overview import accuracy_table, forecast_overview
from services.households import HouseholdNotFound, list_households
from services.jobs import start_job

dash.register_page(__name__, path="/forecast", name="Forecast", title="Forecast · Energy Dashboard", nav_order=5)

#: Hours ahead the page shows.
HOURS = 48


def layout(household: str | None = None, **_kwargs):
    households = list_households(visible_household_ids())
    if not households:
        return html.Div([html.H1("Forecast"), empty_state(
            "No households yet", "A forecast needs a household with PV or meter readings. Create one on the "
            "Households page (or load the demo portfolio with `flask --app app demo-data`), then come back.",
            dbc.Button("Go to households", href="/households", color="primary"))])
    options = [{"label": h.name, "value": str(h.id)} for h in households]
    known = {o["value"] for o in options}
    chosen = household if household in known else options[0]["value"]
    unknown = None
    if household is not None and household not in known:
        unknown = dbc.Alert(f"There is no household with id {household!r}: showing {options[0]['label']} instead.",
                            color="warning", className="mb-2")
    return html.Div([
        html.H1("Forecast"),
        html.P(f"PV and consumption for the next {HOURS} hours from the stored models and the weather in the "
               "store, against what was metered; the band holds 80 % of outcomes (P10 to P90).",
               className="text-body-secondary"),
        unknown,
        controls(options, chosen),
        html.Div(id=ids.FORECAST_ALERTS),
        dbc.Row([
            dbc.Col(chart_card("PV generation", ids.FORECAST_PV, ids.FORECAST_PV_CSV, ids.FORECAST_PV_DOWNLOAD),
                    xs=12, xl=6),
            dbc.Col(chart_card("Consumption", ids.FORECAST_LOAD, ids.FORECAST_LOAD_CSV, ids.FORECAST_LOAD_DOWNLOAD),
                    xs=12, xl=6),
        ], className="g-3"),
        model_card(),
        accuracy_card(),
        dcc.Store(id=ids.FORECAST_DATA),
    ])


# --- the forecast -------------------------------------------------------------------------------


@callback(
    Output(ids.FORECAST_DATA, "data"), Output(ids.FORECAST_ALERTS, "children"), Output(ids.FORECAST_STATUS, "children"),
    Output(ids.FORECAST_ISSUED, "children"),
    Input(ids.FORECAST_HOUSEHOLD, "value"), Input(ids.FORECAST_TRAIN_RESULT, "data"),
)
def load_forecast(household, _trained=None):
    """Forecast the household from its stored models (no training, no weather request) and keep it
    in the page's store; alerts and the model status say how it was made. Re-run after a retrain."""
    household_id = visible_household_id(household)
    if household_id is None:
        return None, dbc.Alert("Choose a household.", color="secondary"), None, None
    try:
        data = overview_to_store(forecast_overview(household_id, HOURS))
    except HouseholdNotFound:
        return None, dbc.Alert("This household no longer exists: reload the page.", color="warning"), None, None
    return data, forecast_alerts(data), model_status(data), issued_text(data)


def overview_to_store(overview) -> dict:
    """A :class:`~services.forecasting.overview.ForecastOverview` as JSON for the page's store: per
    target the chart frame (readings and quantiles [kWh per step]) and how it was made."""
    targets = {}
    for key, result in (("pv", overview.pv), ("load", overview.load)):
        if result is None:
            targets[key] = None
            continue
        actual = overview.actual[key] if key in overview.actual else None
        frame = chart_frame(actual, result.frame)
        targets[key] = {
            "method": result.method, "notes": list(result.notes), "weather": result.weather,
            "weather_notes": list(result.weather_notes), "overruled_by_backtest": result.overruled_by_backtest,
            "step_minutes": result.step.total_seconds() / 60, "ts": [t.isoformat() for t in frame.index],
            **{c: [None if pd.isna(v) else float(v) for v in frame[c]] for c in frame.columns},
        }
    models = {k: {"target": m.target, "trained_at": _iso(m.trained_at), "train_start": _iso(m.train_start),
                  "train_end": _iso(m.train_end), "version": m.version, "train_seconds": m.train_seconds,
                  "needs_training": m.needs_training, "why": m.why} for k, m in overview.models.items()}
    return {"household_id": overview.household_id, "name": overview.household_name, "timezone": overview.timezone,
            "as_of": overview.as_of.isoformat(), "live": overview.live, "notes": list(overview.notes),
            "targets": targets, "models": models}


def _iso(value: datetime | None) -> str | None:
    return pd.Timestamp(value).tz_convert("UTC").isoformat() if value is not None else None


def issued_text(data: dict) -> str:
    """When the forecast shown was issued, in the household's time."""
    issued = pd.Timestamp(data["as_of"]).tz_convert(data["timezone"])
    when = "issued" if data["live"] else "as it would have been issued"
    return f"Forecast {when} {issued:%a %Y-%m-%d %H:%M} ({data['timezone']}) for the next {HOURS} h."


def stored_frame(data: dict | None, key: str) -> pd.DataFrame:
    """One target's chart frame back from the page's store (UTC index); empty without it."""
    target = (data or {}).get("targets", {}).get(key)
    if not target:
        return pd.DataFrame(columns=["actual", "p10", "p50", "p90"])
    frame = pd.DataFrame({c: target[c] for c in ("actual", "p10", "p50", "p90")},
                         index=pd.DatetimeIndex(pd.to_datetime(target["ts"], utc=True), name="ts"), dtype=float)
    return frame


@callback(
    Output(ids.FORECAST_PV, "figure"), Output(ids.FORECAST_LOAD, "figure"),
    Input(ids.FORECAST_DATA, "data"), Input(ids.THEME_STORE, "data"),
)
def draw_forecast(data, theme):
    """Both charts from the stored forecast (a theme change redraws without forecasting again)."""
    if not data:
        return empty_figure("Choose a household", theme), empty_figure("Choose a household", theme)
    figures = []
    for key, what in (("pv", "PV"), ("load", "Consumption")):
        target = data["targets"].get(key)
        if target is None:
            figures.append(empty_figure("No PV system: add one on the Households page for a PV forecast", theme))
            continue
        minutes = target["step_minutes"]
        step = f"{minutes:g} min" if minutes < 60 else f"{minutes / 60:g} h"
        title = f"{what}: {METHOD_LABELS[target['method']]}"
        figures.append(forecast_figure(stored_frame(data, key), data["timezone"], title, key, step, theme,
                                       issued_at=pd.Timestamp(data["as_of"])))
    return tuple(figures)


def _download(data: dict | None, key: str):
    frame = stored_frame(data, key)
    if frame.empty:
        return no_update
    out = pd.DataFrame({
        "time_local": frame.index.tz_convert(data["timezone"]).strftime("%Y-%m-%d %H:%M"),
        "time_utc": frame.index.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "metered_kwh": frame["actual"].to_numpy(), "p10_kwh": frame["p10"].to_numpy(),
        "p50_kwh": frame["p50"].to_numpy(), "p90_kwh": frame["p90"].to_numpy(),
    })
    issued = pd.Timestamp(data["as_of"])
    return send_csv(out, f"forecast-{key}-household-{data['household_id']}-{issued:%Y%m%d-%H%M}.csv")


@callback(Output(ids.FORECAST_PV_DOWNLOAD, "data"), Input(ids.FORECAST_PV_CSV, "n_clicks"),
          State(ids.FORECAST_DATA, "data"), prevent_initial_call=True)
def download_pv(_n_clicks, data):
    """The PV chart's readings and quantiles [kWh per step] as CSV, exactly as drawn."""
    return _download(data, "pv")


@callback(Output(ids.FORECAST_LOAD_DOWNLOAD, "data"), Input(ids.FORECAST_LOAD_CSV, "n_clicks"),
          State(ids.FORECAST_DATA, "data"), prevent_initial_call=True)
def download_load(_n_clicks, data):
    """The consumption chart's readings and quantiles [kWh per step] as CSV, exactly as drawn."""
    return _download(data, "load")


# --- accuracy -------------------------------------------------------------------------------------


@callback(
    Output(ids.FORECAST_ACCURACY_GRID, "rowData"), Output(ids.FORECAST_ACCURACY_SUMMARY, "children"),
    Output(ids.FORECAST_ACCURACY_EMPTY, "style"), Output(ids.FORECAST_ACCURACY_WRAP, "style"),
    Input(ids.FORECAST_HOUSEHOLD, "value"), Input(ids.FORECAST_BACKTEST_RESULT, "data"),
)
def show_accuracy(household, _backtested=None):
    """The newest stored back-test per target as a table, or what to do to get one."""
    household_id = visible_household_id(household)
    if household_id is None:
        return [], None, HIDDEN, HIDDEN
    table, summaries = accuracy_table(household_id)
    if table.empty:
        return [], None, SHOWN, HIDDEN
    rows = table.astype(object).where(table.notna(), None).to_dict("records")
    return rows, [html.Div(s) for s in summaries], HIDDEN, SHOWN


@callback(Output(ids.FORECAST_ACCURACY_DOWNLOAD, "data"), Input(ids.FORECAST_ACCURACY_CSV, "n_clicks"),
          State(ids.FORECAST_HOUSEHOLD, "value"), prevent_initial_call=True)
def download_accuracy(_n_clicks, household):
    """The accuracy table as CSV (MAE, RMSE, bias in kWh per step)."""
    household_id = visible_household_id(household)
    table = accuracy_table(household_id)[0] if household_id is not None else pd.DataFrame()
    if table.empty:
        return no_update
    return send_csv(table, f"forecast-accuracy-household-{household_id}.csv")


# --- background jobs ------------------------------------------------------------------------------


def _stage(set_progress):
    return lambda done, total, label: set_progress((round(100 * done / max(total, 1)), label))


@callback(
    Output(ids.FORECAST_TRAIN_RESULT, "data"), Output(ids.FORECAST_TRAIN_NOTE, "children"),
    Input(ids.FORECAST_TRAIN_RUN, "n_clicks"), State(ids.FORECAST_HOUSEHOLD, "value"),
    **progress_job(ids.FORECAST_TRAIN_RUN, ids.FORECAST_TRAIN_PROGRESS),
)
@as_caller
def retrain(set_progress, _n_clicks, household):
    """Train and store the household's PV and load models (a job); the forecast is then made again."""
    household_id = visible_household_id(household)
    if household_id is None:
        return no_update, dbc.Alert("Choose a household first.", color="warning", className="mb-0")
    job = start_job("forecast_train", {"household_id": household_id}, current_scope(), here=True,
                    on_progress=_stage(set_progress))
    if job.state != "done":
        return no_update, dbc.Alert(f"Not trained: {job_outcome(job)}.", color="warning", className="mb-0")
    return ({"household_id": household_id, "trained": job.result["trained"], "at": datetime.now(UTC).isoformat(),
             "job_id": job.id}, train_message(job.result))


def train_message(report: dict) -> html.Div:
    """What training did (a ``forecast_train`` job's result), per target, in words."""
    labels = {"pv": "PV", "load": "load"}
    done = [f"the {labels[t]} model ({report['seconds'].get(t, 0):.1f} s)" for t in report["trained"]]
    parts = [f"Trained {' and '.join(done)}." if done else "No model trained."]
    parts += [f"{labels[t].capitalize()} not trained: {why}." for t, why in report["skipped"].items()]
    parts += [n[:1].upper() + n[1:] + "." for n in report["notes"]]
    color = "success" if done and not report["skipped"] else "warning"
    return dbc.Alert(" ".join(parts), color=color, className="mb-0", id="forecast-train-message")


@callback(
    Output(ids.FORECAST_BACKTEST_RESULT, "data"), Output(ids.FORECAST_BACKTEST_NOTE, "children"),
    Input(ids.FORECAST_BACKTEST_RUN, "n_clicks"), State(ids.FORECAST_HOUSEHOLD, "value"),
    State(ids.FORECAST_BACKTEST_DAYS, "value"),
    **progress_job(ids.FORECAST_BACKTEST_RUN, ids.FORECAST_BACKTEST_PROGRESS),
)
@as_caller
def run_backtest(set_progress, _n_clicks, household, days):
    """Back-test the last days of readings (PV and load) and store the scores for the table."""
    household_id = visible_household_id(household)
    if household_id is None:
        return no_update, dbc.Alert("Choose a household first.", color="warning", className="mb-0")
    try:
        n_days = int(days)
    except (TypeError, ValueError):
        n_days = 0
    if n_days not in BACKTEST_DAYS:
        return no_update, dbc.Alert(f"Choose a period of {', '.join(map(str, BACKTEST_DAYS))} days.",
                                    color="warning", className="mb-0")
    job = start_job("forecast_backtest", {"household_id": household_id, "days": n_days}, current_scope(), here=True,
                    on_progress=_stage(set_progress))
    if job.state != "done":
        return no_update, dbc.Alert(f"No back-test: {job_outcome(job)}.", color="warning", className="mb-0")
    parts = []
    for target, overall in job.result["overall"].items():
        base = overall.get("nmae_persistence")
        parts.append(f"{'PV' if target == 'pv' else 'Load'} nMAE {format_ratio(overall.get('nmae'))} "
                     f"(persistence {format_ratio(base)})")
    text = f"Back-tested the last {n_days} days: {'; '.join(parts)}. See the table below."
    return ({"household_id": household_id, "at": datetime.now(UTC).isoformat(), "job_id": job.id},
            dbc.Alert(text, color="success", className="mb-0", id="forecast-backtest-message"))
