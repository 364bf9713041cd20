"""Organisations, users and their roles: made, listed and signed in against the store.

Every function opens its own transaction (:func:`services.store.db.session_scope`) and returns
frozen dataclasses, never ORM rows. Bad input raises :class:`AccountProblem` (a ``ValueError``)
whose message says what to change. Emails are stored trimmed and lower-cased.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from functools import cache

import sqlalchemy as sa

from services.auth.passwords import hash_password, needs_rehash, password_problem, verify_password
from services.store.db import session_scope
from services.store.models import ROLES, Membership, Organisation, User, utcnow

_EMAIL = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+$")


class AccountProblem(ValueError):
    """An account, organisation or membership cannot be made or changed as asked; the message says why."""


@dataclass(frozen=True)
class OrganisationView:
    id: int
    name: str


@dataclass(frozen=True)
class UserView:
    """A user without the password hash. ``password_changed_at`` is UTC."""

    id: int
    email: str
    name: str
    active: bool
    demo: bool
    password_changed_at: datetime


@dataclass(frozen=True)
class MembershipView:
    organisation_id: int
    organisation_name: str
    role: str


def create_organisation(name: str) -> OrganisationView:
    """A new organisation called ``name`` (1..120 printable characters, unique)."""
    name = (name or "").strip()
    if not name or len(name) > 120 or not name.isprintable():
        raise AccountProblem("give the organisation a name of 1 to 120 printable characters")
    with session_scope() as session:
        if session.scalar(sa.select(Organisation.id).where(Organisation.name == name)) is not None:
            raise AccountProblem(f"an organisation called {name!r} already exists: choose another name")
        org = Organisation(name=name)
        session.add(org)
        session.flush()
        return OrganisationView(org.id, org.name)


def find_organisation(name_or_id: str | int) -> OrganisationView:
    """The organisation with this id (digits) or exact name; :class:`AccountProblem` if none."""
    text = str(name_or_id).strip()
    with session_scope() as session:
        org = session.get(Organisation, int(text)) if text.isdigit() else None
        if org is None:
            org = session.scalar(sa.select(Organisation).where(Organisation.name == text))
        if org is None:
            raise AccountProblem(f"no organisation {text!r}: give its id or exact name (see `list-users`)")
        return OrganisationView(org.id, org.name)


def normalise_email(email: str) -> str:
    """``email`` trimmed and lower-cased; :class:`AccountProblem` unless it looks like name@example.org."""
    address = (email or "").strip().lower()
    if len(address) > 254 or not _EMAIL.match(address):
        raise AccountProblem(f"{email!r} is not an email address like anna@example.org")
    return address


def create_user(email: str, name: str, password: str, *, demo: bool = False) -> UserView:
    """A new active user; the password must pass :func:`~services.auth.passwords.password_problem`."""
    address = normalise_email(email)
    problem = password_problem(password, email=address)
    if problem:
        raise AccountProblem(problem)
    name = (name or "").strip()
    if len(name) > 120:
        raise AccountProblem("give a name of at most 120 characters")
    with session_scope() as session:
        if session.scalar(sa.select(User.id).where(User.email == address)) is not None:
            raise AccountProblem(f"a user with email {address} already exists: reset their password instead")
        user = User(email=address, name=name, password_hash=hash_password(password), demo=demo,
                    password_changed_at=utcnow())
        session.add(user)
        session.flush()
        return _view(user)


def add_membership(user_id: int, organisation_id: int, role: str) -> MembershipView:
    """Give user ``user_id`` ``role`` (one of :data:`ROLES`) in the organisation; an existing
    membership changes role."""
    if role not in ROLES:
        raise AccountProblem(f"role must be one of {', '.join(ROLES)}, got {role!r}")
    with session_scope() as session:
        if session.get(User, user_id) is None:
            raise AccountProblem(f"no user with id {user_id}")
        org = session.get(Organisation, organisation_id)
        if org is None:
            raise AccountProblem(f"no organisation with id {organisation_id}")
        membership = session.get(Membership, (user_id, organisation_id))
        if membership is None:
            session.add(Membership(user_id=user_id, organisation_id=organisation_id, role=role))
        else:
            membership.role = role
        return MembershipView(org.id, org.name, role)


def set_password(user_id: int, password: str) -> UserView:
    """Replace user ``user_id``'s password; ``password_changed_at`` moves to now, which ends every
    session signed before it."""
    with session_scope() as session:
        user = session.get(User, user_id)
        if user is None:
            raise AccountProblem(f"no user with id {user_id}")
        problem = password_problem(password, email=user.email)
        if problem:
            raise AccountProblem(problem)
        user.password_hash = hash_password(password)
        user.password_changed_at = utcnow()
        user.demo = False  # a password nobody printed on a console is not a demo password
        return _view(user)


def reset_password(email: str, password: str) -> UserView:
    """:func:`set_password` for the user with ``email``."""
    address = normalise_email(email)
    with session_scope() as session:
        user_id = session.scalar(sa.select(User.id).where(User.email == address))
    if user_id is None:
        raise AccountProblem(f"no user with email {address}")
    return set_password(user_id, password)


def authenticate(email: str, password: str) -> UserView | None:
    """The active user with ``email`` and ``password``, or None. An unknown email is checked
    against a dummy hash so that it takes as long as a wrong password; an inactive user is refused
    after the check. On success ``last_sign_in_at`` is set, and an outdated hash is replaced."""
    address = (email or "").strip().lower()
    with session_scope() as session:
        user = session.scalar(sa.select(User).where(User.email == address))
        if user is None:
            verify_password(_dummy_hash(), password)
            return None
        if not verify_password(user.password_hash, password) or not user.active:
            return None
        if needs_rehash(user.password_hash):
            user.password_hash = hash_password(password)
        user.last_sign_in_at = utcnow()
        return _view(user)


def memberships_of(user_id: int) -> list[MembershipView]:
    """User ``user_id``'s organisations and roles, by organisation name."""
    with session_scope() as session:
        rows = session.execute(
            sa.select(Organisation.id, Organisation.name, Membership.role)
            .join(Membership, Membership.organisation_id == Organisation.id)
            .where(Membership.user_id == user_id).order_by(Organisation.name))
        return [MembershipView(*row) for row in rows]


