"""Overview (/): portfolio KPIs and the household table."""

import dash
from dash import html

dash.register_page(__name__, path="/", name="Overview", title="Overview · Energy Dashboard", nav_order=0)


def layout(**_kwargs):
    return html.Div([html.H1("Portfolio overview")])
