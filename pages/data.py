"""Data (/data): bring readings in from files, see what every batch did, check data quality, watch devices.

Upload -> preview -> map columns (or reuse a saved mapping) -> ingest with progress -> batch
report. Below: the batch history (with the rejected rows of a batch as CSV), the data-quality
findings of a household with a timeline of its gaps, and the IoT devices with their status.
Callbacks are thin: they call :mod:`services.ingestion`, :mod:`services.ingestion.history`,
:mod:`services.quality` and :mod:`services.iot`.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, callback, dcc, html, no_update
from dash.exceptions import PreventUpdate

from components import ids
from components.background import as_caller
from components.data_forms import (
    column_rows,
    column_table,
    form_from_spec,
    guess_time_column,
    mapping_spec,
    preview_table,
)
from components.data_sections import (
    batch_report,
    batch_rows,
    device_rows,
    devices_card,
    history_card,
    issue_rows,
    quality_card,
    quality_summary,
    upload_card,
)
from components.figures.quality import gap_timeline_figure
from components.jobs import announce_job, job_outcome
from components.mqtt_sections import SHOWN_REJECTIONS, mqtt_rejection_rows, mqtt_rejections_card
from components.roles import can_write, for_writers, viewer_note
from components.theme import HIDDEN, SHOWN, empty_figure
from services.access import browser_id, current_scope, visible_household_id, visible_household_ids
from services.households import HouseholdNotFound, list_households
from services.ingestion.files import preview_file
from services.ingestion.history import list_batches, quantity_units, rejections_csv
from services.ingestion.mapping import load_mapping, mapping_from_dict, mapping_names, save_mapping
from services.iot import DeviceNotFound, confirm_device, list_devices
from services.iot.rejections import recent_mqtt_rejections
from services.jobs import cancel_job, save_file, start_job
from services.quality import check_household, timeline_spans

dash.register_page(__name__, path="/data", name="Data", title="Data · Energy Dashboard", nav_order=2)

#: Largest file the page takes [MB]; the CLI streams larger ones.
MAX_UPLOAD_MB = 20
#: Rows per chunk when ingesting an upload: small enough for the progress bar to move.
#: Rows read to list the series of a long file.
LONG_PREVIEW_ROWS = 5_000


def layout(**_kwargs):
    households = _household_options()
    quantities = quantity_units()
    writable = can_write()  # a viewer sees the batches, quality and devices, not the upload and mapping steps
    return html.Div([
        html.H1("Data"),
        viewer_note("Uploading readings and confirming devices need the manager role.", writable),
        for_writers(upload_card(MAX_UPLOAD_MB), writable),
        for_writers(_mapping_card(households), writable),
        html.Div(id=ids.DATA_REPORT, className="mb-3"),
        history_card(batch_rows(list_batches())),
        quality_card(households, households[0]["value"] if households else None),
        devices_card(device_rows(list_devices(visible_household_ids()))),
        mqtt_rejections_card(mqtt_rejection_rows(recent_mqtt_rejections(None, SHOWN_REJECTIONS))),
        dcc.Store(id=ids.DATA_FILE),
        dcc.Store(id=ids.DATA_JOB_ID),  # the running ingestion job, for Cancel
        dcc.Store(id=ids.DATA_ROW_KEYS, data=[]),
        dcc.Store(id=ids.DATA_LOADED_MAPPING),
        dcc.Store(id=ids.DATA_QUANTITIES, data=quantities),
    ])


def _household_options() -> list[dict[str, str]]:
    return [{"label": h.name, "value": str(h.id)} for h in list_households(visible_household_ids())]


def _field(label: str, control, width: int = 6, help_text: str | None = None) -> dbc.Col:
    children = [dbc.Label(label, html_for=control.id, className="small mb-1"), control]
    if help_text:
        children.append(dbc.FormText(help_text))
    return dbc.Col(children, xs=12, md=width)


def _mapping_card(households: list[dict]) -> dbc.Card:
    saved = [{"label": n, "value": n} for n in mapping_names()]
    time_column = html.Div(dbc.Row([
        _field("Timestamp column", dbc.Select(id=ids.DATA_TS_COLUMN, options=[])),
        _field("Format (optional)", dbc.Input(id=ids.DATA_TS_FORMAT, placeholder="ISO 8601 or %d.%m.%Y %H:%M"),
               help_text="Empty: ISO 8601 or Unix seconds; epoch_s, epoch_ms or a strptime pattern."),
    ], className="g-2"), id=ids.DATA_TIME_COLUMN_FIELDS)
    time_start = html.Div(dbc.Row([
        _field("First row starts at", dbc.Input(id=ids.DATA_START, placeholder="2016-07-31T23:00:00-08:00")),
        _field("Step [s]", dbc.Input(id=ids.DATA_STEP, type="number", min=1, placeholder="3600")),
    ], className="g-2"), id=ids.DATA_TIME_START_FIELDS, style=HIDDEN)
    long_fields = html.Div(dbc.Row([
        _field("Series column", dbc.Select(id=ids.DATA_SERIES_COLUMN, options=[])),
        _field("Value column", dbc.Select(id=ids.DATA_VALUE_COLUMN, options=[])),
    ], className="g-2"), id=ids.DATA_LONG_FIELDS, style=HIDDEN)
    return dbc.Card(dbc.CardBody([
        html.H2("Map columns", className="h5"),
        dbc.Row([
            _field("Saved mapping", dbc.Select(id=ids.DATA_SAVED_MAPPING, options=saved,
                                               placeholder="New mapping" if saved else "No mapping saved yet")),
            dbc.Col(dbc.Button("Use this mapping", id=ids.DATA_LOAD_MAPPING, color="secondary", outline=True,
                               disabled=not saved), xs=12, md="auto", className="align-self-end"),
        ], className="g-2 mb-2"),
        dbc.Row([
            _field("Household", dbc.Select(id=ids.DATA_HOUSEHOLD, options=households,
                                           placeholder="Choose the household" if households else "Add a household first")),
            _field("Layout", dbc.RadioItems(id=ids.DATA_LAYOUT, inline=True, value="wide", options=[
                {"label": "Wide (a column per series)", "value": "wide"},
                {"label": "Long (series, value)", "value": "long"}])),
        ], className="g-2 mb-2"),
        long_fields,
        dbc.Row([
            _field("Time", dbc.RadioItems(id=ids.DATA_TIME_SOURCE, inline=True, value="column", options=[
                {"label": "From a column", "value": "column"},
                {"label": "No time column: start + step", "value": "start"}])),
            _field("Time zone of naive times", dbc.Input(id=ids.DATA_TIMEZONE, placeholder="household's zone"),
                   help_text="IANA (Europe/Berlin) or an offset (UTC-08:00); empty: the household's zone."),
        ], className="g-2 mb-2"),
        time_column, time_start,
        html.H3("Columns", className="h6 mt-3"),
        html.Div(column_table([], {}), id=ids.DATA_COLUMN_ROWS),
        dbc.Row([
            _field("Save as", dbc.Input(id=ids.DATA_MAPPING_NAME, placeholder="e.g. inverter portal export")),
            dbc.Col(html.Div([
                dbc.Button("Save mapping", id=ids.DATA_SAVE_MAPPING, color="secondary", outline=True),
                dbc.Button("Ingest", id=ids.DATA_INGEST, color="primary", disabled=True,
                           title="Upload a file first"),
                dbc.Button("Cancel", id=ids.DATA_CANCEL, color="link", style=HIDDEN),
            ], className="d-flex flex-wrap gap-2"), xs=12, md="auto", className="align-self-end"),
        ], className="g-2 mt-2"),
        dbc.Progress(id=ids.DATA_PROGRESS, value=0, label="", className="mt-3", style=HIDDEN),
        dbc.Alert(id=ids.DATA_MAPPING_ALERT, is_open=False, className="mt-3 mb-0"),
    ]), id=ids.DATA_MAPPING_CARD, className="mb-3")


# --- upload and preview ---------------------------------------------------------------------


def decode_upload(contents: str, filename: str) -> bytes:
    """The uploaded file's bytes; ValueError with a message for the person when unusable."""
    try:
        data = base64.b64decode(contents.split(",", 1)[1], validate=False)
    except (IndexError, binascii.Error):
        raise ValueError(f"{filename} could not be read: upload it again") from None
    size_mb = len(data) / 1_000_000
    if size_mb > MAX_UPLOAD_MB:
        raise ValueError(f"{filename} is {size_mb:.1f} MB, more than the {MAX_UPLOAD_MB} MB this page takes: "
                         f"ingest it with `flask --app app ingest {filename} --mapping NAME`, which reads it in "
                         "chunks, or split it into smaller files")
    if not data.strip():
        raise ValueError(f"{filename} is empty")
    return data


