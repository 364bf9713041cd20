"""Bulk inserts write exactly what they are given, on SQLite and PostgreSQL, and fail whole."""

from datetime import datetime, timezone

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from services.store.bulk import insert_readings, insert_rows, reading_keys_deferred
from services.store.db import get_engine, session_scope
from services.store.models import Household, Reading, Series, WeatherRecord, WeatherSite


def _series(count: int = 2) -> list[int]:
    with session_scope() as s:
        hh = Household(name="Bulk home", timezone="Europe/Berlin", latitude=52.5, longitude=13.4)
        s.add(hh)
        s.flush()
        rows = [Series(household_id=hh.id, quantity="load", unit="kWh", name=f"load{i}", resolution_s=900)
                for i in range(count)]
        s.add_all(rows)
        s.flush()
        return [r.id for r in rows]


def _frame(series_ids: list[int], start: str = "2024-03-30 22:00", steps: int = 16) -> pd.DataFrame:
    # Crosses the spring-forward night in Europe/Berlin: UTC steps stay regular.
    index = pd.date_range(start, periods=steps, freq="15min", tz="UTC")
    return pd.DataFrame({
        "series_id": np.repeat(series_ids, steps),
        "ts": np.tile(index, len(series_ids)),
        "value": np.arange(steps * len(series_ids), dtype=float) / 8.0,
    })


def _stored() -> pd.DataFrame:
    with session_scope() as s:
        rows = s.execute(sa.select(Reading.series_id, Reading.ts, Reading.value)
                         .order_by(Reading.series_id, Reading.ts)).all()
    return pd.DataFrame(rows, columns=["series_id", "ts", "value"])


def test_insert_readings_round_trips_values_and_utc_times(db_url):
    ids = _series()
    frame = _frame(ids)
    with get_engine().begin() as conn:
        assert insert_readings(conn, frame) == len(frame)
    stored = _stored()
    assert stored["series_id"].tolist() == frame["series_id"].tolist()
    assert stored["value"].tolist() == frame["value"].tolist()
    assert [pd.Timestamp(t) for t in stored["ts"]] == list(frame["ts"])
    assert stored["ts"].iloc[0] == datetime(2024, 3, 30, 22, 0, tzinfo=timezone.utc)


def test_insert_readings_with_deferred_keys_restores_them(db_url):
    ids = _series()
    with get_engine().begin() as conn:
        with reading_keys_deferred(conn):
            insert_readings(conn, _frame(ids))
    # The primary key is back: the same (series, ts) again is refused ...
    with pytest.raises(sa.exc.IntegrityError):
        with get_engine().begin() as conn:
            insert_readings(conn, _frame(ids[:1], steps=1))
    # ... and so is a series that does not exist.
    with pytest.raises(sa.exc.IntegrityError):
        with get_engine().begin() as conn:
            insert_readings(conn, _frame([max(ids) + 100], start="2030-01-01", steps=1))
    assert len(_stored()) == 2 * 16


def test_duplicate_inside_a_deferred_load_fails_the_whole_load(db_url):
    ids = _series()
    frame = pd.concat([_frame(ids), _frame(ids[:1], steps=1)], ignore_index=True)
    with pytest.raises(sa.exc.IntegrityError):
        with get_engine().begin() as conn:
            with reading_keys_deferred(conn):
                insert_readings(conn, frame)
    assert _stored().empty
    # The constraints survived the rollback: a later duplicate is still refused.
    with get_engine().begin() as conn:
        insert_readings(conn, _frame(ids, steps=1))
    with pytest.raises(sa.exc.IntegrityError):
        with get_engine().begin() as conn:
            insert_readings(conn, _frame(ids, steps=1))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: f.assign(value=np.nan), "missing values"),
        (lambda f: f.assign(ts=f["ts"].dt.tz_localize(None)), "naive"),
        (lambda f: f.drop(columns="value"), "lacks column"),
    ],
)
def test_insert_readings_refuses_bad_frames(db_url, change, message):
    ids = _series(1)
    with pytest.raises(ValueError, match=message):
        with get_engine().begin() as conn:
            insert_readings(conn, change(_frame(ids)))
    assert _stored().empty


def test_insert_rows_writes_datetimes_bools_and_nulls(db_url):
    with session_scope() as s:
        site = WeatherSite(name="Bulk site", latitude=50.0, longitude=8.0)
        s.add(site)
        s.flush()
        site_id = site.id
    hours = pd.date_range("2024-07-01 10:00", periods=3, freq="1h", tz="UTC")
    frame = pd.DataFrame({
        "site_id": site_id, "ts": hours, "issued_at": hours, "is_forecast": False, "source": "demo",
        "ghi": [500.0, np.nan, 700.0], "temp_air": [20.5, 21.0, 21.5],
    })
    with get_engine().begin() as conn:
        assert insert_rows(conn, WeatherRecord.__table__, frame) == 3
    with session_scope() as s:
        rows = s.scalars(sa.select(WeatherRecord).order_by(WeatherRecord.ts)).all()
        got = [(r.ts, r.is_forecast, r.source, r.ghi, r.temp_air, r.dni) for r in rows]
    assert got == [
        (hours[0].to_pydatetime(), False, "demo", 500.0, 20.5, None),
        (hours[1].to_pydatetime(), False, "demo", None, 21.0, None),
        (hours[2].to_pydatetime(), False, "demo", 700.0, 21.5, None),
    ]


def test_numpy_arrays_read_postgresql_arrays_value_for_value(postgresql_url):
    """float8[] and int8[] read in binary arrive as numpy arrays with the stored bits (negative
    zero, infinities, the largest integers); NULL elements as NaN; other types as psycopg reads them."""
    from services.store.bulk import numpy_arrays, raw_cursor

    query = ("SELECT ARRAY['-0'::float8, 'Infinity', '-Infinity', 1e-310, '0.30000000000000004'], "
             "ARRAY[-9223372036854775808, 9223372036854775807, 0]::int8[], CAST(ARRAY[] AS float8[]), "
             "ARRAY[1.5, NULL, 3]::float8[], ARRAY[1, 2]::int4[], 7")
    with get_engine(postgresql_url).connect() as conn, raw_cursor(conn, query) as cursor:
        numpy_arrays(cursor)
        floats, ints, empty, with_null, int4s, plain = cursor.execute(query, binary=True).fetchone()
    expected = np.array([-0.0, np.inf, -np.inf, 1e-310, 0.1 + 0.2])
    assert floats.dtype == np.float64 and floats.tobytes() == expected.tobytes()
    assert ints.dtype == np.int64 and ints.tolist() == [-2**63, 2**63 - 1, 0]
    assert empty.shape == (0,) and empty.dtype == np.float64
    np.testing.assert_array_equal(with_null, [1.5, np.nan, 3.0])
    assert int4s == [1, 2] and plain == 7
