"""IoT devices (registry, stream auto-registration, online/offline) and rollups, on both backends."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest
import sqlalchemy as sa

from services.iot import (
    DeviceNotFound,
    confirm_device,
    create_device,
    data_clock,
    delete_device,
    device_for_stream,
    device_status,
    list_devices,
    mark_seen,
    read_series,
    refresh_rollups,
    update_device,
)
from services.store.db import session_scope
from services.store.models import Device, Reading, ReadingRollup, Series
from services.validation import ValidationProblem
from tests.factories import add_household

T0 = datetime(2025, 3, 1, tzinfo=timezone.utc)


def _household(name: str = "Home") -> int:
    with session_scope() as s:
        return add_household(s, name).id


# --- registry ----------------------------------------------------------------------------------


def test_create_list_update_confirm_delete(db_url):
    hid = _household()
    device_id = create_device(hid, kind="inverter", name="PV inverter", external_id="inv-1", metrics=["pv"])
    (info,) = list_devices([hid])
    assert (info.kind, info.name, info.external_id, info.metrics) == ("inverter", "PV inverter", "inv-1", ("pv",))
    assert info.status == "never seen" and info.silent_for is None and not info.needs_review
    assert info.household_name == "Home" and info.interval_s == 900

    update_device(hid, device_id, name="Roof inverter", needs_review=True)
    confirm_device(hid, device_id, kind="meter")
    (info,) = list_devices([hid])
    assert (info.name, info.kind, info.needs_review) == ("Roof inverter", "meter", False)

    delete_device(hid, device_id)
    assert list_devices([hid]) == []


def test_invalid_devices_are_refused_with_reasons(db_url):
    hid = _household()
    create_device(hid, kind="meter", name="Main meter")
    with pytest.raises(ValidationProblem) as err:
        create_device(hid, kind="toaster", name="main METER")
    fields = err.value.by_field()
    assert "meter, inverter, battery" in fields["kind"] and "'toaster'" in fields["kind"]
    assert "already has a device" in fields["name"]
    with pytest.raises(ValidationProblem) as err:
        create_device(hid, kind="meter", name="   ")
    assert "give the device a name" in err.value.by_field()["name"]
    with pytest.raises(ValidationProblem) as err:
        create_device(hid + 1000, kind="meter", name="Elsewhere")
    assert "no household" in err.value.by_field()["household_id"]
    with session_scope() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Device)) == 1  # nothing half-saved


def test_a_device_of_another_household_is_not_found(db_url):
    mine, theirs = _household("Mine"), _household("Theirs")
    device_id = create_device(theirs, kind="meter", name="Meter")
    with pytest.raises(DeviceNotFound):
        update_device(mine, device_id, name="Stolen")
    with pytest.raises(DeviceNotFound):
        delete_device(mine, device_id)
    assert list_devices([mine]) == []


def test_stream_devices_are_registered_once_for_review_and_learn_metrics(db_url):
    hid = _household()
    first = device_for_stream(hid, "hp-42", "heat_pump/power")
    again = device_for_stream(hid, "hp-42", "living_room/temperature")
    assert first.created and not again.created and first.id == again.id
    (info,) = list_devices([hid])
    assert info.needs_review and info.name == "hp-42" and info.kind == "meter"
    assert info.metrics == ("heat_pump/power", "living_room/temperature")
    sensor = device_for_stream(hid, "t-1", "temperature")
    assert {d.id: d.kind for d in list_devices([hid])}[sensor.id] == "temperature_sensor"
    with pytest.raises(ValidationProblem):
        device_for_stream(hid + 1000, "x", "pv")


def test_a_stream_name_clash_gets_a_free_name(db_url):
    hid = _household()
    create_device(hid, kind="meter", name="inv-1")
    created = device_for_stream(hid, "inv-1", "pv")
    names = {d.id: d.name for d in list_devices([hid])}
    assert names[created.id] == "inv-1 (2)"


# --- status ------------------------------------------------------------------------------------


def test_status_turns_offline_after_four_intervals():
    now = T0
    assert device_status(now - timedelta(minutes=60), 900, now) == ("online", timedelta(minutes=60))
    assert device_status(now - timedelta(minutes=61), 900, now)[0] == "offline"
    assert device_status(now - timedelta(minutes=20), 60, now)[0] == "offline"
    assert device_status(None, 900, now) == ("never seen", None)


def test_last_seen_never_moves_back_and_status_uses_the_series_step(db_url):
    hid = _household()
    fast = create_device(hid, kind="temperature_sensor", name="Sensor")
    slow = create_device(hid, kind="meter", name="Meter")
    with session_scope() as s:
        s.add(Series(household_id=hid, device_id=fast, quantity="temperature", unit="degC", name="t",
                     resolution_s=60))
    mark_seen({fast: T0, slow: T0})
    mark_seen({fast: T0 - timedelta(hours=1)})
    devices = {d.id: d for d in list_devices([hid], now=T0 + timedelta(minutes=10))}
    assert devices[fast].last_seen_at == T0
    assert (devices[fast].interval_s, devices[fast].status) == (60, "offline")  # 10 min > 4 x 1 min
    assert (devices[slow].interval_s, devices[slow].status) == (900, "online")


def test_status_is_judged_on_the_stores_clock_when_it_is_behind(db_url):
    hid = _household()
    fresh = create_device(hid, kind="meter", name="Fresh")
    silent = create_device(hid, kind="inverter", name="Silent")
    mark_seen({fresh: T0, silent: T0 - timedelta(days=2)})
    assert data_clock([hid]) == T0  # the demo's year ended long ago
    statuses = {d.id: d.status for d in list_devices([hid])}
    assert statuses == {fresh: "online", silent: "offline"}
    assert data_clock([hid], wall_clock=T0 - timedelta(days=1)) == T0 - timedelta(days=1)


# --- rollups -----------------------------------------------------------------------------------


def _minute_series(hid: int, minutes: int, start: datetime = T0) -> int:
    with session_scope() as s:
        series = Series(household_id=hid, quantity="power", unit="kW", name="heat_pump/power", resolution_s=60)
        s.add(series)
        s.flush()
        s.add_all(Reading(series_id=series.id, ts=start + timedelta(minutes=i), value=float(i % 60))
                  for i in range(minutes))
        return series.id


def _rollups(series_id: int, bucket_s: int) -> pd.DataFrame:
    with session_scope() as s:
        rows = s.execute(sa.select(ReadingRollup.ts, ReadingRollup.total, ReadingRollup.minimum,
                                   ReadingRollup.maximum, ReadingRollup.count)
                         .where(ReadingRollup.series_id == series_id, ReadingRollup.bucket_s == bucket_s)
                         .order_by(ReadingRollup.ts)).all()
    return pd.DataFrame(rows, columns=["ts", "total", "minimum", "maximum", "count"])


def test_rollups_sum_min_max_count_per_bucket(db_url):
    hid = _household()
    sid = _minute_series(hid, 180)  # three hours of minutes, values 0..59 each hour
    written = refresh_rollups({sid: (T0, T0 + timedelta(minutes=179))})
    assert written == 12 + 3 + 1
    quarter, hour, day = _rollups(sid, 900), _rollups(sid, 3600), _rollups(sid, 86400)
    assert list(quarter["count"]) == [15] * 12
    assert quarter.iloc[1].tolist()[1:] == [sum(range(15, 30)), 15, 29, 15]
    assert list(hour["total"]) == [sum(range(60))] * 3 and list(hour["maximum"]) == [59] * 3
    assert hour["ts"].tolist() == [T0, T0 + timedelta(hours=1), T0 + timedelta(hours=2)]
    assert day.iloc[0].tolist() == [T0, 3 * sum(range(60)), 0, 59, 180]


def test_refresh_rewrites_only_the_touched_window(db_url):
    hid = _household()
    sid = _minute_series(hid, 180)
    refresh_rollups({sid: (T0, T0 + timedelta(minutes=179))})
    with session_scope() as s:
        s.execute(sa.update(Reading).where(Reading.series_id == sid, Reading.ts == T0 + timedelta(minutes=70))
                  .values(value=1000.0))
    refresh_rollups({sid: (T0 + timedelta(minutes=70), T0 + timedelta(minutes=70))})
    hour = _rollups(sid, 3600)
    assert list(hour["maximum"]) == [59, 1000, 59]
    assert hour["total"].iloc[1] == sum(range(60)) - 10 + 1000
    assert len(_rollups(sid, 900)) == 12  # rewritten buckets replaced, not duplicated


def test_concurrent_refreshes_of_one_series_take_turns(db_url):
    """Two ingestions refreshing the same series at once (the load test saw a duplicate bucket on
    PostgreSQL) both succeed and leave one rollup row per bucket."""
    from concurrent.futures import ThreadPoolExecutor

    sid = _minute_series(_household(), 180)
    window = {sid: (T0, T0 + timedelta(minutes=179))}
    with ThreadPoolExecutor(max_workers=4) as pool:
        for future in [pool.submit(refresh_rollups, window) for _ in range(12)]:
            assert future.result() > 0
    hourly = _rollups(sid, 3600)
    assert len(hourly) == 3 and hourly["count"].tolist() == [60, 60, 60]


def test_a_series_is_not_rolled_up_at_its_own_step(db_url):
    with session_scope() as s:
        from tests.factories import add_series

        hid = add_household(s, "Quarter hours").id
        sid = add_series(s, hid, "load", T0, [0.25] * 8).id
    refresh_rollups({sid: (T0, T0 + timedelta(hours=2))})
    assert _rollups(sid, 900).empty and len(_rollups(sid, 3600)) == 2


def test_read_series_picks_raw_rows_or_rollups_and_repairs_stale_rollups(db_url):
    hid = _household()
    sid = _minute_series(hid, 24 * 60)
    day = (T0, T0 + timedelta(days=1))
    raw = read_series(hid, sid, T0, T0 + timedelta(hours=2))
    assert raw.source == "raw" and raw.bucket_s == 60 and len(raw.frame) == 120
    assert raw.frame["mean"].iloc[5] == 5.0

    first = read_series(hid, sid, *day, max_points=30)  # no rollups yet: built from the raw rows
    assert (first.source, first.bucket_s, len(first.frame)) == ("repaired", 3600, 24)
    assert len(_rollups(sid, 3600)) == 24 and _rollups(sid, 900).empty  # only the bucket asked for
    again = read_series(hid, sid, *day, max_points=30)
    assert again.source == "rollup"
    pd.testing.assert_frame_equal(first.frame, again.frame)
    assert again.frame["mean"].iloc[0] == pytest.approx(29.5)
    assert again.frame.index[1] == pd.Timestamp(T0 + timedelta(hours=1))

    # A reading stored after the rollups were built (say the writer stopped before refreshing them):
    # the counts disagree, so the period is rebuilt and the new reading is in the answer.
    with session_scope() as s:
        s.add(Reading(series_id=sid, ts=T0 + timedelta(hours=3, seconds=30), value=100.0))
    healed = read_series(hid, sid, *day, max_points=30)
    assert healed.source == "repaired"
    assert healed.frame["count"].iloc[3] == 61 and healed.frame["maximum"].iloc[3] == 100.0
    # A period that ends inside a bucket still compares whole buckets.
    assert read_series(hid, sid, T0, T0 + timedelta(hours=23, minutes=30), max_points=30).source == "rollup"
    with pytest.raises(LookupError):
        read_series(_household("Other"), sid, *day)
