"""Reports (/reports): choose households and a period, download a PDF, Excel, CSV or interactive HTML report.

A click is parsed and checked once (:func:`request_report`), then handed to one of two builders:
one household is built in the request (a PDF within seconds: the chart renderer is warmed when the
page opens), several in a background callback with a progress bar and a cancel button. Both call
:func:`services.reports.build_report_file`; every refusal is a message saying what to change.
"""

from __future__ import annotations

import time
from datetime import date

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate

from components import ids
from components.background import as_caller
from components.jobs import announce_job, job_outcome
from components.kpi_cards import empty_state
from components.period import picked_day
from components.reports_controls import download_card, households_card, period_card
from components.theme import HIDDEN, SHOWN
from services.access import browser_id, current_scope, visible_household_ids
from services.energy import kpis
from services.households import list_households
from services.jobs import cancel_job, start_job
from services.jobs.records import result_file
from services.reports import (
    FORMATS,
    RendererUnavailable,
    ReportFile,
    ReportInputError,
    ReportPeriod,
    build_report_file,
    month_choices,
    parse_period,
    year_choices,
)
from services.reports.pdf import prepare_pdf

dash.register_page(__name__, path="/reports", name="Reports", title="Reports · Energy Dashboard", nav_order=6)

FORMAT_BUTTONS = [Input(ids.reports_button(fmt), "n_clicks") for fmt in ids.REPORTS_FORMATS]


def layout(**_kwargs):
    households = list_households(visible_household_ids())
    if not households:
        return html.Div([html.H1("Reports"), empty_state(
            "No households yet", "Reports are about households: add some on the Households page first.",
            dbc.Button("Go to households", href="/households", color="primary"))])
    available = kpis.data_period([h.id for h in households])
    if available is None:
        return html.Div([html.H1("Reports"), empty_state(
            "No energy data yet", "Reports need meter data. Upload files or connect meters on the Data page.",
            dbc.Button("Go to data", href="/data", color="primary"))])
    prepare_pdf()  # start the chart renderer now, so that the first PDF does not wait for it
    last_month, _ = kpis.resolve_period("last_month", available)
    start, end = kpis.resolve_period("last_30_days", available)
    years = year_choices(available)
    options = [{"label": h.name, "value": h.id} for h in households]
    return html.Div([
        html.H1("Reports"),
        html.P("Reports for households and their managers: choose households and a period, then a format.",
               className="text-body-secondary"),
        dbc.Row([
            dbc.Col(households_card(options, [households[0].id]), xs=12, lg=6),
            dbc.Col(period_card(month_choices(available), f"{last_month:%Y-%m}", years, years[0]["value"],
                                start, end, available), xs=12, lg=6),
        ], className="g-3"),
        download_card(),
    ])


@callback(
    Output(ids.REPORTS_MONTH_FIELD, "style"), Output(ids.REPORTS_YEAR_FIELD, "style"),
    Output(ids.REPORTS_RANGE_FIELD, "style"),
    Input(ids.REPORTS_PERIOD_KIND, "value"),
)
def show_period_fields(kind: str | None):
    """Only the field of the chosen kind of period: the month, the year or the two days."""
    return tuple(SHOWN if kind == k else HIDDEN for k in ("month", "year", "custom"))


@callback(
    Output(ids.REPORTS_HOUSEHOLDS, "value"),
    Input(ids.REPORTS_SELECT_ALL, "n_clicks"), Input(ids.REPORTS_SELECT_NONE, "n_clicks"),
    prevent_initial_call=True,
)
def select_households(_all, _none):
    """Every visible household, or none."""
    return visible_household_ids() if ctx.triggered_id == ids.REPORTS_SELECT_ALL else []


@callback(
    Output(ids.REPORTS_STATUS, "children"), Output(ids.REPORTS_REQUEST_ONE, "data"),
    Output(ids.REPORTS_REQUEST_MANY, "data"),
    *FORMAT_BUTTONS,
    State(ids.REPORTS_HOUSEHOLDS, "value"), State(ids.REPORTS_PERIOD_KIND, "value"), State(ids.REPORTS_MONTH, "value"),
    State(ids.REPORTS_YEAR, "value"), State(ids.REPORTS_RANGE, "start_date"), State(ids.REPORTS_RANGE, "end_date"),
    prevent_initial_call=True,
)
def request_report(_pdf, _xlsx, _csv, _html, households, kind, month, year, start_date, end_date):
    """Check the choice and hand it to the direct builder (one household) or the background one (several)."""
    return plan_request(_format_of(ctx.triggered_id), households, kind, month, year, start_date, end_date)


def plan_request(fmt: str, households, kind, month, year, start_date, end_date):
    """(status, request for the direct builder, request for the background builder) for a click on ``fmt``."""
    try:
        period = parse_period(kind, month, year, picked_day(start_date), picked_day(end_date))
        chosen = visible_choice(households)
    except ReportInputError as exc:
        return _alert(str(exc), "warning"), no_update, no_update
    request = {"fmt": fmt, "households": chosen, "kind": period.kind, "start": period.start.isoformat(),
               "end": period.end.isoformat(), "at": time.time()}
    if len(chosen) == 1:
        return html.Span(f"Preparing the {FORMATS[fmt]} report…", className="text-body-secondary"), request, no_update
    return None, no_update, request  # the progress bar tells from here


