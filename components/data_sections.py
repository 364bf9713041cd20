"""The Data page's tables and summaries: batch history, data quality and devices (rows and layout)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html

from components import ids
from components.downloads import grid_csv_button, register_grid_csv
from components.grid import data_grid
from components.roles import for_writers
from components.theme import GRAPH_CONFIG, HIDDEN, SHOWN, empty_figure
from services.quality import QUALITY_LABELS

BATCH_COLUMNS = [
    {"field": "started", "headerName": "Started (UTC)", "minWidth": 150, "sort": "desc"},
    {"field": "source", "headerName": "Source", "minWidth": 150, "flex": 2, "tooltipField": "message"},
    {"field": "channel", "headerName": "Channel", "minWidth": 90, "maxWidth": 110},
    {"field": "status", "headerName": "Status", "minWidth": 90, "maxWidth": 110},
    {"field": "received", "headerName": "Received", "type": "numericColumn", "minWidth": 100},
    {"field": "inserted", "headerName": "Inserted", "type": "numericColumn", "minWidth": 100},
    {"field": "updated", "headerName": "Updated", "type": "numericColumn", "minWidth": 100},
    {"field": "unchanged", "headerName": "Unchanged", "type": "numericColumn", "minWidth": 110},
    {"field": "rejected", "headerName": "Rejected", "type": "numericColumn", "minWidth": 100,
     "tooltipField": "reasons"},
    {"field": "meter_events", "headerName": "Meter resets / rollovers", "type": "numericColumn", "minWidth": 120,
     "tooltipField": "events"},
]
ISSUE_COLUMNS = [
    {"field": "kind", "headerName": "Check", "minWidth": 100, "maxWidth": 130},
    {"field": "series", "headerName": "Series", "minWidth": 120, "maxWidth": 200},
    {"field": "start", "headerName": "From (UTC)", "minWidth": 140, "maxWidth": 170},
    {"field": "message", "headerName": "Finding", "minWidth": 240, "flex": 3, "wrapText": True, "autoHeight": True},
]
DEVICE_COLUMNS = [
    {"field": "household", "headerName": "Household", "minWidth": 150, "flex": 2},
    {"field": "name", "headerName": "Device", "minWidth": 130, "flex": 2},
    {"field": "kind", "headerName": "Kind", "minWidth": 110},
    # The -emphasis colours keep their contrast in dark mode too.
    {"field": "status", "headerName": "Status", "minWidth": 100, "cellClassRules": {
        "text-success-emphasis fw-semibold": "params.value == 'online'",
        "text-danger-emphasis fw-semibold": "params.value == 'offline'"}},
    {"field": "last_seen", "headerName": "Last seen (UTC)", "minWidth": 150},
    {"field": "review", "headerName": "Review", "minWidth": 110, "cellClassRules": {
        "text-warning-emphasis fw-semibold": "params.value == 'needs review'"}},
    {"field": "external_id", "headerName": "Id on the wire", "minWidth": 120},
    {"field": "metrics", "headerName": "Metrics", "minWidth": 150, "flex": 2},
]
SELECT_ONE = {"rowSelection": {"mode": "singleRow", "checkboxes": False, "enableClickSelection": True}}


def batch_rows(batches) -> list[dict[str, Any]]:
    """Grid rows of :class:`services.ingestion.history.BatchSummary` objects; the rejected count's tooltip
    gives the count of every reason, the meter events' tooltip each reset and rollover."""
    return [{"id": b.id, "key": str(b.id), "started": _when(b.started_at), "source": b.source, "channel": b.channel,
             "status": b.status, "received": b.received, "inserted": b.inserted, "updated": b.updated,
             "unchanged": b.unchanged, "rejected": b.rejected, "message": b.message,
             "reasons": "\n".join(f"{r.count:,} x {r.field or 'row'}: {r.example}" for r in b.rejected_by_reason),
             "meter_events": b.meter_event_count,
             "events": "\n".join(e.describe() for e in b.meter_events[:MAX_LISTED])} for b in batches]


#: Reasons, examples and meter events listed in a batch report (the rest: the CSV and the history).
MAX_LISTED = 10


