""""Download CSV" buttons for charts and tables, and the response a download callback returns.

Every chart and table offers the data behind it. A page places :func:`csv_button` next to
the chart and writes one callback: button ``n_clicks`` in, ``dcc.Download`` ``data`` out,
calling the same service as the chart and returning :func:`send_csv`.
"""

from __future__ import annotations

import dash_bootstrap_components as dbc
import pandas as pd
from dash import dcc, html

from services.export import frame_to_csv


def csv_button(button_id: str, download_id: str, label: str = "CSV", title: str = "Download the data behind this as CSV"):
    """A small outline button and its ``dcc.Download``, to put in a card header or beside a chart."""
    return html.Span(
        [
            dbc.Button([html.Span("⤓ ", **{"aria-hidden": "true"}), label], id=button_id, size="sm",
                       color="secondary", outline=True, title=title, className="py-0"),
            dcc.Download(id=download_id),
        ],
        className="ms-auto",
    )


def send_csv(frame: pd.DataFrame, filename: str, index: bool = False) -> dict:
    """The ``dcc.Download`` payload for ``frame`` as a CSV file (spreadsheet formulas neutralised)."""
    return dcc.send_string(frame_to_csv(frame, index=index), filename)
