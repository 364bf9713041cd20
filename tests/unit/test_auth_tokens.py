"""services.auth.tokens on both store backends: secrets shown once, revoked and expired refused."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from services.auth import AccountProblem, create_token, list_tokens, revoke_token, verify_token
from services.store.db import session_scope
from services.store.models import DEFAULT_ORGANISATION_ID, ApiToken, utcnow

ORG = DEFAULT_ORGANISATION_ID


def test_the_secret_verifies_and_is_never_stored(db_url):
    token, secret = create_token("Meter gateway", ORG, "manager")
    assert secret.startswith("ed_") and len(secret) > 40
    assert token.prefix == secret[:8]
    with session_scope() as session:
        stored = session.get(ApiToken, token.id)
        columns = [str(v) for v in (stored.name, stored.prefix, stored.token_hash)]
        assert all(secret not in value for value in columns) and len(stored.token_hash) == 64
    seen = verify_token(secret)
    assert (seen.id, seen.role, seen.organisation_id) == (token.id, "manager", ORG)
    assert verify_token(secret + "x") is None and verify_token("ed_unknown") is None and verify_token("") is None


def test_last_used_at_is_written_at_most_once_a_minute(db_url):
    token, secret = create_token("Gateway", ORG, "viewer")
    assert token.last_used_at is None
    now = utcnow().replace(microsecond=0)  # SQLite's store keeps whole seconds
    first = verify_token(secret, now=now).last_used_at
    assert first == now
    assert verify_token(secret, now=now + timedelta(seconds=30)).last_used_at == first
    later = now + timedelta(minutes=2)
    assert verify_token(secret, now=later).last_used_at == later
    with session_scope() as session:
        assert session.get(ApiToken, token.id).last_used_at == later


def test_revoked_and_expired_tokens_are_refused(db_url):
    revoked, revoked_secret = create_token("Old", ORG, "viewer")
    expiring, expiring_secret = create_token("Short", ORG, "viewer", expires_at=utcnow() + timedelta(hours=1))
    assert verify_token(expiring_secret) is not None
    assert verify_token(expiring_secret, now=utcnow() + timedelta(hours=2)) is None
    with pytest.raises(AccountProblem, match="no token"):
        revoke_token(revoked.id, 999)  # not this organisation's
    assert verify_token(revoked_secret) is not None
    assert revoke_token(revoked.id, ORG).revoked_at is not None
    assert verify_token(revoked_secret) is None
    listed = list_tokens(ORG)
    assert [t.id for t in listed] == [expiring.id, revoked.id] and listed[1].revoked_at is not None


def test_a_token_needs_a_known_organisation_and_role(db_url):
    with pytest.raises(AccountProblem, match="role must be one of"):
        create_token("T", ORG, "root")
    with pytest.raises(AccountProblem, match="no organisation with id 999"):
        create_token("T", 999, "viewer")
    with session_scope() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(ApiToken)) == 0
