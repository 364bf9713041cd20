"""The Account page's cards: who you are, your organisations, and for admins the organisation's
API tokens and users; plus the audit log's table. Builders only: the callbacks are the pages'."""

from __future__ import annotations

from datetime import datetime

import dash_bootstrap_components as dbc
from dash import dcc, html

from components import ids
from components.grid import data_grid
from components.shell import PASSWORD_URL
from services.access import AccessScope
from services.auth import AuditView, MembershipView, TokenView, UserView, memberships_of

SELECT_ONE = {"rowSelection": {"mode": "singleRow", "checkboxes": False, "enableClickSelection": True}}

TOKEN_COLUMNS = [
    {"field": "name", "headerName": "Name", "minWidth": 160},
    {"field": "prefix", "headerName": "Starts with", "maxWidth": 140},
    {"field": "role", "headerName": "Role", "maxWidth": 120},
    {"field": "created", "headerName": "Created (UTC)"},
    {"field": "last_used", "headerName": "Last used (UTC)"},
    {"field": "expires", "headerName": "Expires (UTC)"},
    {"field": "revoked", "headerName": "Revoked (UTC)"},
]
USER_COLUMNS = [
    {"field": "email", "headerName": "Email", "minWidth": 200},
    {"field": "name", "headerName": "Name"},
    {"field": "role", "headerName": "Role", "maxWidth": 120},
    {"field": "active", "headerName": "Active", "maxWidth": 110},
]
AUDIT_COLUMNS = [
    {"field": "at", "headerName": "When (UTC)", "minWidth": 160, "sort": "desc"},
    {"field": "actor", "headerName": "Who", "minWidth": 160},
    {"field": "action", "headerName": "Action"},
    {"field": "target", "headerName": "Target"},
    {"field": "before", "headerName": "Before", "minWidth": 200, "wrapText": True, "autoHeight": True,
     "cellStyle": {"lineHeight": "1.4", "paddingTop": "6px", "paddingBottom": "6px"}},
    {"field": "after", "headerName": "After", "minWidth": 200, "wrapText": True, "autoHeight": True,
     "cellStyle": {"lineHeight": "1.4", "paddingTop": "6px", "paddingBottom": "6px"}},
]


def when(instant: datetime | None, empty: str = "—") -> str:
    """A UTC time to the minute, or ``empty``."""
    return instant.strftime("%Y-%m-%d %H:%M") if instant else empty


def token_rows(tokens: list[TokenView]) -> list[dict]:
    """Grid rows of the organisation's tokens (``key`` is the token id)."""
    return [{"key": str(t.id), "id": t.id, "name": t.name, "prefix": t.prefix + "…", "role": t.role,
             "created": when(t.created_at), "last_used": when(t.last_used_at, "never"),
             "expires": when(t.expires_at, "never"), "revoked": when(t.revoked_at, "")} for t in tokens]


def user_rows(users: list[UserView], organisation_id: int) -> list[dict]:
    """Grid rows of the organisation's members with their role in it."""
    rows = []
    for user in users:
        role = next((m.role for m in memberships_of(user.id) if m.organisation_id == organisation_id), "")
        rows.append({"key": str(user.id), "email": user.email, "name": user.name, "role": role,
                     "active": "yes" if user.active else "no"})
    return rows


def audit_rows(entries: list[AuditView]) -> list[dict]:
    """Grid rows of audit entries; before/after as ``field: value`` text."""
    return [{"key": str(e.id), "at": when(e.at), "actor": e.actor, "action": e.action, "target": e.target,
             "before": _diff_text(e.before), "after": _diff_text(e.after)} for e in entries]


def _diff_text(fields: dict | None) -> str:
    return "" if not fields else "; ".join(f"{k}: {v}" for k, v in fields.items())


def profile_card(user: UserView, memberships: list[MembershipView], scope: AccessScope) -> dbc.Card:
    """Name, email, the organisations with the role in each (the current one marked), and the
    link to change the password (a plain Flask page, so a full navigation)."""
    items = [html.Li([m.organisation_name, " ", dbc.Badge(m.role, color="secondary", className="ms-1"),
                      html.Span(" current", className="small text-body-secondary ms-1")
                      if m.organisation_id == scope.organisation_id else None]) for m in memberships]
    return dbc.Card(dbc.CardBody([
        html.H2("You", className="h5"),
        html.Dl([html.Dt("Name"), html.Dd(user.name or "—"), html.Dt("Email"), html.Dd(user.email),
                 html.Dt("Password changed (UTC)"), html.Dd(when(user.password_changed_at))], className="mb-2"),
        html.H3("Organisations", className="h6"),
        html.Ul(items or [html.Li("None")], className="mb-2"),
        html.A("Change password", href=PASSWORD_URL, className="btn btn-outline-secondary btn-sm"),
    ]), className="mb-3")


def _role_select(select_id: str, roles: list[str]) -> dbc.Select:
    return dbc.Select(id=select_id, options=[{"label": r, "value": r} for r in roles], value=roles[0])


