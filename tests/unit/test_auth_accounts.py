"""services.auth accounts, passwords and audit on both store backends."""

from __future__ import annotations

import csv
import io

import pytest
import sqlalchemy as sa

from services.access import AccessScope
from services.auth import (
    AccountProblem,
    add_membership,
    authenticate,
    changed_fields,
    create_organisation,
    create_user,
    entries_csv,
    list_entries,
    list_users,
    memberships_of,
    needs_rehash,
    password_problem,
    record,
    reset_password,
    verify_password,
)
from services.store.db import session_scope
from services.store.models import DEFAULT_ORGANISATION_ID, User

PASSWORD = "correct horse battery"


def _hash_of(user_id: int) -> str:
    with session_scope() as session:
        return session.get(User, user_id).password_hash


def test_a_user_signs_in_with_the_right_password_only(db_url):
    user = create_user(" Anna@Utility.Example ", "Anna", PASSWORD)
    assert user.email == "anna@utility.example"
    stored = _hash_of(user.id)
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert verify_password(stored, PASSWORD) and not verify_password(stored, PASSWORD + "!")
    assert authenticate("anna@utility.example", PASSWORD).id == user.id
    assert authenticate("ANNA@utility.example", PASSWORD).id == user.id
    assert authenticate("anna@utility.example", "wrong password!") is None
    assert authenticate("nobody@utility.example", PASSWORD) is None
    with session_scope() as session:
        assert session.get(User, user.id).last_sign_in_at is not None


def test_a_hash_with_outdated_parameters_is_replaced_at_sign_in(db_url):
    from argon2 import PasswordHasher

    user = create_user("old@example.org", "Old", PASSWORD)
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    with session_scope() as session:
        session.get(User, user.id).password_hash = weak
    assert needs_rehash(weak)
    assert authenticate("old@example.org", PASSWORD).id == user.id
    renewed = _hash_of(user.id)
    assert renewed != weak and not needs_rehash(renewed) and verify_password(renewed, PASSWORD)


def test_an_inactive_user_is_refused_even_with_the_right_password(db_url):
    user = create_user("ben@utility.example", "Ben", PASSWORD)
    with session_scope() as session:
        session.get(User, user.id).active = False
    assert authenticate("ben@utility.example", PASSWORD) is None


@pytest.mark.parametrize(("email", "password", "message"), [
    ("not-an-email", PASSWORD, "is not an email address"),
    ("a@b.org", "short", "at least 10 characters"),
    ("carla@example.org", "carla@example.org", "not your email address"),
])
def test_bad_input_is_refused_with_what_to_change(db_url, email, password, message):
    with pytest.raises(AccountProblem) as refused:
        create_user(email, "X", password)
    assert message in str(refused.value)
    assert list_users() == []


def test_a_duplicate_email_is_refused_by_name(db_url):
    create_user("dora@example.org", "Dora", PASSWORD)
    with pytest.raises(AccountProblem, match="a user with email dora@example.org already exists"):
        create_user("DORA@example.org", "Other Dora", PASSWORD)
    assert len(list_users()) == 1


def test_memberships_roles_and_listing_by_organisation(db_url):
    anna = create_user("anna@example.org", "Anna", PASSWORD)
    ben = create_user("ben@example.org", "Ben", PASSWORD)
    utility = create_organisation("Utility")
    add_membership(anna.id, utility.id, "admin")
    add_membership(anna.id, DEFAULT_ORGANISATION_ID, "viewer")
    add_membership(ben.id, DEFAULT_ORGANISATION_ID, "manager")
    add_membership(ben.id, DEFAULT_ORGANISATION_ID, "viewer")  # changes the role
    assert [(m.organisation_id, m.organisation_name, m.role) for m in memberships_of(anna.id)] == [
        (DEFAULT_ORGANISATION_ID, "Default organisation", "viewer"), (utility.id, "Utility", "admin")]
    assert [m.role for m in memberships_of(ben.id)] == ["viewer"]
    assert [u.email for u in list_users(utility.id)] == ["anna@example.org"]
    assert [u.email for u in list_users()] == ["anna@example.org", "ben@example.org"]
    with pytest.raises(AccountProblem, match="role must be one of viewer, manager, admin"):
        add_membership(ben.id, utility.id, "owner")
    with pytest.raises(AccountProblem, match="no organisation with id 999"):
        add_membership(ben.id, 999, "viewer")
    with pytest.raises(AccountProblem, match="already exists"):
        create_organisation("Utility")


def test_a_reset_password_replaces_the_old_one_and_moves_password_changed_at(db_url):
    user = create_user("eva@example.org", "Eva", PASSWORD, demo=True)
    changed = reset_password("eva@example.org", "a new long passphrase")
    assert changed.password_changed_at > user.password_changed_at and not changed.demo
    assert authenticate("eva@example.org", PASSWORD) is None
    assert authenticate("eva@example.org", "a new long passphrase").id == user.id
    with pytest.raises(AccountProblem, match="no user with email"):
        reset_password("nobody@example.org", "a new long passphrase")
    with pytest.raises(AccountProblem, match="at least 10 characters"):
        reset_password("eva@example.org", "tiny")


def test_password_policy_accepts_a_long_password():
    assert password_problem("four words make one", email="a@b.org") is None


def test_audit_keeps_only_changed_fields_and_exports_csv(db_url):
    assert changed_fields({"name": "A", "kwp": 5, "tz": "UTC"}, {"name": "B", "kwp": 5, "tz": "UTC"}) == (
        {"name": "A"}, {"name": "B"})
    anna = AccessScope(user_id=7, organisation_id=DEFAULT_ORGANISATION_ID, role="admin", label="anna@example.org")
    record(anna, "household.update", "household:12", {"name": "Home 1", "kwp": 5.0}, {"name": "Home 2", "kwp": 5.0})
    record(anna, "household.create", "household:13", None, {"name": "Home 3"})
    entries = list_entries(DEFAULT_ORGANISATION_ID, limit=10)
    assert [e.action for e in entries] == ["household.create", "household.update"]
    update = entries[1]
    assert (update.before, update.after) == ({"name": "Home 1"}, {"name": "Home 2"})
    assert (update.user_id, update.actor, update.target) == (7, "anna@example.org", "household:12")
    rows = list(csv.DictReader(io.StringIO(entries_csv(DEFAULT_ORGANISATION_ID))))
    assert [r["action"] for r in rows] == ["household.update", "household.create"]
    assert rows[0]["before"] == '{"name": "Home 1"}' and rows[0]["actor"] == "anna@example.org"
    assert list_entries(999) == []
    with session_scope() as session:
        assert session.scalar(sa.text("SELECT count(*) FROM audit_log")) == 2