@callback(
    Output(ids.REPORTS_DOWNLOAD, "data"), Output(ids.REPORTS_STATUS, "children", allow_duplicate=True),
    Input(ids.REPORTS_REQUEST_ONE, "data"),
    prevent_initial_call=True,
)
def build_one(request):
    """One household's report, built in the request and sent as a download."""
    if not request:
        raise PreventUpdate
    try:
        file = build_report_file(request["fmt"], visible_choice(request["households"]), request_period(request))
    except (ReportInputError, RendererUnavailable) as exc:
        return no_update, _alert(str(exc), "warning")
    return _send(file), _done(file)


@callback(
    Output(ids.REPORTS_MANY_FILE, "data"), Output(ids.REPORTS_JOB_STATUS, "children"),
    Input(ids.REPORTS_REQUEST_MANY, "data"),
    background=True,
    running=[*[(Output(ids.reports_button(fmt), "disabled"), True, False) for fmt in ids.REPORTS_FORMATS],
             (Output(ids.REPORTS_PROGRESS, "style"), SHOWN, HIDDEN),
             (Output(ids.REPORTS_CANCEL, "style"), SHOWN, HIDDEN),
             (Output(ids.REPORTS_JOB_STATUS, "style"), HIDDEN, SHOWN)],
    progress=[Output(ids.REPORTS_PROGRESS, "value"), Output(ids.REPORTS_PROGRESS, "label")],
    cancel=[Input(ids.REPORTS_CANCEL, "n_clicks")],
    prevent_initial_call=True,
)
@as_caller
def build_many(set_progress, request):
    """Several households' reports, built by a ``report`` job with a progress bar.

    The file stays in the store: the job returns its id, which :func:`send_many` downloads, so
    that no report travels through a Celery result backend.
    """
    if not request:
        raise PreventUpdate

    def progress(done: int, total: int, label: str) -> None:
        set_progress((round(100 * done / max(total, 1)), f"{label} {min(done, total)}/{total}"))

    try:
        chosen, period = visible_choice(request["households"]), request_period(request)
    except ReportInputError as exc:
        return no_update, _alert(str(exc), "warning")
    params = {"fmt": request["fmt"], "households": chosen, "kind": period.kind, "start": period.start.isoformat(),
              "end": period.end.isoformat()}
    job = start_job("report", params, current_scope(), here=True, on_progress=progress,
                    on_start=announce_job(ids.REPORTS_JOB_ID))
    if job.state != "done":
        return no_update, _alert(job_outcome(job), "warning")
    return {"file_id": job.result_file_id, "job_id": job.id}, _done(job.result)


@callback(Output(ids.REPORTS_JOB_ID, "data", allow_duplicate=True), Input(ids.REPORTS_CANCEL, "n_clicks"),
          State(ids.REPORTS_JOB_ID, "data"), prevent_initial_call=True)
def cancel_reports(n_clicks, job_id):
    """Dash's cancel stops the report job's process; record the job as cancelled."""
    if job_id:
        cancel_job(int(job_id), current_scope(), process_stopped=True)
    return None


@callback(Output(ids.REPORTS_DOWNLOAD_MANY, "data"), Input(ids.REPORTS_MANY_FILE, "data"), prevent_initial_call=True)
def send_many(ref):
    """The file a ``report`` job stored, as a download: asked of the job (which the caller must be
    allowed to see), never by a file id as the browser sent it back."""
    job_id = browser_id(ref.get("job_id")) if isinstance(ref, dict) else None
    if job_id is None:
        raise PreventUpdate
    try:
        file = result_file(job_id)
    except LookupError:
        raise PreventUpdate from None
    return dcc.send_bytes(file.content, file.filename, type=file.mimetype)


# --- helpers ----------------------------------------------------------------------------------------


def visible_choice(households) -> list[int]:
    """The chosen household ids, each one the user may see; raise :class:`ReportInputError` otherwise."""
    if not households:
        raise ReportInputError("Choose at least one household.")
    ids_back = [browser_id(h) for h in households] if isinstance(households, list) else [None]
    if None in ids_back:  # `true`, "1.5", a dict: not what the list offers
        raise ReportInputError("Choose households from the list.")
    chosen = list(dict.fromkeys(ids_back))
    visible = set(visible_household_ids())
    if any(h not in visible for h in chosen):
        raise ReportInputError("A chosen household is not available any more (deleted meanwhile?): reload the page.")
    return chosen


def request_period(request: dict) -> ReportPeriod:
    """The period a request carries (as :func:`request_report` wrote it)."""
    try:
        return ReportPeriod(request["kind"], date.fromisoformat(request["start"]), date.fromisoformat(request["end"]))
    except (KeyError, TypeError, ValueError):
        raise ReportInputError("Choose the period again.") from None


def _format_of(button_id) -> str:
    for fmt in ids.REPORTS_FORMATS:
        if button_id == ids.reports_button(fmt):
            return fmt
    raise PreventUpdate


def _send(file: ReportFile) -> dict:
    return dcc.send_bytes(file.content, file.filename, type=file.mimetype)


def _done(file: ReportFile | dict):
    """"Ready" with the file's name, size and households (a :class:`ReportFile` or a report job's result)."""
    if isinstance(file, ReportFile):
        file = {"filename": file.filename, "size_bytes": len(file.content), "households": file.households,
                "skipped": list(file.skipped)}
    n = file["size_bytes"]
    size = f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{n / 1e3:.0f} kB"
    text = [html.Strong("Ready: "), f"{file['filename']} ({size}, {file['households']} "
                                    f"household{'s' if file['households'] != 1 else ''})."]
    if file["skipped"]:
        text.append(f" Left out for lack of data in this period: {', '.join(file['skipped'])}.")
    return _alert(text, "success")


def _alert(children, color: str) -> dbc.Alert:
    return dbc.Alert(children, color=color, className="mb-0 py-2")
