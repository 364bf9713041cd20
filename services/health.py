"""Health of the services the app depends on: the store, the solver, the background workers.

Each check is one function ``check_x(settings) -> (status, detail)`` listed in
:data:`SERVICE_CHECKS`; :func:`check_services` runs them side by side, times each
one and never lets a failing or hanging check take the report down with it.
Adding a service (the forecaster, the weather source) is one function plus one
line in that list.

Status words, worst last: ``ok`` (works), ``degraded`` (works, but something needs
attention: the detail says what to do), ``down`` (does not work).
"""

from __future__ import annotations

import logging
import socket
import ssl
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urlsplit

import sqlalchemy as sa

from services.config import CACHE_DIR, PROJECT_ROOT, Settings, get_settings

Status = Literal["ok", "degraded", "down"]
STATUS_ORDER: dict[str, int] = {"ok": 0, "degraded": 1, "down": 2}

CHECK_TIMEOUT_S = 3.0
"""Network waits inside one check (connect, query, PING) [s]: a health probe answers in seconds."""

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServiceHealth:
    """One service's state: ``latency_ms`` is how long its check took [ms]."""

    name: str
    status: Status
    latency_ms: float
    detail: str


@dataclass(frozen=True)
class HealthReport:
    """All services at ``checked_at`` (UTC); ``status`` is the worst of theirs."""

    status: Status
    checked_at: datetime
    services: list[ServiceHealth]


HealthCheck = Callable[[Settings], tuple[Status, str]]


def check_services(
    settings: Settings | None = None,
    checks: tuple[tuple[str, HealthCheck], ...] | None = None,
) -> HealthReport:
    """Run every check concurrently and collect the report.

    Parameters
    ----------
    settings : Settings, optional
        Defaults to the process settings (``DATABASE_URL``, ``REDIS_URL``) read now.
    checks : tuple of (name, check), optional
        Defaults to :data:`SERVICE_CHECKS`.

    Returns
    -------
    HealthReport
        A check that raises is reported ``down`` with the error; one that has not
        answered within ``2 * CHECK_TIMEOUT_S`` is reported ``down`` as not answering.
    """
    settings = settings or get_settings()
    checks = SERVICE_CHECKS if checks is None else checks
    deadline_s = 2 * CHECK_TIMEOUT_S
    pool = ThreadPoolExecutor(max_workers=max(1, len(checks)), thread_name_prefix="health")
    try:
        futures = [(name, pool.submit(_timed, name, check, settings)) for name, check in checks]
        started = time.monotonic()
        results = []
        for name, future in futures:
            remaining = max(0.0, deadline_s - (time.monotonic() - started))
            try:
                results.append(future.result(timeout=remaining))
            except FutureTimeout:
                results.append(
                    ServiceHealth(name, "down", round(deadline_s * 1000, 1),
                                  f"did not answer within {deadline_s:g} s")
                )
    finally:
        # A hung check keeps its thread; the report must not wait for it.
        pool.shutdown(wait=False, cancel_futures=True)
    overall = max((r.status for r in results), key=STATUS_ORDER.__getitem__, default="ok")
    return HealthReport(status=overall, checked_at=datetime.now(UTC), services=results)


def _timed(name: str, check: HealthCheck, settings: Settings) -> ServiceHealth:
    start = time.perf_counter()
    try:
        status, detail = check(settings)
    except Exception as exc:  # a broken check is a finding, not a crash of the health page
        logger.warning("health check %s failed", name, exc_info=True)
        status, detail = "down", f"{type(exc).__name__}: {_first_line(exc)}"
    latency_ms = round((time.perf_counter() - start) * 1000, 1)
    return ServiceHealth(name=name, status=status, latency_ms=latency_ms, detail=detail)


# --- store -----------------------------------------------------------------------------------


def check_store(settings: Settings) -> tuple[Status, str]:
    """``SELECT 1``, the Alembic revision against the newest one, and whether there are households.

    A fresh connection outside the app's pool, with short timeouts, so an unreachable or
    stuck database is reported within seconds instead of hanging the probe.
    """
    url = settings.database_url
    engine = _probe_engine(url)
    if engine is None:
        path = sa.engine.make_url(url).database
        return "down", f"SQLite file {path} does not exist: create it with `flask --app app migrate`"
    try:
        conn = engine.connect()
    except sa.exc.DBAPIError as exc:
        engine.dispose()
        return "down", f"cannot reach the database: {_first_line(exc.orig)}"
    try:
        conn.execute(sa.text("SELECT 1"))
        backend = engine.dialect.name
        revision = _schema_revision(conn)
        if revision is None:
            return "degraded", f"{backend} reachable but has no schema: run `flask --app app migrate`"
        newest = _newest_revision()
        households = conn.execute(sa.text("SELECT count(*) FROM households")).scalar_one()
    except sa.exc.DBAPIError as exc:
        return "down", f"the database answers but a query failed: {_first_line(exc.orig)}"
    finally:
        conn.close()
        engine.dispose()
    if households:
        data = f"{households} household{'s' if households != 1 else ''}"
    else:
        data = "no households yet (empty database)"
    if revision != newest:
        return "degraded", (
            f"{backend}: schema at revision {revision}, newest is {newest}: "
            f"run `flask --app app migrate`; {data}"
        )
    return "ok", f"{backend}: schema at revision {revision} (newest); {data}"


