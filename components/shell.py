"""The app's frame: navbar built from the page registry, theme toggle, page container."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import ClientsideFunction, Input, Output, State, clientside_callback, dcc, html

from components import ids
from components.callback_errors import callback_error_toast


def nav_links() -> list[dbc.NavItem]:
    """One link per registered page that declares a ``nav_order``, in that order."""
    pages = [p for p in dash.page_registry.values() if p.get("nav_order") is not None]
    return [
        dbc.NavItem(dbc.NavLink(p["name"], href=p["relative_path"], active="exact"))
        for p in sorted(pages, key=lambda p: p["nav_order"])
    ]


def navbar() -> dbc.Navbar:
    """Top navigation that collapses behind a toggler on narrow screens (phones)."""
    toggle = dbc.Button(
        "Dark mode",
        id=ids.THEME_TOGGLE,
        color="secondary",
        outline=True,
        size="sm",
        className="ms-lg-3 mt-2 mt-lg-0",
        title="Switch between light and dark mode",
    )
    return dbc.Navbar(
        dbc.Container(
            [
                dbc.NavbarBrand([html.Span("⚡", className="me-2", **{"aria-hidden": "true"}), "Energy Dashboard"], href="/"),
                dbc.NavbarToggler(id=ids.NAVBAR_TOGGLER, n_clicks=0),
                dbc.Collapse(
                    dbc.Nav(nav_links() + [toggle], className="ms-auto align-items-lg-center", navbar=True),
                    id=ids.NAVBAR_COLLAPSE,
                    is_open=False,
                    navbar=True,
                ),
            ],
            fluid=True,
        ),
        color="body-tertiary",
        dark=False,
        className="mb-3 border-bottom app-navbar bg-body-tertiary",
        sticky="top",
    )


def shell_layout() -> html.Div:
    """The whole page: theme store, navbar and the current page's content."""
    return html.Div(
        [
            dcc.Store(id=ids.THEME_STORE, storage_type="local"),
            dcc.Location(id=ids.URL),
            navbar(),
            callback_error_toast(),
            dbc.Container(dash.page_container, fluid=True, className="pb-5", id="page-content"),
        ]
    )


# The theme starts from the system setting (prefers-color-scheme), then follows the toggle;
# the choice is kept in localStorage. Both run in the browser: no round trip.
clientside_callback(
    ClientsideFunction(namespace="theme", function_name="choose"),
    Output(ids.THEME_STORE, "data"),
    Input(ids.THEME_TOGGLE, "n_clicks"),
    State(ids.THEME_STORE, "data"),
)
clientside_callback(
    ClientsideFunction(namespace="theme", function_name="apply"),
    Output(ids.THEME_TOGGLE, "children"),
    Input(ids.THEME_STORE, "data"),
)
clientside_callback(
    "function(n, isOpen) { return n ? !isOpen : isOpen; }",
    Output(ids.NAVBAR_COLLAPSE, "is_open"),
    Input(ids.NAVBAR_TOGGLER, "n_clicks"),
    State(ids.NAVBAR_COLLAPSE, "is_open"),
)
