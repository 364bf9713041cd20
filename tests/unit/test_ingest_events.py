""""Series touched" after a batch: subscribers get what changed, a failing one loses nothing, and
ingestion imports none of the refreshers."""

from __future__ import annotations

import ast
from datetime import datetime, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa

from services.ingestion import ReadingIn, events, ingest_readings
from services.store.db import session_scope
from services.store.models import DailyEnergy, Reading
from tests.factories import add_household

INGESTION = Path(__file__).resolve().parents[2] / "services" / "ingestion"


@pytest.fixture
def home(db_url) -> int:
    with session_scope() as session:
        return add_household(session, "Events home", kwp=4.0).id


@pytest.fixture
def heard():
    calls = []
    events.subscribe(calls.append)
    yield calls
    events.unsubscribe(calls.append)


def _load(home: int, ts: str, value: float) -> ReadingIn:
    return ReadingIn(household_id=home, series="load", quantity="load", ts=ts, value=value, unit="kWh")


def test_a_subscriber_hears_each_series_and_window_a_batch_changed_and_nothing_for_a_repeat(home, heard):
    readings = [_load(home, "2024-06-01T00:00:00Z", 0.2), _load(home, "2024-06-01T05:45:00Z", 0.3)]
    report = ingest_readings(readings, source="t", channel="api")
    assert heard == [report.series_touched]
    (first, last), = heard[0].values()
    assert (first, last) == (datetime(2024, 6, 1, tzinfo=timezone.utc), datetime(2024, 6, 1, 5, 45, tzinfo=timezone.utc))
    ingest_readings(readings, source="t", channel="api")  # unchanged: nothing touched, nobody called
    assert len(heard) == 1
    with session_scope() as session:  # the built-in subscriber refreshed the day
        assert session.scalar(sa.select(DailyEnergy.load_kwh).where(DailyEnergy.household_id == home)) == \
            pytest.approx(0.5)


def test_a_failing_subscriber_keeps_the_readings_and_the_others_still_run(home, heard):
    def broken(touched):
        raise RuntimeError("rollup store down")

    events.subscribe(broken)
    try:
        report = ingest_readings([_load(home, "2024-06-02T00:00:00Z", 0.4)], source="t", channel="api")
    finally:
        events.unsubscribe(broken)
    assert report.inserted == 1 and "not yet refreshed" in report.message
    assert len(heard) == 1  # subscribed before the broken one, and called
    with session_scope() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Reading)) == 1


def test_ingestion_imports_none_of_the_refreshers():
    imported = set()
    for path in INGESTION.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module)
            elif isinstance(node, ast.Import):
                imported |= {alias.name for alias in node.names}
    refreshers = {m for m in imported if m == "services.energy.rollups" or m.split(".")[:2] == ["services", "iot"]}
    assert not refreshers, refreshers
