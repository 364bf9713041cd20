"""Who a web request comes from: the signed session cookie, or an API token.

The session cookie (``ed_session``) is signed with the app's secret key (itsdangerous) and holds
the user id, the organisation chosen, when it was issued and the CSRF token; nothing else. It is
HttpOnly, SameSite=Lax and Secure when the request came over HTTPS. A session ends when it is
older than ``SESSION_HOURS``, when its user is deactivated or leaves the organisation, and when
the password changed after it was issued (a password change signs out every other browser): the
cookie carries a keyed digest of the password hash it was signed in with (:func:`password_stamp`).

The CSRF token is also sent in the ``_csrf_token`` cookie, readable by scripts: Dash's renderer
copies it into the ``X-CSRFToken`` header of each callback request, and forms carry it in a
``csrf_token`` field; the gate compares either with the session's own copy.

Changes made while handling a request (:func:`start_session`, :func:`end_session`,
:func:`switch_organisation`) are written to the response by :func:`apply_cookies`, so they work
from a Flask view and from inside a Dash callback alike.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import time
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

from flask import Response, g, has_request_context, request
from itsdangerous import BadSignature, URLSafeTimedSerializer

from services.access import AccessScope, NotFound
from services.auth import MembershipView, UserView, memberships_of, verify_token
from services.config import PROJECT_ROOT, get_settings

SESSION_COOKIE = "ed_session"
CSRF_COOKIE = "_csrf_token"
_SALT = "energy-dashboard-session"
_NEW = "ed_new_session"  # g key: the session to write on the response (False: clear it)


@dataclass(frozen=True)
class SessionData:
    """What the session cookie holds. ``issued_at`` is a Unix time [s]."""

    user_id: int
    organisation_id: int
    issued_at: float
    csrf: str
    password_stamp: str


def secret_key() -> str:
    """``SECRET_KEY``, or a random key kept in ``data/secret_key`` (made on first use, mode 0600)."""
    configured = get_settings().secret_key
    return configured or _stored_key(str(PROJECT_ROOT / "data" / "secret_key"))


@lru_cache(maxsize=2)
def _stored_key(path: str) -> str:
    """The key in ``path``, made there first when missing. Several processes may start at once:
    each writes its candidate to a file of its own and links it into place, so exactly one wins and
    every process reads the winner's complete key."""
    target = Path(path)
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        candidate = target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
        try:
            os.link(candidate, target)  # atomic, and refuses to replace a key another process made
        except FileExistsError:
            pass
        finally:
            candidate.unlink()
    return target.read_text().strip()


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key(), salt=_SALT)


def encode(data: SessionData) -> str:
    """The cookie value for ``data``."""
    return _serializer().dumps([data.user_id, data.organisation_id, data.issued_at, data.csrf, data.password_stamp])


def decode(value: str | None) -> SessionData | None:
    """The session in a cookie value, or None when it is missing, forged or older than
    ``SESSION_HOURS``."""
    if not value:
        return None
    try:
        user_id, organisation_id, issued_at, csrf, stamp = _serializer().loads(
            value, max_age=int(get_settings().session_hours * 3600))
        return SessionData(int(user_id), int(organisation_id), float(issued_at), str(csrf), str(stamp))
    except (BadSignature, ValueError, TypeError):
        return None


def scope_for(data: SessionData) -> AccessScope | None:
    """The scope of a decoded session, or None when its user may no longer use it (inactive, no
    longer a member of the organisation, or the password changed after it was issued)."""
    from services.auth.accounts import session_identity

    identity = session_identity(data.user_id, data.organisation_id)
    if identity is None:
        return None
    email, role, password_hash = identity
    if not hmac.compare_digest(data.password_stamp, password_stamp(password_hash)):
        return None  # signed in with a password that has changed since
    return AccessScope(user_id=data.user_id, organisation_id=data.organisation_id, role=role, label=email)


def scope_from_cookies(cookies: dict) -> AccessScope | None:
    """The scope of the session in ``cookies`` (a request's, or ``dash.callback_context.cookies`` in
    a background callback), or None."""
    data = decode(cookies.get(SESSION_COOKIE))
    return scope_for(data) if data else None


