"""MQTT listener: readings pushed by devices, batched and written through the ingestion core.

Topics are ``energy/<household id>/<device>/<metric>`` (configurable filters, default
``energy/+/+/+``) with a JSON payload ``{"ts": ..., "value": ..., "unit": ...}``
(optionally ``"quantity"`` and ``"cumulative"``). The metric names the series: an energy
quantity (``load``, ``pv``, ``grid_import`` ...) or ``battery_soc`` is the household's series
of that name; any other metric is the device's own series ``<device>/<metric>``
(``heatpump-1/power``), of the quantity the metric names (``power``, ``temperature``) or
``other``.

Loss-free delivery
------------------
- QoS 1 and a persistent session: MQTT 5 with ``clean_start=False``, a session expiry of
  :data:`SESSION_EXPIRY_S` and a stable client id, so the broker keeps messages for the
  listener while it is down and re-sends the ones it never acknowledged.
- Manual acknowledgement: a message is acknowledged only after the batch holding it is
  committed (or refused with a reason recorded in the batch). A listener killed mid-batch
  never acknowledged that batch; the broker re-sends it, and the idempotent core stores
  each reading exactly once.
- A message received before a reconnect is still ingested (harmless: idempotent) but not
  acknowledged on the new connection, where its packet id may belong to another message;
  the broker re-sends it and that copy is acknowledged.
- MQTT 5's Receive Maximum is raised to the batch size: with MQTT 3.1.1 brokers allow only
  about 20 unacknowledged messages in flight, which would cap batches at 20.
- The store failing (down or locked: a probe fails too, see :func:`_store_reachable`) leaves
  the batch unacknowledged and retried with back-off, for as long as it takes.

One bad message never stalls the stream
---------------------------------------
A message the core refuses (not JSON, unknown household, a negative energy ...) is a rejected
row of its batch. A message on which storing fails outright, whatever the core raises, while the
store is reachable, is isolated: the failed batch is split in halves, and the halves retried,
until the failing message is alone. It is then recorded in the dead-letter log
(:mod:`services.iot.rejections`: topic, payload excerpt, reason, time) and acknowledged, and
the rest of the batch is stored. Errors that look transient (a lost connection, a locked SQLite
file) are retried :data:`TRANSIENT_RETRIES` times first. Both kinds of rejection are in the
dead-letter log, which the Data page shows.

Batching: a batch is written when it holds ``batch_size`` messages, when its oldest message
has waited ``batch_seconds``, or when no message came for ``idle_seconds`` (the stream paused).
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import pandas as pd
import sqlalchemy as sa

from services.ingestion.core import IngestOptions, IngestReport, ingest_frame
from services.iot import device_for_stream
from services.iot.rejections import MessageRejection, printable, record_mqtt_rejections
from services.observability.metrics import mqtt_heartbeat, observe_mqtt_batch, serve_metrics_from_settings
from services.store.db import get_engine
from services.store.models import ENERGY_QUANTITIES, QUANTITY_UNITS
from services.validation import ValidationProblem

log = logging.getLogger(__name__)

DEFAULT_TOPICS = ("energy/+/+/+",)
DEFAULT_CLIENT_ID = "energy-dashboard-ingest"
#: How long the broker keeps the session (subscriptions and queued messages) while we are away [s].
SESSION_EXPIRY_S = 7 * 24 * 3600
#: Metrics that are household-wide series rather than a device's own.
HOUSEHOLD_METRICS = frozenset(ENERGY_QUANTITIES) | {"battery_soc"}
#: Times a batch failing with a transient-looking error (connection lost, database locked) is
#: retried with back-off before its failing message is isolated and rejected.
TRANSIENT_RETRIES = 3


@dataclass(frozen=True)
class ListenerConfig:
    """Where to listen and how to batch.

    ``batch_size`` [messages], ``batch_seconds`` and ``idle_seconds`` [s] bound a batch;
    ``retry_max_seconds`` caps the back-off when the store fails [s].
    """

    host: str = "127.0.0.1"
    port: int = 1883
    topics: tuple[str, ...] = DEFAULT_TOPICS
    client_id: str = DEFAULT_CLIENT_ID
    username: str | None = None
    password: str | None = None
    keepalive: int = 30
    batch_size: int = 500
    batch_seconds: float = 2.0
    idle_seconds: float = 0.2
    retry_max_seconds: float = 30.0

    def __post_init__(self) -> None:
        if not self.topics:
            raise ValueError("give at least one topic filter, e.g. energy/+/+/+")
        if not 1 <= self.batch_size <= 65_535:
            raise ValueError(f"batch size must be between 1 and 65535 messages, got {self.batch_size}")
        if not self.batch_seconds > 0:
            raise ValueError(f"batch seconds must be positive, got {self.batch_seconds}")


@dataclass(frozen=True)
class Message:
    """A received message: ``generation`` counts connections, so acks go only where they belong."""

    topic: str
    payload: bytes
    mid: int
    qos: int
    generation: int


@dataclass
class ListenerStats:
    """What the listener did so far."""

    received: int = 0
    batches: int = 0
    stored: int = 0
    rejected: int = 0
    failures: int = 0
    connections: int = 0
    last_report: IngestReport | None = field(default=None, repr=False)


def topic_reading(topic: str, payload: bytes | str) -> dict:
    """One row of the core's batch frame from a message (a row with a ``problem`` when it cannot be
    a reading: the core refuses it and records the reason with the batch).

    The ``device`` key holds the device's id on the wire (``None`` when the topic has none).
    """
    parts = topic.split("/")
    row: dict = {"household_id": None, "series": None, "quantity": None, "ts": None, "value": None,
                 "unit": None, "cumulative": False, "device": None, "problem": None, "problem_field": None}
    if len(parts) < 4 or not all(parts[-3:]):
        return {**row, "problem": f"topic {topic!r} should be energy/<household id>/<device>/<metric>",
                "problem_field": "topic"}
    if not topic.isprintable():
        return {**row, "problem": f"topic {printable(topic, 120)!r} holds control characters", "problem_field": "topic"}
    household, device, metric = parts[-3:]
    row["device"] = device
    row["household_id"] = int(household) if household.isascii() and household.isdigit() else household
    try:
        body = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        body = None
    if not isinstance(body, dict) or "value" not in body or "ts" not in body:
        return {**row, "series": metric, "problem_field": "payload",
                "problem": 'the payload should be JSON like {"ts": "2025-05-01T10:00:00Z", "value": 1.2, '
                           '"unit": "kWh"}'}
    for key in ("unit", "quantity"):
        if body.get(key) is not None and not isinstance(body[key], str):
            return {**row, "series": metric, "problem_field": key,
                    "problem": f'"{key}" should be a text like "kWh", got {json.dumps(body[key])[:40]}'}
    quantity = body.get("quantity") or (metric if metric in QUANTITY_UNITS else "other")
    row.update(
        series=metric if metric in HOUSEHOLD_METRICS else f"{device}/{metric}", quantity=quantity,
        ts=body["ts"], value=body["value"], unit=body.get("unit") or QUANTITY_UNITS.get(quantity, ""),
        cumulative=bool(body.get("cumulative", False)),
    )
    return row


class MqttListener:
    """Subscribe, batch, ingest, acknowledge. ``run()`` blocks until :meth:`stop`.

    ``ingest`` defaults to the core's :func:`~services.ingestion.core.ingest_frame`; the network
    runs in paho's thread, batching and writing in the thread that calls :meth:`run`.
    """

    def __init__(self, config: ListenerConfig = ListenerConfig(),
                 ingest: Callable[..., IngestReport] = ingest_frame) -> None:
        self.config = config
        self.stats = ListenerStats()
        self._ingest = ingest
        self._inbox: queue.Queue[Message] = queue.Queue()
        self._stop = threading.Event()
        self._connected = threading.Event()
        self._generation = 0
        self._devices: dict[tuple[int, str], int] = {}
        self._client = self._make_client()

    # --- lifecycle --------------------------------------------------------------------------

    def run(self) -> None:
        """Connect (retrying until the broker answers), then batch and ingest until stopped."""
        self._client.connect_async(self.config.host, self.config.port, keepalive=self.config.keepalive,
                                   clean_start=False, properties=self._connect_properties())
        self._client.loop_start()  # paho's thread reconnects by itself after a broker restart
        try:
            self._batch_loop()
        finally:
            self._client.disconnect()
            self._client.loop_stop()

    def stop(self) -> None:
        """Finish the batch in hand (ingest and acknowledge it), then return from :meth:`run`."""
        self._stop.set()

    def wait_connected(self, timeout: float | None = None) -> bool:
        """Block until the broker confirmed the subscription (for callers that must not publish earlier)."""
        return self._connected.wait(timeout)

    # --- MQTT callbacks (paho's thread) ---------------------------------------------------------

    def _make_client(self):
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=self.config.client_id,
                             protocol=mqtt.MQTTv5, manual_ack=True)
        if self.config.username:
            client.username_pw_set(self.config.username, self.config.password)
        client.reconnect_delay_set(min_delay=1, max_delay=30)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        return client

    def _connect_properties(self):
        from paho.mqtt.packettypes import PacketTypes
        from paho.mqtt.properties import Properties

        properties = Properties(PacketTypes.CONNECT)
        properties.SessionExpiryInterval = SESSION_EXPIRY_S
        properties.ReceiveMaximum = self.config.batch_size
        return properties

    def _on_connect(self, client, _userdata, flags, reason_code, _properties) -> None:
        if reason_code.is_failure:
            log.warning("MQTT broker refused the connection: %s", reason_code)
            return
        self._generation += 1
        self.stats.connections += 1
        client.subscribe([(topic, 1) for topic in self.config.topics])
        log.info("connected to MQTT %s:%s (session %s), listening to %s", self.config.host, self.config.port,
                 "resumed" if flags.session_present else "new", ", ".join(self.config.topics))

    def _on_subscribe(self, _client, _userdata, _mid, reason_codes, _properties) -> None:
        # Subscribed once the broker says so: from here on it keeps messages for this session.
        refused = [code for code in reason_codes if code.is_failure]
        if refused:
            log.error("MQTT broker refused the subscription to %s: %s", ", ".join(self.config.topics), refused)
            return
        log.info("subscribed to %s with QoS 1", ", ".join(self.config.topics))
        self._connected.set()

    def _on_disconnect(self, _client, _userdata, _flags, reason_code, _properties) -> None:
        self._connected.clear()
        if not self._stop.is_set():
            log.warning("MQTT connection lost (%s); reconnecting", reason_code)

    def _on_message(self, _client, _userdata, msg) -> None:
        self._inbox.put(Message(msg.topic, msg.payload, msg.mid, msg.qos, self._generation))

    # --- batching (the caller's thread) ----------------------------------------------------------

    def _batch_loop(self) -> None:
        batch: list[Message] = []
        first_at = 0.0
        delay, attempt = min(1.0, self.config.retry_max_seconds), 0
        while True:
            mqtt_heartbeat(self._connected.is_set())
            if self._stop.is_set():
                if batch:
                    self._flush(batch, attempt)  # what is not stored stays unacknowledged: re-sent later
                return
            try:
                message = self._inbox.get(timeout=self.config.idle_seconds if batch else 0.5)
            except queue.Empty:
                message = None
            if message is not None:
                if not batch:
                    first_at = time.monotonic()
                batch.append(message)
                self.stats.received += 1
                full = len(batch) >= self.config.batch_size
                due = time.monotonic() - first_at >= self.config.batch_seconds
                if not (full or due):
                    continue
            if not batch:
                continue
            batch = self._flush(batch, attempt)
            if not batch:
                delay, attempt = min(1.0, self.config.retry_max_seconds), 0
            else:  # the store failed: keep what is left (unacknowledged) and try again later
                self._stop.wait(delay)
                delay, attempt = min(delay * 2, self.config.retry_max_seconds), attempt + 1

    def _flush(self, batch: Sequence[Message], attempt: int = 0) -> list[Message]:
        """Store ``batch`` and acknowledge it, isolating any message that fails on its own.

        Returns the messages still to be stored (unacknowledged) when the store itself failed:
        empty when every message was stored or rejected. ``attempt`` counts earlier tries of them.
        """
        parts = [list(batch)]
        while parts:
            part = parts.pop(0)
            try:
                self._store(part, isolating=len(part) < len(batch))
                continue
            except Exception as exc:  # noqa: BLE001 - whatever the core raises: isolate, never stall
                failure = exc
            self._devices.clear()  # a device deleted meanwhile would fail every retry with its stale id
            remaining = part + [m for p in parts for m in p]
            if not _store_reachable() or (_transient(failure) and attempt < TRANSIENT_RETRIES):
                self.stats.failures += 1
                log.warning("could not store %d MQTT message(s), will retry: %s", len(remaining),
                            _first_line(failure))
                return remaining
            if len(part) > 1:  # the store works, so something in this part fails: halve it
                parts[:0] = [part[: len(part) // 2], part[len(part) // 2:]]
                continue
            try:
                self._reject(part[0], failure)
            except Exception:  # noqa: BLE001 - the store failed while recording: retry later
                self.stats.failures += 1
                log.exception("could not record a rejected MQTT message; will retry")
                return remaining
        return []

    def _store(self, part: list[Message], isolating: bool = False) -> None:
        """Ingest ``part`` as one batch, record its refused rows with their messages, acknowledge it.

        ``isolating``: ``part`` is a piece of a batch that failed (said in the batch's source, so
        that the batch history explains its run of small and failed batches).
        """
        frame = self._frame(part)
        source = f"mqtt {','.join(self.config.topics)}" + (" (part of a failed batch)" if isolating else "")
        report = self._ingest(frame, source=source[:200], channel="mqtt", options=IngestOptions())
        record_mqtt_rejections([MessageRejection(part[r.line - 1].topic, part[r.line - 1].payload, r.field, r.reason)
                                for r in report.rejections if r.line is not None and 1 <= r.line <= len(part)])
        self._ack(part)
        observe_mqtt_batch(frame)
        self.stats.batches += 1
        self.stats.stored += report.stored
        self.stats.rejected += report.rejected
        self.stats.last_report = report
        if report.rejected:
            log.warning("MQTT batch %s: %s", report.batch_id, report.summary())

    def _reject(self, message: Message, failure: BaseException) -> None:
        """Record ``message`` as rejected because storing it failed, and acknowledge it."""
        reason = (f"storing this message failed ({_first_line(failure)}); it was set aside so that the stream "
                  'goes on. Check the payload: {"ts": "2025-05-01T10:00:00Z", "value": 1.2, "unit": "kWh"}')
        record_mqtt_rejections([MessageRejection(message.topic, message.payload, "message", reason)])
        self._ack([message])
        self.stats.rejected += 1
        log.warning("MQTT message on %s rejected: %s", printable(message.topic, 200), _first_line(failure))

    def _ack(self, messages: Sequence[Message]) -> None:
        for message in messages:
            if message.generation == self._generation:
                self._client.ack(message.mid, message.qos)

    def _frame(self, batch: Sequence[Message]) -> pd.DataFrame:
        rows = []
        for line, message in enumerate(batch, start=1):
            row = topic_reading(message.topic, message.payload)
            row["line"] = line
            row["device_id"] = self._device_id(row)
            rows.append(row)
        frame = pd.DataFrame(rows).drop(columns=["device"])
        return frame.astype({c: object for c in frame.columns if c != "line"})

    def _device_id(self, row: dict) -> int | None:
        """The registry's id for the row's device, registering unknown ones for review."""
        household, device = row["household_id"], row["device"]
        if row["problem"] or not isinstance(household, int) or not device:
            return None
        key = (household, device)
        if key not in self._devices:
            try:
                self._devices[key] = device_for_stream(household, device, row["series"]).id
            except ValidationProblem:
                return None  # unknown household: the core refuses the row with its reason
        return self._devices[key]


def _store_reachable() -> bool:
    """Whether the store takes writes now (a failure while it does is the message's fault).

    PostgreSQL: it answers ``SELECT 1``. SQLite: it also grants the write lock (``BEGIN
    IMMEDIATE``, waiting the busy timeout), since reads go on while another process holds it.
    """
    try:
        with get_engine().connect() as conn:
            if conn.dialect.name == "sqlite":
                conn.exec_driver_sql("BEGIN IMMEDIATE")
                conn.rollback()
            else:
                conn.execute(sa.text("SELECT 1"))
        return True
    except Exception:  # noqa: BLE001 - any failure to answer means: not reachable now
        return False


def _transient(failure: BaseException) -> bool:
    """Whether ``failure`` looks like the store's passing trouble rather than the message's fault."""
    if isinstance(failure, sa.exc.DBAPIError) and failure.connection_invalidated:
        return True
    return isinstance(failure, (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.TimeoutError,
                                ConnectionError, TimeoutError))


def _first_line(failure: BaseException) -> str:
    cause = getattr(failure, "orig", None) or failure
    text = str(cause).strip().splitlines()
    return f"{type(cause).__name__}: {text[0] if text else ''}"[:300]


def listen(config: ListenerConfig) -> None:
    """Run a listener until interrupted (SIGINT/SIGTERM stop it cleanly after its batch)."""
    import signal

    listener = MqttListener(config)
    serve_metrics_from_settings()

    def stop(_signum, _frame):
        listener.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    listener.run()


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m services.iot.listener --topic T --client-id C --port P`` (as ``flask mqtt-listen``)."""
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1883)
    parser.add_argument("--topic", action="append", dest="topics")
    parser.add_argument("--client-id", default=DEFAULT_CLIENT_ID)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--batch-seconds", type=float, default=2.0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    listen(ListenerConfig(host=args.host, port=args.port, topics=tuple(args.topics or DEFAULT_TOPICS),
                          client_id=args.client_id, batch_size=args.batch_size, batch_seconds=args.batch_seconds))


if __name__ == "__main__":
    main()