@callback(
    output={"preview": Output(ids.DATA_PREVIEW, "children"), "file": Output(ids.DATA_FILE, "data"),
            "alert_open": Output(ids.DATA_UPLOAD_ALERT, "is_open"), "alert": Output(ids.DATA_UPLOAD_ALERT, "children"),
            "alert_color": Output(ids.DATA_UPLOAD_ALERT, "color"),
            "ts_options": Output(ids.DATA_TS_COLUMN, "options"), "ts_column": Output(ids.DATA_TS_COLUMN, "value"),
            "time_source": Output(ids.DATA_TIME_SOURCE, "value"),
            "series_options": Output(ids.DATA_SERIES_COLUMN, "options"),
            "value_options": Output(ids.DATA_VALUE_COLUMN, "options"),
            "ingest_disabled": Output(ids.DATA_INGEST, "disabled")},
    inputs={"contents": Input(ids.DATA_UPLOAD, "contents"), "filename": State(ids.DATA_UPLOAD, "filename")},
    prevent_initial_call=True,
)
def preview_upload(contents, filename):
    """Check the file's size and type, show its first rows and offer its columns for mapping."""
    if not contents:
        raise PreventUpdate
    try:
        data = decode_upload(contents, filename)
        preview = preview_file(data, filename, rows=10)
    except Exception as exc:  # noqa: BLE001 - any unreadable file: say so, keep the page usable
        message = str(exc) if isinstance(exc, ValueError) else f"{filename} could not be read: {exc}"
        return {"preview": None, "file": None, "alert_open": True, "alert": message, "alert_color": "danger",
                "ts_options": [], "ts_column": None, "time_source": "column", "series_options": [],
                "value_options": [], "ingest_disabled": True}
    options = [{"label": c, "value": c} for c in preview.columns]
    ts_column = guess_time_column(preview.columns)
    fmt = f"; separator {preview.separator!r}, decimal {preview.decimal!r}" if preview.kind == "csv" else ""
    note = f"{filename}: {len(data) / 1_000_000:.2f} MB, {preview.kind}{fmt}. First rows:"
    return {
        "preview": [html.P(note, className="small mb-1"),
                    preview_table(preview.columns, preview.rows.to_dict("records"))],
        # The file itself waits in the store: ingestion (a job, maybe on a worker) gets only its id.
        "file": {"filename": filename, "columns": preview.columns, "kind": preview.kind,
                 "file_id": save_file(filename, data)},
        "alert_open": False, "alert": None, "alert_color": "info", "ts_options": options, "ts_column": ts_column,
        "time_source": "column" if ts_column else "start", "series_options": options, "value_options": options,
        "ingest_disabled": False,
    }


