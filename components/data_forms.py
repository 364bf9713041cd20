"""Pieces of the Data page's mapping step: the column table, the preview, and the mapping it describes.

Pure layout and pure transforms (no store access): :func:`mapping_spec` turns what the form
holds into the JSON-like mapping that :func:`services.ingestion.mapping.mapping_from_dict`
validates, and :func:`form_from_spec` goes the other way when a saved mapping is loaded.
"""

from __future__ import annotations

import json
import re
from typing import Any

import dash_bootstrap_components as dbc
from dash import html

from components import ids

#: Column-name fragments that suggest a quantity (first match wins); a person confirms.
_QUANTITY_HINTS = (
    ("soc", "battery_soc"), ("state_of_charge", "battery_soc"), ("discharg", "battery_discharge"),
    ("charg", "battery_charge"), ("export", "grid_export"), ("feed", "grid_export"), ("import", "grid_import"),
    ("grid", "grid_import"), ("solar", "pv"), ("pv", "pv"), ("generation", "pv"), ("load", "load"),
    ("consumption", "load"), ("demand", "load"), ("temp", "temperature"), ("humid", "humidity"),
    ("irradiance", "irradiance"), ("ghi", "irradiance"), ("power", "power"),
)
_HOUSEHOLD_SERIES = frozenset({"load", "pv", "grid_import", "grid_export", "battery_charge", "battery_discharge",
                               "battery_soc"})
_TIME_HINTS = ("timestamp", "time", "date", "datetime", "measured_on", "ts", "zeit", "datum")


def guess_quantity(column: str, quantities: dict[str, str]) -> str:
    """The quantity a column name suggests (``other`` when nothing fits)."""
    name = column.lower()
    for fragment, quantity in _QUANTITY_HINTS:
        if fragment in name and quantity in quantities:
            return quantity
    return "other"


def guess_time_column(columns: list[str]) -> str | None:
    """The column that most likely holds the time, or None (then: start time and step)."""
    for hint in _TIME_HINTS:
        for column in columns:
            if column.strip().lower() == hint:
                return column
    for column in columns:
        if any(h in column.lower() for h in ("time", "date", "zeit", "datum", "measured")):
            return column
    return None


def slug(text: str) -> str:
    """A series name from a column header: lower case, words joined by ``_``."""
    return re.sub(r"[^a-z0-9/]+", "_", text.strip().lower()).strip("_") or "series"


def column_rows(keys: list[str], quantities: dict[str, str], saved: dict[str, dict] | None = None) -> list[dict]:
    """Initial rows of the mapping table for ``keys`` (file columns, or series names of a long file).

    ``saved`` maps a key to a saved :class:`ColumnSpec`-like dict, which wins over guesses.
    """
    rows = []
    for key in keys:
        spec = (saved or {}).get(key)
        if spec is not None:
            rows.append({"key": key, "use": True, "series": spec.get("series") or key,
                         "quantity": spec["quantity"], "unit": spec["unit"], "scale": spec.get("scale", 1.0),
                         "per_kwp": bool(spec.get("per_kwp", False))})
            continue
        quantity = guess_quantity(key, quantities)
        # A household's energy flows are conventionally one series per quantity ("pv", "load");
        # sensors keep the column's name (several temperatures per home).
        series = quantity if quantity in _HOUSEHOLD_SERIES else slug(key)
        rows.append({"key": key, "use": quantity != "other" or not saved, "series": series,
                     "quantity": quantity, "unit": quantities.get(quantity, ""), "scale": 1.0, "per_kwp": False})
    return rows


