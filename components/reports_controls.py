"""Layout pieces of the Reports page (/reports): households, period and download cards. No callbacks."""

from __future__ import annotations

from datetime import date

import dash_bootstrap_components as dbc
from dash import dcc, html

from components import ids
from components.period import day_range_picker
from components.roles import can_write, for_writers, viewer_note
from components.theme import HIDDEN

#: What each download holds, shown under its button.
FORMAT_HELP = {
    "pdf": ("PDF", "A printable report per household: KPIs, charts, battery savings, data quality. "
                   "Several households: a ZIP with one PDF each, ready to send to each household."),
    "xlsx": ("Excel", "One workbook: a sheet per table (KPIs per household, daily and monthly energy, "
                      "quality notes, households), units in the headers."),
    "csv": ("CSV", "A ZIP of CSV files: KPIs, daily and monthly energy, hourly series for periods "
                   "up to 45 days, quality notes."),
    "html": ("Interactive HTML", "One self-contained page with zoomable charts; opens offline in any browser."),
}


def households_card(options: list[dict], value: list[int]) -> dbc.Card:
    """The households to report on (one or many), with "all" and "none" shortcuts."""
    return dbc.Card(dbc.CardBody([
        html.H2("Households", className="h5"),
        dbc.Label("Choose one or more households", html_for=ids.REPORTS_HOUSEHOLDS, className="small mb-1"),
        dcc.Dropdown(id=ids.REPORTS_HOUSEHOLDS, options=options, value=value, multi=True,
                     placeholder="Type a name…", clearable=True),
        html.Div([
            dbc.Button("All households", id=ids.REPORTS_SELECT_ALL, size="sm", color="secondary", outline=True),
            dbc.Button("None", id=ids.REPORTS_SELECT_NONE, size="sm", color="secondary", outline=True),
        ], className="d-flex gap-2 mt-2"),
        dbc.FormText("One household: its report downloads straight away. Several: they are built in the "
                     "background with a progress bar."),
    ]), className="shadow-sm h-100")


def period_card(months: list[dict], month: str | None, years: list[dict], year: str | None,
                start: date, end: date, available: tuple[date, date]) -> dbc.Card:
    """Monthly (a month), annual (a year) or exact dates, in the households' local days."""
    return dbc.Card(dbc.CardBody([
        html.H2("Period", className="h5"),
        dbc.RadioItems(id=ids.REPORTS_PERIOD_KIND, value="month", inline=True, className="mb-2",
                       options=[{"label": "Month", "value": "month"}, {"label": "Year", "value": "year"},
                                {"label": "Exact dates", "value": "custom"}]),
        html.Div([dbc.Label("Month", html_for=ids.REPORTS_MONTH, className="small mb-1"),
                  dcc.Dropdown(id=ids.REPORTS_MONTH, options=months, value=month, clearable=False)],
                 id=ids.REPORTS_MONTH_FIELD),
        html.Div([dbc.Label("Year", html_for=ids.REPORTS_YEAR, className="small mb-1"),
                  dcc.Dropdown(id=ids.REPORTS_YEAR, options=years, value=year, clearable=False)],
                 id=ids.REPORTS_YEAR_FIELD, style=HIDDEN),
        html.Div([dbc.Label("First and last day", html_for=ids.REPORTS_RANGE, className="small mb-1 d-block"),
                  day_range_picker(ids.REPORTS_RANGE, start, end, available)],
                 id=ids.REPORTS_RANGE_FIELD, style=HIDDEN),
        dbc.FormText(f"Data from {available[0].isoformat()} to {available[1].isoformat()}. "
                     "Days are each household's local calendar days."),
    ]), className="shadow-sm h-100")


def download_card() -> dbc.Card:
    """A button per format, the progress of a background job, and what happened."""
    buttons, writable = [], can_write()
    for fmt in ids.REPORTS_FORMATS:
        label, help_text = FORMAT_HELP[fmt]
        buttons.append(dbc.Col([
            dbc.Button([html.Span("⤓ ", **{"aria-hidden": "true"}), label], id=ids.reports_button(fmt),
                       color="primary" if fmt == "pdf" else "secondary", outline=fmt != "pdf", className="w-100"),
            html.Div(help_text, className="small text-body-secondary mt-1"),
        ], xs=12, sm=6, lg=3))
    return dbc.Card(dbc.CardBody([
        html.H2("Download", className="h5"),
        viewer_note("Making reports needs the manager role.", writable),
        for_writers(dbc.Row(buttons, className="g-3"), writable),
        dcc.Loading(html.Div(id=ids.REPORTS_STATUS, className="mt-3", role="status"), type="dot"),
        dbc.Progress(id=ids.REPORTS_PROGRESS, value=0, label="", className="my-2", style=HIDDEN),
        for_writers(dbc.Button("Cancel", id=ids.REPORTS_CANCEL, size="sm", color="secondary", outline=True,
                               style=HIDDEN), writable),
        html.Div(id=ids.REPORTS_JOB_STATUS, className="mt-2", role="status"),
        dcc.Download(id=ids.REPORTS_DOWNLOAD),
        dcc.Download(id=ids.REPORTS_DOWNLOAD_MANY),
        dcc.Store(id=ids.REPORTS_MANY_FILE),  # the id of the file a background job stored
        dcc.Store(id=ids.REPORTS_JOB_ID),  # the running report job, for Cancel
        dcc.Store(id=ids.REPORTS_REQUEST_ONE),
        dcc.Store(id=ids.REPORTS_REQUEST_MANY),
    ]), className="shadow-sm mt-3")
