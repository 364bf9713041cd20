"""Prometheus metrics of every process: web workers, Celery workers, forked jobs, the MQTT listener.

Multiprocess mode: when ``PROMETHEUS_MULTIPROC_DIR`` is set (before this module is imported), each
process writes its samples to files in that folder and ``/metrics`` adds them up over every process
that shares the folder (gunicorn's ``child_exit`` hook marks dead workers, see
``deploy/gunicorn.conf.py``). Without it, the metrics of this process alone are served.

Labels are bounded: routes by their template (``/api/optimize/<int:household_id>``), callbacks by
their output id (pattern-matching ids with their values replaced by ``*``), never a household id.

Store-derived gauges (last ingestion, weather issue time, forecast accuracy, queue depth, circuit
breakers) are computed at scrape time by :class:`LiveCollector`, so every scrape sees the store as
it is, whichever process answers it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily

logger = logging.getLogger(__name__)

if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    # Metrics without labels open their sample file when created, below: the folder must exist
    # (a container's fresh tmpfs /tmp does not have it yet).
    os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)

#: Latency buckets [s]: a page callback should answer well under a second.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
#: Job buckets [s]: background jobs run from seconds to an hour.
JOB_BUCKETS = (0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0)

HTTP_REQUESTS = Counter("energy_http_requests_total", "HTTP requests answered, by route template and status.",
                        ["method", "route", "status"])
HTTP_LATENCY = Histogram("energy_http_request_duration_seconds", "Time to answer an HTTP request [s].",
                         ["method", "route"], buckets=LATENCY_BUCKETS)
HTTP_EXCEPTIONS = Counter("energy_http_exceptions_total", "Requests that ended in an unhandled exception.",
                          ["route"])
CALLBACK_LATENCY = Histogram("energy_dash_callback_duration_seconds",
                             "Time to answer a Dash callback [s], by its output id.", ["output"],
                             buckets=LATENCY_BUCKETS)
CALLBACK_ERRORS = Counter("energy_dash_callback_errors_total", "Dash callbacks answered with a 5xx.", ["output"])

INGESTED_ROWS = Counter("energy_ingested_rows_total",
                        "Readings per ingestion outcome (inserted, updated, unchanged, rejected, duplicate).",
                        ["channel", "outcome"])
INGEST_BATCHES = Counter("energy_ingest_batches_total", "Ingestion batches by status (done, failed).",
                         ["channel", "status"])
INGEST_REJECTIONS = Counter("energy_ingest_rejections_total",
                            "Refused readings by the field at fault (ts, value, unit, household_id, ...).",
                            ["channel", "reason"])
INGEST_DURATION = Histogram("energy_ingest_batch_duration_seconds", "Time to ingest one batch [s].",
                            ["channel"], buckets=LATENCY_BUCKETS)

MQTT_LAG = Histogram("energy_mqtt_lag_seconds",
                     "Delay from a reading's timestamp to its storage by the MQTT listener [s].",
                     buckets=(1, 2, 5, 10, 30, 60, 300, 900, 3600, 21600, 86400))
MQTT_HEARTBEAT = Gauge("energy_mqtt_listener_heartbeat_timestamp_seconds",
                       "Unix time when the MQTT listener last went round its loop [s].", multiprocess_mode="max")
MQTT_CONNECTED = Gauge("energy_mqtt_listener_connected", "1 while the MQTT listener is subscribed.",
                       multiprocess_mode="livemax")

SOLVER_DURATION = Histogram("energy_solver_duration_seconds", "HiGHS time for one battery schedule [s].",
                            ["engine"], buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30))

JOB_DURATION = Histogram("energy_job_duration_seconds", "Time a background job ran [s], by task and state.",
                         ["task", "state"], buckets=JOB_BUCKETS)
JOBS_STARTED = Counter("energy_jobs_started_total", "Background jobs started, by task.", ["task"])

DB_POOL_IN_USE = Gauge("energy_db_pool_connections_in_use", "Database connections checked out of the pools.",
                       ["backend"], multiprocess_mode="livesum")
DB_POOL_OPEN = Gauge("energy_db_pool_connections_open", "Database connections the pools hold open.",
                     ["backend"], multiprocess_mode="livesum")

OUTSIDE_CALLS = Counter("energy_outside_calls_total",
                        "Calls to outside providers by outcome (ok, retry, failed, rejected by the breaker).",
                        ["target", "outcome"])


def multiprocess_dir() -> str | None:
    """The folder shared by the processes whose metrics add up, or None in single-process mode."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def scrape_registry(live: Iterable = ()) -> CollectorRegistry:
    """The registry ``/metrics`` serves: every process's files (multiprocess mode) or this process's
    metrics, plus the collectors in ``live`` (computed now)."""
    if multiprocess_dir():
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = CollectorRegistry()
        registry.register(_Forward(REGISTRY))
    for collector in live:
        registry.register(collector)
    return registry


