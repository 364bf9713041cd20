"""Sign-in in the UI: write controls hidden by role, the navbar of a signed-in user, /account
(tokens and users for admins) and /audit, called as plain functions on each store backend."""

from __future__ import annotations

import csv
import io
import time

import dash
import pytest
from flask import Response

from components import ids
from components.roles import HIDE_CLASS
from services.access import AccessScope, Forbidden, use_scope
from services.auth import (
    add_membership,
    create_organisation,
    create_user,
    list_entries,
    list_tokens,
    list_users,
    memberships_of,
    record,
    verify_token,
)
from services.auth.admin import issue_token
from services.store.models import DEFAULT_ORGANISATION_ID
from tests.dash_tree import find

PASSWORD = "correct horse battery"
#: Every control that writes or starts work, on the pages and cards that have one.
WRITE_CONTROLS = {
    "households": [ids.HOUSEHOLDS_NEW, ids.HOUSEHOLDS_EDIT, ids.HOUSEHOLDS_DELETE, ids.HOUSEHOLDS_UPLOAD,
                   ids.HOUSEHOLDS_FORM_SAVE, ids.HOUSEHOLDS_CONFIRM_DELETE],
    "data": [ids.DATA_UPLOAD, ids.DATA_SAVE_MAPPING, ids.DATA_INGEST, ids.DATA_CANCEL, ids.DATA_DEVICE_CONFIRM],
    "jobs": [ids.JOBS_START, ids.JOBS_CANCEL],
    "forecast": [ids.FORECAST_TRAIN_RUN, ids.FORECAST_BACKTEST_RUN],
    "optimize": [ids.OPTIMIZE_SAVE, ids.OPTIMIZE_BACKTEST_RUN, ids.OPTIMIZE_SIZING_RUN, ids.OPTIMIZE_FLEET_RUN],
    "reports": [*(ids.reports_button(fmt) for fmt in ids.REPORTS_FORMATS), ids.REPORTS_CANCEL],
}


def _layouts() -> dict:
    """Each page (or, where the page needs readings first, the card) that holds write controls."""
    import pages.data as data
    import pages.households as households
    import pages.jobs as jobs
    from components.forecast_controls import model_card
    from components.optimize_controls import backtest_card, fleet_card, settings_card
    from components.reports_controls import download_card

    return {"households": households.layout(), "data": data.layout(), "jobs": jobs.layout(),
            "forecast": model_card(),
            "optimize": [settings_card([], [], None), backtest_card("EUR"), fleet_card("EUR", 1)],
            "reports": download_card()}


def hidden(tree, component_id) -> bool | None:
    """Whether the component ``component_id`` is hidden by its own or an ancestor's ``d-none``;
    None when it is not in ``tree``."""
    def walk(node, hidden_above):
        here = hidden_above or HIDE_CLASS in (getattr(node, "className", None) or "").split()
        if getattr(node, "id", None) == component_id:
            return here
        children = getattr(node, "children", None)
        for child in children if isinstance(children, list) else [children]:
            if hasattr(child, "to_plotly_json") and (found := walk(child, here)) is not None:
                return found
        return None

    for root in tree if isinstance(tree, list) else [tree]:
        if (found := walk(root, False)) is not None:
            return found
    return None


def scope_of(role: str, organisation_id: int = DEFAULT_ORGANISATION_ID, user_id: int | None = None) -> AccessScope:
    return AccessScope(user_id=user_id, organisation_id=organisation_id, role=role, label=f"{role}@example.org")


def member(email: str, organisation_id: int, role: str):
    user = create_user(email, email.split("@")[0].title(), PASSWORD)
    add_membership(user.id, organisation_id, role)
    return user


@pytest.fixture
def pages(dash_app):
    import pages.account as account
    import pages.audit as audit

    return account, audit


# --- write controls by role -----------------------------------------------------------------------

