"""Controls and cards of the household explorer: period, resolution, view and comparison pickers,
chart cards with a CSV button and a loading state, and the KPI changes against another period."""

from __future__ import annotations

from datetime import date

import dash_bootstrap_components as dbc
from dash import dcc, html

from components import ids
from components.downloads import csv_button
from components.format import MISSING, format_money
from components.period import day_range_picker
from components.theme import GRAPH_CONFIG, HIDDEN, empty_figure

#: Resolution choices offered; ``auto`` follows the period's length.
RESOLUTION_OPTIONS = {"auto": "Auto", "15min": "15 min", "hour": "Hour", "day": "Day", "month": "Month"}
VIEW_OPTIONS = {"energy": "kWh", "power": "kW"}
#: Short names of the comparisons, for the KPI cards.
COMPARED_WITH = {"previous": "previous", "year": "year before"}
#: What each chart shows, under its title.
SUBTITLES = {
    "flows": "Above zero, what supplied the home (PV, battery, grid); below, PV and battery energy that went into "
             "the battery or the grid. kWh per step, or kW averaged over each step.",
    "comparison": "Consumption and PV: solid for the chosen period, dotted for the period compared with, "
                  "shifted onto the same days.",
    "sankey": "The period's energy from PV, grid and battery to the home, the battery and the grid [kWh].",
    "cost": "Import cost above zero, feed-in revenue below; the line is the net cost so far (right axis).",
    "heatmap": "kWh in each local hour. On the day clocks go forward one hour is empty; on the day they go back, "
               "the repeated hour holds both.",
}


def segmented(control_id: str, options: dict[str, str], value: str, label: str) -> html.Div:
    """A labelled row of toggle buttons (radio inputs: Tab reaches the group, arrow keys choose)."""
    return html.Fieldset(
        [
            html.Legend(label, className="small text-body-secondary mb-1", style={"fontSize": ".875rem"}),
            dbc.RadioItems(
                id=control_id, value=value, options=[{"label": v, "value": k} for k, v in options.items()],
                className="btn-group btn-group-sm flex-wrap segmented", inputClassName="btn-check",
                labelClassName="btn btn-outline-secondary", labelCheckedClassName="active",
            ),
        ],
        className="m-0 p-0 border-0",
    )


def controls_card(presets: dict[str, str], preset: str, start: date, end: date, available: tuple[date, date],
                  comparisons: dict[str, str]) -> dbc.Card:
    """Period (preset and exact days), resolution, kWh/kW view and comparison, in one card."""
    period = html.Div([
        dbc.Label("Period", html_for=ids.HOUSEHOLD_PRESET, className="small text-body-secondary mb-1"),
        html.Div([
            dcc.Dropdown(id=ids.HOUSEHOLD_PRESET, options=[{"label": v, "value": k} for k, v in presets.items()],
                         value=preset, clearable=False, searchable=False, style={"minWidth": "10rem"}),
            day_range_picker(ids.HOUSEHOLD_RANGE, start, end, available),
        ], className="d-flex flex-wrap gap-2 align-items-center"),
    ])
    return dbc.Card(dbc.CardBody(dbc.Row([
        dbc.Col(period, xs=12, lg="auto"),
        dbc.Col(segmented(ids.HOUSEHOLD_RESOLUTION, RESOLUTION_OPTIONS, "auto", "Resolution"), xs=12, sm="auto"),
        dbc.Col(segmented(ids.HOUSEHOLD_VIEW, VIEW_OPTIONS, "energy", "Show"), xs="auto"),
        dbc.Col(segmented(ids.HOUSEHOLD_COMPARE, comparisons, "none", "Compare with"), xs=12, sm="auto"),
    ], className="g-3 align-items-end")), className="mb-2 shadow-sm")


def chart_card(title: str, graph_id: str, chart: str, subtitle: str = "", height: str = "380px", below=None,
               style: dict | None = None, card_id: str | None = None) -> dbc.Card:
    """A card with a title, what the chart shows (``subtitle``, wraps on a phone where a figure
    title would be cut), a CSV button for the data behind it, and the chart in a loading state."""
    header = dbc.CardHeader([
        html.Div([html.H2(title, className="h6 mb-0"),
                  csv_button(ids.household_csv_button(chart), ids.household_download(chart),
                             title=f"Download the data behind “{title}” as CSV")],
                 className="d-flex align-items-center gap-2"),
        html.Small(subtitle, className="text-body-secondary") if subtitle else None,
    ])
    body = [dcc.Loading(dcc.Graph(id=graph_id, figure=empty_figure("Loading…"), config=GRAPH_CONFIG,
                                  style={"height": height}), type="dot")]
    if below is not None:
        body.append(below)
    extra = {"id": card_id} if card_id else {}
    return dbc.Card([header, dbc.CardBody(body, className="p-1 p-sm-2")], className="mb-3 shadow-sm h-100",
                    style=style or {}, **extra)


