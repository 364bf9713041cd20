"""Ingestion batch history: what came in, when, from where, and which rows were refused.

Read side of the ``ingestion_batches`` and ``ingestion_rejections`` tables that
:mod:`services.ingestion` writes, for the Data page and its CSV download of refused rows.
A batch can span households (one file for a portfolio), so batches are listed whole; the
refused rows carry no household data beyond what the sender sent.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from services.store.db import session_scope
from services.store.models import QUANTITY_UNITS, IngestionBatch, IngestionRejection


@dataclass(frozen=True)
class BatchSummary:
    """One batch: its counts, status (``running``, ``done``, ``failed``) and message (UTC times)."""

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


def list_batches(limit: int = 100, channel: str | None = None) -> list[BatchSummary]:
    """The newest ``limit`` batches, newest first (only ``channel`` when given)."""
    query = sa.select(IngestionBatch).order_by(IngestionBatch.started_at.desc(), IngestionBatch.id.desc()).limit(limit)
    if channel:
        query = query.where(IngestionBatch.channel == channel)
    with session_scope() as session:
        return [
            BatchSummary(b.id, b.source, b.channel, b.mapping_name, b.started_at, b.finished_at, b.status,
                         b.received, b.inserted, b.updated, b.unchanged, b.rejected, b.message or "")
            for b in session.scalars(query)
        ]


def rejections_csv(batch_id: int) -> str:
    """The refused rows of batch ``batch_id`` as CSV text: ``line,field,reason,raw``, in line order.

    Raises
    ------
    LookupError
        When there is no such batch.
    """
    with session_scope() as session:
        if session.get(IngestionBatch, batch_id) is None:
            raise LookupError(f"there is no ingestion batch {batch_id}")
        rows = session.execute(
            sa.select(IngestionRejection.line, IngestionRejection.field, IngestionRejection.reason,
                      IngestionRejection.raw)
            .where(IngestionRejection.batch_id == batch_id)
            .order_by(IngestionRejection.line, IngestionRejection.id)
        ).all()
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["line", "field", "reason", "raw"])
    writer.writerows(["" if line is None else line, field, reason, raw] for line, field, reason, raw in rows)
    return out.getvalue()


def quantity_units() -> dict[str, str]:
    """The stored unit of each quantity (``{"load": "kWh", ...}``), for forms that map file columns."""
    return dict(QUANTITY_UNITS)
