"""The Jobs page's pieces: the table of jobs, a job's details, and the words for states and results."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html

from components import ids
from components.data_sections import SELECT_ONE
from components.grid import data_grid
from components.roles import for_writers
from components.theme import HIDDEN, SHOWN

#: While a job is queued or running the page refreshes itself this often [ms].
REFRESH_MS = 2000
STATE_COLORS = {"queued": "secondary", "running": "primary", "done": "success", "failed": "danger",
                "cancelled": "warning", "interrupted": "danger"}
INTERRUPTED_NOTE = ("No progress for a long time: the process running it stopped (a restart or a killed worker). "
                    "Cancel it and start it again.")

JOB_COLUMNS = [
    {"field": "id", "headerName": "Job", "maxWidth": 90},
    {"field": "what", "headerName": "What", "minWidth": 220, "tooltipField": "what"},
    {"field": "who", "headerName": "Started by", "minWidth": 140},
    {"field": "state", "headerName": "State", "maxWidth": 120},
    {"field": "progress", "headerName": "Progress", "minWidth": 120, "tooltipField": "progress"},
    {"field": "result", "headerName": "Result", "minWidth": 240, "tooltipField": "result"},
    {"field": "created", "headerName": "Started (UTC)", "minWidth": 150},
    {"field": "duration", "headerName": "Duration", "minWidth": 130, "maxWidth": 150},
]


def job_rows(jobs, label: Callable[[str], str]) -> list[dict[str, Any]]:
    """Grid rows of :class:`services.jobs.JobView` objects; ``label(kind)`` names each kind for people."""
    return [{"id": j.id, "key": str(j.id), "what": what(j, label), "who": j.started_by.label, "state": state(j),
             "progress": progress_text(j), "result": result_text(j), "created": j.created_at.strftime("%Y-%m-%d %H:%M"),
             "duration": duration_text(j.duration_s), "active": not (j.finished or j.interrupted)} for j in jobs]


def state(job) -> str:
    """The state in words: a running job whose process is gone shows as interrupted."""
    return "interrupted" if job.interrupted else job.state


def what(job, label: Callable[[str], str]) -> str:
    """The job's kind in words and its main parameters."""
    params = job.params
    parts = [label(job.kind)]
    if "household_id" in params:
        parts.append(f"household {params['household_id']}")
    if params.get("households"):
        parts.append(f"{len(params['households'])} households, {params.get('fmt', '').upper()}".rstrip(", "))
    if params.get("filename"):
        parts.append(params["filename"])
    if params.get("first") and params.get("days"):
        parts.append(f"{params['days']} days from {params['first']}")
    elif params.get("days"):
        parts.append(f"last {params['days']} days")
    return ", ".join(parts)


def progress_text(job) -> str:
    if job.state == "queued":
        return job.message or "waiting"
    if job.state == "running":
        return f"{job.progress:.0%} {job.message}".strip()
    return f"{job.progress:.0%}" if job.state != "done" else "100%"


def result_text(job) -> str:
    """One line: the error, the file made, or the summary's first values."""
    if job.state == "failed":
        return job.error or "failed"
    if job.interrupted:
        return INTERRUPTED_NOTE
    if job.state == "cancelled":
        return job.message or "cancelled"
    if not job.result:
        return "—"
    result = job.result
    if "filename" in result:
        return f"{result['filename']} ({result.get('households', '?')} households)"
    if "summary" in result and isinstance(result["summary"], str):
        return f"batch {result.get('batch_id')}: {result['summary']}"
    shown = [f"{k}: {_short(v)}" for k, v in result.items() if not isinstance(v, list | dict) or k == "trained"]
    return "; ".join(shown[:4]) or "done"


def _short(value) -> str:
    if isinstance(value, dict):
        return ", ".join(value) or "none"
    if isinstance(value, float):
        return f"{value:,.2f}"
    return str(value)


