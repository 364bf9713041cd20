"""Ingestion batch history: a batch whose process died shows as interrupted, with what to do."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.ingestion.history import INTERRUPTED_AFTER, list_batches
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


def test_the_rejected_rows_csv_neutralises_formulas_the_sender_sent(db_url):
    import io

    import pandas as pd

    from services.ingestion.history import rejections_csv
    from services.store.models import IngestionRejection

    with session_scope() as session:
        batch = IngestionBatch(source="evil.csv", channel="file", started_at=NOW, status="done")
        session.add(batch)
        session.flush()
        session.add_all([
            IngestionRejection(batch_id=batch.id, line=2, field="unit", reason="unknown unit '=cmd'",
                               raw='2026-06-01T00:00:00Z,load,1,=HYPERLINK("http://evil")'),
            IngestionRejection(batch_id=batch.id, line=3, field="series", reason="-5 is not a series",
                               raw="@SUM(A1);x"),
        ])
        batch_id = batch.id
    text = rejections_csv(batch_id)
    back = pd.read_csv(io.StringIO(text), keep_default_na=False)
    assert back["line"].tolist() == [2, 3]
    assert back["raw"].tolist() == ['2026-06-01T00:00:00Z,load,1,\'=HYPERLINK("http://evil")', "'@SUM(A1);x"]
    assert back["reason"].tolist() == ["unknown unit '=cmd'", "'-5 is not a series"]