def get_user(user_id: int) -> UserView | None:
    """User ``user_id``, or None."""
    with session_scope() as session:
        user = session.get(User, user_id)
        return _view(user) if user is not None else None


def session_identity(user_id: int, organisation_id: int) -> tuple[str, str, str] | None:
    """For a session of user ``user_id`` in ``organisation_id``: (email, role, password hash), or
    None when the user is inactive or not a member: one indexed query per request."""
    with session_scope() as session:
        row = session.execute(
            sa.select(User.email, Membership.role, User.password_hash)
            .join(Membership, Membership.user_id == User.id)
            .where(User.id == user_id, User.active.is_(True), Membership.organisation_id == organisation_id)).first()
        return tuple(row) if row is not None else None


def list_users(organisation_id: int | None = None) -> list[UserView]:
    """Every user (``organisation_id`` None) or the members of one organisation, by email."""
    query = sa.select(User).order_by(User.email)
    if organisation_id is not None:
        query = query.join(Membership, Membership.user_id == User.id).where(
            Membership.organisation_id == organisation_id)
    with session_scope() as session:
        return [_view(user) for user in session.scalars(query)]


@cache
def _dummy_hash() -> str:
    """Verified against when the email is unknown, so that an unknown email costs as long as a
    wrong password (made on first use, not at import)."""
    return hash_password("not a password anyone has: timing only")


def _view(user: User) -> UserView:
    return UserView(user.id, user.email, user.name, user.active, user.demo, user.password_changed_at)