def exposition(live: Iterable = ()) -> tuple[bytes, str]:
    """The text exposition of :func:`scrape_registry` and its content type."""
    return generate_latest(scrape_registry(live)), CONTENT_TYPE_LATEST


def reset_multiprocess_dir() -> None:
    """Empty the multiprocess folder at the start of a process group (gunicorn's master, a Celery
    worker's main process): samples of an earlier run must not add up with this one's. The folder
    belongs to that group alone (each service has its own), so nobody else's files go."""
    folder = multiprocess_dir()
    if not folder:
        return
    os.makedirs(folder, exist_ok=True)
    for name in os.listdir(folder):
        if name.endswith(".db"):
            os.remove(os.path.join(folder, name))


def serve_metrics_port(port: int, addr: str = "0.0.0.0", live: Iterable = ()) -> None:
    """Serve the scrape registry on its own port (a separate bind: the Celery worker, the MQTT
    listener), in a daemon thread of this process."""
    from prometheus_client import start_http_server

    start_http_server(port, addr=addr, registry=scrape_registry(live))
    logger.info("metrics on http://%s:%d/metrics", addr, port)


def serve_metrics_from_settings() -> None:
    """:func:`serve_metrics_port` on ``METRICS_PORT`` when it is set (else nothing)."""
    from services.config import get_settings

    port = get_settings().metrics_port
    if port:
        serve_metrics_port(port)


def mark_process_dead(pid: int) -> None:
    """Forget a dead process's live gauges (gunicorn's ``child_exit``, Celery's worker shutdown)."""
    if multiprocess_dir():
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)


class _Forward:
    """Serves another registry's metrics (this process's default one) from a fresh registry."""

    def __init__(self, registry: CollectorRegistry):
        self._registry = registry

    def collect(self):
        return self._registry.collect()


# --- bounded labels ---------------------------------------------------------------------------------


def callback_label(output: str) -> str:
    """A callback's output id as a bounded label.

    Pattern-matching ids keep their keys, never their values (``{"index": 17, "type": "row"}``
    becomes ``{"index":"*","type":"row"}``); Dash's ``@<hash>`` suffixes of duplicate outputs are
    dropped. A label longer than :data:`MAX_LABEL` keeps its start and a digest of the whole id,
    so that two callbacks never share one.
    """
    parts = []
    for piece in output.strip(".").split("..."):
        piece = piece.split("@", 1)[0]
        if piece.startswith("{"):
            id_text, _, prop = piece.rpartition("}.")
            try:
                keys = json.loads(id_text + "}")
            except ValueError:
                keys = {}
            wild = {k: (v if k == "type" else "*") for k, v in sorted(keys.items())} if isinstance(keys, dict) else {}
            piece = json.dumps(wild, separators=(",", ":")) + "." + prop
        parts.append(piece)
    label = "...".join(parts)
    if len(label) > MAX_LABEL:
        digest = hashlib.sha1(output.encode()).hexdigest()[:8]
        label = f"{label[:MAX_LABEL - 20]}...(+{len(parts) - 1})#{digest}"
    return label


MAX_LABEL = 120


# --- ingestion, solver and MQTT observers (called from the core, the solver and the listener) -----------