def test_a_viewer_sees_no_write_control_and_a_manager_sees_them_all(db_url, dash_app):
    with use_scope(scope_of("viewer")):
        as_viewer = _layouts()
    with use_scope(scope_of("manager")):
        as_manager = _layouts()
    for page, controls in WRITE_CONTROLS.items():
        for control in controls:
            assert hidden(as_viewer[page], control) is True, f"{page}: {control} shown to a viewer"
            assert hidden(as_manager[page], control) is False, f"{page}: {control} hidden from a manager"


def test_read_controls_stay_for_a_viewer(db_url, dash_app):
    with use_scope(scope_of("viewer")):
        layouts = _layouts()
    assert hidden(layouts["jobs"], ids.JOBS_REFRESH) is False
    assert hidden(layouts["data"], ids.DATA_BATCHES_REFRESH) is False
    assert hidden(layouts["households"], ids.HOUSEHOLDS_GRID) is False
    assert "manager role" in str(layouts["data"])  # and says why the upload is missing


# --- navbar -----------------------------------------------------------------------------------------

def test_the_navbar_without_a_signed_in_user_has_only_the_page_links(dash_app):
    from components.shell import navbar

    for bar in (navbar(), _in_request(dash_app, None, navbar)):
        text = str(bar)
        assert "Sign out" not in text and "/sign-out" not in text and find(bar, ids.SHELL_ORGANISATION) is None
        assert find(bar, ids.THEME_TOGGLE) is not None


def _in_request(dash_app, session, build, scope: AccessScope | None = None):
    """``build()`` inside a request to / that carries ``session`` (a SessionData) as its cookie."""
    from api.sessions import SESSION_COOKIE, encode

    headers = {"Cookie": f"{SESSION_COOKIE}={encode(session)}"} if session else {}
    with dash_app.server.test_request_context("/", headers=headers):
        if scope is None:
            return build()
        with use_scope(scope):
            return build()


def _session(user_id: int, organisation_id: int):
    from api.sessions import SessionData

    return SessionData(user_id, organisation_id, time.time(), "csrf-" + str(user_id), "stamp")


def test_the_navbar_names_the_user_offers_the_switch_and_signs_out_by_post(db_url, dash_app):
    from components.shell import navbar

    other = create_organisation("Stadtwerke Nord")
    anna = member("anna@example.org", DEFAULT_ORGANISATION_ID, "admin")
    add_membership(anna.id, other.id, "viewer")

    bar = _in_request(dash_app, _session(anna.id, DEFAULT_ORGANISATION_ID), navbar,
                      scope_of("admin", user_id=anna.id))

    switch = find(bar, ids.SHELL_ORGANISATION)
    assert switch.value == str(DEFAULT_ORGANISATION_ID)
    assert sorted(o["value"] for o in switch.options) == sorted([str(DEFAULT_ORGANISATION_ID), str(other.id)])
    text = str(bar)
    assert "Anna" in text and "anna@example.org" in text and "/account" in text and "/audit" in text
    form = _find_type(bar, "Form")
    assert (form.method, form.action) == ("post", "/sign-out")
    [hidden_input] = [c for c in form.children if type(c).__name__ == "Input"]
    assert (hidden_input.type, hidden_input.name, hidden_input.value) == ("hidden", "csrf_token", f"csrf-{anna.id}")


def test_a_viewer_with_one_organisation_sees_its_name_and_no_audit_link(db_url, dash_app):
    from components.shell import navbar

    bob = member("bob@example.org", DEFAULT_ORGANISATION_ID, "viewer")
    bar = _in_request(dash_app, _session(bob.id, DEFAULT_ORGANISATION_ID), navbar,
                      scope_of("viewer", user_id=bob.id))
    assert find(bar, ids.SHELL_ORGANISATION) is None
    assert "Default organisation" in str(bar) and "/audit" not in str(bar) and "Sign out" in str(bar)


