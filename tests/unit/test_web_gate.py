"""The web gate (api/security.py, api/sessions.py, api/signin.py) against the real app and store:
default deny, sign-in and sign-out, CSRF, sessions ending, rate limits, headers, body limit."""

from __future__ import annotations

import ast
import re
import time
from pathlib import Path

import pytest

from api.signin import safe_next, sign_in_by_address, sign_in_by_email
from services import config
from services.auth import add_membership, create_organisation, create_token, create_user, revoke_token, set_password
from services.serving import ServingRefused, check_serving, is_loopback
from services.store.models import DEFAULT_ORGANISATION_ID

PASSWORD = "correct horse battery"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def server(dash_app):
    """The app's Flask server (the one app of the process: a second Dash app would miss the
    callbacks registered with ``dash.callback``)."""
    return dash_app.server


@pytest.fixture
def anna(db_url):
    """A manager of the default organisation."""
    sign_in_by_address.reset()
    sign_in_by_email.reset()
    user = create_user("anna@example.org", "Anna", PASSWORD)
    add_membership(user.id, DEFAULT_ORGANISATION_ID, "manager")
    return user


def sign_in(client, email="anna@example.org", password=PASSWORD, next_="/"):
    form = client.get("/sign-in")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
    return client.post(f"/sign-in?next={next_}", data={"email": email, "password": password, "csrf_token": token})


def csrf_of(client) -> str:
    return client.get_cookie("_csrf_token").value


def test_without_identity_pages_redirect_to_sign_in_and_the_api_answers_401(server, db_url):
    client = server.test_client()
    page = client.get("/households", headers={"Accept": "text/html"})
    assert (page.status_code, page.headers["Location"]) == (302, "/sign-in?next=/households")
    api = client.get("/api/households")
    assert api.status_code == 401
    assert api.headers["WWW-Authenticate"].startswith("Bearer")
    assert "Sign in" in api.get_json()["error"]["detail"]
    assert client.post("/_dash-update-component", json={}).status_code == 401
    assert client.get("/_dash-layout").status_code == 401
    assert client.get("/health").status_code == 200
    assert client.get("/assets/00_bootstrap.min.css").status_code == 200
    assert client.get("/sign-in").status_code == 200