@callback(Output(ids.DATA_TIME_COLUMN_FIELDS, "style"), Output(ids.DATA_TIME_START_FIELDS, "style"),
          Input(ids.DATA_TIME_SOURCE, "value"))
def show_time_fields(source):
    """A time column, or a start time and step for files without one."""
    return (HIDDEN, SHOWN) if source == "start" else (SHOWN, HIDDEN)


@callback(Output(ids.DATA_LONG_FIELDS, "style"), Input(ids.DATA_LAYOUT, "value"))
def show_long_fields(layout_kind):
    return SHOWN if layout_kind == "long" else HIDDEN


@callback(
    Output(ids.DATA_COLUMN_ROWS, "children"), Output(ids.DATA_ROW_KEYS, "data"),
    Input(ids.DATA_FILE, "data"), Input(ids.DATA_LAYOUT, "value"), Input(ids.DATA_SERIES_COLUMN, "value"),
    Input(ids.DATA_TS_COLUMN, "value"), Input(ids.DATA_TIME_SOURCE, "value"), Input(ids.DATA_VALUE_COLUMN, "value"),
    Input(ids.DATA_LOADED_MAPPING, "data"),
    State(ids.DATA_UPLOAD, "contents"), State(ids.DATA_QUANTITIES, "data"),
)
def mapping_rows(file, layout_kind, series_column, ts_column, time_source, value_column, loaded, contents, quantities):
    """One row per file column (wide) or per series found in the series column (long)."""
    if not file:
        return column_table([], quantities), []
    saved = {c["column"]: c for c in (loaded or {}).get("columns", [])}
    skip = {ts_column} if time_source == "column" else set()
    if layout_kind == "long":
        if not series_column or not contents:
            return html.P("Choose the series column and the value column.", className="text-body-secondary"), []
        sample = preview_file(decode_upload(contents, file["filename"]), file["filename"], rows=LONG_PREVIEW_ROWS)
        keys = sorted({v for v in sample.rows[series_column] if v.strip()}) if series_column in sample.columns else []
        keys = list(dict.fromkeys([*keys, *saved]))
    else:
        keys = [c for c in file["columns"] if c not in skip]
    rows = column_rows(keys, quantities, saved or None)
    return column_table(rows, quantities), keys


