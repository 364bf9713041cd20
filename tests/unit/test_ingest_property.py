"""Property: whatever sequence of batches arrives (repeats, reordering, overlaps, DST-edge local
times), the store equals a model dict keyed by (series, UTC second) where the last valid write
wins, and every report counts exactly what happened. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.ingestion import IngestOptions, ReadingIn, ingest_readings
from services.store.db import get_engine, session_scope
from services.store.models import DailyEnergy, Household, IngestionBatch, Reading, Series

ZONE = ZoneInfo("Europe/Berlin")
#: Quarter hours around both DST changes of 2024 in Berlin (UTC): the spring gap and the autumn fold.
INSTANTS = [datetime(2024, 3, 31, 0, 0, tzinfo=timezone.utc) + timedelta(minutes=15 * i) for i in range(9)] + \
           [datetime(2024, 10, 27, 0, 0, tzinfo=timezone.utc) + timedelta(minutes=15 * i) for i in range(9)]
#: Local times that do not exist in Berlin (clocks jump from 02:00 to 03:00 on 2024-03-31).
GAP_TIMES = ["2024-03-31 02:00", "2024-03-31 02:15", "2024-03-31 02:45"]
SERIES = {"load": "load", "kitchen/temperature": "temperature"}
VALUES = [0.0, 0.25, 1.5, 2.0, -1.0]


@st.composite
def raw_readings(draw):
    series = draw(st.sampled_from(sorted(SERIES)))
    value = draw(st.sampled_from(VALUES))
    form = draw(st.sampled_from(["iso", "epoch", "naive", "gap"]))
    if form == "gap":
        return series, draw(st.sampled_from(GAP_TIMES)), value
    instant = draw(st.sampled_from(INSTANTS))
    if form == "iso":
        return series, instant.astimezone(ZONE).isoformat(), value
    if form == "epoch":
        return series, int(instant.timestamp()), value
    return series, instant.astimezone(ZONE).strftime("%Y-%m-%d %H:%M"), value


batches = st.lists(
    st.tuples(st.lists(raw_readings(), min_size=1, max_size=12), st.sampled_from(["reject", "earlier", "later"])),
    min_size=1, max_size=4,
)


def expected_instant(ts, ambiguous: str) -> int | None:
    """The oracle, from zoneinfo rather than the code under test: UTC seconds, or None if refused."""
    if isinstance(ts, int):
        return ts
    if "+" in ts[10:]:
        return int(datetime.fromisoformat(ts).timestamp())
    local = datetime.strptime(ts, "%Y-%m-%d %H:%M")
    readings = {local.replace(tzinfo=ZONE, fold=f).astimezone(timezone.utc) for f in (0, 1)}
    real = sorted(u for u in readings if u.astimezone(ZONE).replace(tzinfo=None) == local)
    if not real:
        return None  # in the spring-forward gap: refused (policy 'reject')
    if len(real) == 2:
        if ambiguous == "reject":
            return None
        return int((real[0] if ambiguous == "earlier" else real[1]).timestamp())
    return int(real[0].timestamp())


def _reset_store() -> int:
    with get_engine().begin() as conn:
        for table in (Reading, DailyEnergy, Series, IngestionBatch):
            conn.execute(sa.delete(table))
    with session_scope() as session:
        household = session.execute(sa.select(Household)).scalar_one_or_none()
        if household is None:
            household = Household(name="Property home", timezone="Europe/Berlin", latitude=52.5, longitude=13.4)
            session.add(household)
            session.flush()
        return household.id


def _stored() -> dict[tuple[str, int], float]:
    with session_scope() as session:
        rows = session.execute(sa.select(Series.name, Reading.ts, Reading.value).join(Series)).all()
    return {(name, int(ts.timestamp())): value for name, ts, value in rows}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches=batches)
def test_store_equals_last_write_wins_model(db_url, batches):
    household_id = _reset_store()
    model: dict[tuple[str, int], float] = {}
    for rows, ambiguous in batches:
        readings = [ReadingIn(household_id=household_id, series=s, quantity=SERIES[s], ts=ts, value=v,
                              unit="kWh" if SERIES[s] == "load" else "degC", line=i + 1)
                    for i, (s, ts, v) in enumerate(rows)]
        report = ingest_readings(readings, source="property", channel="api",
                                 options=IngestOptions(ambiguous=ambiguous))

        batch: dict[tuple[str, int], float] = {}
        valid = 0
        for series, ts, value in rows:
            instant = expected_instant(ts, ambiguous)
            if instant is None or (SERIES[series] == "load" and value < 0):
                continue
            valid += 1
            batch[(series, instant)] = value  # the last row of the batch wins
        inserted = sum(1 for k in batch if k not in model)
        updated = sum(1 for k, v in batch.items() if k in model and model[k] != v)
        model.update(batch)

        assert report.received == len(rows)
        assert report.rejected == len(rows) - valid
        assert len(report.rejections) == report.rejected
        assert (report.inserted, report.updated) == (inserted, updated)
        assert report.unchanged == len(batch) - inserted - updated
        assert report.duplicates == valid - len(batch)
        assert _stored() == model