def _probe_engine(url: str) -> sa.Engine | None:
    """An engine that opens one connection per use and gives up after ``CHECK_TIMEOUT_S``."""
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = parsed.database
        if path and path != ":memory:" and not path.startswith("file:") and not Path(path).exists():
            return None  # connecting would create an empty file and hide the problem
        return sa.create_engine(url, poolclass=sa.pool.NullPool, connect_args={"timeout": CHECK_TIMEOUT_S})
    timeout_ms = int(CHECK_TIMEOUT_S * 1000)
    return sa.create_engine(
        url,
        poolclass=sa.pool.NullPool,
        connect_args={
            "connect_timeout": max(1, int(CHECK_TIMEOUT_S)),
            "options": f"-c statement_timeout={timeout_ms}",
        },
    )


def _schema_revision(conn: sa.Connection) -> str | None:
    if not sa.inspect(conn).has_table("alembic_version"):
        return None
    return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()


def _newest_revision() -> str:
    from alembic.script import ScriptDirectory

    heads = ScriptDirectory(str(PROJECT_ROOT / "migrations")).get_heads()
    return ", ".join(sorted(heads))


# --- solver ----------------------------------------------------------------------------------


def check_solver(settings: Settings) -> tuple[Status, str]:
    """Import highspy and solve a two-variable LP whose optimum is known (objective 1.0)."""
    try:
        import highspy
    except ImportError as exc:
        return "down", f"highspy is not installed ({exc}): install requirements.txt"
    from services.optimization.raw_highs import HIGHS_OPTIONS

    h = highspy.Highs()
    # The same options as the optimizer: HiGHS sizes one scheduler per process from the first
    # solve's "threads", and a later solve asking for another number fails with status error.
    for key, value in HIGHS_OPTIONS.items():
        h.setOptionValue(key, value)
    h.setOptionValue("time_limit", CHECK_TIMEOUT_S)
    x = h.addVariable(lb=0, ub=10)
    y = h.addVariable(lb=0, ub=10)
    h.addConstr(x + 2 * y >= 2)
    h.minimize(x + y)  # optimum x = 0, y = 1
    status = h.getModelStatus()
    version = f"HiGHS {h.version()}"
    if status != highspy.HighsModelStatus.kOptimal:
        return "down", f"{version}: test LP ended '{h.modelStatusToString(status)}' instead of optimal"
    objective = h.getInfo().objective_function_value
    if abs(objective - 1.0) > 1e-6:
        return "degraded", f"{version}: test LP optimum is {objective}, expected 1.0"
    return "ok", f"{version}: test LP solved to optimality"


# --- background workers -------------------------------------------------------------------------


def check_background_workers(settings: Settings, cache_dir: Path = CACHE_DIR) -> tuple[Status, str]:
    """The manager behind long callbacks: Redis PING when ``REDIS_URL`` is set, else the Diskcache folder.

    With Redis only the broker is checked here; :func:`check_workers` asks the Celery workers.
    """
    if settings.redis_url:
        return _check_redis(settings.redis_url)
    return _check_diskcache(cache_dir)


def _check_diskcache(cache_dir: Path) -> tuple[Status, str]:
    if not cache_dir.is_dir():
        return "down", f"Diskcache folder {cache_dir} is missing or not a folder: restart the app to create it"
    import diskcache

    key = f"health-{uuid.uuid4().hex}"
    with diskcache.Cache(str(cache_dir), timeout=CHECK_TIMEOUT_S) as cache:
        cache.set(key, "ok", expire=60)
        written = cache.get(key)
        cache.delete(key)
    if written != "ok":
        return "down", f"Diskcache at {cache_dir} did not return what was written"
    return "ok", f"Diskcache at {cache_dir} is writable"


def _check_redis(redis_url: str) -> tuple[Status, str]:
    """PING over the Redis protocol (RESP) with a socket timeout; AUTH first when the URL has a password."""
    parts = urlsplit(redis_url)
    host, port = parts.hostname or "localhost", parts.port or 6379
    where = f"Redis at {host}:{port}"
    commands = []
    if parts.password:
        user = [unquote(parts.username)] if parts.username else []
        commands.append(["AUTH", *user, unquote(parts.password)])
    commands.append(["PING"])
    try:
        with socket.create_connection((host, port), timeout=CHECK_TIMEOUT_S) as raw:
            tls = parts.scheme == "rediss"
            sock = ssl.create_default_context().wrap_socket(raw, server_hostname=host) if tls else raw
            for command in commands:
                reply = _redis_call(sock, command)
                if reply.startswith("-"):
                    return "down", f"{where} refused {command[0]}: {reply[1:]}"
    except OSError as exc:
        return "down", f"cannot reach {where}: {exc}"
    if reply != "+PONG":
        return "down", f"{where} answered PING with {reply!r}"
    return "ok", f"{where} answered PING"