# --- mappings ---------------------------------------------------------------------------------

FORM = {"name": State(ids.DATA_MAPPING_NAME, "value"), "household": State(ids.DATA_HOUSEHOLD, "value"),
        "layout": State(ids.DATA_LAYOUT, "value"), "time_source": State(ids.DATA_TIME_SOURCE, "value"),
        "ts_column": State(ids.DATA_TS_COLUMN, "value"), "ts_format": State(ids.DATA_TS_FORMAT, "value"),
        "timezone": State(ids.DATA_TIMEZONE, "value"), "start": State(ids.DATA_START, "value"),
        "step": State(ids.DATA_STEP, "value"), "series_column": State(ids.DATA_SERIES_COLUMN, "value"),
        "value_column": State(ids.DATA_VALUE_COLUMN, "value")}
COLUMNS = {f: State(ids.data_column(f, ALL), "value") for f in ids.DATA_COL_FIELDS}
MAPPING_ALERT = {"is_open": Output(ids.DATA_MAPPING_ALERT, "is_open", allow_duplicate=True),
                 "color": Output(ids.DATA_MAPPING_ALERT, "color", allow_duplicate=True),
                 "children": Output(ids.DATA_MAPPING_ALERT, "children", allow_duplicate=True)}


def _alert(color: str, children: Any) -> dict[str, Any]:
    return {"is_open": True, "color": color, "children": children}


def _problems(message: str) -> list:
    head, *lines = message.splitlines()
    return [html.P(head, className="mb-1"), html.Ul([html.Li(line) for line in lines], className="mb-0")] if lines \
        else [head]


@callback(
    output={"form": {k: Output(s.component_id, "value") for k, s in FORM.items()},
            "loaded": Output(ids.DATA_LOADED_MAPPING, "data"), "alert": MAPPING_ALERT},
    inputs={"n_clicks": Input(ids.DATA_LOAD_MAPPING, "n_clicks"), "name": State(ids.DATA_SAVED_MAPPING, "value")},
    prevent_initial_call=True,
)
def use_saved_mapping(n_clicks, name):
    """Fill the form from a saved mapping."""
    if not name:
        raise PreventUpdate
    try:
        spec = load_mapping(name).model_dump(mode="json", exclude_none=True)
    except (LookupError, ValueError) as exc:
        return {"form": {k: no_update for k in FORM}, "loaded": no_update, "alert": _alert("warning", str(exc))}
    values = form_from_spec(spec)
    return {"form": {k: values.get(k) for k in FORM}, "loaded": spec,
            "alert": _alert("info", f"Mapping {name!r} loaded: check the columns, then ingest.")}


@callback(output={"alert": MAPPING_ALERT, "saved": Output(ids.DATA_SAVED_MAPPING, "options")},
          inputs={"n_clicks": Input(ids.DATA_SAVE_MAPPING, "n_clicks"), "form": FORM, "columns": COLUMNS,
                  "keys": State(ids.DATA_ROW_KEYS, "data")},
          prevent_initial_call=True)
def save_current_mapping(n_clicks, form, columns, keys):
    """Save the form as a named mapping, to reuse for the next file from the same source."""
    if not (form.get("name") or "").strip():
        return {"alert": _alert("warning", "Give the mapping a name under “Save as” first."), "saved": no_update}
    try:
        mapping = mapping_from_dict(mapping_spec(form, keys or [], columns))
    except ValueError as exc:
        return {"alert": _alert("danger", _problems(str(exc))), "saved": no_update}
    save_mapping(mapping)
    return {"alert": _alert("success", f"Mapping {mapping.name!r} saved."),
            "saved": [{"label": n, "value": n} for n in mapping_names()]}


