"""The audit log of writes: who, when, in which organisation, what, and what changed.

``before``/``after`` keep only the fields that changed (:func:`changed_fields`), so an entry
reads as a diff. Times are UTC.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import sqlalchemy as sa

from services.store.db import session_scope
from services.store.models import AuditEntry


class Actor(Protocol):
    """Who acted: :class:`services.access.AccessScope` fits; ``token_id`` is read when present."""

    user_id: int | None
    organisation_id: int | None
    label: str


@dataclass(frozen=True)
class AuditView:
    id: int
    at: datetime
    organisation_id: int | None
    user_id: int | None
    token_id: int | None
    actor: str
    action: str
    target: str
    before: dict | None
    after: dict | None


CSV_COLUMNS = ("id", "at", "organisation_id", "user_id", "token_id", "actor", "action", "target", "before", "after")


def changed_fields(before: dict | None, after: dict | None) -> tuple[dict | None, dict | None]:
    """``before`` and ``after`` reduced to the keys whose values differ (a key missing on one side
    counts as changed and is left out of that side). None stays None (a create or a delete)."""
    if before is None or after is None:
        return before, after
    keys = [k for k in dict.fromkeys([*before, *after]) if before.get(k, _MISSING) != after.get(k, _MISSING)]
    return ({k: before[k] for k in keys if k in before}, {k: after[k] for k in keys if k in after})


_MISSING = object()


def record(actor: Actor, action: str, target: str = "", before: dict | None = None,
           after: dict | None = None) -> AuditView:
    """Log one write by ``actor`` (``action`` like ``household.update``, ``target`` like ``household:12``)."""
    before, after = changed_fields(before, after)
    entry = AuditEntry(organisation_id=actor.organisation_id, user_id=actor.user_id,
                       token_id=getattr(actor, "token_id", None), actor=(actor.label or "")[:254],
                       action=action[:60], target=target[:120], before=_jsonable(before), after=_jsonable(after))
    with session_scope() as session:
        session.add(entry)
        session.flush()
        return _view(entry)


def list_entries(organisation_id: int | None, limit: int = 100) -> list[AuditView]:
    """The organisation's newest ``limit`` entries, newest first (None: entries of no organisation)."""
    with session_scope() as session:
        rows = session.scalars(sa.select(AuditEntry).where(_of(organisation_id))
                               .order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit))
        return [_view(entry) for entry in rows]


def entries_csv(organisation_id: int | None) -> str:
    """Every entry of the organisation (None: of no organisation, the system's) as CSV (header + one row per entry, oldest first; before and
    after as JSON)."""
    with session_scope() as session:
        rows = [_view(e) for e in session.scalars(
            sa.select(AuditEntry).where(_of(organisation_id))
            .order_by(AuditEntry.at, AuditEntry.id))]
    import pandas as pd

    from services.export import frame_to_csv  # every CSV the app writes: cells that start a formula are defused

    def cell(value: object) -> str:  # text cells: an id that may be missing stays "12", not "12.0"
        return "" if value is None else str(value)

    frame = pd.DataFrame([[cell(e.id), e.at.isoformat(), cell(e.organisation_id), cell(e.user_id), cell(e.token_id),
                           e.actor, e.action, e.target, json.dumps(e.before, sort_keys=True),
                           json.dumps(e.after, sort_keys=True)] for e in rows], columns=list(CSV_COLUMNS), dtype=object)
    return frame_to_csv(frame)


def _of(organisation_id: int | None):
    """Entries of ``organisation_id``; None: those of no organisation (the system's own writes)."""
    column = AuditEntry.organisation_id
    return column.is_(None) if organisation_id is None else column == organisation_id


def _jsonable(data: dict | None) -> dict | None:
    return None if data is None else json.loads(json.dumps(data, default=str))


def _view(e: AuditEntry) -> AuditView:
    return AuditView(e.id, e.at, e.organisation_id, e.user_id, e.token_id, e.actor, e.action, e.target,
                     e.before, e.after)