def test_switching_organisation_sets_the_new_session_and_refuses_a_stranger(db_url, dash_app):
    from api.sessions import SESSION_COOKIE, apply_cookies, decode
    from components.shell import switch_organisation

    other = create_organisation("Stadtwerke Nord")
    stranger = create_organisation("Elsewhere")
    anna = member("anna@example.org", DEFAULT_ORGANISATION_ID, "admin")
    add_membership(anna.id, other.id, "viewer")
    session, scope = _session(anna.id, DEFAULT_ORGANISATION_ID), scope_of("admin", user_id=anna.id)

    def switch_to(organisation_id):
        out = switch_organisation(str(organisation_id))
        cookies = apply_cookies(Response()).headers.getlist("Set-Cookie")
        return out, cookies

    (reload, value), cookies = _in_request(dash_app, session, lambda: switch_to(other.id), scope)
    assert (reload, value) == (other.id, dash.no_update)
    [cookie] = [c for c in cookies if c.startswith(SESSION_COOKIE + "=")]
    assert decode(cookie.split(";")[0].split("=", 1)[1]).organisation_id == other.id

    (reload, value), cookies = _in_request(dash_app, session, lambda: switch_to(stranger.id), scope)
    assert (reload, value) == (dash.no_update, str(DEFAULT_ORGANISATION_ID)) and cookies == []


def _find_type(component, type_name: str):
    if type(component).__name__ == type_name:
        return component
    children = getattr(component, "children", None)
    for child in children if isinstance(children, list) else [children]:
        if hasattr(child, "to_plotly_json") and (found := _find_type(child, type_name)) is not None:
            return found
    return None


# --- /account -----------------------------------------------------------------------------------------

def test_the_account_page_shows_tokens_and_users_to_admins_only(db_url, pages):
    account, _ = pages
    anna = member("anna@example.org", DEFAULT_ORGANISATION_ID, "admin")
    bob = member("bob@example.org", DEFAULT_ORGANISATION_ID, "manager")

    mine = account.account_view(bob, memberships_of(bob.id), scope_of("manager", user_id=bob.id))
    assert "bob@example.org" in str(mine) and "manager" in str(mine) and "/account/password" in str(mine)
    assert find(mine, ids.ACCOUNT_TOKENS_GRID) is None and find(mine, ids.ACCOUNT_USERS_GRID) is None

    admin_view = account.account_view(anna, memberships_of(anna.id), scope_of("admin", user_id=anna.id))
    users = find(admin_view, ids.ACCOUNT_USERS_GRID).rowData
    assert [(u["email"], u["role"]) for u in users] == [("anna@example.org", "admin"), ("bob@example.org", "manager")]
    assert find(admin_view, ids.ACCOUNT_TOKENS_GRID).rowData == []

    nobody = account.account_view(None, [], scope_of("viewer"))
    assert account.NO_USER_MESSAGE in str(nobody)


def test_an_admin_creates_and_revokes_a_token_and_both_are_audited(db_url, pages):
    account, audit = pages
    anna = member("anna@example.org", DEFAULT_ORGANISATION_ID, "admin")
    scope = scope_of("admin", user_id=anna.id)

    with use_scope(scope):
        created = account.create_token(1, "Meter gateway", "manager", 30.0)
        [row] = created["rows"]
        secret = created["secret"].children[1].children[0].children
        assert created["alert_open"] is False and secret.startswith("ed_") and row["prefix"] == secret[:8] + "…"
        assert "not shown again" in str(created["secret"])
        assert secret not in str(created["rows"])  # the table shows the prefix only
        token = verify_token(secret)
        assert (token.name, token.role, token.organisation_id, token.user_id) == \
               ("Meter gateway", "manager", DEFAULT_ORGANISATION_ID, anna.id)
        assert token.expires_at is not None

        revoked = account.revoke_token(1, [row])
        assert revoked["alert_color"] == "success" and revoked["rows"][0]["revoked"] != ""
        assert verify_token(secret) is None
        assert account.revoke_token(1, [row])["alert_color"] == "success"  # again: nothing changes, nothing logged

        page = audit.layout()
    entries = list_entries(DEFAULT_ORGANISATION_ID)
    assert [(e.action, e.target, e.user_id) for e in entries] == [
        ("token.revoke", f"token:{token.id}", anna.id), ("token.create", f"token:{token.id}", anna.id)]
    assert entries[1].after["role"] == "manager" and secret not in str(entries[1].after)
    shown = find(page, ids.AUDIT_GRID).rowData
    assert [r["action"] for r in shown] == ["token.revoke", "token.create"] and shown[0]["actor"] == scope.label