def duration_text(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 90:
        return f"{seconds:.1f} s"
    if seconds < 5400:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def job_detail(job, label: Callable[[str], str]) -> html.Div:
    """Everything about one job: state, who, when, parameters, the reason of a failure, the result."""
    rows = [("State", dbc.Badge(state(job), color=STATE_COLORS.get(state(job), "secondary"))),
            ("What", what(job, label)), ("Started by", job.started_by.label),
            ("Runs on", "a Celery worker" if job.runner == "celery" else "the web server's process"),
            ("Progress", progress_text(job)), ("Duration", duration_text(job.duration_s))]
    children = [html.H2(f"Job {job.id}", className="h6"),
                html.Dl([item for label, value in rows for item in (html.Dt(label, className="col-sm-3"),
                                                                    html.Dd(value, className="col-sm-9 mb-1"))],
                        className="row mb-2 small")]
    if job.interrupted:
        children.append(dbc.Alert(INTERRUPTED_NOTE, color="danger", className="py-2 mb-2"))
    if job.state == "failed":
        children.append(dbc.Alert([html.Strong("Why it failed: "), job.error or "no reason recorded"],
                                  color="danger", className="py-2 mb-2", id="jobs-failure-reason"))
    children.append(html.Details([html.Summary("Parameters and result", className="small"),
                                  html.Pre(json.dumps({"params": job.params, "result": job.result}, indent=2,
                                                      default=str), className="small mb-0")]))
    return html.Div(children)


def start_card(options: list[dict], can_queue: bool) -> dbc.Card:
    """Start one of the scheduled jobs now (queued for the workers; needs REDIS_URL)."""
    note = ("Queued for the workers; it shows in the list below." if can_queue else
            "Needs the workers (REDIS_URL): without them, run `flask --app app job KIND` on the server.")
    return for_writers(dbc.Card(dbc.CardBody(dbc.Row([
        dbc.Col(dbc.Select(id=ids.JOBS_START_KIND, options=options, value=options[0]["value"], size="sm",
                           disabled=not can_queue), xs=12, md=4),
        dbc.Col(dbc.Button("Start now", id=ids.JOBS_START, size="sm", color="primary", disabled=not can_queue),
                width="auto"),
        dbc.Col(html.Span(note, className="small text-body-secondary"), className="align-self-center"),
    ], className="g-2")), className="mb-3"))


def jobs_card(rows: list[dict], where: str) -> dbc.Card:
    """The list of jobs with Refresh, Cancel and the download of a job's file."""
    grid = data_grid(ids.JOBS_GRID, JOB_COLUMNS, rows, grid_options={**SELECT_ONE, "tooltipShowDelay": 300,
                                                                     "paginationPageSizeSelector": False},
                     getRowId="params.data.key")
    return dbc.Card(dbc.CardBody([
        html.Div([
            html.P(where, className="small text-body-secondary mb-0 me-auto", id=ids.JOBS_WHERE),
            dbc.Button("Refresh", id=ids.JOBS_REFRESH, color="secondary", outline=True, size="sm"),
            for_writers(dbc.Button("Cancel job", id=ids.JOBS_CANCEL, color="danger", outline=True, size="sm",
                                   disabled=True, title="Select a queued or running job first")),
            dbc.Button("Download file", id=ids.JOBS_DOWNLOAD_BUTTON, color="secondary", outline=True, size="sm",
                       disabled=True, title="Select a job that made a file"),
            dcc.Download(id=ids.JOBS_DOWNLOAD),
        ], className="d-flex flex-wrap gap-2 align-items-center mb-2"),
        dbc.Alert(id=ids.JOBS_ALERT, is_open=False, className="py-2"),
        html.Div([html.H2("No jobs yet"),
                  html.P("Retraining, back-tests, reports of several households, file ingestion and the schedules "
                         "show here while they run and afterwards.")],
                 id=ids.JOBS_EMPTY, className="empty-state", style=HIDDEN if rows else SHOWN),
        html.Div(grid, style=SHOWN if rows else HIDDEN, id=f"{ids.JOBS_GRID}-wrap"),
        html.Div(id=ids.JOBS_DETAIL, className="mt-3"),
    ]), className="mb-3")
