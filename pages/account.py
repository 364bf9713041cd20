"""Account (/account): who you are and your organisations; for admins, the organisation's API
tokens (create, with the secret shown once; revoke) and its users (add one).

Reached from the user menu in the navbar (no ``nav_order``). The writes go through
:mod:`services.auth.admin`, which checks the admin role and records each in the audit log; the
page only hides what the caller may not use.
"""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, html
from dash.exceptions import PreventUpdate

from components import ids
from components.account_sections import profile_card, secret_notice, token_rows, tokens_card, user_rows, users_card
from services.access import AccessDenied, AccessScope, browser_id, current_scope, owner_id
from services.auth import AccountProblem, MembershipView, UserView, list_tokens, list_users
from services.auth.admin import add_user, grantable_roles, issue_token, withdraw_token

dash.register_page(__name__, path="/account", name="Account", title="Account · Energy Dashboard")

NO_USER_MESSAGE = ("This request is not signed in as a person (an API token, or the command line), "
                   "so there is no account to show.")


def layout(**_query) -> html.Div:
    from api import sessions

    return account_view(sessions.current_user(), sessions.memberships(), current_scope())


def account_view(user: UserView | None, memberships: list[MembershipView], scope: AccessScope) -> html.Div:
    """The page for ``user`` acting as ``scope``: the profile for everyone, tokens and users for admins."""
    children = [html.H1("Account", className="h3"),
                dbc.Alert(id=ids.ACCOUNT_ALERT, is_open=False, dismissable=True)]
    if user is None:
        children.append(html.P(NO_USER_MESSAGE, className="text-body-secondary"))
        return html.Div(children)
    children.append(profile_card(user, memberships, scope))
    if scope.can("admin"):
        organisation = owner_id(scope)
        roles = grantable_roles(scope)
        children += [tokens_card(list_tokens(organisation), roles),
                     users_card(list_users(organisation), organisation, roles)]
    return html.Div(children)


def _alert(text: str, color: str) -> dict:
    return {"alert_open": True, "alert": text, "alert_color": color}


ALERT = {"alert_open": Output(ids.ACCOUNT_ALERT, "is_open"), "alert": Output(ids.ACCOUNT_ALERT, "children"),
         "alert_color": Output(ids.ACCOUNT_ALERT, "color")}


def _dup(outputs: dict) -> dict:
    return {k: Output(o.component_id, o.component_property, allow_duplicate=True) for k, o in outputs.items()}


def _whole_days(value):
    """The expiry field's value: None when empty, a whole float as int; anything else is passed on
    for :func:`~services.auth.admin.issue_token` to refuse with its message."""
    if value in (None, ""):
        return None
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _refused(exc: Exception) -> dict:
    """The alert for a refusal: the service's own words (a role too weak, bad input)."""
    return _alert(str(exc)[:1].upper() + str(exc)[1:] + ("" if str(exc).endswith(".") else "."), "danger")


@callback(output={**ALERT, "secret": Output(ids.ACCOUNT_TOKEN_SECRET, "children"),
                  "rows": Output(ids.ACCOUNT_TOKENS_GRID, "rowData"), "name": Output(ids.ACCOUNT_TOKEN_NAME, "value")},
          inputs={"n_clicks": Input(ids.ACCOUNT_TOKEN_CREATE, "n_clicks"),
                  "name": State(ids.ACCOUNT_TOKEN_NAME, "value"), "role": State(ids.ACCOUNT_TOKEN_ROLE, "value"),
                  "days": State(ids.ACCOUNT_TOKEN_DAYS, "value")},
          prevent_initial_call=True)
def create_token(n_clicks, name, role, days):
    """Make a token (admins; role at most one's own); its secret is in this answer only."""
    if not n_clicks:
        raise PreventUpdate
    try:
        token, secret = issue_token(name if isinstance(name, str) else "", role if isinstance(role, str) else "",
                                    _whole_days(days))
    except (AccessDenied, AccountProblem) as exc:
        return {**_refused(exc), "secret": None, "rows": dash.no_update, "name": dash.no_update}
    # The notice with the secret says it; the page alert would repeat it.
    return {"alert_open": False, "alert": dash.no_update, "alert_color": dash.no_update,
            "secret": secret_notice(token, secret),
            "rows": token_rows(list_tokens(token.organisation_id)), "name": ""}


@callback(output={**_dup(ALERT), "secret": Output(ids.ACCOUNT_TOKEN_SECRET, "children", allow_duplicate=True),
                  "rows": Output(ids.ACCOUNT_TOKENS_GRID, "rowData", allow_duplicate=True)},
          inputs={"n_clicks": Input(ids.ACCOUNT_TOKEN_REVOKE, "n_clicks"),
                  "selected": State(ids.ACCOUNT_TOKENS_GRID, "selectedRows")},
          prevent_initial_call=True)
def revoke_token(n_clicks, selected):
    """Revoke the selected token (admins): requests with it are refused from now on."""
    token_id = browser_id(selected[0].get("id")) if selected and isinstance(selected[0], dict) else None
    if not n_clicks or token_id is None:
        return {**_alert("Select a token in the table first.", "warning"), "secret": dash.no_update,
                "rows": dash.no_update}
    try:
        token = withdraw_token(token_id)
    except (AccessDenied, AccountProblem) as exc:
        return {**_refused(exc), "secret": dash.no_update, "rows": dash.no_update}
    return {**_alert(f"Token {token.name} revoked.", "success"), "secret": None,
            "rows": token_rows(list_tokens(token.organisation_id))}


@callback(output={**_dup(ALERT), "rows": Output(ids.ACCOUNT_USERS_GRID, "rowData"),
                  "password": Output(ids.ACCOUNT_USER_PASSWORD, "value")},
          inputs={"n_clicks": Input(ids.ACCOUNT_USER_CREATE, "n_clicks"),
                  "email": State(ids.ACCOUNT_USER_EMAIL, "value"), "name": State(ids.ACCOUNT_USER_NAME, "value"),
                  "password": State(ids.ACCOUNT_USER_PASSWORD, "value"),
                  "role": State(ids.ACCOUNT_USER_ROLE, "value")},
          prevent_initial_call=True)
def create_user(n_clicks, email, name, password, role):
    """Add a user to the organisation (admins); the first password is cleared from the form."""
    if not n_clicks:
        raise PreventUpdate
    text = [v if isinstance(v, str) else "" for v in (email, name, password, role)]
    try:
        user, membership = add_user(*text)
    except (AccessDenied, AccountProblem) as exc:
        return {**_refused(exc), "rows": dash.no_update, "password": ""}
    organisation = membership.organisation_id
    return {**_alert(f"{user.email} added as {membership.role}.", "success"),
            "rows": user_rows(list_users(organisation), organisation), "password": ""}