def _redis_call(sock: socket.socket, command: list[str]) -> str:
    payload = f"*{len(command)}\r\n" + "".join(f"${len(a.encode())}\r\n{a}\r\n" for a in command)
    sock.sendall(payload.encode())
    reply = b""
    while not reply.endswith(b"\r\n"):
        chunk = sock.recv(512)
        if not chunk:
            raise ConnectionError("connection closed before a reply")
        reply += chunk
    return reply.decode(errors="replace").strip()


def _first_line(exc: BaseException | None) -> str:
    text = str(exc).strip() if exc is not None else ""
    return text.splitlines()[0] if text else type(exc).__name__


def check_forecaster(settings: Settings) -> tuple[Status, str]:
    """Stored forecasting models and their age (no training, no network)."""
    from services.forecasting.registry import check_forecaster as check

    return check(settings)


def check_weather_source(settings: Settings) -> tuple[Status, str]:
    """The online weather provider as last seen by the fetch log (no network call here)."""
    from services.weather.open_meteo import check_weather_source as check

    return check(settings)


# --- Celery workers, queues and beat (with REDIS_URL) -------------------------------------------

NO_REDIS = "not used: without REDIS_URL jobs run in the web server's processes"


def check_workers(settings: Settings) -> tuple[Status, str]:
    """``celery inspect ping`` with a short timeout: which workers answer."""
    if not settings.redis_url:
        return "ok", NO_REDIS
    status, detail = _check_redis(settings.redis_url)
    if status != "ok":  # without a broker there is no one to ask; say why instead of waiting for retries
        return status, detail
    from services.tasks.celery_app import make_celery

    app = make_celery(settings.redis_url, name="health")
    app.conf.update(broker_connection_retry=False, broker_connection_timeout=CHECK_TIMEOUT_S,
                    broker_transport_options={"socket_timeout": CHECK_TIMEOUT_S,
                                              "socket_connect_timeout": CHECK_TIMEOUT_S})
    try:
        replies = app.control.ping(timeout=min(1.0, CHECK_TIMEOUT_S))
    finally:
        app.close()
    names = sorted(name for reply in replies for name in reply)
    if not names:
        return "down", ("no Celery worker answered: start one with "
                        "`celery -A worker worker -Q interactive,bulk`; jobs wait in the queues meanwhile")
    return "ok", f"{len(names)} worker{'s' if len(names) != 1 else ''} answered: {', '.join(names)}"


def check_queues(settings: Settings) -> tuple[Status, str]:
    """Tasks waiting in the ``interactive`` and ``bulk`` queues (Redis LLEN)."""
    if not settings.redis_url:
        return "ok", NO_REDIS
    status, detail = _check_redis(settings.redis_url)
    if status != "ok":
        return status, detail
    import redis

    from services.tasks.celery_app import BULK_QUEUE, INTERACTIVE_QUEUE

    client = redis.Redis.from_url(settings.redis_url, socket_timeout=CHECK_TIMEOUT_S,
                                  socket_connect_timeout=CHECK_TIMEOUT_S)
    try:
        depth = {q: int(client.llen(q)) for q in (INTERACTIVE_QUEUE, BULK_QUEUE)}
    finally:
        client.close()
    return "ok", ", ".join(f"{q}: {n} waiting" for q, n in depth.items())


def check_beat(settings: Settings) -> tuple[Status, str]:
    """When beat's schedules last ran (recorded in the store by the worker that ran them)."""
    if not settings.redis_url:
        return "ok", NO_REDIS + " (nothing is scheduled)"
    from services.tasks.schedules import last_runs, schedules

    runs = last_runs(settings.database_url)
    if not runs:
        return "degraded", "no schedule has run yet: start beat with `celery -A worker beat`"
    name, (at, job_id, detail) = max(runs.items(), key=lambda item: item[1][0])
    shortest = min(s.every for s in schedules(settings) if s.every)
    age = datetime.now(UTC) - at
    text = f"last run {name} at {at:%Y-%m-%d %H:%M} UTC ({detail})"
    if age > 2 * shortest:
        return "degraded", f"{text}, {age.total_seconds() / 60:.0f} min ago: is `celery -A worker beat` running?"
    return "ok", text


SERVICE_CHECKS: tuple[tuple[str, HealthCheck], ...] = (
    ("store", check_store),
    ("solver", check_solver),
    ("forecaster", check_forecaster),
    ("weather_source", check_weather_source),
    ("background_workers", check_background_workers),
    ("workers", check_workers),
    ("queues", check_queues),
    ("beat", check_beat),
)
"""The checks behind ``GET /api/services/health``, in the order they are reported."""