def observe_ingest(report, channel: str, seconds: float) -> None:
    """Count one ingestion report (:class:`services.ingestion.types.IngestReport`) by outcome and reason."""
    INGEST_BATCHES.labels(channel, report.status).inc()
    INGEST_DURATION.labels(channel).observe(seconds)
    for outcome in ("inserted", "updated", "unchanged", "rejected", "duplicates"):
        count = getattr(report, outcome, 0)
        if count:
            INGESTED_ROWS.labels(channel, outcome.rstrip("s") if outcome == "duplicates" else outcome).inc(count)
    listed = 0
    by_field: dict[str, int] = {}
    for rejection in report.rejections:
        by_field[rejection.field] = by_field.get(rejection.field, 0) + 1
        listed += 1
    if report.rejected > listed:  # the report lists at most max_rejections
        by_field["unlisted"] = report.rejected - listed
    for reason, count in by_field.items():
        INGEST_REJECTIONS.labels(channel, reason[:40]).inc(count)


def observe_mqtt_batch(frame, now: datetime | None = None) -> None:
    """The lag of a stored MQTT batch's readings (the listener's frame: rows with a ``problem``
    were refused): now minus each reading's own timestamp [s].

    Timestamps as the wire gives them: ISO 8601 text or Unix seconds; naive local times and
    anything unreadable are left out (the core resolved those). Never raises: the batch is
    stored and acknowledged already.
    """
    try:
        stamps = list(frame.loc[frame["problem"].isna(), "ts"]) if "problem" in frame else list(frame["ts"])
    except Exception:  # noqa: BLE001
        logger.warning("MQTT lag not measured for a batch", exc_info=True)
        return
    now_s = (now or datetime.now(UTC)).timestamp()
    for ts in stamps:
        try:
            if isinstance(ts, (int, float)) and not isinstance(ts, bool):
                seconds = float(ts)
            else:
                parsed = datetime.fromisoformat(str(ts).replace("Z", "+00:00"))
                if parsed.tzinfo is None:
                    continue
                seconds = parsed.timestamp()
        except (TypeError, ValueError, OverflowError):
            continue
        MQTT_LAG.observe(max(0.0, now_s - seconds))


def mqtt_heartbeat(connected: bool) -> None:
    """The listener is alive (and whether it is subscribed); called every loop round."""
    MQTT_HEARTBEAT.set(time.time())
    MQTT_CONNECTED.set(1 if connected else 0)


def observe_solve(engine: str, solve_ms: float) -> None:
    """One HiGHS solve of ``solve_ms`` [ms]."""
    SOLVER_DURATION.labels(engine).observe(solve_ms / 1000.0)


# --- database pools -------------------------------------------------------------------------------------


def watch_pools() -> None:
    """Track checked-out and open connections of every SQLAlchemy pool in this process (once per process)."""
    import sqlalchemy as sa

    if getattr(watch_pools, "_installed", False):
        return
    watch_pools._installed = True

    def backend(dbapi_connection) -> str:
        module = type(dbapi_connection).__module__ if dbapi_connection is not None else ""
        return "postgresql" if module.startswith("psycopg") else "sqlite" if "sqlite" in module else "other"

    sa.event.listen(sa.pool.Pool, "checkout", lambda c, _rec, _p: DB_POOL_IN_USE.labels(backend(c)).inc())
    sa.event.listen(sa.pool.Pool, "checkin", lambda c, _rec: DB_POOL_IN_USE.labels(backend(c)).dec())
    sa.event.listen(sa.pool.Pool, "connect", lambda c, _rec: DB_POOL_OPEN.labels(backend(c)).inc())
    sa.event.listen(sa.pool.Pool, "close", lambda c, _rec: DB_POOL_OPEN.labels(backend(c)).dec())


# --- live gauges at scrape time -------------------------------------------------------------------------


