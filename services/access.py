"""Who may see and change what: the one place where authorization is decided.

A caller is an :class:`AccessScope` (which user, which organisation, which role). The web gate
(``api/security.py``) resolves it once per request from the session cookie or an API token and
makes it current; a job carries the scope of whoever started it and the engine makes that
current while it runs; a Dash background callback resolves it from the request's cookies
(:func:`components.background.as_caller`). Service functions take ``scope=None``, meaning "the current one".

Rules, all here:
- an organisation's households (and their readings, forecasts, runs, reports, jobs) are seen
  only by scopes of that organisation; another organisation's household answers "not found"
  (:class:`NotFound`), never "forbidden", so that ids do not leak;
- roles are ordered viewer < manager < admin: viewers read, managers also write household data
  and start jobs, admins also manage users, tokens and the audit log (:func:`require_role`);
- outside any request (command line, workers, the MQTT listener) the process acts as the
  operator: :data:`SYSTEM_SCOPE`, every organisation. Inside a request without an identity,
  :func:`current_scope` raises :class:`NotSignedIn`: nothing falls back to "everyone".
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass

import sqlalchemy as sa

from services.store.db import session_scope
from services.store.models import Household

#: Roles, weakest first: each may do what the ones before it may.
ROLE_ORDER = ("viewer", "manager", "admin")


class AccessDenied(Exception):
    """Base of the refusals below; ``status`` is the HTTP answer."""

    status = 403


class NotSignedIn(AccessDenied):
    """No identity: sign in, or send ``Authorization: Bearer <token>``."""

    status = 401


class Forbidden(AccessDenied):
    """Signed in, but the role does not allow this (a viewer asking to write)."""

    status = 403


class NotFound(AccessDenied, LookupError):
    """No such thing in the caller's organisation (whether it exists elsewhere is not said)."""

    status = 404


@dataclass(frozen=True)
class AccessScope:
    """Who is calling. ``organisation_id`` None is the system (every organisation); ``user_id``
    None is a token without a user or the system; ``token_id`` is set for API-token callers."""

    user_id: int | None = None
    organisation_id: int | None = None
    role: str = "admin"
    label: str = "system"
    token_id: int | None = None

    def can(self, role: str) -> bool:
        """Whether this scope's role is ``role`` or stronger."""
        return ROLE_ORDER.index(self.role) >= ROLE_ORDER.index(role)

    @property
    def is_system(self) -> bool:
        return self.organisation_id is None

    @property
    def cache_key(self) -> str:
        """What a cached result is keyed by, so that it is only ever served back to this caller."""
        return f"u{self.user_id}-o{self.organisation_id}-{self.role}-t{self.token_id}"

    def as_dict(self) -> dict:
        """A JSON-serialisable form, to travel with a job through the store or a broker."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict | None) -> AccessScope:
        """The scope back from :meth:`as_dict`. ``None`` (a job from before scopes existed, or a
        scheduled job) is the system scope."""
        if not data:
            return SYSTEM_SCOPE
        fields = ("user_id", "organisation_id", "role", "label", "token_id")
        return cls(**{k: data[k] for k in fields if k in data})


SYSTEM_SCOPE = AccessScope()

_current: contextvars.ContextVar[AccessScope | None] = contextvars.ContextVar("access_scope", default=None)


@contextmanager
def use_scope(scope: AccessScope) -> Iterator[AccessScope]:
    """Make ``scope`` current inside the block (a job, a background callback, a test)."""
    token = _current.set(scope)
    try:
        yield scope
    finally:
        _current.reset(token)


def set_request_scope(scope: AccessScope | None) -> contextvars.Token:
    """For the web gate: make ``scope`` current for this request; reset with :func:`reset_scope`."""
    return _current.set(scope)


def reset_scope(token: contextvars.Token) -> None:
    _current.reset(token)


def current_scope() -> AccessScope:
    """The caller now: the scope made current by the gate, a job or :func:`use_scope`; the system
    outside any request; :class:`NotSignedIn` inside a request that has no identity."""
    scope = _current.get()
    if scope is not None:
        return scope
    from flask import has_request_context

    if has_request_context():
        raise NotSignedIn("Sign in to see this.")
    return SYSTEM_SCOPE


def resolve(scope: AccessScope | None) -> AccessScope:
    """``scope``, or the current one when None: the first line of a service function."""
    return scope if scope is not None else current_scope()


def require_role(role: str, scope: AccessScope | None = None) -> AccessScope:
    """The scope, when its role is ``role`` or stronger; :class:`Forbidden` otherwise."""
    scope = resolve(scope)
    if not scope.can(role):
        raise Forbidden(f"Your role ({scope.role}) cannot do this; ask an admin of your organisation.")
    return scope


def owner_id(scope: AccessScope | None = None) -> int:
    """The organisation new rows made by this caller belong to (the default one for the system)."""
    from services.store.models import DEFAULT_ORGANISATION_ID

    scope = resolve(scope)
    return scope.organisation_id if scope.organisation_id is not None else DEFAULT_ORGANISATION_ID


def organisation_filter(column: sa.ColumnElement, scope: AccessScope | None = None) -> sa.ColumnElement[bool]:
    """A WHERE clause keeping rows whose ``column`` (an ``organisation_id``) is the caller's;
    always true for the system scope."""
    scope = resolve(scope)
    return sa.true() if scope.is_system else column == scope.organisation_id


def visible_household_ids(scope: AccessScope | None = None) -> list[int]:
    """Ids of the households the caller may see, in name order."""
    query = sa.select(Household.id).where(organisation_filter(Household.organisation_id, scope)).order_by(Household.name)
    with session_scope() as session:
        return list(session.scalars(query))


def can_see(household_id: int, scope: AccessScope | None = None) -> bool:
    """Whether the caller may see household ``household_id`` (and it exists)."""
    scope = resolve(scope)
    with session_scope() as session:
        organisation_id = session.scalar(sa.select(Household.organisation_id).where(Household.id == household_id))
    return organisation_id is not None and (scope.is_system or organisation_id == scope.organisation_id)


def require_household(household_id: int, scope: AccessScope | None = None) -> int:
    """``household_id`` when the caller may see it; :class:`NotFound` otherwise."""
    if not can_see(household_id, scope):
        raise NotFound(f"Household {household_id} was not found.")
    return household_id


def require_households(household_ids, scope: AccessScope | None = None) -> list[int]:
    """The ids, when the caller may see every one; :class:`NotFound` naming one that it may not."""
    ids = [int(h) for h in household_ids]
    visible = set(visible_household_ids(scope))
    missing = [h for h in ids if h not in visible]
    if missing:
        raise NotFound(f"Household {missing[0]} was not found.")
    return ids


#: Ids are 32-bit integer keys on PostgreSQL.
MAX_ID = 2**31 - 1


def browser_id(value: object) -> int | None:
    """The id in ``value`` as it came back from a browser (a dropdown value, a stored id, a URL part,
    a table row), or None when it is not one: only a whole number 1..2^31-1, given as an integer
    or as decimal digits. ``True``, ``1.5``, ``"1; drop"``, a dict or a list are not ids."""
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        value = int(value.strip())
    if type(value) is not int or not 1 <= value <= MAX_ID:
        return None
    return value


def visible_household_id(value: object, scope: AccessScope | None = None) -> int | None:
    """The household id in ``value`` from a browser (see :func:`browser_id`), or None unless it is a
    household the caller may see. Pages call this before asking any service about it."""
    household_id = browser_id(value)
    return household_id if household_id is not None and can_see(household_id, scope) else None

