"""Serving capacity of gunicorn (deploy/gunicorn.conf.py) + PostgreSQL under a mixed load, on loopback.

    .venv/bin/python benchmarks/load.py [--households 12] [--seconds 60] [--clients 50]
    .venv/bin/python benchmarks/load.py --compare   # short saturation runs of candidate worker settings

1. A PostgreSQL database of its own with the demo portfolio (``flask init-db``), and gunicorn with
   the deployment's config file on a free loopback port.
2. Each endpoint's single-request service time: one request at a time, warm, median of repeats.
3. Saturation: ``--clients`` closed-loop clients without think time mixing page loads, callbacks,
   optimize, forecast and ingest for ``--seconds``: throughput, and ``capacity_ratio`` =
   throughput / (cores / mean service time of the mix), both measured in this run.
4. Interactive: the same clients with 2 s think time for ``--seconds``: p95 latency.
5. Every reading the API acknowledged is counted in the store once (``lost`` and ``duplicated``).

The machine is shared: other processes compete for the same cores, and the load generator itself
runs on them too, so ratios measured in one run are the figures that count.
Summary: ``load rps=... capacity_ratio=... p95_ms=... errors=... lost=...``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.dash_requests import callback_body  # noqa: E402

HOST = "127.0.0.1"  # loopback only
ADMIN_URL = os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
#: The mix: share of requests per kind.
MIX = {"page": 0.30, "callback": 0.30, "optimize": 0.10, "forecast": 0.15, "ingest": 0.15}
HARD_LIMIT_S = 15 * 60


@dataclass
class Endpoint:
    kind: str
    method: str
    path: str
    body: dict | None = None


@dataclass
class Results:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    error_kinds: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    acknowledged: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def all_latencies(self) -> list[float]:
        return [v for values in self.latencies.values() for v in values]


class Workload:
    """Requests of each kind, built from the running app (households, callback bodies)."""

    def __init__(self, port: int, households: list[int]):
        self.port = port
        self.households = households
        deps = json.loads(request(port, "GET", "/_dash-dependencies")[1])
        self.callbacks = [callback_body(deps, "data-batches-refresh", "n_clicks", 1),
                          *(callback_body(deps, "optimize-household", "value", h) for h in households[:4])]
        self._ts = datetime(2021, 1, 1, tzinfo=UTC)  # in the past: the core refuses future readings
        self._ts_lock = threading.Lock()

    def next_ts(self) -> datetime:
        with self._ts_lock:
            self._ts += timedelta(minutes=15)
            return self._ts

    def make(self, kind: str, rng: random.Random) -> Endpoint:
        home = rng.choice(self.households)
        if kind == "page":
            return Endpoint(kind, "GET", rng.choice(["/", f"/household/{home}", "/data", "/forecast"]))
        if kind == "callback":
            return Endpoint(kind, "POST", "/_dash-update-component", rng.choice(self.callbacks))
        if kind == "optimize":
            return Endpoint(kind, "GET", f"/api/optimize/{home}")
        if kind == "forecast":
            return Endpoint(kind, "GET", f"/api/forecast/{home}?hours=48")
        readings = [{"household_id": home, "series": "bench/load", "quantity": "power", "ts": self.next_ts().isoformat(),
                     "value": round(rng.uniform(0.1, 3.0), 3), "unit": "kW"} for _ in range(4)]
        return Endpoint(kind, "POST", "/api/ingest/readings", {"source": "benchmark", "readings": readings})


def request(port: int, method: str, path: str, body: dict | None = None, conn=None) -> tuple[int, bytes]:
    own = conn is None
    conn = conn or http.client.HTTPConnection(HOST, port, timeout=120)
    try:
        payload = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json"} if payload else {}
        headers["Authorization"] = f"Bearer {API_TOKEN['secret']}"  # every request is signed in
        conn.request(method, path, body=payload, headers=headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        if own:
            conn.close()


def timed(workload: Workload, endpoint: Endpoint, results: Results, conn) -> http.client.HTTPConnection:
    started = time.perf_counter()
    try:
        status, raw = request(workload.port, endpoint.method, endpoint.path, endpoint.body, conn)
    except (OSError, http.client.HTTPException) as exc:
        conn.close()
        with results.lock:
            results.errors[endpoint.kind] += 1
            results.error_kinds[f"{endpoint.kind} {type(exc).__name__}"] += 1
        return http.client.HTTPConnection(HOST, workload.port, timeout=120)
    elapsed = time.perf_counter() - started
    with results.lock:
        results.latencies[endpoint.kind].append(elapsed)
        if status >= 400:
            results.errors[endpoint.kind] += 1
            results.error_kinds[f"{endpoint.kind} HTTP {status}"] += 1
        elif endpoint.kind == "ingest":
            answer = json.loads(raw)
            results.acknowledged += answer["inserted"] + answer["updated"] + answer["unchanged"]
    return conn


def service_times(workload: Workload, repeats: int, results: Results) -> dict[str, float]:
    """Median single-request time [s] per kind, one request at a time on a warm server."""
    rng = random.Random(1)
    conn = http.client.HTTPConnection(HOST, workload.port, timeout=120)
    medians = {}
    for kind in MIX:
        single = Results()
        for _ in range(3):  # warm every worker's caches a little (readings they store count too)
            conn = timed(workload, workload.make(kind, rng), single, conn)
        single.latencies.clear()
        for _ in range(repeats):
            conn = timed(workload, workload.make(kind, rng), single, conn)
        medians[kind] = statistics.median(single.latencies[kind])
        with results.lock:
            results.acknowledged += single.acknowledged
            for k, n in single.errors.items():
                results.errors[k] += n
    conn.close()
    return medians


def run_clients(workload: Workload, clients: int, seconds: float, think_s: float, results: Results) -> float:
    """Closed-loop clients for ``seconds``; returns the wall time actually measured [s]."""
    stop_at = time.monotonic() + seconds
    kinds, weights = list(MIX), list(MIX.values())

    def client(seed: int) -> None:
        rng = random.Random(seed)
        conn = http.client.HTTPConnection(HOST, workload.port, timeout=120)
        if think_s:
            time.sleep(rng.uniform(0, think_s))  # spread the first requests
        while time.monotonic() < stop_at:
            conn = timed(workload, workload.make(rng.choices(kinds, weights)[0], rng), results, conn)
            if think_s:
                time.sleep(think_s)
        conn.close()

    started = time.monotonic()
    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + 180)
    return time.monotonic() - started


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[94] if len(values) >= 20 else max(values, default=float("nan"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


class Server:
    """gunicorn with deploy/gunicorn.conf.py; ``overrides`` are the config's environment knobs."""

    def __init__(self, url: str, overrides: dict[str, str] | None = None):
        self.port = free_port()
        self.log = tempfile.NamedTemporaryFile(prefix="load-gunicorn-", suffix=".log", delete=False)
        env = {**os.environ, "DATABASE_URL": url, "HOST": HOST, "PORT": str(self.port), **(overrides or {})}
        env.pop("REDIS_URL", None)
        env["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="load-metrics-")
        self.process = subprocess.Popen([str(ROOT / ".venv" / "bin" / "gunicorn"), "-c", "deploy/gunicorn.conf.py",
                                         "app:server"], cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if request(self.port, "GET", "/health")[0] == 200:
                    return
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"gunicorn did not start: see {self.log.name}")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)


