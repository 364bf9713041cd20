""""Download CSV" buttons for charts and tables, and the response a download callback returns.

Every chart and table offers the data behind it. A page places :func:`csv_button` next to
the chart and writes one callback: button ``n_clicks`` in, ``dcc.Download`` ``data`` out,
calling the same service as the chart and returning :func:`send_csv`. A table (dash-ag-grid)
needs no callback of its own: :func:`grid_csv_button` in the layout and one
:func:`register_grid_csv` at import send its rows as shown.
"""

from __future__ import annotations

import re

import dash_bootstrap_components as dbc
import pandas as pd
from dash import Input, Output, State, callback, dcc, html

from components import ids
from services.export import frame_to_csv


def csv_button(button_id: str, download_id: str, label: str = "CSV", title: str = "Download the data behind this as CSV",
               class_name: str = "ms-auto"):
    """A small outline button and its ``dcc.Download``, to put in a card header or beside a chart
    (pushed to the right of its flex row unless ``class_name`` says otherwise)."""
    return html.Span(
        [
            dbc.Button([html.Span("⤓ ", **{"aria-hidden": "true"}), label], id=button_id, size="sm",
                       color="secondary", outline=True, title=title, className="py-0"),
            dcc.Download(id=download_id),
        ],
        className=class_name,
    )


def send_csv(frame: pd.DataFrame, filename: str, index: bool = False) -> dict:
    """The ``dcc.Download`` payload for ``frame`` as a CSV file (spreadsheet formulas neutralised)."""
    return dcc.send_string(frame_to_csv(frame, index=index), filename)


# --- tables: the rows a grid shows, as CSV, with one registration per grid ---------------------------

#: A markdown link cell (``[Name](/household/3)``, brackets in the name escaped) and its text.
_MARKDOWN_LINK = re.compile(r"^\[(?P<text>.*)\]\([^)]*\)$", re.S)


def grid_csv_button(grid_id: str, label: str = "CSV", class_name: str = "ms-auto") -> html.Span:
    """The CSV button of grid ``grid_id``; :func:`register_grid_csv` wires it (once, at import)."""
    return csv_button(ids.csv_button_id(grid_id), ids.csv_download_id(grid_id), label,
                      title="Download the rows of this table as shown (filtered and sorted) as CSV", class_name=class_name)


def grid_frame(rows: list[dict] | None, column_defs: list[dict]) -> pd.DataFrame:
    """The rows of a dash-ag-grid as a table: its columns in their order, named by their header
    (which carries the unit, e.g. ``Consumption kWh``), raw values (not the formatted text), and a
    markdown link cell reduced to its text."""
    columns = [c for c in column_defs if c.get("field")]
    frame = pd.DataFrame(rows or [], columns=[c["field"] for c in columns])
    for column in columns:
        if column.get("cellRenderer") == "markdown":
            frame[column["field"]] = frame[column["field"]].map(_link_text)
    return frame.rename(columns={c["field"]: c.get("headerName") or c["field"] for c in columns})


def register_grid_csv(grid_id: str, filename: str):
    """Register the callback behind :func:`grid_csv_button` of ``grid_id``: the rows as the grid
    shows them (``virtualRowData``: after filter and sort; all rows before the grid reported them)
    as ``filename``. Returns the callback (a plain function: rows, rowData, columnDefs -> payload)."""

    @callback(Output(ids.csv_download_id(grid_id), "data"), Input(ids.csv_button_id(grid_id), "n_clicks"),
              State(grid_id, "virtualRowData"), State(grid_id, "rowData"), State(grid_id, "columnDefs"),
              prevent_initial_call=True)
    def download_grid_csv(_n_clicks, shown_rows, rows, column_defs):
        return send_csv(grid_frame(shown_rows if shown_rows is not None else rows, column_defs or []), filename)

    return download_grid_csv


def _link_text(value):
    if not isinstance(value, str):
        return value
    match = _MARKDOWN_LINK.match(value)
    return match.group("text").replace("\\[", "[").replace("\\]", "]") if match else value