def kpi_changes(now: dict, before: dict | None, mode: str, currency: str, prefix: str = "household") -> dict:
    """A note per KPI card: how the value changed against the period compared with.

    Energies change in per cent, ratios in percentage points, cost in money; ``now`` and
    ``before`` map KPI keys to values (``services.energy.kpis.totals_as_dict``). Empty without a comparison.
    """
    if before is None:
        return {}
    against = COMPARED_WITH.get(mode, "the other period")
    notes = {}
    for key, value in now.items():
        old = before.get(key)
        if key.endswith("_kwh"):
            text = _relative_change(value, old)
        elif key in ("self_consumption", "self_sufficiency"):
            text = MISSING if value is None or old is None else f"{_arrow(value - old)}{abs(value - old) * 100:.0f} pp"
        elif key == "energy_cost":
            text = MISSING if old is None else f"{_arrow(value - old)}{format_money(abs(value - old), currency)}"
        else:
            continue
        notes[key] = html.Span(f"{text} vs {against}", id=f"{prefix}-kpi-{key}-change")
    return notes


def _arrow(difference: float) -> str:
    if abs(difference) < 1e-9:
        return "± "
    return "▲ " if difference > 0 else "▼ "


def _relative_change(value: float | None, old: float | None) -> str:
    if value is None or old is None:
        return MISSING
    if old <= 1e-9:
        return "▲ from 0" if value > 1e-9 else "± 0 %"
    change = (value - old) / old
    return f"{_arrow(change)}{abs(change) * 100:.0f} %"


def period_text(start: date, end: date) -> str:
    """``1 May – 31 May 2026``, or ``1 May 2026`` for a single day."""
    if start == end:
        return f"{start.day} {start:%b %Y}"
    first = f"{start.day} {start:%b}" if start.year == end.year else f"{start.day} {start:%b %Y}"
    return f"{first} – {end.day} {end:%b %Y}"


def household_links(household_id: int, has_battery: bool) -> html.Div:
    """To this household's forecast and to the What-if page (which schedules batteries only)."""
    links = [dbc.Button("Forecast", href=f"/forecast?household={household_id}", color="secondary", outline=True,
                        size="sm", title="PV and load forecasts of this household")]
    if has_battery:
        links.append(dbc.Button("What-if", href=f"/optimize?household={household_id}", color="secondary", outline=True, size="sm",
                                title="Try battery schedules for this household on the What-if page"))
    return html.Div(links, className="d-flex gap-2")


def explorer_sections() -> list:
    """Below the controls: the note and KPI cards, then a card per chart (filled by the page's callbacks)."""
    kpis_csv = csv_button(ids.household_csv_button("kpis"), ids.household_download("kpis"), label="KPIs CSV",
                          title="Download the KPIs as CSV")
    cost_note = html.P(id=ids.HOUSEHOLD_COST_NOTE, className="small text-body-secondary m-2")
    return [
        html.Div([html.Span(id=ids.HOUSEHOLD_NOTE, className="text-body-secondary small me-2"), kpis_csv],
                 className="d-flex flex-wrap align-items-center gap-2 mb-2"),
        dcc.Loading(dbc.Row(id=ids.HOUSEHOLD_KPIS, className="g-3 mb-3"), type="dot"),
        chart_card("Energy flows", ids.HOUSEHOLD_FLOWS, "flows", SUBTITLES["flows"], height="420px"),
        chart_card("Comparison", ids.HOUSEHOLD_COMPARISON, "comparison", SUBTITLES["comparison"], style=HIDDEN,
                   card_id=ids.HOUSEHOLD_COMPARISON_CARD),
        dbc.Row([
            dbc.Col(chart_card("Where the energy went", ids.HOUSEHOLD_SANKEY, "sankey", SUBTITLES["sankey"]),
                    xs=12, lg=5),
            dbc.Col(chart_card("Cost with the household's tariff", ids.HOUSEHOLD_COST, "cost", SUBTITLES["cost"],
                               below=cost_note), xs=12, lg=7),
        ], className="g-3 mb-3"),
        chart_card("Consumption by hour of day", ids.HOUSEHOLD_HEATMAP, "heatmap", SUBTITLES["heatmap"],
                   height="440px"),
    ]


def period_note(data) -> list:
    """What is on screen: the days, the step (and why), local time, and the period compared with;
    ``data`` is a ``services.explorer.Exploration``. A refused resolution adds a warning."""
    choice = data.resolution
    how = "auto" if choice.requested == "auto" else "chosen"
    text = (f"{period_text(data.start, data.end)} · {data.days} day{'s' if data.days != 1 else ''} · "
            f"{choice.resolution.adjective} steps ({how}) · local time ({data.household.timezone})")
    if data.comparison:
        c = data.comparison
        text += f" · compared with {period_text(c.start, c.end)}" + ("" if c.totals.days else " (no data there)")
    out: list = [text]
    for note in data.notes:
        out.append(html.Div(note, className="small text-body-secondary"))
    if data.derived_note:
        out.append(dbc.Alert(data.derived_note, color="info", className="py-1 px-2 my-1 small",
                             id=f"{ids.HOUSEHOLD_NOTE}-derived"))
    if choice.note:
        out.append(dbc.Alert(choice.note, color="warning", className="py-1 px-2 my-1 small",
                             id=f"{ids.HOUSEHOLD_NOTE}-refused"))
    return out