class LiveCollector:
    """Gauges read from the store and the broker when Prometheus scrapes.

    Each part is independent: one that fails (the store down) is logged and left out, and
    ``energy_scrape_part_ok{part}`` says which parts answered.
    """

    def __init__(self, database_url: str | None = None, redis_url: str | None = None,
                 breakers: Callable[[], dict[str, int]] | None = None):
        self.database_url = database_url  # None: DATABASE_URL and REDIS_URL as configured at each scrape
        self.redis_url = redis_url
        self.breakers = breakers

    def collect(self):
        ok = GaugeMetricFamily("energy_scrape_part_ok", "1 when this part of the scrape answered.",
                               labels=["part"])
        for part, produce in (("store", self._store), ("queues", self._queues), ("breakers", self._breakers)):
            try:
                families = list(produce())
            except Exception:  # noqa: BLE001 - a scrape must answer even when a dependency is down
                logger.warning("metrics part %s failed", part, exc_info=True)
                ok.add_metric([part], 0)
                continue
            ok.add_metric([part], 1)
            yield from families
        yield ok

    def _store(self):
        import sqlalchemy as sa

        from services.store.db import session_scope
        from services.store.models import ForecastBacktest, IngestionBatch, WeatherRecord

        since = datetime.now(UTC) - timedelta(days=7)
        with session_scope(self.database_url) as session:
            last = session.execute(
                sa.select(IngestionBatch.channel, sa.func.max(IngestionBatch.finished_at))
                .where(IngestionBatch.started_at >= since, IngestionBatch.status == "done",
                       IngestionBatch.source != "open-meteo")  # weather fetches are logged as batches too
                .group_by(IngestionBatch.channel)
            ).all()
            weather = session.execute(sa.select(sa.func.max(WeatherRecord.issued_at))).scalar()
            backtests = session.execute(
                sa.select(ForecastBacktest.household_id, ForecastBacktest.target, ForecastBacktest.metrics)
                .order_by(ForecastBacktest.created_at.desc()).limit(500)
            ).all()
        ingest = GaugeMetricFamily("energy_ingest_last_success_timestamp_seconds",
                                   "Unix time of the newest stored ingestion batch, by channel [s].",
                                   labels=["channel"])
        for channel, finished in last:
            if finished is not None:
                ingest.add_metric([channel], _aware(finished).timestamp())
        yield ingest
        issued = GaugeMetricFamily("energy_weather_last_issue_timestamp_seconds",
                                   "Unix time of the newest stored weather forecast [s].")
        issued.add_metric([], _aware(weather).timestamp() if weather is not None else 0.0)
        yield issued
        yield _accuracy(backtests)

    def _queues(self):
        depth = GaugeMetricFamily("energy_job_queue_depth", "Jobs waiting in each Celery queue.",
                                  labels=["queue"])
        redis_url = self.redis_url
        if redis_url is None:
            from services.config import get_settings

            redis_url = get_settings().redis_url
        if redis_url:
            import redis

            from services.tasks.celery_app import BULK_QUEUE, INTERACTIVE_QUEUE

            client = redis.Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2)
            try:
                for queue in (INTERACTIVE_QUEUE, BULK_QUEUE):
                    depth.add_metric([queue], float(client.llen(queue)))
            finally:
                client.close()
        yield depth

    def _breakers(self):
        state = GaugeMetricFamily("energy_circuit_breaker_open",
                                  "Circuit breakers of outside calls: 0 closed, 1 half-open, 2 open.",
                                  labels=["breaker"])
        for name, value in (self.breakers() if self.breakers else {}).items():
            state.add_metric([name], float(value))
        yield state


def _accuracy(backtests) -> GaugeMetricFamily:
    """Median nMAE of each household's newest back-test per target (unitless; lower is better)."""
    newest: dict[tuple[int, str], float] = {}
    for household_id, target, metrics in backtests:
        key = (household_id, target)
        value = ((metrics or {}).get("overall") or {}).get("nmae")
        if key not in newest and isinstance(value, (int, float)):
            newest[key] = float(value)
    family = GaugeMetricFamily("energy_forecast_nmae",
                               "Median over households of the newest back-test's nMAE, by target (pv, load).",
                               labels=["target"])
    for target in sorted({t for _h, t in newest}):
        values = sorted(v for (_h, t), v in newest.items() if t == target)
        mid = len(values) // 2
        median = values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2
        family.add_metric([target], median)
    return family


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)
