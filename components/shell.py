"""The app's frame: navbar built from the page registry, who is signed in, theme toggle, page container.

The signed-in part (organisation, user menu, sign-out) comes from ``api.sessions`` for the
request that renders the page; without a signed-in user (outside a request, an API-token
caller) the navbar shows the page links and the theme toggle only.
"""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import ClientsideFunction, Input, Output, State, callback, clientside_callback, dcc, html
from dash.exceptions import PreventUpdate

from components import ids
from components.callback_errors import callback_error_toast
from services.access import AccessDenied, AccessScope, NotFound, browser_id, current_scope
from services.auth import MembershipView, UserView

#: The plain Flask pages of the session (``api/security.py``), outside the Dash router.
SIGN_OUT_URL = "/sign-out"
PASSWORD_URL = "/account/password"


def nav_links() -> list[dbc.NavItem]:
    """One link per registered page that declares a ``nav_order``, in that order."""
    pages = [p for p in dash.page_registry.values() if p.get("nav_order") is not None]
    return [
        dbc.NavItem(dbc.NavLink(p["name"], href=p["relative_path"], active="exact"))
        for p in sorted(pages, key=lambda p: p["nav_order"])
    ]


def organisation_control(memberships: list[MembershipView], scope: AccessScope):
    """The current organisation: a switch when the user belongs to several, its name otherwise."""
    current = next((m for m in memberships if m.organisation_id == scope.organisation_id), None)
    if len(memberships) > 1:
        options = [{"label": f"{m.organisation_name} ({m.role})", "value": str(m.organisation_id)} for m in memberships]
        return dbc.NavItem([dbc.Label("Organisation", html_for=ids.SHELL_ORGANISATION, className="visually-hidden"),
                            dbc.Select(id=ids.SHELL_ORGANISATION, options=options, size="sm",
                                       value=str(scope.organisation_id))], className="ms-lg-3 mt-2 mt-lg-0")
    name = current.organisation_name if current else ""
    return dbc.NavItem(html.Span([name, html.Span(scope.role, className="badge text-bg-secondary ms-2")],
                                 className="navbar-text small"), className="ms-lg-3")


def account_items(user: UserView, memberships: list[MembershipView], scope: AccessScope,
                  csrf_token: str) -> list:
    """The navbar items of a signed-in user: the organisation, a menu under the user's name
    (Account, Audit log for admins, Change password) and Sign out, a plain POST form with the
    session's CSRF token (``/sign-out`` is a Flask route, not a Dash callback)."""
    menu = [dbc.DropdownMenuItem(user.email, header=True),
            dbc.DropdownMenuItem("Account", href="/account")]
    if scope.can("admin"):
        menu.append(dbc.DropdownMenuItem("Audit log", href="/audit"))
    menu.append(dbc.DropdownMenuItem("Change password", href=PASSWORD_URL, external_link=True))
    sign_out = html.Form(
        [dcc.Input(type="hidden", name="csrf_token", value=csrf_token),
         dbc.Button("Sign out", type="submit", color="secondary", outline=True, size="sm")],
        method="post", action=SIGN_OUT_URL, className="ms-lg-2 mt-2 mt-lg-0")
    return [
        organisation_control(memberships, scope),
        dbc.DropdownMenu(menu, label=user.name or user.email, nav=True, in_navbar=True, align_end=True,
                         className="ms-lg-2"),
        dbc.NavItem(sign_out),
    ]


def signed_in_items() -> list:
    """:func:`account_items` for the user of this request, or nothing without one."""
    from api import sessions

    try:
        user = sessions.current_user()
        if user is None:
            return []
        return account_items(user, sessions.memberships(), current_scope(), sessions.csrf_token())
    except AccessDenied:  # no identity: the gate sends such a request to sign in before it gets here
        return []


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
                    dbc.Nav(nav_links() + signed_in_items() + [toggle], className="ms-auto align-items-lg-center",
                            navbar=True),
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
            dcc.Store(id=ids.SHELL_RELOAD),
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


@callback(Output(ids.SHELL_RELOAD, "data"), Output(ids.SHELL_ORGANISATION, "value"),
          Input(ids.SHELL_ORGANISATION, "value"), prevent_initial_call=True)
def switch_organisation(value):
    """Make the chosen organisation current (a new session cookie on this response), then let the
    browser reload the page in it; a choice that is not one of the user's memberships is put back."""
    scope = current_scope()
    organisation_id = browser_id(value)
    if organisation_id is None or organisation_id == scope.organisation_id:
        raise PreventUpdate
    from api import sessions

    try:
        sessions.switch_organisation(organisation_id)
    except NotFound:
        return dash.no_update, str(scope.organisation_id)
    return organisation_id, dash.no_update


# After a switch the whole page is drawn again: every page and the navbar read the new organisation.
clientside_callback(
    "function(switched) { if (switched) { window.location.reload(); } return window.dash_clientside.no_update; }",
    Output(ids.SHELL_RELOAD, "clear_data"),
    Input(ids.SHELL_RELOAD, "data"),
    prevent_initial_call=True,
)
