"""Ingestion batch history: a batch whose process died shows as interrupted, with what to do."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.batches import INTERRUPTED_AFTER, list_batches
from services.store.db import session_scope
from services.store.models import IngestionBatch

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def _batch(source: str, started: datetime, status: str, message: str = "") -> None:
    with session_scope() as session:
        session.add(IngestionBatch(source=source, channel="cli", started_at=started, status=status, message=message,
                                   finished_at=None if status == "running" else started + timedelta(minutes=1)))


def test_a_batch_running_long_after_its_start_is_reported_interrupted_and_others_are_not(db_url):
    _batch("killed.csv", NOW - INTERRUPTED_AFTER - timedelta(minutes=1), "running")
    _batch("busy.csv", NOW - timedelta(minutes=5), "running")
    _batch("old-but-done.csv", NOW - timedelta(days=3), "done", "1,000 readings stored")
    shown = {b.source: b for b in list_batches(now=NOW)}
    assert shown["killed.csv"].status == "interrupted"
    assert "Send the same data again" in shown["killed.csv"].message
    assert shown["busy.csv"].status == "running"
    assert (shown["old-but-done.csv"].status, shown["old-but-done.csv"].message) == ("done", "1,000 readings stored")