#: The API token every request sends (a manager of the first organisation), made by :func:`sign_in`.
API_TOKEN = {"secret": ""}


def sign_in(url: str) -> None:
    """Make the manager token of the first organisation (where the benchmark's households are)."""
    os.environ["DATABASE_URL"] = url
    from services import config
    from services.auth import create_token

    config.get_settings.cache_clear()
    API_TOKEN["secret"] = create_token("load benchmark", 1, "manager")[1]


def prepare_database(households: int) -> tuple[str, sa.Engine, str]:
    name = f"energy_load_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.engine.make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    env = {**os.environ, "DATABASE_URL": url, "DEMO_HOUSEHOLDS": str(households)}
    started = time.perf_counter()
    subprocess.run([str(ROOT / ".venv" / "bin" / "flask"), "--app", "app", "init-db"], cwd=ROOT, env=env, check=True,
                   capture_output=True, timeout=900)
    print(f"database {name}: {households} demo households in {time.perf_counter() - started:.0f} s", flush=True)
    return url, admin, name


def stored_readings(url: str) -> tuple[int, int]:
    """(readings, distinct (series, ts)) of the benchmark's series."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return tuple(conn.execute(sa.text(
                "SELECT count(*), count(DISTINCT (r.series_id, r.ts)) FROM readings r JOIN series s ON s.id = r.series_id "
                "WHERE s.name = 'bench/load'")).one())
    finally:
        engine.dispose()


def compare(url: str, households: list[int], seconds: float, clients: int) -> None:
    """Short saturation runs of candidate worker settings (the figures behind deploy/gunicorn.conf.py)."""
    cores = os.cpu_count() or 1
    candidates = [("sync", {"WEB_WORKER_CLASS": "sync", "WEB_WORKERS": str(cores), "WEB_THREADS": "1"}),
                  ("sync", {"WEB_WORKER_CLASS": "sync", "WEB_WORKERS": str(2 * cores + 1), "WEB_THREADS": "1"}),
                  ("gthread", {"WEB_WORKERS": str(cores), "WEB_THREADS": "4"}),
                  ("gthread", {"WEB_WORKERS": str(cores + 1), "WEB_THREADS": "4"}),
                  ("gthread", {"WEB_WORKERS": str(cores + 1), "WEB_THREADS": "8"})]
    print(f"{'class':8} {'workers':>7} {'threads':>7} {'rps':>7} {'p95_ms':>8} {'errors':>6}")
    for worker_class, overrides in candidates:
        server = Server(url, overrides)
        try:
            workload = Workload(server.port, households)
            service_times(workload, 2, Results())  # warm
            results = Results()
            wall = run_clients(workload, clients, seconds, 0.0, results)
        finally:
            server.stop()
        n = len(results.all_latencies())
        print(f"{worker_class:8} {overrides['WEB_WORKERS']:>7} {overrides['WEB_THREADS']:>7} {n / wall:7.1f} "
              f"{p95(results.all_latencies()) * 1000:8.0f} {sum(results.errors.values()):6d} "
              f"{dict(results.error_kinds) or ''}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--think", type=float, default=2.0, help="think time of the interactive phase [s]")
    parser.add_argument("--repeats", type=int, default=8, help="single requests per kind for the service times")
    parser.add_argument("--compare", action="store_true", help="compare worker settings (20 s each) instead")
    args = parser.parse_args()
    signal.alarm(HARD_LIMIT_S)  # bounded in time, whatever happens
    url, admin, name = prepare_database(args.households)
    try:
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            households = [r[0] for r in conn.execute(sa.text(  # the demo splits them over two organisations
                "SELECT h.id FROM households h JOIN batteries b ON b.household_id = h.id "
                "WHERE h.organisation_id = 1 ORDER BY h.id"))]
        engine.dispose()
        sign_in(url)
        if args.compare:
            compare(url, households, 20.0, args.clients)
            return
        run(url, households, args)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def run(url: str, households: list[int], args) -> None:
    cores = os.cpu_count() or 1
    server = Server(url)
    try:
        workload = Workload(server.port, households)
        ingest_results = Results()
        medians = service_times(workload, args.repeats, ingest_results)
        mean_service = sum(MIX[k] * medians[k] for k in MIX)
        print("\nsingle-request service time (median, warm, one at a time)")
        print(f"{'kind':10} {'share':>6} {'ms':>8}")
        for kind in MIX:
            print(f"{kind:10} {MIX[kind]:6.2f} {medians[kind] * 1000:8.1f}")
        print(f"{'mix mean':10} {'':6} {mean_service * 1000:8.1f}   ideal throughput {cores} cores / mean = "
              f"{cores / mean_service:.1f} req/s", flush=True)

        saturated = Results()
        wall = run_clients(workload, args.clients, args.seconds, 0.0, saturated)
        done = len(saturated.all_latencies())
        rps = done / wall
        ratio = rps / (cores / mean_service)
        interactive = Results()
        run_clients(workload, args.clients, args.seconds, args.think, interactive)
        latencies = interactive.all_latencies()
    finally:
        server.stop()
    print(f"\n{'phase':28} {'requests':>8} {'rps':>7} {'p50_ms':>7} {'p95_ms':>7} {'errors':>6}")
    for label, res, seconds in ((f"{args.clients} clients, no think time", saturated, wall),
                                (f"{args.clients} clients, {args.think:g} s think", interactive, args.seconds)):
        values = res.all_latencies()
        print(f"{label:28} {len(values):8d} {len(values) / seconds:7.1f} {statistics.median(values) * 1000:7.0f} "
              f"{p95(values) * 1000:7.0f} {sum(res.errors.values()):6d}")
    print(f"\n{'kind':10} {'p95_ms sat':>10} {'p95_ms think':>12}")
    for kind in MIX:
        print(f"{kind:10} {p95(saturated.latencies[kind]) * 1000:10.0f} {p95(interactive.latencies[kind]) * 1000:12.0f}")
    acknowledged = ingest_results.acknowledged + saturated.acknowledged + interactive.acknowledged
    stored, distinct = stored_readings(url)
    lost = max(0, acknowledged - distinct)
    duplicated = stored - distinct
    errors = sum(saturated.errors.values()) + sum(interactive.errors.values()) + sum(ingest_results.errors.values())
    kinds = {**saturated.error_kinds, **{f"{k} (think)": v for k, v in interactive.error_kinds.items()}}
    if kinds:
        print(f"\nerrors: {kinds}")
    print(f"\nreadings acknowledged {acknowledged}, stored {stored} ({distinct} distinct): lost {lost}, "
          f"duplicated {duplicated}")
    print(f"load rps={rps:.1f} capacity_ratio={ratio:.2f} p95_ms={p95(latencies) * 1000:.0f} "
          f"errors={errors} lost={lost}")


if __name__ == "__main__":
    main()
