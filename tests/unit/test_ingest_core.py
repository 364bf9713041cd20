"""The ingestion core on both backends: idempotence, updates, partial success, batch records,
series creation, meter registers across batches, and the daily-energy refresh."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pandas as pd
import pytest
import sqlalchemy as sa

from services.ingestion import IngestOptions, ReadingIn, ingest_frames, ingest_readings
from services.store.db import session_scope
from services.store.models import Battery, DailyEnergy, IngestionBatch, IngestionRejection, Reading, Series
from tests.factories import add_household


@pytest.fixture
def home(db_url) -> int:
    with session_scope() as session:
        household = add_household(session, "Core home", kwp=4.0)
        session.add(Battery(household_id=household.id, capacity_kwh=10.0, max_charge_kw=5.0, max_discharge_kw=5.0))
        return household.id


def _load(home: int, ts, value, **extra) -> ReadingIn:
    return ReadingIn(household_id=home, series="load", quantity="load", ts=ts, value=value, unit="kWh", **extra)


def _stored(name: str | None = None) -> list[tuple[str, datetime, float]]:
    query = sa.select(Series.name, Reading.ts, Reading.value).join(Series).order_by(Series.name, Reading.ts)
    if name:
        query = query.where(Series.name == name)
    with session_scope() as session:
        return [tuple(r) for r in session.execute(query).all()]


def test_same_batch_twice_changes_nothing_and_says_so(home):
    readings = [_load(home, f"2024-06-01T00:{m:02d}:00+00:00", 0.1 * (i + 1)) for i, m in enumerate((0, 15, 30))]
    first = ingest_readings(readings, source="test", channel="api")
    second = ingest_readings(readings, source="test", channel="api")
    assert (first.inserted, first.updated, first.unchanged) == (3, 0, 0)
    assert (second.inserted, second.updated, second.unchanged) == (0, 0, 3)
    assert second.series_touched == {}
    assert len(_stored()) == 3


def test_changed_value_is_updated_and_counted(home):
    ingest_readings([_load(home, "2024-06-01T00:00:00Z", 0.5), _load(home, "2024-06-01T00:15:00Z", 0.5)],
                    source="test", channel="api")
    report = ingest_readings([_load(home, "2024-06-01T00:00:00Z", 0.7), _load(home, "2024-06-01T00:15:00Z", 0.5)],
                             source="test", channel="api")
    assert (report.inserted, report.updated, report.unchanged) == (0, 1, 1)
    touched = datetime(2024, 6, 1, tzinfo=timezone.utc)
    assert list(report.series_touched.values()) == [(touched, touched)]
    assert [v for _, _, v in _stored()] == [0.7, 0.5]


def test_partial_success_commits_the_valid_rows_and_records_each_rejection(home):
    readings = [
        _load(home, "2024-06-01T00:00:00Z", 0.5, line=2),
        _load(home, "2024-06-01T00:15:00Z", -3.2, line=3),
        _load(home, "2024-03-31 02:30", 0.4, line=4),
        ReadingIn(household_id=home, series="load", quantity="load", ts="2024-06-01T00:30:00Z", value=1, unit="lbs",
                  line=5),
        _load(home + 1000, "2024-06-01T00:45:00Z", 0.5, line=6),
    ]
    report = ingest_readings(readings, source="meter.csv", channel="file")
    assert (report.received, report.inserted, report.rejected) == (5, 1, 4)
    assert [(r.line, r.field) for r in report.rejections] == [(3, "value"), (4, "ts"), (5, "unit"), (6, "household_id")]
    with session_scope() as session:
        batch = session.get(IngestionBatch, report.batch_id)
        stored = session.execute(sa.select(IngestionRejection.line, IngestionRejection.field, IngestionRejection.reason)
                                 .where(IngestionRejection.batch_id == batch.id)
                                 .order_by(IngestionRejection.line)).all()
    assert (batch.status, batch.source, batch.channel) == ("done", "meter.csv", "file")
    assert (batch.received, batch.inserted, batch.rejected) == (5, 1, 4)
    assert stored[0].reason.startswith("value -3.2 kWh is negative: a consumption meter cannot run backwards")
    assert "does not exist in Europe/Berlin" in stored[1].reason
    assert stored[3].reason == f"household {home + 1000} does not exist: create it first, or check the id"


def test_series_are_created_on_first_sight_and_refuse_another_quantity(home):
    ingest_readings([ReadingIn(household_id=home, series="kitchen/temperature", quantity="temperature",
                               ts="2024-06-01T00:00:00Z", value=70, unit="degF")], source="t", channel="mqtt")
    report = ingest_readings([ReadingIn(household_id=home, series="kitchen/temperature", quantity="humidity",
                                        ts="2024-06-01T00:15:00Z", value=50, unit="%")], source="t", channel="mqtt")
    with session_scope() as session:
        series = session.execute(sa.select(Series)).scalar_one()
    assert (series.name, series.quantity, series.unit) == ("kitchen/temperature", "temperature", "degC")
    assert _stored()[0][2] == pytest.approx(21.111, abs=1e-3)
    assert report.rejected == 1
    assert "holds temperature readings and this row says humidity" in report.rejections[0].reason


def test_repeats_within_a_batch_and_across_its_chunks_keep_the_last(home):
    def chunk(values, start):
        ts = pd.date_range(start, periods=len(values), freq="15min", tz="UTC").strftime("%Y-%m-%dT%H:%M:%SZ")
        return pd.DataFrame({"household_id": home, "series": "load", "quantity": "load", "ts": ts,
                             "value": values, "unit": "kWh"})

    first = chunk([0.1, 0.2, 0.3], "2024-06-01 00:00")
    repeated_inside = pd.concat([first, chunk([0.9], "2024-06-01 00:00")], ignore_index=True)
    overlapping = chunk([0.5, 0.6], "2024-06-01 00:30")  # repeats 00:30 from the first chunk
    report = ingest_frames([repeated_inside, overlapping], source="chunks", channel="file")
    assert (report.received, report.duplicates, report.inserted) == (6, 2, 4)
    assert [v for _, _, v in _stored()] == [0.9, 0.2, 0.5, 0.6]


def test_cumulative_register_spans_batches_without_losing_an_interval(home):
    def register(ts, value):
        return ReadingIn(household_id=home, series="meter", quantity="grid_import", ts=ts, value=value, unit="kWh",
                         cumulative=True)

    first = ingest_readings([register("2024-06-01T00:00:00Z", 1000.0), register("2024-06-01T00:15:00Z", 1000.5)],
                            source="mqtt", channel="mqtt")
    second = ingest_readings([register("2024-06-01T00:30:00Z", 1001.25), register("2024-06-01T00:45:00Z", 900.0)],
                             source="mqtt", channel="mqtt")
    energy = _stored("meter")
    assert [(ts.minute, v) for _, ts, v in energy] == [(0, 0.5), (15, 0.75)]
    assert [v for _, _, v in _stored("meter/register")] == [1000.0, 1000.5, 1001.25]
    assert (first.inserted, second.inserted, second.rejected) == (2, 1, 1)
    assert "went backwards from 1001.25 to 900 kWh" in second.rejections[0].reason
    # Re-sending a batch converges: the same intervals, nothing new.
    again = ingest_readings([register("2024-06-01T00:30:00Z", 1001.25)], source="mqtt", channel="mqtt")
    assert (again.inserted, again.unchanged) == (0, 1)
    assert _stored("meter") == energy


def test_daily_energy_follows_ingestion_and_corrections(home):
    readings = [ReadingIn(household_id=home, series=q, quantity=q, ts=f"2024-06-01T10:{m:02d}:00+02:00", value=v,
                          unit="kWh") for q, v in (("load", 0.3), ("pv", 0.8)) for m in (0, 15)]
    ingest_readings(readings, source="t", channel="api")
    ingest_readings([ReadingIn(household_id=home, series="pv", quantity="pv", ts="2024-06-01T08:00:00Z", value=1.0,
                               unit="kWh")], source="t", channel="api")
    with session_scope() as session:
        day = session.execute(sa.select(DailyEnergy)).scalar_one()
    assert day.day == date(2024, 6, 1)
    assert (day.load_kwh, day.pv_kwh) == pytest.approx((0.6, 1.8))


def test_battery_soc_in_percent_uses_the_capacity(home):
    report = ingest_readings([ReadingIn(household_id=home, series="battery/soc", quantity="battery_soc",
                                        ts="2024-06-01T00:00:00Z", value="55,5", unit="%")], source="t", channel="api")
    assert report.inserted == 1
    assert _stored()[0][2] == pytest.approx(5.55)


def test_dry_run_reports_without_writing(home):
    report = ingest_readings([_load(home, "2024-06-01T00:00:00Z", 0.5), _load(home, "2024-06-01T00:15:00Z", -1)],
                             source="t", channel="api", options=IngestOptions(dry_run=True))
    assert (report.batch_id, report.received, report.rejected) == (None, 2, 1)
    assert _stored() == []
    with session_scope() as session:
        assert session.execute(sa.select(sa.func.count()).select_from(Series)).scalar_one() == 0