def test_a_manager_cannot_create_or_revoke_tokens(db_url, pages):
    account, _ = pages
    with use_scope(scope_of("admin")):
        token, _secret = issue_token("Existing", "viewer")
    with use_scope(scope_of("manager")):
        refused = account.create_token(1, "Sneaky", "viewer", None)
        assert refused["alert_color"] == "danger" and "role" in refused["alert"] and refused["secret"] is None
        assert account.revoke_token(1, [{"id": token.id}])["alert_color"] == "danger"
        with pytest.raises(Forbidden):
            issue_token("Sneaky", "viewer")
    assert [(t.name, t.revoked_at) for t in list_tokens(DEFAULT_ORGANISATION_ID)] == [("Existing", None)]
    assert [e.action for e in list_entries(DEFAULT_ORGANISATION_ID)] == ["token.create"]  # the admin's only


def test_token_input_is_checked_before_anything_is_made(db_url, pages):
    account, _ = pages
    other = create_organisation("Stadtwerke Nord")
    with use_scope(scope_of("admin", other.id)):
        foreign, _ = issue_token("Theirs", "viewer")
    with use_scope(scope_of("admin")):
        assert account.create_token(1, "", "viewer", None)["alert_color"] == "danger"
        assert account.create_token(1, "Gateway", "owner", None)["alert_color"] == "danger"
        assert "days" in account.create_token(1, "Gateway", "viewer", 0)["alert"]
        assert account.create_token(1, "Gateway", "viewer", 2.5)["alert_color"] == "danger"
        assert account.revoke_token(1, [{"id": foreign.id}])["alert_color"] == "danger"  # another organisation's
        assert account.revoke_token(1, [])["alert_color"] == "warning"
    assert list_tokens(DEFAULT_ORGANISATION_ID) == [] and list_tokens(other.id)[0].revoked_at is None


def test_an_admin_adds_a_user_with_a_role_and_it_is_audited(db_url, pages):
    account, _ = pages
    anna = member("anna@example.org", DEFAULT_ORGANISATION_ID, "admin")
    with use_scope(scope_of("admin", user_id=anna.id)):
        out = account.create_user(1, " Carla@Example.org ", "Carla", PASSWORD, "viewer")
        assert out["alert_color"] == "success" and out["password"] == ""
        assert ("carla@example.org", "viewer") in [(r["email"], r["role"]) for r in out["rows"]]
        weak = account.create_user(1, "dan@example.org", "Dan", "short", "viewer")
        assert weak["alert_color"] == "danger"
    with use_scope(scope_of("manager")):
        assert account.create_user(1, "eve@example.org", "Eve", PASSWORD, "viewer")["alert_color"] == "danger"
    assert [u.email for u in list_users(DEFAULT_ORGANISATION_ID)] == ["anna@example.org", "carla@example.org"]
    [entry] = list_entries(DEFAULT_ORGANISATION_ID)
    assert (entry.action, entry.after["email"], entry.after["role"]) == ("user.create", "carla@example.org", "viewer")


# --- /audit -------------------------------------------------------------------------------------------

def test_the_audit_log_needs_the_admin_role(db_url, pages):
    _, audit = pages
    record(scope_of("admin"), "household.update", "household:1", {"name": "A"}, {"name": "B"})
    for role in ("viewer", "manager"):
        with use_scope(scope_of(role)):
            page = audit.layout()
            assert audit.NEEDS_ADMIN in str(page) and find(page, ids.AUDIT_GRID) is None
            assert find(page, ids.AUDIT_DOWNLOAD_BUTTON) is None
            with pytest.raises(Forbidden):
                audit.download_audit(1)


