"""Accounts: organisations, users, roles, passwords, API tokens and the audit log (not yet wired
into requests).

- passwords: :func:`hash_password`, :func:`verify_password`, :func:`needs_rehash`, :func:`password_problem`
- accounts: :func:`create_organisation`, :func:`find_organisation`, :func:`create_user`,
  :func:`add_membership`, :func:`set_password`, :func:`reset_password`, :func:`authenticate`,
  :func:`memberships_of`, :func:`list_users`; bad input raises :class:`AccountProblem`
- tokens: :func:`create_token`, :func:`verify_token`, :func:`revoke_token`, :func:`list_tokens`
- audit: :func:`record`, :func:`changed_fields`, :func:`list_entries`, :func:`entries_csv`
"""

from services.auth.accounts import (
    AccountProblem,
    MembershipView,
    OrganisationView,
    UserView,
    add_membership,
    authenticate,
    create_organisation,
    create_user,
    find_organisation,
    list_users,
    memberships_of,
    reset_password,
    set_password,
)
from services.auth.audit import AuditView, changed_fields, entries_csv, list_entries, record
from services.auth.passwords import hash_password, needs_rehash, password_problem, verify_password
from services.auth.tokens import TokenView, create_token, list_tokens, revoke_token, verify_token

__all__ = [
    "AccountProblem",
    "AuditView",
    "MembershipView",
    "OrganisationView",
    "TokenView",
    "UserView",
    "add_membership",
    "authenticate",
    "changed_fields",
    "create_organisation",
    "create_token",
    "create_user",
    "entries_csv",
    "find_organisation",
    "hash_password",
    "list_entries",
    "list_tokens",
    "list_users",
    "memberships_of",
    "needs_rehash",
    "password_problem",
    "record",
    "reset_password",
    "revoke_token",
    "set_password",
    "verify_password",
    "verify_token",
]
