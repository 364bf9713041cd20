"""The Data page's card of recent MQTT rejections: messages set aside so that the stream goes on."""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import html

from components import ids
from components.grid import data_grid
from components.theme import HIDDEN, SHOWN

#: Rejections listed on the card (the newest first).
SHOWN_REJECTIONS = 50

REJECTION_COLUMNS = [
    {"field": "when", "headerName": "Rejected (UTC)", "minWidth": 150, "maxWidth": 170, "sort": "desc"},
    {"field": "topic", "headerName": "Topic", "minWidth": 160, "flex": 2, "tooltipField": "topic"},
    {"field": "field", "headerName": "Field", "minWidth": 90, "maxWidth": 110},
    {"field": "reason", "headerName": "Reason", "minWidth": 240, "flex": 3, "wrapText": True, "autoHeight": True},
    {"field": "payload", "headerName": "Payload (excerpt)", "minWidth": 200, "flex": 2, "tooltipField": "payload"},
]


def mqtt_rejection_rows(rejections) -> list[dict[str, Any]]:
    """Grid rows of :class:`services.iot.rejections.MessageRejection` objects."""
    return [{"key": str(i), "when": r.rejected_at.strftime("%Y-%m-%d %H:%M:%S") if r.rejected_at else "—",
             "topic": r.topic, "field": r.field, "reason": r.reason, "payload": r.payload}
            for i, r in enumerate(rejections)]


def mqtt_rejections_card(rows: list[dict]) -> dbc.Card:
    """Recent MQTT messages that were acknowledged without being stored, with the reason."""
    grid = data_grid(ids.DATA_MQTT_REJECTIONS_GRID, REJECTION_COLUMNS, rows,
                     grid_options={"paginationPageSize": 10, "paginationPageSizeSelector": False,
                                   "tooltipShowDelay": 300}, getRowId="params.data.key")
    return dbc.Card(dbc.CardBody([
        html.Div([
            html.H2("MQTT rejections", className="h5 mb-0 me-auto"),
            dbc.Button("Refresh", id=ids.DATA_MQTT_REJECTIONS_REFRESH, color="secondary", outline=True, size="sm"),
        ], className="d-flex flex-wrap gap-2 align-items-center mb-2"),
        html.P(f"The newest {SHOWN_REJECTIONS} messages the listener set aside: the stream went on without them, "
               "and the broker will not send them again. Fix the sender, then re-send the readings.",
               className="small text-body-secondary mb-2"),
        html.Div([html.H2("No MQTT rejections"),
                  html.P('Every message received so far was a reading: energy/<household>/<device>/<metric> with '
                         '{"ts": ..., "value": ..., "unit": ...}.')],
                 id=ids.DATA_MQTT_REJECTIONS_EMPTY, className="empty-state", style=HIDDEN if rows else SHOWN),
        html.Div(grid, style=SHOWN if rows else HIDDEN, id=f"{ids.DATA_MQTT_REJECTIONS_GRID}-wrap"),
    ]), className="mb-3")