def test_sign_in_sets_a_safe_cookie_and_goes_where_it_was_asked(server, anna):
    client = server.test_client()
    response = sign_in(client, next_="/households")
    assert (response.status_code, response.headers["Location"]) == (303, "/households")
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("ed_session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    households = client.get("/api/households")
    assert households.status_code == 200 and households.get_json()["count"] == 0
    assert client.get("/households").status_code == 200


def test_over_https_the_cookies_are_secure(server, anna):
    client = server.test_client()
    form = client.get("/sign-in", base_url="https://dash.example.org")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
    response = client.post("/sign-in", base_url="https://dash.example.org",
                           data={"email": anna.email, "password": PASSWORD, "csrf_token": token})
    cookies = response.headers.getlist("Set-Cookie")
    assert all("Secure" in c for c in cookies) and len(cookies) == 2
    assert "Strict-Transport-Security" in response.headers


def test_a_wrong_password_or_a_forged_form_signs_nobody_in(server, anna):
    client = server.test_client()
    wrong = sign_in(client, password="not the password")
    assert wrong.status_code == 401 and "do not match" in wrong.text
    assert client.get_cookie("ed_session") is None
    client.get("/sign-in")
    forged = client.post("/sign-in", data={"email": anna.email, "password": PASSWORD, "csrf_token": "guess"})
    assert forged.status_code == 400 and client.get_cookie("ed_session") is None


@pytest.mark.parametrize("target, expected", [("/households?x=1", "/households?x=1"), ("//evil.example", "/"),
                                              ("https://evil.example/", "/"), ("/\\evil.example", "/"), ("", "/")])
def test_after_sign_in_only_paths_of_this_site_are_followed(target, expected):
    assert safe_next(target) == expected


def test_repeated_failures_are_throttled_per_email(server, anna, monkeypatch):
    monkeypatch.setattr("api.ratelimit._now", lambda: 1_800_000_030.0)  # all inside one minute's window
    client = server.test_client()
    limit = config.get_settings().sign_in_attempts_per_minute
    statuses = [sign_in(client, password=f"wrong {i}").status_code for i in range(limit + 1)]
    assert statuses[:limit] == [401] * limit and statuses[-1] == 429
    assert sign_in(client).status_code == 429  # even the right password waits out the minute


def test_cookie_writes_need_the_csrf_token_and_bearer_writes_do_not(server, anna):
    client = server.test_client()
    sign_in(client)
    assert client.post("/_dash-update-component", json={}).status_code == 403
    with_token = client.post("/_dash-update-component", json={}, headers={"X-CSRFToken": csrf_of(client)})
    assert with_token.status_code != 403
    _, secret = create_token("script", DEFAULT_ORGANISATION_ID, "manager")
    bearer = server.test_client().post("/_dash-update-component", json={},
                                       headers={"Authorization": f"Bearer {secret}"})
    assert bearer.status_code not in (401, 403)


def test_sign_out_ends_the_session(server, anna):
    client = server.test_client()
    sign_in(client)
    assert client.post("/sign-out").status_code == 403  # a cross-site form cannot sign you out
    out = client.post("/sign-out", data={"csrf_token": csrf_of(client)})
    assert (out.status_code, out.headers["Location"]) == (303, "/sign-in")
    assert client.get("/api/households").status_code == 401


def test_a_password_change_ends_the_other_sessions_and_keeps_this_one(server, anna):
    here, elsewhere = server.test_client(), server.test_client()
    sign_in(here)
    sign_in(elsewhere)  # in the same second as the change, on SQLite's whole seconds too
    changed = here.post("/account/password", data={"current": PASSWORD, "new": "a brand new passphrase",
                                                   "again": "a brand new passphrase", "csrf_token": csrf_of(here)})
    assert changed.status_code == 200 and "is changed" in changed.text
    assert here.get("/api/households").status_code == 200
    assert elsewhere.get("/api/households").status_code == 401
    wrong = here.post("/account/password", data={"current": PASSWORD, "new": "x" * 12, "again": "x" * 12,
                                                 "csrf_token": csrf_of(here)})
    assert wrong.status_code == 400 and "not right" in wrong.text


def test_a_session_expires(server, anna, monkeypatch):
    client = server.test_client()
    sign_in(client)
    monkeypatch.setenv("SESSION_HOURS", "0.0001")
    config.get_settings.cache_clear()
    time.sleep(1.2)
    assert client.get("/api/households").status_code == 401


def test_a_deactivated_user_or_a_lost_membership_ends_the_session(server, anna):
    from services.store.db import session_scope
    from services.store.models import Membership

    client = server.test_client()
    sign_in(client)
    with session_scope() as session:
        session.query(Membership).filter_by(user_id=anna.id).delete()
    assert client.get("/api/households").status_code == 401


def test_tokens_unknown_revoked_or_malformed_are_refused(server, db_url):
    view, secret = create_token("ci", DEFAULT_ORGANISATION_ID, "viewer")
    client = server.test_client()
    assert client.get("/api/households", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    revoke_token(view.id, DEFAULT_ORGANISATION_ID)
    assert client.get("/api/households", headers={"Authorization": f"Bearer {secret}"}).status_code == 401
    assert client.get("/api/households", headers={"Authorization": "Basic abc"}).status_code == 401
    assert client.get("/api/households", headers={"Authorization": "Bearer ed_made_up"}).status_code == 401


def test_responses_carry_security_headers_and_a_csp_without_inline_scripts(server, anna):
    client = server.test_client()
    sign_in(client)
    for path in ("/", "/sign-in", "/api/households"):
        headers = client.get(path).headers
        csp = headers["Content-Security-Policy"]
        script_src = re.search(r"script-src ([^;]+)", csp).group(1)
        assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src
        assert "frame-ancestors 'none'" in csp
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "same-origin"
    assert client.get("/api/households").headers["Cache-Control"] == "no-store"


def test_a_body_over_the_limit_gets_413_with_a_way_forward(server, anna, monkeypatch):
    monkeypatch.setenv("MAX_REQUEST_MB", "0.01")
    config.get_settings.cache_clear()
    _, secret = create_token("big", DEFAULT_ORGANISATION_ID, "manager")
    response = server.test_client().post("/api/ingest/readings", data=b"x" * 20_000, content_type="application/json",
                                         headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 413
    assert "largest accepted is 0.01 MB" in response.get_json()["error"]["detail"]


def test_debug_and_demo_passwords_never_serve_off_loopback(db_url):
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("10.0.0.5")
    check_serving(config.Settings(host="0.0.0.0"))  # no demo account: fine
    with pytest.raises(ServingRefused, match="DEBUG=1"):
        check_serving(config.Settings(host="0.0.0.0", debug=True))
    user = create_user("demo@example.org", "Demo", PASSWORD, demo=True)
    check_serving(config.Settings(host="127.0.0.1"))
    with pytest.raises(ServingRefused, match="demo@example.org"):
        check_serving(config.Settings(host="0.0.0.0"))
    # A container listens on 0.0.0.0; where it is published decides.
    check_serving(config.Settings(host="0.0.0.0", published_address="127.0.0.1:8050"))
    with pytest.raises(ServingRefused, match="on 192.0.2.7"):
        check_serving(config.Settings(host="0.0.0.0", published_address="192.0.2.7:80"))
    set_password(user.id, "a new private passphrase")
    check_serving(config.Settings(host="0.0.0.0"))


def test_organisations_see_only_their_households_through_the_api(server, db_url):
    from services.access import AccessScope, use_scope
    from services.households import create_household

    other = create_organisation("Other Co")
    with use_scope(AccessScope(organisation_id=other.id, role="admin")):
        hidden = create_household({"name": "Hidden House", "timezone": "Europe/Berlin", "latitude": 52.5,
                                   "longitude": 13.4})
    _, secret = create_token("mine", DEFAULT_ORGANISATION_ID, "viewer")
    client = server.test_client()
    auth = {"Authorization": f"Bearer {secret}"}
    listed = client.get("/api/households", headers=auth)
    assert "Hidden House" not in listed.text
    assert client.get(f"/api/households/{hidden}", headers=auth).status_code == 404


def _runs_in_background(keyword: ast.keyword) -> bool:
    """``background=True``, or ``**progress_job(...)`` (components.jobs: a background job)."""
    if keyword.arg == "background":
        return bool(getattr(keyword.value, "value", False))
    return keyword.arg is None and isinstance(keyword.value, ast.Call) and \
        getattr(keyword.value.func, "id", "") == "progress_job"


def test_every_background_callback_runs_as_its_caller():
    """A background callback has no request: without ``@as_caller`` it would run as the system."""
    found = []
    for path in sorted((ROOT / "pages").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.FunctionDef):
                continue
            background = any(isinstance(d, ast.Call) and any(_runs_in_background(k) for k in d.keywords)
                             for d in node.decorator_list)
            if background:
                names = [getattr(d, "id", "") for d in node.decorator_list]
                found.append((path.name, node.name, "as_caller" in names))
    assert len(found) >= 7 and all(ok for *_, ok in found), found


def test_the_stored_secret_key_is_made_once_even_by_processes_starting_together(tmp_path):
    import multiprocessing

    from api.sessions import _stored_key

    path = str(tmp_path / "secret_key")
    with multiprocessing.get_context("fork").Pool(4) as pool:
        keys = pool.map(_stored_key, [path] * 8)
    assert len(set(keys)) == 1 and len(keys[0]) >= 48
    assert oct(Path(path).stat().st_mode & 0o777) == "0o600"
    assert [p.name for p in tmp_path.iterdir()] == ["secret_key"]  # no candidate left behind
