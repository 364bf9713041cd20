"""What an organisation's admin does from the Account page: API tokens and users, each checked
against the caller's role and written to the audit log.

Every function takes ``scope=None`` (the current caller), refuses anyone below admin with
:class:`services.access.Forbidden`, acts on the caller's own organisation only (the system scope:
the default organisation) and records one audit entry. Bad input raises
:class:`services.auth.AccountProblem` with what to change.
"""

from __future__ import annotations

from datetime import timedelta

from services.access import ROLE_ORDER, AccessScope, owner_id, require_role
from services.auth.accounts import AccountProblem, MembershipView, UserView, add_membership, create_user
from services.auth.audit import record
from services.auth.tokens import TokenView, create_token, list_tokens, revoke_token
from services.store.models import utcnow

#: The longest expiry a token may be given from the page [days] (ten years).
MAX_EXPIRY_DAYS = 3650


def grantable_roles(scope: AccessScope) -> list[str]:
    """The roles ``scope`` may hand out: its own and the weaker ones (never more than it has)."""
    return list(ROLE_ORDER[: ROLE_ORDER.index(scope.role) + 1])


def issue_token(name: str, role: str, expires_in_days: int | None = None,
                scope: AccessScope | None = None) -> tuple[TokenView, str]:
    """A new API token of the caller's organisation and its secret (shown once). ``role`` at most
    the caller's; ``expires_in_days`` 1..:data:`MAX_EXPIRY_DAYS`, None: never expires."""
    scope = require_role("admin", scope)
    _check_grantable(role, scope)
    expires_at = None
    if expires_in_days is not None:
        if isinstance(expires_in_days, bool) or not isinstance(expires_in_days, int) or \
                not 1 <= expires_in_days <= MAX_EXPIRY_DAYS:
            raise AccountProblem(f"give the expiry as 1 to {MAX_EXPIRY_DAYS} days, or leave it empty for none")
        expires_at = utcnow() + timedelta(days=expires_in_days)
    token, secret = create_token(name, owner_id(scope), role, user_id=scope.user_id, expires_at=expires_at)
    record(scope, "token.create", f"token:{token.id}", None,
           {"name": token.name, "role": token.role, "prefix": token.prefix,
            "expires_at": token.expires_at.isoformat() if token.expires_at else None})
    return token, secret


def withdraw_token(token_id: int, scope: AccessScope | None = None) -> TokenView:
    """Revoke token ``token_id`` of the caller's organisation (another organisation's: not found)."""
    scope = require_role("admin", scope)
    organisation = owner_id(scope)
    was_revoked = any(t.id == token_id and t.revoked_at is not None for t in list_tokens(organisation))
    token = revoke_token(token_id, organisation)
    if not was_revoked:  # revoking twice changes nothing, so it is not logged
        record(scope, "token.revoke", f"token:{token.id}", {"revoked_at": None},
               {"revoked_at": token.revoked_at.isoformat()})
    return token


def add_user(email: str, name: str, password: str, role: str,
             scope: AccessScope | None = None) -> tuple[UserView, MembershipView]:
    """A new user with ``password`` (they change it on their first visit to /account/password),
    member of the caller's organisation with ``role`` (at most the caller's)."""
    scope = require_role("admin", scope)
    _check_grantable(role, scope)
    user = create_user(email, name, password)
    membership = add_membership(user.id, owner_id(scope), role)
    record(scope, "user.create", f"user:{user.id}", None,
           {"email": user.email, "name": user.name, "role": role, "organisation_id": membership.organisation_id})
    return user, membership


def _check_grantable(role: str, scope: AccessScope) -> None:
    if role not in grantable_roles(scope):
        raise AccountProblem(f"choose a role of {', '.join(grantable_roles(scope))} (not more than your own)")
