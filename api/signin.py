"""Sign-in, sign-out and password change: plain HTML forms served by Flask (no script at all).

- ``GET/POST /sign-in``: email and password; on success a session cookie and a redirect to
  ``next`` (a path of this site only). Failures are counted per client address and per email:
  after ``SIGN_IN_ATTEMPTS_PER_MINUTE`` the form answers 429 for the rest of the minute.
- ``POST /sign-out``: ends the session (a form with the CSRF field, never a GET a link could fire).
- ``GET/POST /account/password``: the current password and a new one twice; every other session
  of the user ends, this one is issued anew.

Before a session exists the sign-in form is protected by a double-submit token: the same random
value in the ``_csrf_token`` cookie and in the form.
"""

from __future__ import annotations

import hmac
import secrets
from html import escape
from urllib.parse import urlsplit

from flask import Flask, Response, redirect, request

from api import sessions
from api.ratelimit import RateLimiter
from services.access import NotFound, current_scope
from services.auth import AccountProblem, authenticate, record, set_password
from services.auth.accounts import get_user
from services.config import get_settings

sign_in_by_address = RateLimiter("sign-in-address")
sign_in_by_email = RateLimiter("sign-in-email")

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · Energy Dashboard</title>
<link rel="stylesheet" href="/assets/00_bootstrap.min.css"><link rel="stylesheet" href="/assets/10_app.css"></head>
<body class="bg-body-tertiary"><main class="container" style="max-width: 26rem; padding-top: 12vh">
<h1 class="h3 mb-1"><span aria-hidden="true">⚡</span> Energy Dashboard</h1>
<h2 class="h5 text-body-secondary mb-4">{title}</h2>{message}
<form method="post" class="card card-body shadow-sm">{fields}
<input type="hidden" name="csrf_token" value="{csrf}">
<button class="btn btn-primary w-100 mt-2" type="submit">{button}</button></form>{after}
</main></body></html>"""

_FIELD = """<div class="mb-3"><label class="form-label" for="{name}">{label}</label>
<input class="form-control" id="{name}" name="{name}" type="{kind}" autocomplete="{autocomplete}" {extra}></div>"""


def register_sign_in(server: Flask) -> None:
    """Add the sign-in, sign-out and password-change views to ``server``."""
    server.add_url_rule("/sign-in", "sign_in", sign_in, methods=["GET", "POST"])
    server.add_url_rule("/sign-out", "sign_out", sign_out, methods=["POST"])
    server.add_url_rule("/account/password", "change_password", change_password, methods=["GET", "POST"])


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path on this site, never another host (open redirect)."""
    if not target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def sign_in() -> Response:
    """The sign-in form, and signing in with it."""
    if request.method == "GET":
        return _sign_in_form()
    if not _pre_session_csrf_ok():
        return _sign_in_form("Your sign-in form had expired; please try again.", status=400)
    email = (request.form.get("email") or "").strip().lower()[:254]
    address = request.remote_addr or "?"
    if not (sign_in_by_address.allowed(address, peek=True) and sign_in_by_email.allowed(email, peek=True)):
        return _sign_in_form("Too many failed sign-ins: wait a minute, then try again.", email=email, status=429)
    user = authenticate(email, request.form.get("password") or "")
    if user is None:
        sign_in_by_address.allowed(address)
        sign_in_by_email.allowed(email)
        return _sign_in_form("That email and password do not match an active account.", email=email, status=401)
    try:
        sessions.start_session(user)
    except NotFound as exc:
        return _sign_in_form(str(exc), email=email, status=403)
    return redirect(safe_next(request.args.get("next")), code=303)


def sign_out() -> Response:
    """End the session (the gate has checked the form's CSRF field) and go to the sign-in page."""
    sessions.end_session()
    return redirect("/sign-in", code=303)


def change_password() -> Response:
    """The password-change form, and changing it: the current password is asked again."""
    scope = current_scope()
    user = get_user(scope.user_id) if scope.user_id is not None and scope.token_id is None else None
    if user is None:
        return Response("Password changes are for signed-in people, not API tokens.", status=403)
    if request.method == "GET":
        return _password_form()
    current, new, again = (request.form.get(k) or "" for k in ("current", "new", "again"))
    if authenticate(user.email, current) is None:
        return _password_form("The current password is not right.", status=400)
    if new != again:
        return _password_form("The two new passwords differ: type the same one twice.", status=400)
    try:
        set_password(user.id, new)
    except AccountProblem as exc:
        return _password_form(str(exc), status=400)
    record(scope, "user.password", f"user:{user.id}")
    sessions.start_session(get_user(user.id), scope.organisation_id)  # this browser stays signed in
    return _password_form("Your password is changed. Other browsers signed in as you are signed out.",
                          ok=True)


def _sign_in_form(message: str = "", *, email: str = "", status: int = 200) -> Response:
    token = request.cookies.get(sessions.CSRF_COOKIE) or secrets.token_urlsafe(32)
    fields = (_FIELD.format(name="email", label="Email", kind="email", autocomplete="username",
                            extra=f'required autofocus value="{escape(email)}"')
              + _FIELD.format(name="password", label="Password", kind="password", autocomplete="current-password",
                              extra="required"))
    html = _PAGE.format(title="Sign in", message=_alert(message), fields=fields, csrf=escape(token),
                        button="Sign in", after="")
    response = Response(html, status=status, mimetype="text/html")
    response.set_cookie(sessions.CSRF_COOKIE, token, path="/", secure=request.is_secure, samesite="Lax",
                        max_age=int(get_settings().session_hours * 3600))
    return response


def _password_form(message: str = "", *, ok: bool = False, status: int = 200) -> Response:
    fields = "".join(_FIELD.format(name=name, label=label, kind="password", autocomplete=auto, extra="required")
                     for name, label, auto in (("current", "Current password", "current-password"),
                                               ("new", "New password (10 characters or more)", "new-password"),
                                               ("again", "New password again", "new-password")))
    html = _PAGE.format(title="Change your password", message=_alert(message, ok=ok), fields=fields,
                        csrf=escape(sessions.csrf_token()), button="Change password",
                        after='<p class="mt-3"><a href="/account">Back to your account</a></p>')
    return Response(html, status=status, mimetype="text/html")


def _alert(message: str, *, ok: bool = False) -> str:
    if not message:
        return ""
    kind = "success" if ok else "danger"
    return f'<div class="alert alert-{kind}" role="alert">{escape(message)}</div>'


def _pre_session_csrf_ok() -> bool:
    cookie, sent = request.cookies.get(sessions.CSRF_COOKIE, ""), request.form.get("csrf_token", "")
    return bool(cookie and sent) and hmac.compare_digest(cookie, sent)
