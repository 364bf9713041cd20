"""Organisations (tenants), their users and roles, API tokens, and the audit log of writes.

Every household (and what hangs off it) belongs to one organisation; a user sees an organisation's
data through a :class:`Membership` whose ``role`` is ``viewer`` (read only), ``manager``
(households, data, jobs) or ``admin`` (also users and tokens). Organisation 1 is the default one
that the migration put existing data in; rows created without an organisation land there.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from services.store.models.base import Base, utcnow
from services.store.types import UTCDateTime

#: Roles from least to most: each may do what the ones before it may.
ROLES = ("viewer", "manager", "admin")
#: The organisation that existing data was put in by the migration, and the default of new rows.
DEFAULT_ORGANISATION_ID = 1


def organisation_column(*, nullable: bool = False) -> Mapped[int]:
    """The ``organisation_id`` column of a table whose rows belong to one organisation."""
    return mapped_column(sa.ForeignKey("organisations.id", ondelete="CASCADE"), index=True, nullable=nullable,
                         default=None if nullable else DEFAULT_ORGANISATION_ID,
                         server_default=None if nullable else str(DEFAULT_ORGANISATION_ID))


class Organisation(Base):
    """A tenant: an installer's customers, a housing company's buildings, a utility's programme."""

    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class User(Base):
    """A person who signs in with ``email`` and a password (an argon2id hash, never the password).

    ``demo`` marks accounts whose password was printed on the console by the demo set-up: while
    one exists the app refuses to serve on a non-loopback host. ``password_changed_at`` ends every
    session signed before it.
    """

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    name: Mapped[str] = mapped_column(sa.String(120), default="")
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    active: Mapped[bool] = mapped_column(sa.Boolean, default=True, server_default=sa.true())
    demo: Mapped[bool] = mapped_column(sa.Boolean, default=False, server_default=sa.false())
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_sign_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Membership(Base):
    """A user's ``role`` in one organisation (one of :data:`ROLES`)."""

    __tablename__ = "memberships"

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id", ondelete="CASCADE"),
                                                 primary_key=True, index=True)
    role: Mapped[str] = mapped_column(sa.String(16), default="viewer")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (sa.CheckConstraint("role IN ('viewer', 'manager', 'admin')", name="membership_role"),)


class ApiToken(Base):
    """A named REST credential scoped to one organisation and role, made by ``user_id``.

    Only the SHA-256 of the secret is stored (``token_hash``); ``prefix`` is its first characters,
    shown in lists so that a person can tell tokens apart. A revoked or expired token answers 401.
    """

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    role: Mapped[str] = mapped_column(sa.String(16), default="viewer")
    prefix: Mapped[str] = mapped_column(sa.String(16))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (sa.CheckConstraint("role IN ('viewer', 'manager', 'admin')", name="api_token_role"),)


class AuditEntry(Base):
    """One write: who (``actor``, with ``user_id`` and ``token_id`` when known), when, in which
    organisation, what (``action`` such as ``household.update``, ``target`` such as
    ``household:12``) and a short ``before``/``after`` summary (changed fields only)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    organisation_id: Mapped[int | None] = mapped_column(sa.Integer, index=True)
    user_id: Mapped[int | None] = mapped_column(sa.Integer)
    token_id: Mapped[int | None] = mapped_column(sa.Integer)
    actor: Mapped[str] = mapped_column(sa.String(254), default="")
    action: Mapped[str] = mapped_column(sa.String(60))
    target: Mapped[str] = mapped_column(sa.String(120), default="")
    before: Mapped[dict | None] = mapped_column(sa.JSON)
    after: Mapped[dict | None] = mapped_column(sa.JSON)
