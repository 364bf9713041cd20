"""KPI cards: a value, its label and, on hover, how it is computed."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import html

from components.format import format_energy, format_money, format_ratio


def kpi_card(card_id: str, label: str, value: str, formula: str, note: str | None = None) -> dbc.Col:
    """One KPI in a card; ``formula`` appears as a tooltip on the label (hover or keyboard focus)."""
    label_id = f"{card_id}-label"
    body = [
        html.Div(
            html.Span(label, id=label_id, className="kpi-help", tabIndex=0),
            className="kpi-label",
        ),
        html.Div(_value_with_unit(value), className="kpi-value", id=card_id),
    ]
    if note:
        body.append(html.Small(note, className="text-body-secondary"))
    return dbc.Col(
        [
            dbc.Card(dbc.CardBody(body), className="kpi-card h-100 shadow-sm"),
            dbc.Tooltip(formula, target=label_id, placement="bottom"),
        ],
        xs=6, md=4, xl=True,
    )


def _value_with_unit(value: str) -> list:
    """``"9,093 kWh"`` as the number and a smaller unit, so seven cards fit on one row."""
    number, _, unit = value.rpartition(" ")
    if not number:
        return [value]
    return [number, html.Span(f" {unit}", className="kpi-unit")]


def empty_state(title: str, message: str, action: html.A | None = None) -> html.Div:
    """What a page shows when there is nothing to show yet, and what to do about it."""
    children = [html.H2(title), html.P(message)]
    if action is not None:
        children.append(action)
    return html.Div(children, className="empty-state")


def energy_kpi_cards(totals, definitions: dict, currency: str, prefix: str, notes: dict | None = None) -> list[dbc.Col]:
    """The seven energy KPI cards (consumption, PV, import, export, two ratios, cost).

    ``totals`` is a ``services.energy.kpi_definitions.EnergyTotals``; ``definitions`` maps each KPI to its
    label and formula (``services.energy.kpi_definitions.KPI_DEFINITIONS``); card ids start with ``prefix``;
    ``notes`` optionally puts a line under a KPI's value (a change against another period).
    """
    values = {
        "load_kwh": format_energy(totals.load_kwh),
        "pv_kwh": format_energy(totals.pv_kwh),
        "import_kwh": format_energy(totals.import_kwh),
        "export_kwh": format_energy(totals.export_kwh),
        "self_consumption": format_ratio(totals.self_consumption),
        "self_sufficiency": format_ratio(totals.self_sufficiency),
        "energy_cost": format_money(totals.energy_cost, currency),
    }
    return [
        kpi_card(f"{prefix}-kpi-{key}", definitions[key].label, value, definitions[key].formula, (notes or {}).get(key))
        for key, value in values.items()
    ]
