"""Households (/households): the portfolio's homes in a table; create, edit, delete, import from CSV.

Callbacks are thin: read the form or the file, call :mod:`services.households` or
:mod:`services.households.import_csv`, show the outcome. Validation problems come back
as :class:`~services.validation.ValidationProblem` and are shown next to their inputs.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, clientside_callback, dcc, html, no_update
from dash.exceptions import PreventUpdate

from components import ids
from components.grid import data_grid
from components.household_form import (
    FIELD_PATHS,
    extra_pv_note,
    form_values,
    household_form,
    household_raw,
    tariff_options,
)
from components.roles import can_write, for_writers
from components.theme import HIDDEN, SHOWN
from services.households import (
    HouseholdNotFound,
    create_household,
    delete_household,
    get_household,
    list_households,
    list_tariffs,
    update_household,
)
from services.households.import_csv import csv_template, import_households_csv
from services.validation import ValidationProblem

dash.register_page(__name__, path="/households", name="Households", title="Households · Energy Dashboard",
                   nav_order=1)

EMPTY_MESSAGE = "No households yet — create one or import a CSV"
MAX_LISTED_PROBLEMS = 50

COLUMNS = [
    {"field": "name", "headerName": "Household", "minWidth": 160, "flex": 2, "wrapText": True, "autoHeight": True},
    {"field": "details", "headerName": "Details", "cellRenderer": "markdown", "sortable": False, "filter": False,
     "width": 90, "minWidth": 90, "maxWidth": 100},
    {"field": "pv_kwp", "headerName": "PV (kWp)", "filter": "agNumberColumnFilter", "type": "numericColumn",
     "minWidth": 110, "flex": 1},
    {"field": "battery_kwh", "headerName": "Battery (kWh)", "filter": "agNumberColumnFilter",
     "type": "numericColumn", "minWidth": 130, "flex": 1},
    {"field": "tariff", "headerName": "Tariff", "minWidth": 140, "flex": 2},
    {"field": "timezone", "headerName": "Time zone", "minWidth": 150, "flex": 2},
]


def table_rows() -> list[dict[str, Any]]:
    """One row per household for the grid (link to its page in ``details``)."""
    return [
        # "key" is the grid's row id, which AG Grid wants as a string.
        {"id": h.id, "key": str(h.id), "name": h.name, "details": f"[Open](/household/{h.id})",
         "pv_kwp": round(h.pv_kwp, 2), "battery_kwh": h.battery_kwh, "tariff": h.tariff_name or "—",
         "timezone": h.timezone}
        for h in sorted(list_households(), key=lambda h: _natural(h.name))
    ]


def _natural(name: str) -> list:
    # "Building 2" before "Building 10", as a person would list them.
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name)]


def _table(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {"rows": rows, "grid_style": SHOWN if rows else HIDDEN, "empty_style": HIDDEN if rows else SHOWN}


def layout(**_kwargs):
    rows = table_rows()
    table = _table(rows)
    writable = can_write()  # a viewer is shown the table only: no New, Edit, Delete or Import
    toolbar = html.Div(
        [
            for_writers(dbc.Button("New household", id=ids.HOUSEHOLDS_NEW, color="primary"), writable),
            for_writers(dbc.Button("Edit", id=ids.HOUSEHOLDS_EDIT, color="secondary", outline=True, disabled=True,
                                   title="Select a household in the table first"), writable),
            for_writers(dbc.Button("Delete", id=ids.HOUSEHOLDS_DELETE, color="danger", outline=True, disabled=True,
                                   title="Select a household in the table first"), writable),
            for_writers(dcc.Upload(dbc.Button("Import CSV", color="secondary", outline=True), id=ids.HOUSEHOLDS_UPLOAD,
                                   accept=".csv,text/csv", multiple=False), writable),
            for_writers(dbc.Button("CSV template", id=ids.HOUSEHOLDS_TEMPLATE, color="link"), writable),
            dcc.Download(id=ids.HOUSEHOLDS_TEMPLATE_DOWNLOAD),
        ],
        className="d-flex flex-wrap gap-2 mb-3",
    )
    grid = data_grid(
        ids.HOUSEHOLDS_GRID,
        COLUMNS,
        table["rows"],
        grid_options={
            "rowSelection": {"mode": "singleRow", "checkboxes": False, "enableClickSelection": True},
            "paginationPageSizeSelector": False,
        },
        getRowId="params.data.key",
        className="households-grid",
    )
    return html.Div(
        [
            html.H1("Households"),
            toolbar,
            dbc.Alert(id=ids.HOUSEHOLDS_ALERT, is_open=False, dismissable=True),
            html.Div([html.H2(EMPTY_MESSAGE), html.P("Use “New household” or “Import CSV” above." if writable else
                                                     "A manager of your organisation can add them.")],
                     id=ids.HOUSEHOLDS_EMPTY, className="empty-state", style=table["empty_style"]),
            html.Div(grid, id=ids.HOUSEHOLDS_GRID_WRAP, style=table["grid_style"]),
            dcc.Store(id=ids.HOUSEHOLDS_EDITING),
            _form_modal(writable),
            _confirm_modal(writable),
        ]
    )


def _form_modal(writable: bool) -> dbc.Modal:
    return dbc.Modal(
        [
            dbc.ModalHeader(dbc.ModalTitle("New household", id=ids.HOUSEHOLDS_FORM_TITLE)),
            # The alert sits under the inputs, next to Save, where the eye is after pressing it.
            dbc.ModalBody([household_form(),
                           dbc.Alert(id=ids.HOUSEHOLDS_FORM_ALERT, is_open=False, className="mt-3 mb-0")]),
            dbc.ModalFooter([
                dbc.Button("Cancel", id=ids.HOUSEHOLDS_FORM_CANCEL, color="secondary", outline=True),
                for_writers(dbc.Button("Save", id=ids.HOUSEHOLDS_FORM_SAVE, color="primary"), writable),
            ]),
        ],
        id=ids.HOUSEHOLDS_FORM_MODAL, is_open=False, size="lg", scrollable=True, fullscreen="sm-down",
        backdrop="static",
    )


def _confirm_modal(writable: bool) -> dbc.Modal:
    return dbc.Modal(
        [
            dbc.ModalHeader(dbc.ModalTitle("Delete household?")),
            dbc.ModalBody(id=ids.HOUSEHOLDS_CONFIRM_TEXT),
            dbc.ModalFooter([
                dbc.Button("Keep it", id=ids.HOUSEHOLDS_CONFIRM_CANCEL, color="secondary", outline=True),
                for_writers(dbc.Button("Delete", id=ids.HOUSEHOLDS_CONFIRM_DELETE, color="danger"), writable),
            ]),
        ],
        id=ids.HOUSEHOLDS_CONFIRM_MODAL, is_open=False,
    )


# --- callbacks -----------------------------------------------------------------------------------

FIELD_VALUES = {p: Output(ids.households_field(p), "value", allow_duplicate=True) for p in FIELD_PATHS}
FIELD_STATES = {p: State(ids.households_field(p), "value") for p in FIELD_PATHS}
INVALID = {p: Output(ids.households_field(p), "invalid", allow_duplicate=True) for p in FIELD_PATHS}
FEEDBACK = {p: Output(ids.households_feedback(p), "children", allow_duplicate=True) for p in FIELD_PATHS}
TABLE = {
    "rows": Output(ids.HOUSEHOLDS_GRID, "rowData", allow_duplicate=True),
    "grid_style": Output(ids.HOUSEHOLDS_GRID_WRAP, "style", allow_duplicate=True),
    "empty_style": Output(ids.HOUSEHOLDS_EMPTY, "style", allow_duplicate=True),
}
ALERT = {
    "is_open": Output(ids.HOUSEHOLDS_ALERT, "is_open", allow_duplicate=True),
    "color": Output(ids.HOUSEHOLDS_ALERT, "color", allow_duplicate=True),
    "children": Output(ids.HOUSEHOLDS_ALERT, "children", allow_duplicate=True),
}
FORM = {
    "is_open": Output(ids.HOUSEHOLDS_FORM_MODAL, "is_open", allow_duplicate=True),
    "title": Output(ids.HOUSEHOLDS_FORM_TITLE, "children", allow_duplicate=True),
    "editing": Output(ids.HOUSEHOLDS_EDITING, "data", allow_duplicate=True),
    "values": FIELD_VALUES,
    "has_pv": Output(ids.HOUSEHOLDS_HAS_PV, "value", allow_duplicate=True),
    "has_battery": Output(ids.HOUSEHOLDS_HAS_BATTERY, "value", allow_duplicate=True),
    "tariffs": Output(ids.households_field("tariff_id"), "options", allow_duplicate=True),
    "invalid": INVALID,
    "feedback": FEEDBACK,
    "alert_open": Output(ids.HOUSEHOLDS_FORM_ALERT, "is_open", allow_duplicate=True),
    "alert": Output(ids.HOUSEHOLDS_FORM_ALERT, "children", allow_duplicate=True),
    "alert_color": Output(ids.HOUSEHOLDS_FORM_ALERT, "color", allow_duplicate=True),
    "page_alert": ALERT,
}


def _alert(color: str, children: Any) -> dict[str, Any]:
    return {"is_open": True, "color": color, "children": children}


def _unchanged(group: Any) -> Any:
    """``no_update`` in the shape of an output group."""
    return {k: _unchanged(v) for k, v in group.items()} if isinstance(group, dict) else no_update


def _no_alert() -> dict[str, Any]:
    return {"is_open": False, "color": no_update, "children": no_update}


def _opened_form(household_id: int | None) -> dict[str, Any]:
    detail = get_household(household_id) if household_id is not None else None
    values, has_pv, has_battery = form_values(detail)
    note = extra_pv_note(detail)
    return {
        "is_open": True, "title": f"Edit {detail.name}" if detail else "New household", "editing": household_id,
        "values": values, "has_pv": has_pv, "has_battery": has_battery, "tariffs": tariff_options(list_tariffs()),
        "invalid": {p: False for p in FIELD_PATHS}, "feedback": {p: None for p in FIELD_PATHS},
        "alert_open": note is not None, "alert": note, "alert_color": "info", "page_alert": _no_alert(),
    }


def _selected_id(selected_rows: list[dict[str, Any]] | None) -> int | None:
    return selected_rows[0]["id"] if selected_rows else None


@callback(output=FORM, inputs={"n_clicks": Input(ids.HOUSEHOLDS_NEW, "n_clicks")}, prevent_initial_call=True)
def open_new_form(n_clicks):
    """'New household': an empty form with defaults."""
    return _opened_form(None)


@callback(output=FORM, inputs={"n_clicks": Input(ids.HOUSEHOLDS_EDIT, "n_clicks"),
                               "selected": State(ids.HOUSEHOLDS_GRID, "selectedRows")},
          prevent_initial_call=True)
def open_edit_form(n_clicks, selected):
    """'Edit': the form prefilled with the selected household."""
    household_id = _selected_id(selected)
    if household_id is None:
        raise PreventUpdate
    try:
        return _opened_form(household_id)
    except HouseholdNotFound:
        return {**_unchanged(FORM), "page_alert": _alert("warning", "That household no longer exists.")}


@callback(Output(ids.HOUSEHOLDS_FORM_MODAL, "is_open", allow_duplicate=True),
          Input(ids.HOUSEHOLDS_FORM_CANCEL, "n_clicks"), prevent_initial_call=True)
def cancel_form(n_clicks):
    return False


@callback(
    output={"is_open": FORM["is_open"], "invalid": INVALID, "feedback": FEEDBACK, "alert_open": FORM["alert_open"],
            "alert": FORM["alert"], "alert_color": FORM["alert_color"], "page_alert": ALERT, "table": TABLE},
    inputs={"n_clicks": Input(ids.HOUSEHOLDS_FORM_SAVE, "n_clicks"), "editing": State(ids.HOUSEHOLDS_EDITING, "data"),
            "values": FIELD_STATES, "has_pv": State(ids.HOUSEHOLDS_HAS_PV, "value"),
            "has_battery": State(ids.HOUSEHOLDS_HAS_BATTERY, "value")},
    prevent_initial_call=True,
)
def save_household(n_clicks, editing, values, has_pv, has_battery):
    """Create (``editing`` None) or update the household from the form; problems go next to their inputs."""
    try:
        keep = get_household(editing).to_input() if editing is not None else None
        raw = household_raw(values, bool(has_pv), bool(has_battery), keep)
        if editing is None:
            create_household(raw)
            done = f"Household {raw['name']} created."
        else:
            update_household(editing, raw)
            done = f"Household {raw['name']} saved."
    except ValidationProblem as exc:
        by_field = exc.by_field()
        return {
            "is_open": True,
            "invalid": {p: p in by_field for p in FIELD_PATHS},
            "feedback": {p: by_field.get(p) for p in FIELD_PATHS},
            "alert_open": True, "alert_color": "danger",
            # Every message, also those of marked fields that are scrolled out of sight.
            "alert": [html.Strong("Not saved yet:"), html.Ul([html.Li(m) for m in by_field.values()], className="mb-0")],
            "page_alert": _no_alert(), "table": _unchanged(TABLE),
        }
    except HouseholdNotFound:
        done = None
    return {
        "is_open": False, "invalid": {p: False for p in FIELD_PATHS}, "feedback": {p: None for p in FIELD_PATHS},
        # Leave the form's alert as it is: closing it while the modal closes can leave an invisible
        # modal over the page (seen with reduced motion); opening the form resets the alert anyway.
        "alert_open": no_update, "alert": no_update, "alert_color": no_update,
        "page_alert": _alert("success", done) if done else _alert("warning", "That household no longer exists."),
        "table": _table(table_rows()),
    }


@callback(
    Output(ids.HOUSEHOLDS_CONFIRM_MODAL, "is_open", allow_duplicate=True),
    Output(ids.HOUSEHOLDS_CONFIRM_TEXT, "children"),
    Input(ids.HOUSEHOLDS_DELETE, "n_clicks"),
    State(ids.HOUSEHOLDS_GRID, "selectedRows"),
    prevent_initial_call=True,
)
def ask_delete(n_clicks, selected):
    """'Delete': ask first, naming the household and what goes with it."""
    if not selected:
        raise PreventUpdate
    name = selected[0]["name"]
    return True, (f"Delete {name} with its PV systems, battery, meter readings, forecasts and schedules? "
                  "This cannot be undone.")


@callback(Output(ids.HOUSEHOLDS_CONFIRM_MODAL, "is_open", allow_duplicate=True),
          Input(ids.HOUSEHOLDS_CONFIRM_CANCEL, "n_clicks"), prevent_initial_call=True)
def cancel_delete(n_clicks):
    return False


@callback(
    output={"confirm_open": Output(ids.HOUSEHOLDS_CONFIRM_MODAL, "is_open", allow_duplicate=True),
            "page_alert": ALERT, "table": TABLE},
    inputs={"n_clicks": Input(ids.HOUSEHOLDS_CONFIRM_DELETE, "n_clicks"),
            "selected": State(ids.HOUSEHOLDS_GRID, "selectedRows")},
    prevent_initial_call=True,
)
def confirm_delete(n_clicks, selected):
    """Delete the selected household once confirmed."""
    household_id = _selected_id(selected)
    if household_id is None:
        return {"confirm_open": False, "page_alert": _no_alert(), "table": _unchanged(TABLE)}
    try:
        delete_household(household_id)
        alert = _alert("success", f"Household {selected[0]['name']} deleted.")
    except HouseholdNotFound:
        alert = _alert("warning", "That household was already deleted.")
    return {"confirm_open": False, "page_alert": alert, "table": _table(table_rows())}


@callback(
    output={"page_alert": ALERT, "table": TABLE, "contents": Output(ids.HOUSEHOLDS_UPLOAD, "contents")},
    inputs={"contents": Input(ids.HOUSEHOLDS_UPLOAD, "contents"),
            "filename": State(ids.HOUSEHOLDS_UPLOAD, "filename")},
    prevent_initial_call=True,
)
def import_csv(contents, filename):
    """Import the uploaded CSV: all households or none, with every problem listed by line and column."""
    if not contents:
        raise PreventUpdate
    unchanged = _unchanged(TABLE)
    try:
        data = base64.b64decode(contents.split(",", 1)[1], validate=True)
        result = import_households_csv(data)
    except (IndexError, binascii.Error):
        return {"page_alert": _alert("danger", f"{filename or 'The file'} could not be read: upload a CSV file."),
                "table": unchanged, "contents": None}
    except ValidationProblem as exc:
        return {"page_alert": _alert("danger", _problem_report(filename, exc)), "table": unchanged, "contents": None}
    noun = "household" if result.count == 1 else "households"
    # Contents are cleared so that the next upload, even of the same file once fixed, is a change.
    return {"page_alert": _alert("success", f"Imported {result.count} {noun} from {filename or 'the file'}."),
            "table": _table(table_rows()), "contents": None}


def _problem_report(filename: str | None, exc: ValidationProblem) -> list:
    # A list rather than a table: it stays readable on a phone.
    problems = exc.problems
    items = [
        html.Li([html.Strong(", ".join(x for x in (f"Line {p.line}" if p.line is not None else "", p.field) if x)
                             + ": "), p.message])
        for p in problems[:MAX_LISTED_PROBLEMS]
    ]
    more = len(problems) - MAX_LISTED_PROBLEMS
    return [
        html.Strong(f"Nothing was imported from {filename or 'the file'}: "
                    f"{len(problems)} problem{'s' if len(problems) != 1 else ''} to fix."),
        html.Ul(items, className="mt-2 mb-0 ps-3"),
        html.Div(f"… and {more} more.") if more > 0 else None,
    ]


@callback(Output(ids.HOUSEHOLDS_TEMPLATE_DOWNLOAD, "data"), Input(ids.HOUSEHOLDS_TEMPLATE, "n_clicks"),
          prevent_initial_call=True)
def download_template(n_clicks):
    """The CSV template with every column and one example row."""
    return {"content": csv_template(), "filename": "households_template.csv", "type": "text/csv"}


# Switches and selection-dependent buttons need no server: they run in the browser.
clientside_callback("function(on) { return !!on; }", Output(ids.HOUSEHOLDS_PV_SECTION, "is_open"),
                    Input(ids.HOUSEHOLDS_HAS_PV, "value"))
clientside_callback("function(on) { return !!on; }", Output(ids.HOUSEHOLDS_BATTERY_SECTION, "is_open"),
                    Input(ids.HOUSEHOLDS_HAS_BATTERY, "value"))
clientside_callback(
    "function(rows) { var none = !(rows && rows.length); return [none, none]; }",
    Output(ids.HOUSEHOLDS_EDIT, "disabled"), Output(ids.HOUSEHOLDS_DELETE, "disabled"),
    Input(ids.HOUSEHOLDS_GRID, "selectedRows"),
)