def batch_report(report: dict) -> dbc.Alert:
    """What a batch did (:meth:`services.ingestion.IngestReport.as_result`, an ``ingest_upload``
    job's result), in one alert: counts, the meter register resets and rollovers (how many, and
    when), every kind of rejection reason with its count, and the first rejected rows."""
    color = "success" if not report["rejected"] else "warning"
    lines = [html.H2("Batch report", className="h6"),
             html.P(f"Batch {report['batch_id']}: {report['summary']}.", className="mb-1", id=ids.DATA_REPORT_SUMMARY)]
    events, total = report.get("events", []), report.get("event_total", 0)
    if total:
        counts = ", ".join(f"{n} {kind}{'s' if n > 1 else ''}" for kind, n in report["event_counts"].items())
        lines.append(html.P(f"Meter registers: {counts}. The energy across a reset or rollover is counted from the "
                            "register's new start; check that the meter was replaced or wrapped then:",
                            className="mb-1"))
        shown = [html.Li(text) for text in events[:MAX_LISTED]]
        if total > len(shown):
            shown.append(html.Li(f"... and {total - len(shown)} more (Batch history, Meter resets column)"))
        lines.append(html.Ul(shown, className="mb-2 small", id=ids.DATA_REPORT_EVENTS))
    if report["rejected"]:
        rejected = report["rejected"]
        lines.append(html.P(f"The valid rows are stored. {rejected:,} {'row was' if rejected == 1 else 'rows were'} "
                            "rejected, by reason:", className="mb-1"))
        lines.append(html.Ul([html.Li(text) for text in report.get("reason_lines", [])[:MAX_LISTED]],
                             className="mb-2 small", id=ids.DATA_REPORT_REASONS))
        kept = report.get("rejection_total", 0)
        lines.append(html.P(f"First rejected rows ({kept:,} {'example' if kept == 1 else 'examples'} covering every "
                            "reason in the CSV download under Batch history):", className="mb-1"))
        lines.append(html.Ul([html.Li(f"line {r['line']}, {r['field']}: {r['reason']}")
                              for r in report["rejections"][:MAX_LISTED]], className="mb-0 small"))
    return dbc.Alert(lines, color=color, className="mb-0")


def device_rows(devices) -> list[dict[str, Any]]:
    """Grid rows of :class:`services.iot.DeviceInfo` objects."""
    return [{"id": d.id, "key": str(d.id), "household_id": d.household_id, "household": d.household_name,
             "name": d.name, "kind": d.kind.replace("_", " "), "status": d.status,
             "last_seen": _when(d.last_seen_at) + (f" ({_ago(d.silent_for)} ago)" if d.silent_for else ""),
             "review": "needs review" if d.needs_review else "confirmed", "external_id": d.external_id or "—",
             "metrics": ", ".join(d.metrics) or "—"} for d in devices]


def issue_rows(issues) -> list[dict[str, Any]]:
    """Grid rows of :class:`services.quality.Issue` objects."""
    return [{"kind": i.kind, "series": i.series, "start": _when(i.start), "message": i.message} for i in issues]


def quality_summary(counts: dict[str, int], pv_message: str | None) -> html.Div:
    """Badges with the count of each finding, and the PV verdict in words."""
    badges = [dbc.Badge(f"{counts.get(k, 0)} {label}", color="danger" if counts.get(k) else "success",
                        className="me-2 mb-1", pill=True) for k, label in QUALITY_LABELS.items()]
    children = [html.Div(badges)]
    if pv_message:
        children.append(html.P(pv_message[:1].upper() + pv_message[1:] + ".", className="mb-0 mt-1 small"))
    return html.Div(children)


def upload_card(max_mb: int) -> dbc.Card:
    """Step 1: the file, with its size limit said up front."""
    return dbc.Card(dbc.CardBody([
        html.H2("Upload readings", className="h5"),
        dcc.Upload(
            html.Div(["Drag a file here or ", html.A("choose one", href="#")]),
            id=ids.DATA_UPLOAD, multiple=False, className="data-upload",
            style={"border": "1px dashed var(--bs-border-color)", "borderRadius": ".5rem", "padding": "1.25rem",
                   "textAlign": "center"},
            accept=".csv,.txt,.tsv,.xlsx,.xlsm,.parquet,.pq,text/csv",
        ),
        html.P([f"CSV (comma or semicolon, decimal point or comma), Excel or Parquet, up to {max_mb} MB. "
                "Larger files: ", html.Code("flask --app app ingest FILE --mapping NAME"), "."],
               id=ids.DATA_UPLOAD_NOTE, className="small text-body-secondary mt-2 mb-0"),
        dbc.Alert(id=ids.DATA_UPLOAD_ALERT, is_open=False, className="mt-2 mb-0"),
        dcc.Loading(html.Div(id=ids.DATA_PREVIEW, className="mt-2"), type="dot"),
    ]), className="mb-3")