# --- ingestion ---------------------------------------------------------------------------------

HISTORY = {"rows": Output(ids.DATA_BATCHES_GRID, "rowData", allow_duplicate=True),
           "grid_style": Output(f"{ids.DATA_BATCHES_GRID}-wrap", "style", allow_duplicate=True),
           "empty_style": Output(ids.DATA_BATCHES_EMPTY, "style", allow_duplicate=True)}


def history() -> dict[str, Any]:
    """The batch history's rows, and which of grid and empty state shows."""
    rows = batch_rows(list_batches())
    return {"rows": rows, "grid_style": SHOWN if rows else HIDDEN, "empty_style": HIDDEN if rows else SHOWN}


def _unchanged_history() -> dict[str, Any]:
    return {k: no_update for k in HISTORY}


@callback(
    output={"report": Output(ids.DATA_REPORT, "children"), "alert": MAPPING_ALERT, "history": HISTORY},
    inputs={"n_clicks": Input(ids.DATA_INGEST, "n_clicks"), "form": FORM, "columns": COLUMNS,
            "keys": State(ids.DATA_ROW_KEYS, "data"), "file": State(ids.DATA_FILE, "data")},
    background=True,
    running=[(Output(ids.DATA_INGEST, "disabled"), True, False), (Output(ids.DATA_CANCEL, "style"), SHOWN, HIDDEN),
             (Output(ids.DATA_PROGRESS, "style"), SHOWN, HIDDEN)],
    progress=[Output(ids.DATA_PROGRESS, "value"), Output(ids.DATA_PROGRESS, "label")],
    cancel=[Input(ids.DATA_CANCEL, "n_clicks")],
    prevent_initial_call=True,
)
@as_caller
def ingest_upload(set_progress, n_clicks, form, columns, keys, file):
    """Ingest the uploaded file (kept in the store since its preview) through the mapping on the form,
    as one batch in an ``ingest_upload`` job, with progress."""
    if not file or not file.get("file_id"):
        return {"report": no_update, "alert": _alert("warning", "Upload a file first."), "history": _unchanged_history()}
    try:
        spec = mapping_spec(form, keys or [], columns)
        mapping_from_dict(spec)  # checked here, so that the form's problems show before a job starts
    except ValueError as exc:
        return {"report": no_update, "alert": _alert("danger", _problems(str(exc))), "history": _unchanged_history()}

    def progress(done: int, total: int, label: str) -> None:
        set_progress((round(100 * done / max(total, 1)), label))

    job = start_job("ingest_upload", {"file_id": file["file_id"], "mapping": spec, "file_kind": file["kind"],
                                      "filename": file["filename"]}, current_scope(), here=True, on_progress=progress,
                    on_start=announce_job(ids.DATA_JOB_ID))
    if job.state != "done":
        return {"report": no_update, "alert": _alert("danger", _problems(job_outcome(job))),
                "history": _unchanged_history()}
    set_progress((100, "done"))
    return {"report": batch_report(job.result), "alert": {"is_open": False, "color": no_update, "children": no_update},
            "history": history()}


@callback(Output(ids.DATA_JOB_ID, "data", allow_duplicate=True), Input(ids.DATA_CANCEL, "n_clicks"),
          State(ids.DATA_JOB_ID, "data"), prevent_initial_call=True)
def cancel_ingestion(n_clicks, job_id):
    """Dash's cancel stops the ingestion's process (nothing of its batch is stored); record its job as cancelled."""
    if job_id:
        cancel_job(int(job_id), current_scope(), process_stopped=True)
    return None


# --- batch history ------------------------------------------------------------------------------


@callback(output=HISTORY, inputs={"n_clicks": Input(ids.DATA_BATCHES_REFRESH, "n_clicks")}, prevent_initial_call=True)
def refresh_batches(n_clicks):
    return history()


@callback(Output(ids.DATA_REJECTIONS_BUTTON, "disabled"), Input(ids.DATA_BATCHES_GRID, "selectedRows"))
def enable_rejections_download(selected):
    return not (selected and selected[0].get("rejected"))