def tokens_card(tokens: list[TokenView], roles: list[str]) -> dbc.Card:
    """The organisation's API tokens, a form for a new one and Revoke for the selected one."""
    grid = data_grid(ids.ACCOUNT_TOKENS_GRID, TOKEN_COLUMNS, token_rows(tokens),
                     grid_options={**SELECT_ONE, "paginationPageSize": 10, "paginationPageSizeSelector": False},
                     getRowId="params.data.key")
    form = dbc.Row([
        dbc.Col([dbc.Label("Name", html_for=ids.ACCOUNT_TOKEN_NAME, className="small mb-1"),
                 dbc.Input(id=ids.ACCOUNT_TOKEN_NAME, maxLength=120, placeholder="e.g. Meter gateway")], xs=12, md=5),
        dbc.Col([dbc.Label("Role", html_for=ids.ACCOUNT_TOKEN_ROLE, className="small mb-1"),
                 _role_select(ids.ACCOUNT_TOKEN_ROLE, roles)], xs=6, md=2),
        dbc.Col([dbc.Label("Expires after [days]", html_for=ids.ACCOUNT_TOKEN_DAYS, className="small mb-1"),
                 dbc.Input(id=ids.ACCOUNT_TOKEN_DAYS, type="number", min=1, step=1, placeholder="never")], xs=6, md=2),
        dbc.Col(dbc.Button("Create token", id=ids.ACCOUNT_TOKEN_CREATE, color="primary"), xs=12, md="auto",
                className="align-self-end"),
    ], className="g-2 mb-2")
    return dbc.Card(dbc.CardBody([
        html.Div([
            html.H2("API tokens", className="h5 mb-0 me-auto"),
            dbc.Button("Revoke", id=ids.ACCOUNT_TOKEN_REVOKE, color="danger", outline=True, size="sm",
                       title="Select a token in the table first"),
        ], className="d-flex flex-wrap gap-2 align-items-center mb-2"),
        html.P(["For the REST API: send ", html.Code("Authorization: Bearer <token>"),
                ". A token acts with its role in this organisation."], className="small text-body-secondary"),
        form,
        html.Div(id=ids.ACCOUNT_TOKEN_SECRET),
        grid,
    ]), className="mb-3")


def secret_notice(token: TokenView, secret: str) -> dbc.Alert:
    """The new token's secret, shown this once, with a copy button."""
    return dbc.Alert([
        html.P([html.Strong(f"Token “{token.name}” created. "),
                "Copy the secret now: it is not shown again (only its first characters are kept)."], className="mb-2"),
        html.Div([html.Code(secret, id=f"{ids.ACCOUNT_TOKEN_SECRET}-value", className="user-select-all me-2"),
                  dcc.Clipboard(target_id=f"{ids.ACCOUNT_TOKEN_SECRET}-value", title="Copy the secret",
                                style={"display": "inline-block", "cursor": "pointer"})],
                 className="d-flex align-items-center"),
    ], color="success", className="mb-2")


def users_card(users: list[UserView], organisation_id: int, roles: list[str]) -> dbc.Card:
    """The organisation's members and a form to add a new user with a first password."""
    grid = data_grid(ids.ACCOUNT_USERS_GRID, USER_COLUMNS, user_rows(users, organisation_id),
                     grid_options={"paginationPageSize": 10, "paginationPageSizeSelector": False},
                     getRowId="params.data.key")
    form = dbc.Row([
        dbc.Col([dbc.Label("Email", html_for=ids.ACCOUNT_USER_EMAIL, className="small mb-1"),
                 dbc.Input(id=ids.ACCOUNT_USER_EMAIL, type="email", placeholder="anna@example.org")], xs=12, md=3),
        dbc.Col([dbc.Label("Name", html_for=ids.ACCOUNT_USER_NAME, className="small mb-1"),
                 dbc.Input(id=ids.ACCOUNT_USER_NAME, maxLength=120)], xs=12, md=3),
        dbc.Col([dbc.Label("First password", html_for=ids.ACCOUNT_USER_PASSWORD, className="small mb-1"),
                 dbc.Input(id=ids.ACCOUNT_USER_PASSWORD, type="password", autoComplete="new-password")], xs=12, md=2),
        dbc.Col([dbc.Label("Role", html_for=ids.ACCOUNT_USER_ROLE, className="small mb-1"),
                 _role_select(ids.ACCOUNT_USER_ROLE, roles)], xs=6, md=2),
        dbc.Col(dbc.Button("Add user", id=ids.ACCOUNT_USER_CREATE, color="primary"), xs=6, md="auto",
                className="align-self-end"),
    ], className="g-2 mb-2")
    return dbc.Card(dbc.CardBody([
        html.H2("Users", className="h5"),
        html.P("Give the first password to the person in person; they change it under “Change password”.",
               className="small text-body-secondary"),
        form,
        grid,
    ]), className="mb-3")


def audit_card(entries: list[AuditView], download) -> dbc.Card:
    """The newest audit entries and the download of all of them (``download``: the button)."""
    return dbc.Card(dbc.CardBody([
        html.Div([html.H2("Changes", className="h5 mb-0 me-auto"), download],
                 className="d-flex flex-wrap gap-2 align-items-center mb-2"),
        data_grid(ids.AUDIT_GRID, AUDIT_COLUMNS, audit_rows(entries),
                  grid_options={"paginationPageSize": 25, "paginationPageSizeSelector": False},
                  getRowId="params.data.key"),
    ]), className="mb-3")
