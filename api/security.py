"""The web gate: one ``before_request`` that decides who is calling, and refuses everyone else.

Default deny: a request without an identity gets 401 (a page: a redirect to ``/sign-in``), except
the sign-in page, static assets, ``/health`` and ``/metrics`` (which checks its own token). An
identity is an API token (``Authorization: Bearer ed_...``) or the signed session cookie
(:mod:`api.sessions`); the scope it resolves to is made current for the whole request
(:func:`services.access.current_scope`).

Also here: CSRF on every state-changing request authenticated by cookie (Dash's ``X-CSRFToken``
header or a form's ``csrf_token`` field), rate limits on sign-in failures and token use, the
request body limit (413 with a message), and the security headers (a CSP whose scripts are
``'self'`` plus the hashes of Dash's own inline scripts; no ``unsafe-inline`` script).
"""

from __future__ import annotations

import hmac
import logging
from http import HTTPStatus
from urllib.parse import quote

from flask import Flask, Response, current_app, g, redirect, request

from api import sessions
from api.errors import error_response
from api.ratelimit import RateLimiter
from services import access
from services.config import get_settings

logger = logging.getLogger("security")

PUBLIC_PATHS = frozenset({"/sign-in", "/health", "/metrics", "/_favicon.ico", "/favicon.ico"})
PUBLIC_PREFIXES = ("/assets/", "/_dash-component-suites/")
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
TOKEN_REQUESTS_PER_MINUTE = 600  # per token: a script polling once a second fits with room to spare
BAD_TOKENS_PER_MINUTE = 20  # per client address: guessing secrets is pointless, and slowed down
_SCOPE_TOKEN = "ed_scope_token"

token_limiter = RateLimiter("token", TOKEN_REQUESTS_PER_MINUTE)
bad_token_limiter = RateLimiter("bad-token", BAD_TOKENS_PER_MINUTE)


def is_public(path: str) -> bool:
    """Whether ``path`` is served without an identity."""
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


def install_security(server: Flask, csp_script_hashes=lambda: []) -> None:
    """Install the gate, the body limit and the headers on ``server``. ``csp_script_hashes`` gives
    the ``'sha256-...'`` sources of the app's inline scripts (Dash's ``app.csp_hashes``)."""
    server.config["MAX_CONTENT_LENGTH"] = int(get_settings().max_request_mb * 1024 * 1024)
    server.before_request(_gate)
    server.after_request(_finish)
    server.teardown_request(_reset_scope)
    server.register_error_handler(413, _too_large)
    server.register_error_handler(access.AccessDenied, _denied)
    server.extensions["ed_csp_hashes"] = csp_script_hashes


def _gate():
    limit = get_settings().max_request_mb
    if request.content_length is not None and request.content_length > limit * 1024 * 1024:
        return _too_large(None)
    if is_public(request.path):
        return None
    scope, by_cookie = _identify()
    if isinstance(scope, Response):
        return scope
    if scope is None:
        return _anonymous()
    setattr(g, _SCOPE_TOKEN, access.set_request_scope(scope))
    if by_cookie and request.method in UNSAFE_METHODS and not _csrf_ok():
        return _refuse(403, "This page is out of date or was not sent by the dashboard (CSRF check failed): "
                            "reload the page and try again.")
    return None


def _identify() -> tuple[access.AccessScope | Response | None, bool]:
    """(scope, whether it came from the session cookie); a Response when a token is refused."""
    header = request.headers.get("Authorization", "")
    if header:
        kind, _, secret = header.partition(" ")
        if kind.lower() != "bearer" or not secret.strip():
            return _refuse(401, 'Send an API token as "Authorization: Bearer <token>".'), False
        client = request.remote_addr or "?"
        if not bad_token_limiter.allowed(client, peek=True):
            return _too_many(bad_token_limiter), False
        scope = sessions.scope_from_token(secret.strip())
        if scope is None:
            bad_token_limiter.allowed(client)
            return _refuse(401, "This API token is unknown, revoked or expired: create a new one on the "
                                "Account page or with `flask token-create`."), False
        if not token_limiter.allowed(str(scope.token_id)):
            return _too_many(token_limiter), False
        return scope, False
    data = sessions.request_session()
    return (sessions.scope_for(data) if data else None), True


def _csrf_ok() -> bool:
    data = sessions.request_session()
    sent = request.headers.get("X-CSRFToken", "")
    if not sent and request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        sent = request.form.get("csrf_token", "")
    return bool(data and sent) and hmac.compare_digest(sent, data.csrf)


def _anonymous():
    wants_page = request.method == "GET" and not request.path.startswith(("/api/", "/_dash-", "/_reload"))
    if wants_page and request.accept_mimetypes.accept_html:
        target = request.full_path.rstrip("?")
        return redirect(f"/sign-in?next={quote(target, safe='/')}", code=302)
    return _refuse(401, "Sign in first, or send an API token as \"Authorization: Bearer <token>\".")


def _refuse(status: int, detail: str) -> Response:
    headers = {"WWW-Authenticate": 'Bearer realm="energy-dashboard"'} if status == 401 else None
    return error_response(status, detail, title=HTTPStatus(status).phrase, headers=headers)


def _too_many(limiter: RateLimiter) -> Response:
    return error_response(429, f"Too many requests; try again in {limiter.window_s} seconds.",
                          headers={"Retry-After": str(limiter.window_s)})


def _too_large(_exc):
    limit = get_settings().max_request_mb
    size = (request.content_length or 0) / 1024 / 1024
    return error_response(413, f"The request is {size:.1f} MB; the largest accepted is {limit:g} MB. "
                               "Split the file into smaller ones and send them one by one.")


def _denied(exc: access.AccessDenied):
    if isinstance(exc, access.NotSignedIn):
        return _anonymous()
    return _refuse(exc.status, str(exc) or HTTPStatus(exc.status).phrase)


def _reset_scope(_exc=None) -> None:
    token = g.pop(_SCOPE_TOKEN, None)
    if token is not None:
        access.reset_scope(token)


def _finish(response: Response) -> Response:
    sessions.apply_cookies(response)
    headers = response.headers
    hashes = " ".join(current_app.extensions["ed_csp_hashes"]())
    headers.setdefault("Content-Security-Policy", (
        f"default-src 'self'; script-src 'self' {hashes}; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; object-src 'none'; "
        "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"))
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    if g.get(_SCOPE_TOKEN) is not None and not is_public(request.path):
        headers.setdefault("Cache-Control", "no-store")
    return response