def history_card(rows: list[dict]) -> dbc.Card:
    """Batch history with the download of a batch's rejected rows."""
    grid = data_grid(ids.DATA_BATCHES_GRID, BATCH_COLUMNS, rows, grid_options={**SELECT_ONE, "paginationPageSize": 10,
                     "paginationPageSizeSelector": False, "tooltipShowDelay": 300}, getRowId="params.data.key")
    return dbc.Card(dbc.CardBody([
        html.Div([
            html.H2("Batch history", className="h5 mb-0 me-auto"),
            dbc.Button("Refresh", id=ids.DATA_BATCHES_REFRESH, color="secondary", outline=True, size="sm"),
            dbc.Button("Download rejected rows (CSV)", id=ids.DATA_REJECTIONS_BUTTON, color="secondary",
                       outline=True, size="sm", disabled=True, title="Select a batch with rejected rows first"),
            dcc.Download(id=ids.DATA_REJECTIONS_DOWNLOAD),
            grid_csv_button(ids.DATA_BATCHES_GRID, class_name=""),
        ], className="d-flex flex-wrap gap-2 align-items-center mb-2"),
        html.Div([html.H2("No batches yet"), html.P("Upload a file above, or send readings to the API or MQTT.")],
                 id=ids.DATA_BATCHES_EMPTY, className="empty-state", style=HIDDEN if rows else SHOWN),
        html.Div(grid, style=SHOWN if rows else HIDDEN, id=f"{ids.DATA_BATCHES_GRID}-wrap"),
    ]), className="mb-3")


def quality_card(household_options: list[dict], selected: str | None) -> dbc.Card:
    """Data-quality results of one household: counts, a timeline of gaps and the findings."""
    if not household_options:
        body = [html.H2("Data quality", className="h5"),
                html.Div([html.H2("No households yet"), html.P("Add households, then bring in their readings.")],
                         className="empty-state")]
        return dbc.Card(dbc.CardBody(body), className="mb-3")
    return dbc.Card(dbc.CardBody([
        dbc.Row([
            dbc.Col(html.H2("Data quality", className="h5 mb-0"), xs=12, md=True),
            dbc.Col([dbc.Label("Household to check", html_for=ids.DATA_QUALITY_HOUSEHOLD, className="visually-hidden"),
                     dbc.Select(id=ids.DATA_QUALITY_HOUSEHOLD, options=household_options, value=selected)],
                    xs=True, md=5),
            dbc.Col(grid_csv_button(ids.DATA_QUALITY_ISSUES), width="auto"),
        ], className="g-2 align-items-center mb-2"),
        dcc.Loading([
            html.Div(id=ids.DATA_QUALITY_SUMMARY, className="mb-2"),
            dcc.Graph(id=ids.DATA_QUALITY_TIMELINE, figure=empty_figure("Choose a household"),
                      config=GRAPH_CONFIG),
            data_grid(ids.DATA_QUALITY_ISSUES, ISSUE_COLUMNS, [], grid_options={
                "paginationPageSize": 10, "paginationPageSizeSelector": False,
                "localeText": {"noRowsToShow": "No problems found in this household's readings."}}),
        ], type="dot"),
    ]), className="mb-3")


def devices_card(rows: list[dict]) -> dbc.Card:
    """IoT devices with their status; devices registered from a stream wait for a person to confirm."""
    grid = data_grid(ids.DATA_DEVICES_GRID, DEVICE_COLUMNS, rows, grid_options={**SELECT_ONE,
                     "paginationPageSize": 10, "paginationPageSizeSelector": False}, getRowId="params.data.key")
    return dbc.Card(dbc.CardBody([
        html.Div([
            html.H2("Devices", className="h5 mb-0 me-auto"),
            for_writers(dbc.Button("Confirm device", id=ids.DATA_DEVICE_CONFIRM, color="primary", outline=True,
                                   size="sm", disabled=True, title="Select a device that needs review")),
            grid_csv_button(ids.DATA_DEVICES_GRID, class_name=""),
        ], className="d-flex flex-wrap gap-2 align-items-center mb-2"),
        dbc.Alert(id=ids.DATA_DEVICES_ALERT, is_open=False, dismissable=True),
        html.Div([html.H2("No devices yet"),
                  html.P("Devices appear when they first send readings over MQTT (energy/<household>/<device>/"
                         "<metric>), or with the demo portfolio.")],
                 id=ids.DATA_DEVICES_EMPTY, className="empty-state", style=HIDDEN if rows else SHOWN),
        html.Div(grid, style=SHOWN if rows else HIDDEN, id=f"{ids.DATA_DEVICES_GRID}-wrap"),
    ]), className="mb-3")


# The CSV button of each table sends its rows as shown; the findings' CSV is also the data of the timeline.
register_grid_csv(ids.DATA_BATCHES_GRID, "ingestion-batches.csv")
register_grid_csv(ids.DATA_QUALITY_ISSUES, "data-quality-findings.csv")
register_grid_csv(ids.DATA_DEVICES_GRID, "devices.csv")


def _when(instant: datetime | None) -> str:
    return instant.strftime("%Y-%m-%d %H:%M") if instant else "—"


def _ago(delta: timedelta) -> str:
    minutes = delta.total_seconds() / 60
    if minutes < 90:
        return f"{minutes:.0f} min"
    if minutes < 48 * 60:
        return f"{minutes / 60:.0f} h"
    return f"{minutes / 1440:.0f} days"
