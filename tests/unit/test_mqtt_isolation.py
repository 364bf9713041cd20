"""One bad MQTT message never stalls the stream: it becomes a recorded rejection (topic, payload
excerpt, reason, time), is acknowledged, and every other reading is stored, also after a restart.

Against a real Mosquitto started from the shipped configuration and the real store on both
backends. A NUL byte used to break the PostgreSQL store outright (the core now refuses it as a
row); the other poison is made by wrapping the core so that it raises on one marked message, since
the isolation must hold whatever the core raises, now and after the core is hardened.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from services.households import create_household
from services.ingestion.core import ingest_frame
from services.iot.listener import ListenerConfig, Message, MqttListener
from services.iot.rejections import count_mqtt_rejections, payload_excerpt, recent_mqtt_rejections
from services.store.db import session_scope
from services.store.models import IngestionBatch, Reading, Series
from tests.unit.mqtt_support import Broker, Publisher, RunningListener, forget_session, wait_for

T0 = 1_746_093_600  # 2025-05-01 10:00 UTC
MARK = 424242.0  # a value the wrapped core refuses to handle


@pytest.fixture(scope="module")
def broker(tmp_path_factory) -> Iterator[Broker]:
    broker = Broker(tmp_path_factory.mktemp("broker")).start()
    yield broker
    broker.stop()


@pytest.fixture
def names(broker) -> Iterator[tuple[str, str]]:
    tag = uuid.uuid4().hex[:8]
    yield f"poison-{tag}", f"poison-listener-{tag}"
    forget_session(broker.host, broker.port, f"poison-listener-{tag}")


def _reading(i: int) -> dict:
    return {"ts": T0 + 900 * i, "value": round(0.1 + (i % 17) / 100, 4), "unit": "kWh"}


def _stored_count() -> int:
    with session_scope() as s:
        return s.scalar(sa.select(sa.func.count()).select_from(Reading).join(Series).where(Series.name == "load"))


def _core_that_breaks_on(exception: Exception):
    """The real core, raising ``exception`` for any frame that holds a marked value."""
    calls = []

    def ingest(frame, **kwargs):
        calls.append(len(frame))
        if (frame["value"] == MARK).any():
            raise exception
        return ingest_frame(frame, **kwargs)

    ingest.calls = calls
    return ingest


def _home(name: str) -> int:
    return create_household({"name": name, "timezone": "UTC", "latitude": 0, "longitude": 0})


@pytest.mark.parametrize("poison", ["nul byte", "core raises"])
def test_a_poison_message_among_250_is_rejected_once_and_the_others_stored_also_after_a_restart(
        db_url, broker, names, poison):
    prefix, client_id = names
    home = _home(f"Poison {poison}")
    topic = f"{prefix}/{home}/meter-1/load"
    if poison == "nul byte":  # the core refuses the row (it used to break the PostgreSQL store)
        bad, ingest = b'{"ts": 1746093600, "value": "0.4\\u0000", "unit": "kWh"}', ingest_frame
    else:
        bad, ingest = f'{{"ts": {T0}, "value": {MARK}, "unit": "kWh"}}'.encode(), \
            _core_that_breaks_on(TypeError("unhashable type: 'dict'"))
    config = ListenerConfig(port=broker.port, topics=(f"{prefix}/+/+/+",), client_id=client_id,
                            batch_size=50, batch_seconds=0.5, retry_max_seconds=0.2)
    publisher = Publisher(broker.host, broker.port)
    try:
        with RunningListener(config, ingest=ingest) as listener:
            for i in range(250):
                if i == 100:
                    publisher.send(topic, bad)
                publisher.send(topic, _reading(i + 1))
            wait_for(lambda: _stored_count() == 250 and count_mqtt_rejections() == 1, "250 stored, 1 rejected")
            assert listener.stats.rejected == 1
        # A new listener on the same session: a sentinel arrives after anything re-sent would.
        with RunningListener(config, ingest=ingest) as listener:
            publisher.send(topic, _reading(1000))
            wait_for(lambda: _stored_count() == 251, "the sentinel")
            assert listener.stats.rejected == 0 and listener.stats.received == 1  # nothing came back
    finally:
        publisher.close()
    assert count_mqtt_rejections() == 1
    (rejection,) = recent_mqtt_rejections(None)
    assert rejection.topic == topic and rejection.household_id == home
    assert rejection.payload == payload_excerpt(bad)
    assert rejection.rejected_at is not None and rejection.reason
    if poison == "core raises":
        assert rejection.field == "message" and "storing this message failed" in rejection.reason
    else:  # the hardened core refuses the row; a core that raised on it would have it isolated
        assert rejection.field in ("value", "message")
    assert recent_mqtt_rejections([home]) == [rejection] and recent_mqtt_rejections([home + 1]) == []


@pytest.mark.parametrize("poison_at", [{137}, {3, 150}])
def test_a_failing_batch_is_halved_until_each_poison_message_is_alone(db_url, poison_at):
    home = _home("Halving")
    ingest = _core_that_breaks_on(ValueError("the core fell over"))
    listener = MqttListener(ListenerConfig(), ingest=ingest)
    n = 200
    batch = [Message(f"energy/{home}/m/load", f'{{"ts": {T0 + 900 * i}, "value": {MARK if i in poison_at else 0.2}}}'
                     .encode(), mid=i + 1, qos=1, generation=-1) for i in range(n)]
    assert listener._flush(batch) == []  # nothing left to retry: all stored or rejected
    assert _stored_count() == n - len(poison_at)
    rejections = recent_mqtt_rejections([home])
    assert sorted(int(r.payload.split('"ts": ')[1].split(",")[0]) for r in rejections) == \
        [T0 + 900 * i for i in sorted(poison_at)]
    assert all("ValueError: the core fell over" in r.reason for r in rejections)
    # Halving: the failing parts shrink by half each time, two tries per level and poison message.
    assert len(ingest.calls) <= len(poison_at) * 2 * math.ceil(math.log2(n)) + 1
    with session_scope() as s:  # the batch history says why it holds a run of small batches
        sources = s.scalars(sa.select(IngestionBatch.source)).all()
    # (the wrapped core raised before recording the whole batch: every batch recorded is a part)
    assert len(sources) > 2 and all(x == "mqtt energy/+/+/+ (part of a failed batch)" for x in sources)


def test_refused_rows_are_in_the_dead_letter_log_with_their_message(db_url):
    home = _home("Refusals")
    listener = MqttListener(ListenerConfig())
    batch = [Message(f"energy/{home}/m/load", b'{"ts": 1746093600, "value": 0.3, "unit": {"a": 1}}', 1, 1, -1),
             Message(f"energy/{home}/m/load", b'{"ts": 1746094500, "value": 0.3}', 2, 1, -1),
             Message(f"energy/{home}/m\x00x/load", b'{"ts": 1746095400, "value": 0.3}', 3, 1, -1)]
    assert listener._flush(batch) == []
    assert _stored_count() == 1
    by_field = {r.field: r for r in recent_mqtt_rejections([home])}
    assert set(by_field) == {"unit", "topic"}
    assert '"unit" should be a text' in by_field["unit"].reason and '"a": 1' in by_field["unit"].payload
    assert "\\x00" in by_field["topic"].topic and "control characters" in by_field["topic"].reason


def test_a_store_outage_is_waited_out_not_turned_into_rejections(postgresql_url, monkeypatch):
    """The store down (its database missing) fails every batch: nothing is rejected, the messages
    stay unacknowledged, and they are stored once the store is back."""
    from services import config
    from services.store import db

    missing = sa.engine.make_url(postgresql_url).set(database=f"energy_outage_{uuid.uuid4().hex[:6]}")
    url = missing.render_as_string(hide_password=False)
    monkeypatch.setenv("DATABASE_URL", url)
    config.get_settings.cache_clear()
    admin = sa.create_engine(postgresql_url, isolation_level="AUTOCOMMIT")
    try:
        listener = MqttListener(ListenerConfig())
        batch = [Message("energy/1/m/load", f'{{"ts": {T0 + 900 * i}, "value": 0.2}}'.encode(), i + 1, 1, -1)
                 for i in range(20)]
        for attempt in range(5):  # more than the transient retries: an outage is waited out for ever
            assert listener._flush(batch, attempt) == batch
        assert listener.stats.rejected == 0 and listener.stats.failures == 5
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{missing.database}"'))
        db.migrate(url)
        home = _home("Back again")
        batch = [Message(f"energy/{home}/m/load", m.payload, m.mid, 1, -1) for m in batch]
        assert listener._flush(batch, 5) == []
        assert _stored_count() == 20 and count_mqtt_rejections() == 0
    finally:
        db.get_engine(url).dispose()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{missing.database}" WITH (FORCE)'))
        admin.dispose()
        config.get_settings.cache_clear()


def test_the_dead_letter_log_keeps_only_the_newest_rejections(db_url, monkeypatch):
    from services.iot import rejections as mqtt_rejections

    monkeypatch.setattr(mqtt_rejections, "KEEP_REJECTIONS", 5)
    for i in range(8):
        mqtt_rejections.record_mqtt_rejections([mqtt_rejections.MessageRejection(f"energy/1/m/{i}", b"x", "payload",
                                                                                 "not JSON")])
    assert count_mqtt_rejections() == 5
    assert [r.topic for r in recent_mqtt_rejections(None)] == [f"energy/1/m/{i}" for i in range(7, 2, -1)]


def test_a_locked_sqlite_store_is_waited_out_not_turned_into_rejections(sqlite_url, monkeypatch):
    """Another process holds SQLite's write lock past the busy timeout: reads still work, but
    nothing is rejected; the batch stays unacknowledged until the lock is gone."""
    import sqlite3

    from services import config
    from services.store import db

    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    config.get_settings.cache_clear()
    home, rejected_before, stored_before = _home("Locked"), count_mqtt_rejections(), _stored_count()
    # A short busy timeout, so that each try gives up on the lock in 0.2 s rather than 30 s.
    db.get_engine(sqlite_url).dispose()
    monkeypatch.setitem(db._ENGINES, sqlite_url, sa.create_engine(sqlite_url, connect_args={"timeout": 0.2}))
    db._session_factory.cache_clear()
    listener = MqttListener(ListenerConfig())
    batch = [Message(f"energy/{home}/m/load", f'{{"ts": {T0 + 900 * i}, "value": 0.2}}'.encode(), i + 1, 1, -1)
             for i in range(4)]
    other = sqlite3.connect(sa.engine.make_url(sqlite_url).database, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        for attempt in range(5):  # more than the transient retries
            assert listener._flush(batch, attempt) == batch
        other.execute("ROLLBACK")
        assert count_mqtt_rejections() == rejected_before and listener.stats.rejected == 0
        assert listener._flush(batch, 5) == [] and _stored_count() == stored_before + 4
    finally:
        other.close()
        db.get_engine(sqlite_url).dispose()
        db._session_factory.cache_clear()
        config.get_settings.cache_clear()
