"""Ingestion batch history: what came in, when, from where, and which rows were refused.

Read side of the ``ingestion_batches`` and ``ingestion_rejections`` tables that
:mod:`services.ingestion` writes, for the Data page and its CSV download of refused rows.
A batch can span households (one file for a portfolio), so batches are listed whole; the
refused rows carry no household data beyond what the sender sent. A batch belongs to the
organisation of whoever sent it (``organisation_id``): a caller (``scope``, None: the current one)
sees only its organisation's batches; another organisation's batch is as missing as one that never was.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pandas as pd
import sqlalchemy as sa

from services import access
from services.access import AccessScope
from services.export import frame_to_csv
from services.ingestion.rejections import ReasonCount
from services.ingestion.types import MeterEvent
from services.observability.tracing import traced
from services.store.db import session_scope
from services.store.models import QUANTITY_UNITS, IngestionBatch, IngestionRejection


@dataclass(frozen=True)
class BatchSummary:
    """One batch: its counts, status (``running``, ``done``, ``failed``, ``interrupted``) and message (UTC times).

    ``interrupted`` is read, not stored: a batch still ``running`` :data:`INTERRUPTED_AFTER` after it
    started lost its process (a crash, a kill, a restart) before it could record its end.
    """

    id: int
    source: str
    channel: str
    mapping_name: str | None
    started_at: datetime
    finished_at: datetime | None
    status: str
    received: int
    inserted: int
    updated: int
    unchanged: int
    rejected: int
    message: str
    #: Every rejected row counted by kind of reason, most frequent first (see services.ingestion.rejections).
    rejected_by_reason: list[ReasonCount] = field(default_factory=list)
    #: Meter register resets, rollovers and jumps found in the batch (the first 500), and how many in all.
    meter_events: list[MeterEvent] = field(default_factory=list)
    meter_event_count: int = 0


#: A batch still running this long after it started has lost its process.
INTERRUPTED_AFTER = timedelta(hours=6)
INTERRUPTED_MESSAGE = ("No end was recorded: the process stopped during this batch, and readings it had not committed "
                       "are missing. Send the same data again: readings already stored are not duplicated.")


@traced("batches.list_batches")
def list_batches(limit: int = 100, channel: str | None = None, now: datetime | None = None, *,
                 scope: AccessScope | None = None) -> list[BatchSummary]:
    """The newest ``limit`` batches of the scope's organisation, newest first (only ``channel`` when
    given); ``now`` [UTC] judges which running batches were interrupted (default: the current time)."""
    stale_before = (now or datetime.now(UTC)) - INTERRUPTED_AFTER
    query = (sa.select(IngestionBatch).where(access.organisation_filter(IngestionBatch.organisation_id, scope))
             .order_by(IngestionBatch.started_at.desc(), IngestionBatch.id.desc()).limit(limit))
    if channel:
        query = query.where(IngestionBatch.channel == channel)
    with session_scope() as session:
        return [
            _summary(b, interrupted=b.status == "running" and b.started_at < stale_before)
            for b in session.scalars(query)
        ]


def _summary(batch: IngestionBatch, interrupted: bool) -> BatchSummary:
    status, message = ("interrupted", INTERRUPTED_MESSAGE) if interrupted else (batch.status, batch.message or "")
    reasons = [ReasonCount(str(r.get("field", "")), str(r.get("example", "")), int(r.get("count", 0)))
               for r in (batch.rejected_by_reason or []) if isinstance(r, dict)]
    events = [MeterEvent.from_dict(e) for e in (batch.meter_events or []) if isinstance(e, dict)]
    return BatchSummary(batch.id, batch.source, batch.channel, batch.mapping_name, batch.started_at,
                        batch.finished_at, status, batch.received, batch.inserted, batch.updated, batch.unchanged,
                        batch.rejected, message, reasons, events, int(batch.meter_event_count or 0))


def rejections_csv(batch_id: int, *, scope: AccessScope | None = None) -> str:
    """The refused rows of batch ``batch_id`` as CSV text: ``line,field,reason,raw``, in line order.

    Raises
    ------
    LookupError
        When there is no such batch in the scope's organisation.
    """
    with session_scope() as session:
        if session.scalar(sa.select(IngestionBatch.id).where(
                IngestionBatch.id == batch_id, access.organisation_filter(IngestionBatch.organisation_id, scope))) is None:
            raise LookupError(f"there is no ingestion batch {batch_id}")
        rows = session.execute(
            sa.select(IngestionRejection.line, IngestionRejection.field, IngestionRejection.reason,
                      IngestionRejection.raw)
            .where(IngestionRejection.batch_id == batch_id)
            .order_by(IngestionRejection.line, IngestionRejection.id)
        ).all()
    # The raw excerpts are what the sender sent (a cell of "=HYPERLINK(...)" included): neutralised.
    frame = pd.DataFrame(rows, columns=["line", "field", "reason", "raw"]).astype({"line": "Int64"})
    return frame_to_csv(frame)


def quantity_units() -> dict[str, str]:
    """The stored unit of each quantity (``{"load": "kWh", ...}``), for forms that map file columns."""
    return dict(QUANTITY_UNITS)


def close_interrupted_batches(now: datetime | None = None) -> int:
    """Record as failed every batch still ``running`` :data:`INTERRUPTED_AFTER` after it started
    (its process died before it could record its end); how many were closed. The sweep schedule
    runs this so that the history and the alerts need not guess."""
    now = now or datetime.now(UTC)
    with session_scope() as session:
        closed = session.execute(
            sa.update(IngestionBatch)
            .where(IngestionBatch.status == "running", IngestionBatch.started_at < now - INTERRUPTED_AFTER)
            .values(status="failed", finished_at=now, message=INTERRUPTED_MESSAGE)
        )
        return closed.rowcount
