"""Which households a caller may see: the one place where authorization will be enforced.

Today every caller sees the whole portfolio. When log-in arrives, these functions
take the signed-in user and filter; pages, the API and workers already go through them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import sqlalchemy as sa

from services.store.db import session_scope
from services.store.models import Household


@dataclass(frozen=True)
class AccessScope:
    """Who is calling: resolved once per request and handed explicitly to background jobs and
    workers, which have no request of their own to ask.

    Until sign-in lands there is one local user who may do everything (``LOCAL_SCOPE``); the
    fields are those that sign-in will fill in, so that jobs already carry them.
    """

    user_id: int | None = None
    organisation_id: int | None = None
    role: str = "admin"
    label: str = "local user"

    def as_dict(self) -> dict:
        """A JSON-serialisable form, to travel with a job through the store or a broker."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict | None) -> AccessScope:
        """The scope back from :meth:`as_dict`; ``None`` (a job started before scopes existed)
        gives the local scope."""
        if not data:
            return LOCAL_SCOPE
        return cls(**{k: data[k] for k in ("user_id", "organisation_id", "role", "label") if k in data})


LOCAL_SCOPE = AccessScope()


def visible_household_ids() -> list[int]:
    """Ids of the households the current caller may see, in name order."""
    with session_scope() as session:
        return list(session.scalars(sa.select(Household.id).order_by(Household.name)))


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


def visible_household_id(value: object) -> int | None:
    """The household id in ``value`` from a browser (see :func:`browser_id`), or None unless it is a
    household the current caller may see. Pages call this before asking any service about it."""
    household_id = browser_id(value)
    return household_id if household_id is not None and can_see(household_id) else None


def can_see(household_id: int) -> bool:
    """Whether the current caller may see household ``household_id`` (and it exists)."""
    with session_scope() as session:
        return session.get(Household, household_id) is not None
