"""The MQTT stream's dead-letter log: messages acknowledged without being stored, with the reason.

A message lands here when the ingestion core refused its reading (a row-level reason, also kept
with its batch) or when storing it failed outright (the core raised on it while the store was
healthy): either way it has been acknowledged, so the broker will not send it again, and the
Data page shows it to a person who can fix the sender.

A rejection belongs to the organisation of the household its topic names (none when the topic
names no household that exists): a caller (``scope``, None: the current one) reads only its
organisation's; those of no organisation only the system sees.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from services import access
from services.access import AccessScope
from services.store.db import session_scope
from services.store.models import Household, MqttRejection

#: Characters of a payload kept with its rejection (enough to recognise the sender's mistake).
PAYLOAD_EXCERPT_CHARS = 300
#: Characters of a reason kept (an exception's message can be long).
REASON_CHARS = 1000
#: Rejections kept: the newest; older ones are deleted as new ones arrive, so that a device
#: sending nothing but garbage cannot fill the store.
KEEP_REJECTIONS = 10_000


@dataclass(frozen=True)
class MessageRejection:
    """One refused message: its ``topic``, ``payload`` (raw bytes), the ``field`` at fault
    (``topic``, ``payload``, ``value`` ...; ``message`` when the whole message failed) and the
    ``reason`` a person can act on. ``rejected_at`` is filled in when it is recorded (UTC)."""

    topic: str
    payload: bytes | str
    field: str
    reason: str
    rejected_at: datetime | None = None
    household_id: int | None = None


def printable(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters with control characters (NUL included, which
    PostgreSQL cannot store in text) escaped as ``\\xNN``: safe to store and to show."""
    out = "".join(c if c.isprintable() or c == " " else c.encode("unicode_escape").decode("ascii") for c in text)
    return out if len(out) <= limit else out[: limit - 1] + "…"


def payload_excerpt(payload: bytes | str, limit: int = PAYLOAD_EXCERPT_CHARS) -> str:
    """The payload as text (undecodable bytes escaped), cut to ``limit`` characters."""
    text = payload.decode("utf-8", errors="backslashreplace") if isinstance(payload, bytes) else payload
    return printable(text, limit)


def topic_household_id(topic: str) -> int | None:
    """The household id that an ``energy/<household>/<device>/<metric>`` topic names, if numeric."""
    parts = topic.split("/")
    household = parts[-3] if len(parts) >= 4 else ""
    return int(household) if household.isascii() and household.isdigit() and len(household) < 18 else None


def record_mqtt_rejections(rejections: Sequence[MessageRejection]) -> int:
    """Store ``rejections`` in one transaction; returns how many were recorded."""
    if not rejections:
        return 0
    rows = [{"topic": printable(r.topic, 500), "household_id": topic_household_id(r.topic),
             "payload": payload_excerpt(r.payload), "field": printable(r.field, 80),
             "reason": printable(r.reason, REASON_CHARS)} for r in rejections]
    with session_scope() as session:
        named = {row["household_id"] for row in rows if row["household_id"] is not None
                 and row["household_id"] <= access.MAX_ID}  # larger ones are no household's (int4 keys)
        owners = dict(session.execute(sa.select(Household.id, Household.organisation_id)
                                      .where(Household.id.in_(named))).all()) if named else {}
        for row in rows:
            row["organisation_id"] = owners.get(row["household_id"])
        session.execute(sa.insert(MqttRejection), rows)
        oldest_kept = (sa.select(MqttRejection.id).order_by(MqttRejection.id.desc())
                       .offset(KEEP_REJECTIONS - 1).limit(1).scalar_subquery())
        session.execute(sa.delete(MqttRejection).where(MqttRejection.id < oldest_kept))
    return len(rows)


def recent_mqtt_rejections(household_ids: Sequence[int] | None, limit: int = 50, *,
                           scope: AccessScope | None = None) -> list[MessageRejection]:
    """The newest ``limit`` rejections of the scope's organisation, newest first.

    ``household_ids``: only rejections whose topic names one of these households; ``None``: all of
    the organisation's (for the system also those whose topic names no household that exists).
    """
    query = (sa.select(MqttRejection).where(access.organisation_filter(MqttRejection.organisation_id, scope))
             .order_by(MqttRejection.rejected_at.desc(), MqttRejection.id.desc()).limit(limit))
    if household_ids is not None:
        query = query.where(MqttRejection.household_id.in_(list(household_ids)))
    with session_scope() as session:
        rows = session.scalars(query).all()
    return [MessageRejection(r.topic, r.payload, r.field, r.reason, r.rejected_at, r.household_id) for r in rows]


def count_mqtt_rejections(*, scope: AccessScope | None = None) -> int:
    """How many messages of the scope's organisation were rejected so far (the system: all)."""
    with session_scope() as session:
        return session.scalar(sa.select(sa.func.count()).select_from(MqttRejection)
                              .where(access.organisation_filter(MqttRejection.organisation_id, scope))) or 0
