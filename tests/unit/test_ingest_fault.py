"""A batch whose database connection is killed mid-transaction leaves nothing behind, and a retry
converges (PostgreSQL: the connection is terminated from a second one with pg_terminate_backend)."""

from __future__ import annotations

import threading
import uuid

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from services.ingestion import IngestOptions, ingest_frames
from services.store.db import session_scope
from services.store.models import IngestionBatch, Reading, Series
from tests.factories import add_household


def _chunks(household_id: int, count: int = 3, rows: int = 400) -> list[pd.DataFrame]:
    start = pd.Timestamp("2024-06-01", tz="UTC")
    chunks = []
    for k in range(count):
        ts = pd.date_range(start + pd.Timedelta(minutes=15 * rows * k), periods=rows, freq="15min")
        chunks.append(pd.DataFrame({
            "household_id": household_id, "series": "load", "quantity": "load",
            "ts": ts.strftime("%Y-%m-%dT%H:%M:%S+00:00"), "value": np.linspace(0.1, 0.9, rows), "unit": "kWh",
        }))
    return chunks


def test_terminated_connection_leaves_nothing_and_a_retry_converges(postgresql_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", postgresql_url)
    from services import config

    config.get_settings.cache_clear()
    with session_scope() as session:
        household_id = add_household(session, f"Fault home {uuid.uuid4().hex[:8]}").id
    staged, release = threading.Event(), threading.Event()
    seen: dict = {}

    def pause_inside_transaction(conn) -> None:
        seen["pid"] = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
        seen["staged"] = conn.exec_driver_sql("SELECT count(*) FROM ingest_stage").scalar_one()
        staged.set()
        release.wait(timeout=30)

    def run() -> None:
        try:
            ingest_frames(_chunks(household_id), source="fault", channel="api",
                          options=IngestOptions(before_apply=pause_inside_transaction))
        except Exception as exc:  # the expected outcome: the store connection died
            seen["error"] = exc

    worker = threading.Thread(target=run)
    worker.start()
    assert staged.wait(timeout=60), "the batch never reached its staged state"
    admin = sa.create_engine(postgresql_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        assert conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": seen["pid"]}).scalar_one()
    admin.dispose()
    release.set()
    worker.join(timeout=60)

    assert seen["staged"] == 1200  # all three chunks were in the transaction when it died
    assert isinstance(seen.get("error"), sa.exc.DBAPIError)
    # The session's PostgreSQL database is shared with other tests: look at this household only.
    with session_scope() as session:
        assert session.execute(sa.select(sa.func.count()).select_from(Reading).join(Series)
                               .where(Series.household_id == household_id)).scalar_one() == 0
        assert session.execute(sa.select(sa.func.count()).select_from(Series)
                               .where(Series.household_id == household_id)).scalar_one() == 0
        failed = session.execute(sa.select(IngestionBatch).where(IngestionBatch.source == "fault")).scalar_one()
        assert failed.status == "failed"
        assert "nothing from this batch was stored" in failed.message

    report = ingest_frames(_chunks(household_id), source="fault retry", channel="api")
    assert (report.inserted, report.updated, report.unchanged, report.rejected) == (1200, 0, 0, 0)
    again = ingest_frames(_chunks(household_id), source="fault retry", channel="api")
    assert (again.inserted, again.unchanged) == (0, 1200)
    with session_scope() as session:
        stored = session.execute(sa.select(sa.func.count(), sa.func.sum(Reading.value)).join(Series)
                                 .where(Series.household_id == household_id)).one()
    expected = sum(chunk["value"].sum() for chunk in _chunks(household_id))
    assert stored[0] == 1200
    assert stored[1] == pytest.approx(expected)
    config.get_settings.cache_clear()


def test_a_role_that_may_not_skip_triggers_still_ingests(postgresql_url, monkeypatch):
    """The fast path skips per-row foreign-key triggers only where the role may; others check per row."""
    from services import config
    from services.store.db import get_engine

    role = f"ingest_plain_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(postgresql_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE ROLE "{role}" LOGIN')
        conn.exec_driver_sql(f'GRANT ALL ON ALL TABLES IN SCHEMA public TO "{role}"')
        conn.exec_driver_sql(f'GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO "{role}"')
    url = sa.engine.make_url(postgresql_url).set(username=role).render_as_string(hide_password=False)
    try:
        monkeypatch.setenv("DATABASE_URL", url)
        config.get_settings.cache_clear()
        with session_scope() as session:
            household_id = add_household(session, f"Plain home {uuid.uuid4().hex[:8]}").id
        with get_engine().connect() as conn:
            assert conn.exec_driver_sql("SELECT current_setting('is_superuser')").scalar_one() == "off"
        report = ingest_frames(_chunks(household_id, count=2, rows=50), source="plain", channel="api")
        assert (report.inserted, report.rejected) == (100, 0)
        again = ingest_frames(_chunks(household_id, count=2, rows=50), source="plain", channel="api")
        assert again.unchanged == 100
    finally:
        get_engine(url).dispose()
        config.get_settings.cache_clear()
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP OWNED BY "{role}"')
            conn.exec_driver_sql(f'DROP ROLE "{role}"')
        admin.dispose()
