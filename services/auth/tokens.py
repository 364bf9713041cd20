"""API tokens: named REST credentials scoped to one organisation and role.

The secret (``ed_`` + 43 URL-safe characters, 256 random bits) is returned once by
:func:`create_token` and never stored: the store keeps its SHA-256 (hex) and its first
:data:`PREFIX_CHARS` characters, which lists show so that a person can tell tokens apart.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from services.auth.accounts import AccountProblem
from services.store.db import session_scope
from services.store.models import ROLES, ApiToken, Organisation, utcnow

SECRET_PREFIX = "ed_"
PREFIX_CHARS = 8
#: ``last_used_at`` is written at most this often per token, not once per request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class TokenView:
    """A token without its secret; times are UTC, ``expires_at`` None: never expires."""

    id: int
    name: str
    organisation_id: int
    user_id: int | None
    role: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None


def create_token(name: str, organisation_id: int, role: str, user_id: int | None = None,
                 expires_at: datetime | None = None) -> tuple[TokenView, str]:
    """A new token and its secret (shown once: only its SHA-256 is kept)."""
    name = (name or "").strip()
    if not name or len(name) > 120 or not name.isprintable():
        raise AccountProblem("give the token a name of 1 to 120 printable characters, e.g. 'Meter gateway'")
    if role not in ROLES:
        raise AccountProblem(f"role must be one of {', '.join(ROLES)}, got {role!r}")
    if expires_at is not None and expires_at.tzinfo is None:
        raise AccountProblem("give the expiry time with a time zone (UTC)")
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    with session_scope() as session:
        if session.get(Organisation, organisation_id) is None:
            raise AccountProblem(f"no organisation with id {organisation_id}")
        token = ApiToken(name=name, organisation_id=organisation_id, user_id=user_id, role=role,
                         prefix=secret[:PREFIX_CHARS], token_hash=_digest(secret), expires_at=expires_at)
        session.add(token)
        session.flush()
        return _view(token), secret


def verify_token(secret: str, *, now: datetime | None = None) -> TokenView | None:
    """The live token whose secret this is, or None (unknown, revoked or expired)."""
    if not secret or not secret.startswith(SECRET_PREFIX):
        return None
    now = now or utcnow()
    with session_scope() as session:
        token = session.scalar(sa.select(ApiToken).where(ApiToken.token_hash == _digest(secret)))
        if token is None or token.revoked_at is not None or (token.expires_at is not None and token.expires_at <= now):
            return None
        if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
            token.last_used_at = now
        return _view(token)


def revoke_token(token_id: int, organisation_id: int) -> TokenView:
    """Revoke token ``token_id`` of the organisation (revoking twice keeps the first time)."""
    with session_scope() as session:
        token = session.get(ApiToken, token_id)
        if token is None or token.organisation_id != organisation_id:
            raise AccountProblem(f"no token {token_id} in organisation {organisation_id}")
        if token.revoked_at is None:
            token.revoked_at = utcnow()
        return _view(token)


def list_tokens(organisation_id: int) -> list[TokenView]:
    """The organisation's tokens, newest first, revoked ones included."""
    with session_scope() as session:
        rows = session.scalars(sa.select(ApiToken).where(ApiToken.organisation_id == organisation_id)
                               .order_by(ApiToken.id.desc()))
        return [_view(token) for token in rows]


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _view(token: ApiToken) -> TokenView:
    return TokenView(token.id, token.name, token.organisation_id, token.user_id, token.role, token.prefix,
                     token.created_at, token.last_used_at, token.expires_at, token.revoked_at)
