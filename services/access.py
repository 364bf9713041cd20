"""Which households a caller may see: the one place where authorization will be enforced.

Today every caller sees the whole portfolio. When log-in arrives, these functions
take the signed-in user and filter; pages, the API and workers already go through them.
"""

from __future__ import annotations

import sqlalchemy as sa

from services.store.db import session_scope
from services.store.models import Household


def visible_household_ids() -> list[int]:
    """Ids of the households the current caller may see, in name order."""
    with session_scope() as session:
        return list(session.scalars(sa.select(Household.id).order_by(Household.name)))


def can_see(household_id: int) -> bool:
    """Whether the current caller may see household ``household_id`` (and it exists)."""
    with session_scope() as session:
        return session.get(Household, household_id) is not None
