"""Household (/household/<id>): one home's KPIs and energy flows over a chosen period (first version)."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, dcc, html

from components import ids
from components.figures.energy import household_flows_figure
from components.kpi_cards import empty_state, energy_kpi_cards
from components.period import day_range_picker, picked_day
from components.theme import empty_figure
from services import households, kpis
from services.config import get_settings
from services.flows import flows_for_period

dash.register_page(
    __name__, path_template="/household/<household_id>", name="Household", title="Household · Energy Dashboard"
)

DEFAULT_PRESET = "last_7_days"


def layout(household_id: str | None = None, **_kwargs):
    household = _find(household_id)
    if household is None:
        return empty_state(
            "Household not found",
            f"There is no household with id {household_id!r}. It may have been deleted.",
            dbc.Button("Back to the overview", href="/", color="primary"),
        )
    available = kpis.data_period([household.id])
    header = html.Div(
        [
            html.H1(household.name, className="mb-1"),
            html.P(_describe(household), className="text-body-secondary mb-2"),
        ]
    )
    if available is None:
        return html.Div([header, empty_state(
            "No readings yet",
            "This household has no meter data yet. Upload files or connect its meters on the Data page.",
        )])
    start, end = kpis.resolve_period(DEFAULT_PRESET, available)
    return html.Div(
        [
            dcc.Store(id=ids.HOUSEHOLD_ID, data=household.id),
            dbc.Row(
                [
                    dbc.Col(header, md=True),
                    dbc.Col(
                        day_range_picker(ids.HOUSEHOLD_RANGE, start, end, available),
                        md="auto",
                    ),
                ],
                className="align-items-center g-2 mb-2",
            ),
            dcc.Loading(dbc.Row(id=ids.HOUSEHOLD_KPIS, className="g-3 mb-3"), type="dot"),
            dbc.Card(
                dcc.Loading(dcc.Graph(id=ids.HOUSEHOLD_FLOWS, figure=empty_figure("Loading…"),
                                      config={"displaylogo": False}, style={"height": "420px"})),
                className="shadow-sm",
            ),
        ]
    )


def _find(household_id: str | None):
    try:
        return households.get_household(int(household_id))
    except (TypeError, ValueError, households.HouseholdNotFound):
        return None


def _describe(household) -> str:
    parts = [f"{household.timezone}", f"{household.latitude:.3f}°, {household.longitude:.3f}°"]
    kwp = household.pv_kwp
    parts.append(f"PV {kwp:.1f} kWp" if kwp else "no PV")
    parts.append(f"battery {household.battery.capacity_kwh:.1f} kWh" if household.battery else "no battery")
    if household.tariff_name:
        parts.append(f"tariff: {household.tariff_name}")
    return " · ".join(parts)


@callback(
    Output(ids.HOUSEHOLD_KPIS, "children"),
    Output(ids.HOUSEHOLD_FLOWS, "figure"),
    Input(ids.HOUSEHOLD_RANGE, "start_date"),
    Input(ids.HOUSEHOLD_RANGE, "end_date"),
    Input(ids.THEME_STORE, "data"),
    State(ids.HOUSEHOLD_ID, "data"),
)
def update_household(start_date: str | None, end_date: str | None, theme: str | None, household_id: int):
    """KPI cards and the energy-flow chart of one household for the chosen local days."""
    if not (start_date and end_date and household_id):
        return [], empty_figure("Choose a period", theme)
    start, end = sorted((picked_day(start_date), picked_day(end_date)))
    household = households.get_household(household_id)
    totals = kpis.portfolio_totals([household_id], start, end)
    period = flows_for_period(household_id, household.timezone, start, end)
    cards = energy_kpi_cards(totals, kpis.KPI_DEFINITIONS, get_settings().currency, "household")
    return cards, household_flows_figure(period.flows, household.timezone, period.step_label, theme)
