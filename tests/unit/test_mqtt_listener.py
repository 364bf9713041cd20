"""The MQTT listener against a real Mosquitto: exactly-once storage across a listener crash and a
broker restart, refused messages recorded (and acknowledged), devices registered for review.

Each module starts its own broker from the shipped ``deploy/mosquitto/mosquitto.conf`` on a free
port (each test has its own topic prefix and client id, and removes its persistent session
afterwards); the broker-restart test starts one of its own so that it can stop and start it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa

from services.households import create_household
from services.iot import read_series
from services.iot.listener import ListenerConfig, topic_reading
from services.store.db import session_scope
from services.store.models import Device, IngestionBatch, Reading, ReadingRollup, Series
from tests.unit.mqtt_support import Broker, Publisher, forget_session
from tests.unit.mqtt_support import RunningListener as _running
from tests.unit.mqtt_support import wait_for as _wait_for

PROJECT_ROOT = Path(__file__).resolve().parents[2]
T0 = 1_746_093_600  # 2025-05-01 10:00 UTC


@pytest.fixture(scope="module")
def shared_broker(tmp_path_factory) -> Iterator[tuple[str, int]]:
    """One broker from the shipped configuration for the module's tests."""
    broker = Broker(tmp_path_factory.mktemp("broker")).start()
    yield broker.host, broker.port
    broker.stop()


@pytest.fixture
def names(shared_broker) -> Iterator[tuple[str, str]]:
    """A topic prefix and a client id of this test's own; the broker forgets the session afterwards."""
    tag = uuid.uuid4().hex[:8]
    prefix, client_id = f"test-{tag}", f"test-listener-{tag}"
    yield prefix, client_id
    forget_session(*shared_broker, client_id)


def _reading(i: int) -> dict:
    return {"ts": T0 + 900 * i, "value": round(0.1 + (i % 17) / 100, 4), "unit": "kWh"}


def _stored(series: str = "load") -> dict[int, float]:
    with session_scope() as s:
        rows = s.execute(sa.select(Reading.ts, Reading.value).join(Series).where(Series.name == series)).all()
    return {int(ts.timestamp()): value for ts, value in rows}


def _mqtt_batches() -> list[IngestionBatch]:
    with session_scope() as s:
        return list(s.scalars(sa.select(IngestionBatch).where(IngestionBatch.channel == "mqtt")))


def _start_subprocess(db_url: str, port: int, prefix: str, client_id: str, log: Path) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": db_url, "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "services.iot.listener", "--port", str(port), "--topic", f"{prefix}/+/+/+",
               "--client-id", client_id, "--batch-size", "40", "--batch-seconds", "0.5"]
    process = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT)
    _wait_for(lambda: log.read_text().count("subscribed") > _start_subprocess.connects.get(log, 0)
              or process.poll() is not None, "the listener to subscribe")
    assert process.poll() is None, log.read_text()
    _start_subprocess.connects[log] = log.read_text().count("subscribed")
    return process


_start_subprocess.connects = {}


# --- parsing -----------------------------------------------------------------------------------


def test_topics_and_payloads_become_rows_or_reasons():
    row = topic_reading("energy/7/meter-1/load", b'{"ts": "2025-05-01T10:00:00Z", "value": 0.4, "unit": "kWh"}')
    assert (row["household_id"], row["series"], row["quantity"], row["device"], row["problem"]) == \
        (7, "load", "load", "meter-1", None)
    sensor = topic_reading("energy/7/hall-1/temperature", b'{"ts": 1, "value": 21.5}')
    assert (sensor["series"], sensor["quantity"], sensor["unit"]) == ("hall-1/temperature", "temperature", "degC")
    odd = topic_reading("energy/7/inv/dc_voltage", b'{"ts": 1, "value": 380, "unit": "V"}')
    assert (odd["series"], odd["quantity"]) == ("inv/dc_voltage", "other")
    bad = topic_reading("energy/7/meter-1/load", b"0.4")
    assert bad["problem_field"] == "payload" and '{"ts"' in bad["problem"]
    short = topic_reading("energy/7/load", b"{}")
    assert short["problem_field"] == "topic" and "energy/<household id>/<device>/<metric>" in short["problem"]
    assert topic_reading("energy/home/m/load", b'{"ts": 1, "value": 1}')["household_id"] == "home"


# --- against the shared broker -------------------------------------------------------------------