def scope_from_token(secret: str) -> AccessScope | None:
    """The scope of an API token's secret, or None when it is unknown, revoked or expired."""
    token = verify_token(secret)
    if token is None:
        return None
    return AccessScope(user_id=token.user_id, organisation_id=token.organisation_id, role=token.role,
                       label=f"token {token.name} ({token.prefix}…)", token_id=token.id)


def request_session() -> SessionData | None:
    """The session this request came with (after any change made while handling it)."""
    pending = g.get(_NEW)
    if pending is not None:
        return pending or None
    if "ed_session_data" not in g:
        g.ed_session_data = decode(request.cookies.get(SESSION_COOKIE))
    return g.ed_session_data


def start_session(user: UserView, organisation_id: int | None = None) -> SessionData:
    """Sign ``user`` in on this response: the organisation given (when a member), else their first.
    Raises :class:`NotFound` when the user belongs to no organisation (or not to the one given)."""
    organisations = memberships_of(user.id)
    chosen = [m for m in organisations if organisation_id in (None, m.organisation_id)]
    if not chosen:
        raise NotFound("This account belongs to no organisation yet: ask an admin to add you to one.")
    from services.auth.accounts import session_identity

    organisation_id = chosen[0].organisation_id
    identity = session_identity(user.id, organisation_id)
    if identity is None:
        raise NotFound("This account is not active.")
    data = SessionData(user.id, organisation_id, time.time(), secrets.token_urlsafe(32), password_stamp(identity[2]))
    setattr(g, _NEW, data)
    return data


def password_stamp(password_hash: str) -> str:
    """What a session remembers of the password it was signed in with: a keyed digest of its hash
    (never the hash). A new password has a new hash (a new salt, too), so every session signed in
    before the change stops matching, whatever the clock's precision."""
    return hmac.new(secret_key().encode(), password_hash.encode(), hashlib.sha256).hexdigest()[:32]


def end_session() -> None:
    """Sign out on this response: the session and CSRF cookies are deleted."""
    setattr(g, _NEW, False)


def switch_organisation(organisation_id: int) -> None:
    """Work in another of the signed-in user's organisations from the next request on.
    Raises :class:`NotFound` when the user is not a member of it."""
    data = request_session()
    if data is None or organisation_id not in {m.organisation_id for m in memberships_of(data.user_id)}:
        raise NotFound("You are not a member of that organisation.")
    setattr(g, _NEW, replace(data, organisation_id=organisation_id))


def csrf_token() -> str:
    """The CSRF token to put in a form's ``csrf_token`` field ("" without a session)."""
    data = request_session() if has_request_context() else None
    return data.csrf if data else ""


def current_user() -> UserView | None:
    """The user signed in on this request; None for API-token callers and outside a request."""
    from services.auth.accounts import get_user

    data = request_session() if has_request_context() else None
    return get_user(data.user_id) if data else None


def memberships() -> list[MembershipView]:
    """The organisations (and roles) of the signed-in user; [] without one."""
    data = request_session() if has_request_context() else None
    return memberships_of(data.user_id) if data else []


def apply_cookies(response: Response) -> Response:
    """Write a session started, switched or ended during this request onto ``response``."""
    pending = g.get(_NEW)
    if pending is None:
        return response
    secure = request.is_secure
    if pending is False:
        response.delete_cookie(SESSION_COOKIE, path="/", secure=secure, httponly=True, samesite="Lax")
        response.delete_cookie(CSRF_COOKIE, path="/", secure=secure, samesite="Lax")
        return response
    max_age = int(get_settings().session_hours * 3600)
    response.set_cookie(SESSION_COOKIE, encode(pending), max_age=max_age, path="/", secure=secure,
                        httponly=True, samesite="Lax")
    response.set_cookie(CSRF_COOKIE, pending.csrf, max_age=max_age, path="/", secure=secure,
                        httponly=False, samesite="Lax")
    return response