def column_table(rows: list[dict], quantities: dict[str, str]) -> html.Div:
    """The table where each file column (or series of a long file) is mapped to a series."""
    if not rows:
        return html.P("Upload a file to map its columns.", className="text-body-secondary")
    options = [{"label": f"{q} ({u})" if u else q, "value": q} for q, u in quantities.items()]
    header = html.Thead(html.Tr([html.Th("Use"), html.Th("Column"), html.Th("Series"), html.Th("Quantity"),
                                 html.Th("Unit"), html.Th("Scale"), html.Th("× kWp")]))
    body = []
    for i, row in enumerate(rows):
        key = row["key"]
        body.append(html.Tr([
            html.Td(dbc.Checkbox(id=ids.data_column("use", i), value=row["use"],
                                 label=html.Span(f"use {key}", className="visually-hidden"))),
            html.Td(html.Code(key), className="text-nowrap"),
            html.Td(_labelled(f"series name for {key}", dbc.Input(
                id=ids.data_column("series", i), value=row["series"], size="sm", style={"minWidth": "8rem"}))),
            html.Td(_labelled(f"quantity of {key}", dbc.Select(
                id=ids.data_column("quantity", i), options=options, value=row["quantity"], size="sm",
                style={"minWidth": "9rem"}))),
            html.Td(_labelled(f"unit of {key}", dbc.Input(
                id=ids.data_column("unit", i), value=row["unit"], size="sm", style={"width": "5.5rem"}))),
            html.Td(_labelled(f"scale factor of {key}", dbc.Input(
                id=ids.data_column("scale", i), value=row["scale"], type="number", size="sm",
                style={"width": "6rem"}))),
            html.Td(dbc.Checkbox(id=ids.data_column("per_kwp", i), value=row["per_kwp"],
                                 label=html.Span(f"{key} per kWp of PV", className="visually-hidden"))),
        ]))
    return html.Div(dbc.Table([header, html.Tbody(body)], size="sm", className="align-middle mb-0"),
                    className="table-responsive")


def _labelled(text: str, control) -> list:
    """``control`` with a label only screen readers see (the table's header names it for the eye)."""
    dom_id = json.dumps(control.id, sort_keys=True, separators=(",", ":"))  # how Dash renders a dict id
    return [html.Label(text, htmlFor=dom_id, className="visually-hidden"), control]


def preview_table(columns: list[str], records: list[dict[str, Any]]) -> html.Div:
    """The first rows of the uploaded file, as text."""
    head = html.Thead(html.Tr([html.Th(c) for c in columns]))
    body = html.Tbody([html.Tr([html.Td(r.get(c, "")) for c in columns]) for r in records])
    return html.Div(dbc.Table([head, body], size="sm", striped=True, className="mb-0 small"),
                    className="table-responsive preview-table")


def mapping_spec(form: dict[str, Any], keys: list[str], columns: dict[str, list]) -> dict[str, Any]:
    """The mapping the form describes, as JSON-like data (validated later by the ingestion service).

    ``form`` holds ``name``, ``household``, ``layout``, ``time_source`` (``column`` or ``start``),
    ``ts_column``, ``ts_format``, ``timezone``, ``start``, ``step``, ``series_column``,
    ``value_column``; ``columns`` holds one list per field of :data:`ids.DATA_COL_FIELDS`, in the
    order of ``keys``.
    """
    time: dict[str, Any] = {}
    if form.get("time_source") == "start":
        time["start"] = (form.get("start") or "").strip() or None
        time["step_s"] = _int(form.get("step"))
    else:
        time["column"] = form.get("ts_column") or None
        time["format"] = (form.get("ts_format") or "").strip() or None
    time["timezone"] = (form.get("timezone") or "").strip() or None
    specs = []
    for i, key in enumerate(keys):
        if not _at(columns, "use", i):
            continue
        specs.append({
            "column": key, "series": (_at(columns, "series", i) or "").strip() or None,
            "quantity": _at(columns, "quantity", i) or "other", "unit": (_at(columns, "unit", i) or "").strip(),
            "scale": _float(_at(columns, "scale", i), 1.0), "per_kwp": bool(_at(columns, "per_kwp", i)),
        })
    spec: dict[str, Any] = {
        "name": (form.get("name") or "").strip() or "upload", "layout": form.get("layout") or "wide",
        "household_id": _int(form.get("household")), "time": {k: v for k, v in time.items() if v is not None},
        "columns": specs,
    }
    if spec["layout"] == "long":
        spec["series_column"] = form.get("series_column") or None
        spec["value_column"] = form.get("value_column") or None
    return {k: v for k, v in spec.items() if v is not None}


def form_from_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """The form values of a saved mapping (the inverse of :func:`mapping_spec`)."""
    time = spec.get("time", {})
    return {
        "name": spec.get("name", ""), "household": str(spec["household_id"]) if spec.get("household_id") else None,
        "layout": spec.get("layout", "wide"), "time_source": "column" if time.get("column") else "start",
        "ts_column": time.get("column"), "ts_format": time.get("format") or "", "timezone": time.get("timezone") or "",
        "start": time.get("start") or "", "step": time.get("step_s"),
        "series_column": spec.get("series_column"), "value_column": spec.get("value_column"),
    }


def _at(columns: dict[str, list], field: str, i: int):
    values = columns.get(field) or []
    return values[i] if i < len(values) else None


def _int(value) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _float(value, default: float) -> float:
    try:
        return float(value) if value not in (None, "") else default
    except (TypeError, ValueError):
        return default