def test_a_listener_killed_mid_stream_loses_nothing_and_stores_each_reading_once(
        db_url, shared_broker, names, tmp_path):
    prefix, client_id = names
    home = create_household({"name": "MQTT Home", "timezone": "Europe/Berlin", "latitude": 52.5, "longitude": 13.4})
    topic = f"{prefix}/{home}/meter-1/load"
    n = 300
    log = tmp_path / "listener.log"
    publisher = Publisher(*shared_broker)
    listener = _start_subprocess(db_url, shared_broker[1], prefix, client_id, log)
    try:
        for i in range(n // 2):
            publisher.send(topic, _reading(i))
        _wait_for(lambda: len(_stored()) >= 40, "the first batches to be stored")
        listener.send_signal(signal.SIGKILL)  # a crash: whatever it held unacknowledged comes back
        listener.wait(timeout=30)
        for i in range(n // 2, n):  # sent while nobody listens: the broker keeps them for the session
            publisher.send(topic, _reading(i))
        listener = _start_subprocess(db_url, shared_broker[1], prefix, client_id, log)
        _wait_for(lambda: len(_stored()) == n, f"all {n} readings to be stored")
        listener.send_signal(signal.SIGTERM)
        assert listener.wait(timeout=30) == 0, log.read_text()
    finally:
        if listener.poll() is None:
            listener.kill()
        publisher.close()

    assert _stored() == {T0 + 900 * i: _reading(i)["value"] for i in range(n)}
    batches = _mqtt_batches()
    done = [b for b in batches if b.status == "done"]
    assert all(b.rejected == 0 and b.updated == 0 for b in done)
    # A batch the kill interrupted stays recorded as running and stored nothing (its transaction died).
    assert all(b.status == "running" and b.inserted == 0 for b in batches if b not in done)
    assert sum(b.inserted for b in done) == n  # each reading inserted exactly once
    with session_scope() as s:
        device = s.scalar(sa.select(Device).where(Device.household_id == home))
        assert (device.external_id, device.kind, device.needs_review) == ("meter-1", "meter", True)
        assert int(device.last_seen_at.timestamp()) == T0 + 900 * (n - 1)
        series_id = s.scalar(sa.select(Series.id).where(Series.household_id == home, Series.name == "load"))
        assert s.scalar(sa.select(sa.func.count()).select_from(ReadingRollup)) > 0
    # A batch committed just before the kill had its rollups refreshed by nobody (its re-sent copy
    # changed nothing); the reader notices and rebuilds them, so a long-range chart sees every reading.
    start = datetime.fromtimestamp(T0, tz=timezone.utc)
    hourly = read_series(home, series_id, start, start + timedelta(days=4), max_points=100)
    assert hourly.bucket_s == 3600 and hourly.frame["count"].sum() == n


def test_refused_messages_are_recorded_and_not_delivered_again(db_url, shared_broker, names):
    prefix, client_id = names
    home = create_household({"name": "Noisy Home", "timezone": "UTC", "latitude": 0, "longitude": 0})
    config = ListenerConfig(port=shared_broker[1], topics=(f"{prefix}/+/+/+",), client_id=client_id,
                            batch_size=10, batch_seconds=0.3)
    publisher = Publisher(*shared_broker)
    try:
        with _running(config):
            publisher.send(f"{prefix}/{home}/m/load", _reading(0))
            publisher.send(f"{prefix}/{home}/m/load", b"not json")
            publisher.send(f"{prefix}/{home + 999}/m/load", _reading(1))
            publisher.send(f"{prefix}/{home}/m/load", {"ts": T0, "value": -5, "unit": "kWh"})
            _wait_for(lambda: sum(b.received for b in _mqtt_batches()) == 4, "the four messages")
        # A new listener on the same session: a sentinel arrives after anything re-sent would.
        with _running(config):
            publisher.send(f"{prefix}/{home}/m/load", _reading(2))
            _wait_for(lambda: T0 + 1800 in _stored(), "the sentinel")
    finally:
        publisher.close()
    batches = _mqtt_batches()
    assert sum(b.received for b in batches) == 5 and sum(b.rejected for b in batches) == 3
    assert sorted(_stored()) == [T0, T0 + 1800]
    with session_scope() as s:
        reasons = sorted(s.scalars(sa.text("SELECT field FROM ingestion_rejections")))
    assert reasons == ["household_id", "payload", "value"]


# --- a broker restart, on a private broker -------------------------------------------------------


@pytest.fixture
def private_broker(tmp_path) -> Iterator[dict]:
    broker = Broker(tmp_path).start()
    yield {"port": broker.port, "start": broker.start, "stop": broker.stop}
    broker.stop()


def test_the_listener_reconnects_after_a_broker_restart(db_url, private_broker):
    home = create_household({"name": "Restart Home", "timezone": "UTC", "latitude": 0, "longitude": 0})
    port = private_broker["port"]
    config = ListenerConfig(port=port, topics=("energy/+/+/+",), client_id="restart-test", batch_size=25,
                            batch_seconds=0.3)
    topic = f"energy/{home}/meter-1/load"
    with _running(config) as listener:
        publisher = Publisher("127.0.0.1", port)
        for i in range(60):
            publisher.send(topic, _reading(i))
        _wait_for(lambda: len(_stored()) == 60, "the readings sent before the restart")
        private_broker["stop"]()
        private_broker["start"]()
        for i in range(60, 120):
            publisher.send(topic, _reading(i))
        _wait_for(lambda: len(_stored()) == 120, "the readings sent after the restart")
        publisher.close()
        assert listener.stats.connections >= 2
    assert _stored() == {T0 + 900 * i: _reading(i)["value"] for i in range(120)}
    assert sum(b.inserted for b in _mqtt_batches()) == 120
