"""The store keeps UTC instants and buckets them the same way on SQLite and PostgreSQL."""

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
import sqlalchemy as sa

from services.store.db import get_engine, session_scope
from services.store.models import Household, Reading, Series
from services.store.types import time_bucket


def _household_with_series(session) -> int:
    hh = Household(name="Test home", timezone="Europe/Berlin", latitude=52.5, longitude=13.4)
    session.add(hh)
    session.flush()
    series = Series(household_id=hh.id, quantity="load", unit="kWh", name="load", resolution_s=900)
    session.add(series)
    session.flush()
    return series.id


def test_timestamps_round_trip_as_utc(db_url):
    local = datetime(2024, 3, 31, 3, 30, tzinfo=ZoneInfo("Europe/Berlin"))  # just after spring-forward
    with session_scope() as s:
        sid = _household_with_series(s)
        s.add(Reading(series_id=sid, ts=local, value=1.5))
    with session_scope() as s:
        ts = s.scalar(sa.select(Reading.ts).where(Reading.series_id == sid))
    assert ts == datetime(2024, 3, 31, 1, 30, tzinfo=timezone.utc)
    assert ts.utcoffset() == timedelta(0)


def test_naive_datetime_is_refused(db_url):
    with pytest.raises(sa.exc.StatementError, match="naive datetime"):
        with session_scope() as s:
            sid = _household_with_series(s)
            s.add(Reading(series_id=sid, ts=datetime(2024, 1, 1, 12, 0), value=1.0))
            s.flush()


def test_unique_series_and_timestamp(db_url):
    t = datetime(2024, 1, 1, tzinfo=timezone.utc)
    with pytest.raises(sa.exc.IntegrityError):
        with session_scope() as s:
            sid = _household_with_series(s)
            s.add(Reading(series_id=sid, ts=t, value=1.0))
            s.flush()
            s.add(Reading(series_id=sid, ts=t, value=2.0))
            s.flush()
    with session_scope() as s:  # nothing of the failed transaction remains
        assert s.scalar(sa.select(sa.func.count()).select_from(Household)) == 0


def test_time_bucket_sums_quarter_hours_into_hours(db_url):
    start = datetime(2024, 6, 1, 22, 0, tzinfo=timezone.utc)
    with session_scope() as s:
        sid = _household_with_series(s)
        for i in range(8):  # two hours of quarter-hour values 0..7
            s.add(Reading(series_id=sid, ts=start + timedelta(minutes=15 * i), value=float(i)))
    bucket = time_bucket(Reading.ts, 3600).label("bucket")
    query = sa.select(bucket, sa.func.sum(Reading.value)).group_by(bucket).order_by(bucket)
    with get_engine().connect() as conn:
        rows = conn.execute(query).all()
    got = {pd.Timestamp(b, unit="s", tz="UTC"): v for b, v in rows}
    assert got == {pd.Timestamp(start): 0 + 1 + 2 + 3, pd.Timestamp(start + timedelta(hours=1)): 4 + 5 + 6 + 7}


def test_a_forked_child_opens_its_own_connections(db_url):
    """Background callbacks and process pools fork: the child must not reuse the parent's pooled connections."""
    import os

    engine = get_engine()
    with engine.connect() as conn:  # leaves one connection pooled in the parent
        conn.execute(sa.text("SELECT 1"))
    assert engine.pool.checkedin() >= 1
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report what it inherited, then use the store
        try:
            inherited = engine.pool.checkedin()
            with session_scope() as s:
                s.add(Household(name="From the child", timezone="UTC", latitude=0, longitude=0))
            os.write(write, str(inherited).encode())
        finally:
            os._exit(0)
    os.close(write)
    inherited = int(os.read(read, 16) or b"-1")
    os.waitpid(pid, 0)
    assert inherited == 0
    with session_scope() as s:  # the parent's pooled connection still works, and sees the child's row
        assert s.scalar(sa.select(Household.name)) == "From the child"