def test_the_audit_csv_has_every_entry_of_the_organisation_only_with_formulas_defused(db_url, pages):
    _, audit = pages
    other = create_organisation("Stadtwerke Nord")
    admin = scope_of("admin")
    record(admin, "household.update", "household:1", {"name": "A", "kwp": 5}, {"name": "B", "kwp": 5})
    record(AccessScope(organisation_id=admin.organisation_id, role="admin", label="=HYPERLINK(\"x\")"),
           "tariff.create", "tariff:2", None, {"name": "Flat"})
    record(scope_of("admin", other.id), "token.create", "token:9", None, {"name": "theirs"})
    with use_scope(admin):
        page = audit.layout()
        download = audit.download_audit(1)
    assert download["filename"] == "audit-log.csv"
    rows = list(csv.DictReader(io.StringIO(download["content"])))
    assert [r["action"] for r in rows] == ["household.update", "tariff.create"]  # oldest first, this organisation's
    assert rows[0]["before"] == '{"name": "A"}' and rows[0]["after"] == '{"name": "B"}'  # only what changed
    assert rows[1]["actor"].startswith("'=")  # a spreadsheet shows it as text, never runs it
    shown = find(page, ids.AUDIT_GRID).rowData
    assert [r["action"] for r in shown] == ["tariff.create", "household.update"]
    assert shown[1]["before"] == "name: A" and shown[1]["after"] == "name: B"


# --- through the real app: sign in, the navbar, a page, the switch, sign out ---------------------------

def test_a_signed_in_browser_gets_its_navbar_pages_and_switch(db_url, dash_app):
    import re

    from api.sessions import CSRF_COOKIE
    from tests.dash_requests import callback_body

    other = create_organisation("Stadtwerke Nord")
    anna = member("anna@example.org", DEFAULT_ORGANISATION_ID, "admin")
    add_membership(anna.id, other.id, "viewer")
    client = dash_app.server.test_client()
    form = client.get("/sign-in").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    assert client.post("/sign-in", data={"email": anna.email, "password": PASSWORD, "csrf_token": csrf}).status_code == 303

    def page(path: str) -> str:
        deps = client.get("/_dash-dependencies").get_json()
        [dep] = [d for d in deps if d["output"].startswith(".._pages_content.children")]
        body = {"output": dep["output"], "outputs": [{"id": o.split(".")[0], "property": o.split(".")[1]}
                                                     for o in dep["output"].strip(".").split("...")],
                "inputs": [{**i, "value": path if i["property"] == "pathname" else ""} for i in dep["inputs"]],
                "changedPropIds": ["_pages_location.pathname"], "state": [{**s, "value": None} for s in dep["state"]]}
        answer = client.post("/_dash-update-component", json=body,
                             headers={"X-CSRFToken": client.get_cookie(CSRF_COOKIE).value})
        assert answer.status_code == 200
        return answer.get_data(as_text=True)

    shell = client.get("/_dash-layout").get_data(as_text=True)
    assert "Sign out" in shell and ids.SHELL_ORGANISATION in shell and "Audit log" in shell
    assert ids.ACCOUNT_TOKENS_GRID in page("/account") and ids.AUDIT_GRID in page("/audit")
    assert HIDE_CLASS not in page("/households")

    body = callback_body(client.get("/_dash-dependencies").get_json(), ids.SHELL_ORGANISATION, "value", str(other.id))
    switched = client.post("/_dash-update-component", json=body,
                           headers={"X-CSRFToken": client.get_cookie(CSRF_COOKIE).value})
    assert switched.get_json()["response"][ids.SHELL_RELOAD]["data"] == other.id
    assert HIDE_CLASS in page("/households") and "needs the admin role" in page("/audit")  # a viewer there

    signed_out = client.post("/sign-out", data={"csrf_token": client.get_cookie(CSRF_COOKIE).value})
    assert signed_out.status_code == 303 and client.get("/_dash-layout").status_code == 401