@callback(Output(ids.DATA_REJECTIONS_DOWNLOAD, "data"), Input(ids.DATA_REJECTIONS_BUTTON, "n_clicks"),
          State(ids.DATA_BATCHES_GRID, "selectedRows"), prevent_initial_call=True)
def download_rejections(n_clicks, selected):
    """The selected batch's rejected rows as CSV (line, field, reason, raw)."""
    if not selected:
        raise PreventUpdate
    batch_id = selected[0]["id"]
    try:
        text = rejections_csv(batch_id)
    except LookupError:
        raise PreventUpdate from None
    return dcc.send_string(text, f"batch-{batch_id}-rejected.csv")


# --- data quality ------------------------------------------------------------------------------


@callback(Output(ids.DATA_QUALITY_SUMMARY, "children"), Output(ids.DATA_QUALITY_TIMELINE, "figure"),
          Output(ids.DATA_QUALITY_ISSUES, "rowData"),
          Input(ids.DATA_QUALITY_HOUSEHOLD, "value"), Input(ids.THEME_STORE, "data"),
          Input(ids.DATA_REPORT, "children"))  # a new batch may have changed the findings
def show_quality(household, theme, _report=None):
    """Gaps, stuck values, spikes and PV against the clear sky for one household."""
    if not household:
        return None, empty_figure("Choose a household", theme), []
    household_id = visible_household_id(household)
    try:
        if household_id is None:
            raise HouseholdNotFound(household)
        quality = check_household(household_id)
    except HouseholdNotFound:
        return html.P("That household no longer exists."), empty_figure("No household", theme), []
    households = {h.id: h for h in list_households([quality.household_id])}
    tz = households[quality.household_id].timezone if quality.household_id in households else "UTC"
    pv_message = quality.pv.message if quality.pv else None
    if not any(s.readings for s in quality.series):
        return (html.P("No readings yet for this household: upload a file above or connect its devices.",
                       className="text-body-secondary"), empty_figure("No readings yet", theme), [])
    figure = gap_timeline_figure(timeline_spans(quality), tz, theme)
    return quality_summary(quality.counts(), pv_message), figure, issue_rows(quality.issues)


# --- devices -----------------------------------------------------------------------------------


@callback(Output(ids.DATA_DEVICE_CONFIRM, "disabled"), Input(ids.DATA_DEVICES_GRID, "selectedRows"))
def enable_confirm(selected):
    return not (selected and selected[0].get("review") == "needs review")


@callback(Output(ids.DATA_DEVICES_GRID, "rowData"), Output(ids.DATA_DEVICES_ALERT, "is_open"),
          Output(ids.DATA_DEVICES_ALERT, "children"), Output(ids.DATA_DEVICES_ALERT, "color"),
          Input(ids.DATA_DEVICE_CONFIRM, "n_clicks"), State(ids.DATA_DEVICES_GRID, "selectedRows"),
          prevent_initial_call=True)
def confirm_selected_device(n_clicks, selected):
    """A person confirms a device that registered itself from a stream."""
    if not selected:
        raise PreventUpdate
    row = selected[0] if isinstance(selected[0], dict) else {}
    household_id, device_id = visible_household_id(row.get("household_id")), browser_id(row.get("id"))
    try:
        if household_id is None or device_id is None:  # the row came back from the browser: check it
            raise DeviceNotFound(household_id, device_id)
        confirm_device(household_id, device_id)
        message, color = f"{row.get('name', 'The device')} of {row.get('household', 'its household')} confirmed.", "success"
    except DeviceNotFound:
        message, color = "That device no longer exists.", "warning"
    return device_rows(list_devices(visible_household_ids())), True, message, color


# --- MQTT rejections ----------------------------------------------------------------------------


@callback(Output(ids.DATA_MQTT_REJECTIONS_GRID, "rowData"), Output(f"{ids.DATA_MQTT_REJECTIONS_GRID}-wrap", "style"),
          Output(ids.DATA_MQTT_REJECTIONS_EMPTY, "style"), Input(ids.DATA_MQTT_REJECTIONS_REFRESH, "n_clicks"),
          prevent_initial_call=True)
def refresh_mqtt_rejections(n_clicks):
    """The newest MQTT rejections (the local user sees those of every topic, also unknown households)."""
    rows = mqtt_rejection_rows(recent_mqtt_rejections(None, SHOWN_REJECTIONS))
    return rows, SHOWN if rows else HIDDEN, HIDDEN if rows else SHOWN
