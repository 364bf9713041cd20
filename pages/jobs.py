"""Jobs (/jobs): every long job, who started it, how far it is, what it gave or why it failed; Cancel.

The list is read from the store, so it survives a restart of the web server; it refreshes itself
while a job is queued or running.
"""

from __future__ import annotations

import dash
from dash import Input, Output, State, callback, dcc, html, no_update
from dash.exceptions import PreventUpdate

from components import ids
from components.jobs_table import REFRESH_MS, job_detail, job_rows, jobs_card, start_card
from components.theme import HIDDEN, SHOWN
from services.access import current_scope
from services.jobs import (
    JobNotFound,
    cancel_job,
    get_job,
    kind_label,
    list_jobs,
    queue_available,
    read_file,
    start_job,
)

dash.register_page(__name__, path="/jobs", name="Jobs", title="Jobs · Energy Dashboard", nav_order=7)

SHOWN_JOBS = 200
#: The jobs a person may start from this page (those of the schedules); the others start from their pages.
STARTABLE = ("weather_refresh", "forecast_retrain_stale", "fleet_tomorrow", "alerts", "alerts_digest", "sweep")


def where_jobs_run() -> str:
    if queue_available():
        return "Jobs run on the Celery workers (REDIS_URL is set); schedules run from beat."
    return ("Jobs run in the web server's processes (no REDIS_URL): nothing is scheduled, and a restart of the "
            "server interrupts running jobs.")


def layout(**_query) -> html.Div:
    rows = job_rows(list_jobs(SHOWN_JOBS, current_scope()), kind_label)
    return html.Div([
        html.H1("Jobs", className="h3"),
        html.P("Long work started from the pages, the command line and the schedules: select a job for its details.",
               className="text-body-secondary"),
        dcc.Interval(id=ids.JOBS_TICK, interval=REFRESH_MS, disabled=not any(r["active"] for r in rows)),
        start_card([{"label": kind_label(k), "value": k} for k in STARTABLE], queue_available()),
        jobs_card(rows, where_jobs_run()),
    ])


LIST = {"rows": Output(ids.JOBS_GRID, "rowData"), "grid_style": Output(f"{ids.JOBS_GRID}-wrap", "style"),
        "empty_style": Output(ids.JOBS_EMPTY, "style"), "tick_disabled": Output(ids.JOBS_TICK, "disabled")}


def job_list() -> dict:
    """The rows, which of grid and empty state shows, and whether to keep refreshing."""
    rows = job_rows(list_jobs(SHOWN_JOBS, current_scope()), kind_label)
    return {"rows": rows, "grid_style": SHOWN if rows else HIDDEN, "empty_style": HIDDEN if rows else SHOWN,
            "tick_disabled": not any(r["active"] for r in rows)}


@callback(output=LIST, inputs={"n_intervals": Input(ids.JOBS_TICK, "n_intervals"),
                               "n_clicks": Input(ids.JOBS_REFRESH, "n_clicks")}, prevent_initial_call=True)
def refresh_jobs(n_intervals, n_clicks):
    """Read the jobs again (every tick while one runs, or on Refresh)."""
    return job_list()


@callback(Output(ids.JOBS_DETAIL, "children"), Output(ids.JOBS_CANCEL, "disabled"),
          Output(ids.JOBS_DOWNLOAD_BUTTON, "disabled"),
          Input(ids.JOBS_GRID, "selectedRows"), Input(ids.JOBS_GRID, "rowData"))
def show_job(selected, _rows):
    """The selected job's details; Cancel while it is queued or running, Download when it made a file."""
    if not selected:
        return None, True, True
    try:
        job = get_job(int(selected[0]["id"]))
    except JobNotFound:
        return html.P("That job no longer exists.", className="text-body-secondary"), True, True
    return job_detail(job, kind_label), job.finished, job.result_file_id is None


@callback(output={"alert_open": Output(ids.JOBS_ALERT, "is_open"), "alert": Output(ids.JOBS_ALERT, "children"),
                  "alert_color": Output(ids.JOBS_ALERT, "color"),
                  "list": {k: Output(o.component_id, o.component_property, allow_duplicate=True)
                           for k, o in LIST.items()}},
          inputs={"n_clicks": Input(ids.JOBS_CANCEL, "n_clicks"), "selected": State(ids.JOBS_GRID, "selectedRows")},
          prevent_initial_call=True)
def cancel_selected(n_clicks, selected):
    """Cancel the selected job: at once when queued, at its next step when running."""
    if not selected:
        raise PreventUpdate
    try:
        job = cancel_job(int(selected[0]["id"]), current_scope())
    except JobNotFound:
        return {"alert_open": True, "alert": "That job no longer exists.", "alert_color": "warning",
                "list": job_list()}
    if job.state == "cancelled":
        text, color = f"Job {job.id} cancelled.", "success"
    elif job.finished:
        text, color = f"Job {job.id} had already ended ({job.state}).", "info"
    else:
        text, color = f"Job {job.id} stops at its next step.", "info"
    return {"alert_open": True, "alert": text, "alert_color": color, "list": job_list()}


@callback(output={"alert_open": Output(ids.JOBS_ALERT, "is_open", allow_duplicate=True),
                  "alert": Output(ids.JOBS_ALERT, "children", allow_duplicate=True),
                  "alert_color": Output(ids.JOBS_ALERT, "color", allow_duplicate=True),
                  "list": {k: Output(o.component_id, o.component_property, allow_duplicate=True)
                           for k, o in LIST.items()}},
          inputs={"n_clicks": Input(ids.JOBS_START, "n_clicks"), "kind": State(ids.JOBS_START_KIND, "value")},
          prevent_initial_call=True)
def start_now(n_clicks, kind):
    """Queue one of the scheduled jobs for the workers now (a request never runs it itself)."""
    if kind not in STARTABLE:
        raise PreventUpdate
    if not queue_available():
        return {"alert_open": True, "alert_color": "warning", "list": job_list(),
                "alert": f"No workers (REDIS_URL is not set): run `flask --app app job {kind}` on the server."}
    job = start_job(kind, {}, current_scope())
    return {"alert_open": True, "alert": f"Job {job.id} ({kind_label(kind)}) queued.", "alert_color": "success",
            "list": job_list()}


@callback(Output(ids.JOBS_DOWNLOAD, "data"), Output(ids.JOBS_ALERT, "is_open", allow_duplicate=True),
          Output(ids.JOBS_ALERT, "children", allow_duplicate=True),
          Output(ids.JOBS_ALERT, "color", allow_duplicate=True),
          Input(ids.JOBS_DOWNLOAD_BUTTON, "n_clicks"), State(ids.JOBS_GRID, "selectedRows"), prevent_initial_call=True)
def download_job_file(n_clicks, selected):
    """The file the selected job made (a report), from the store; a message when it is no longer kept."""
    if not selected:
        raise PreventUpdate
    job = get_job(int(selected[0]["id"]))
    if job.result_file_id is None:
        raise PreventUpdate
    try:
        file = read_file(job.result_file_id)
    except LookupError as exc:
        return no_update, True, str(exc)[:1].upper() + str(exc)[1:] + ".", "warning"
    return dcc.send_bytes(file.content, file.filename, type=file.mimetype), False, no_update, no_update
