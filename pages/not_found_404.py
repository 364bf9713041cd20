"""404: a page that does not exist, with a way back."""

import dash
import dash_bootstrap_components as dbc
from dash import html

dash.register_page(__name__, path="/404", title="Not found · Energy Dashboard")


def layout(**_kwargs):
    return html.Div(
        [
            html.H1("Page not found"),
            html.P("There is no page at this address. It may have moved, or the link may be mistyped."),
            dbc.Button("Back to the overview", href="/", color="primary"),
        ],
        className="empty-state",
    )
