"""Benchmark: a day-ahead fleet run of 10,000 stored households end to end through 2 Celery
workers on PostgreSQL, against the in-memory raw engine on the same inputs, in the same run.

Run: ``.venv/bin/python benchmarks/fleet_scale.py`` (about 5 minutes with forecasts, 6 with the profile; needs PostgreSQL and
Redis). ``FLEET_SCALE_HOUSEHOLDS`` (default 10000), ``FLEET_SCALE_PG`` (an admin URL, default
``TEST_DATABASE_URL`` or the local ``postgres`` database) and ``FLEET_SCALE_REDIS`` (default
``redis://127.0.0.1:6379/5``, flushed before and after) change what it uses.

Set-up (not timed in the ratio): a database of its own (created, dropped at the end) with
``demo-data --households N`` (a week of 15-minute readings each); the demo gives a battery to
about half the households, so every other one gets a 10 kWh / 5 kW battery here, and all N are
planned for the day after the readings (tariffs flat, time-of-use and dynamic).

``FLEET_SCALE_INPUTS`` chooses the plans' PV and load:

* ``forecasts`` (default, the headline: a day-ahead plan with stored inputs, as in production after
  the forecast job): every household gets one stored day-ahead forecast per target (``pv``,
  ``load``) issued before the runs start, covering the planned day (the ``END`` day in its time
  zone, 96 quarter-hour steps [kWh per step]); its P50 is the household's own 7-day profile (read
  with :func:`chunk_inputs` before any forecast is stored; P10/P90 at 0.8/1.2 times it), written
  in two statements (the forecast rows in one INSERT ... SELECT, their values in one binary COPY);
  the chunks then read the forecasts (their inputs' sources say ``forecast``: checked for all);
* ``profile``: no forecasts stored, so every household's PV and load are the 7-day-profile
  fallback, computed from about 2,000 readings per household in every chunk.

Measured:

* **end to end** (``hh_s``): from :func:`start_fleet_run` (run and household rows written, 20
  chunks of 500 sent to the bulk queue) until its row says ``done``, with 2 worker processes
  (``celery -A worker worker --concurrency=1 -Q bulk``, twice) already started: set-based reads,
  solves, and every plan stored (a run and its row of 96-step arrays per household) with the upsert
  of its row; each worker process warms up as it starts (solver run once, one household's inputs read,
  connections without JIT, the objects of its imports frozen out of the garbage collector);
* the **in-memory raw engine** (``raw_hh_s``): the same requests (read once beforehand) in memory,
  through :func:`~services.optimization.fleet.optimize_fleet` with the raw HiGHS engine (``highs``)
  on 2 forked processes: the same schedules with their baselines and outcomes as the end-to-end
  run computes, collected in memory; no store read or written, no broker;
* **the solver alone** (``solver_hh_s``): the same requests, each only built as highspy arrays
  (:func:`~services.optimization.formulation.formulate`) and re-solved with the raw HiGHS program
  of its shape (:mod:`services.optimization.raw_highs`, warm, as fleets solve), in 2 forked
  processes: the solver's throughput with nothing around it (no baselines, no outcomes);
* the **phases** of one chunk of 500 in this process (reads, solves with baselines, writes) [ms
  per household]: wall time, this process's CPU (``time.process_time``) and the PostgreSQL
  backends' CPU (``/proc/<pid>/stat`` of the benchmark database's backends; PostgreSQL on this
  machine);
* the share of the machine's CPU busy during the end-to-end run (``/proc/stat``: what is left
  idle is waiting, not work);
* a **killed worker**: a second run during which one worker is SIGKILLed in the middle of a chunk
  and restarted (as a supervisor would); the lost chunk comes back after the broker's visibility
  timeout. ``killed_worker_lost`` counts households without exactly one stored plan for that run.

``ratio`` = end-to-end households/s / in-memory raw engine households/s, both on 2 processes (goal
>= 0.5): what reading from the store, storing every plan and going through the broker cost on top of
the same work in memory. ``solver_ratio`` sets the end-to-end rate against the solver alone. The
per-core rate (households/s over 2 processes / 2) is extrapolated to the cores needed for 100,000
households in 15 minutes; on this 2-core machine PostgreSQL and Redis share the same cores as the
workers, so the end-to-end per-core rate includes the database's work.

Last line: ``fleet_scale ratio=.. hh_s=.. killed_worker_lost=.. raw_hh_s=.. solver_ratio=.. ... inputs=forecasts``
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

N = int(os.environ.get("FLEET_SCALE_HOUSEHOLDS", "10000"))
REDIS_URL = os.environ.get("FLEET_SCALE_REDIS", "redis://127.0.0.1:6379/5")
ADMIN_URL = os.environ.get("FLEET_SCALE_PG") or os.environ.get(
    "TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
INPUTS = os.environ.get("FLEET_SCALE_INPUTS", "forecasts")
if INPUTS not in ("forecasts", "profile"):
    sys.exit(f"FLEET_SCALE_INPUTS must be forecasts or profile, got {INPUTS!r}")
END = date(2026, 6, 1)  # readings end at this local midnight; the run plans this day
CHUNK = 500
VISIBILITY_S = 45  # above the longest chunk on a loaded machine; a killed worker's chunk waits this long
TARGET_HOUSEHOLDS, TARGET_S = 100_000, 15 * 60

os.environ["REDIS_URL"] = REDIS_URL  # before the services read their settings
os.environ["CELERY_VISIBILITY_TIMEOUT"] = str(VISIBILITY_S)

from services.config import Settings  # noqa: E402

ADMIN_URL = Settings(database_url=ADMIN_URL).database_url
DB_NAME = f"fleet_scale_{os.getpid()}_{uuid.uuid4().hex[:6]}"
DB_URL = sa.engine.make_url(ADMIN_URL).set(database=DB_NAME).render_as_string(hide_password=False)
os.environ["DATABASE_URL"] = DB_URL

from services.demo import load_demo_portfolio  # noqa: E402
from services.optimization import fleet_runs  # noqa: E402
from services.optimization.chunk_inputs import chunk_inputs  # noqa: E402
from services.optimization.engines import program_cache  # noqa: E402
from services.optimization.fleet import _worker_start, optimize_fleet, schedule_each  # noqa: E402
from services.optimization.formulation import formulate  # noqa: E402
from services.optimization.inputs import SOURCE_FORECAST, SOURCE_NO_PV, SOURCE_PROFILE  # noqa: E402
from services.store.bulk import copy_binary  # noqa: E402
from services.store.db import get_engine, migrate, session_scope  # noqa: E402
from services.store.models import FleetRunHousehold, Household, OptimizationRun  # noqa: E402

T0 = time.perf_counter()
_REQUESTS: list = []  # the raw engine's inputs, inherited by its forked processes


def main() -> None:
    import redis

    # A timeout's SIGTERM still stops the workers and drops the database (the finally below).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(f"stopped by SIGTERM after {time.perf_counter() - T0:.0f} s"))
    broker = redis.Redis.from_url(REDIS_URL)
    broker.ping()
    broker.flushdb()
    admin = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{DB_NAME}"'))
    workers: list[Worker] = []
    try:
        load_before = os.getloadavg()[0]
        setup = set_up()
        ids, requests, read_s = stored_requests()
        raw = in_memory_engine(requests)
        solver = raw_solver(requests)
        phases = chunk_phases(ids[:CHUNK])
        workers.append(Worker("w1"))
        workers.append(Worker("w2"))
        e2e = end_to_end(ids)
        killed = killed_worker_run(ids, workers)
        report(setup, read_s, raw, solver, phases, e2e, killed, load_before)
    finally:
        for worker in workers:
            worker.stop()
        broker.flushdb()
        get_engine(DB_URL).dispose()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)'))


def set_up() -> dict:
    migrate(DB_URL)
    t0 = time.perf_counter()
    load = load_demo_portfolio(n_households=N, seed=42, end=END, days=7, url=DB_URL)
    with session_scope(DB_URL) as session:
        added = session.execute(sa.text(
            "INSERT INTO batteries (household_id, capacity_kwh, max_charge_kw, max_discharge_kw, charge_efficiency, "
            "discharge_efficiency, soc_min, soc_max) SELECT id, 10.0, 5.0, 5.0, 0.95, 0.95, 0.1, 1.0 FROM households "
            "WHERE id NOT IN (SELECT household_id FROM batteries)")).rowcount
    with get_engine(DB_URL).begin() as conn:
        conn.execute(sa.text("ANALYZE"))
    forecasts = store_forecasts() if INPUTS == "forecasts" else {}
    if forecasts:
        with get_engine(DB_URL).begin() as conn:
            conn.execute(sa.text("ANALYZE forecasts, forecast_values"))
    return {"load_s": time.perf_counter() - t0, "readings": load.readings, "batteries_added": added,
            "load_summary": load.summary(), **forecasts}


def store_forecasts() -> dict:
    """One day-ahead forecast per household and target covering ``END`` in its time zone, issued
    now (before any run starts), P50 = the household's 7-day profile [kWh per step]."""
    t0 = time.perf_counter()
    ids, requests, _ = stored_requests(expect=(SOURCE_PROFILE, SOURCE_NO_PV))
    issued = datetime.now(UTC) - timedelta(minutes=1)
    dt = timedelta(hours=requests[0].dt_h)
    steps = len(requests[0].load_kw)
    with get_engine(DB_URL).begin() as conn:
        rows = conn.execute(sa.text(
            "INSERT INTO forecasts (household_id, target, method, issued_at, note) "
            "SELECT h, t, 'ml', :issued, 'fleet_scale: the 7-day profile' "
            "FROM unnest(CAST(:ids AS int[])) AS h CROSS JOIN (VALUES ('pv'), ('load')) AS targets(t) "
            "RETURNING id, household_id, target"), {"issued": issued, "ids": ids}).all()
        forecast_of = {(h, t): f for f, h, t in rows}
        fid, seconds, kwh = [], [], []
        for household_id, request in zip(ids, requests, strict=True):
            assert len(request.load_kw) == steps and timedelta(hours=request.dt_h) == dt
            start = int(request.start.timestamp())
            stamps = start + np.arange(steps, dtype=np.int64) * int(dt.total_seconds())
            for target, kw in (("pv", request.pv_kw), ("load", request.load_kw)):
                fid.append(np.full(steps, forecast_of[household_id, target], dtype=np.int32))
                seconds.append(stamps)
                kwh.append(np.asarray(kw, dtype=float) * request.dt_h)
        p50 = np.concatenate(kwh)
        values = copy_binary(conn, "forecast_values", [
            ("forecast_id", "int4", np.concatenate(fid)), ("ts", "timestamptz", np.concatenate(seconds)),
            ("p50", "float8", p50), ("p10", "float8", 0.8 * p50), ("p90", "float8", 1.2 * p50)])
    return {"forecasts": len(rows), "forecast_values": values, "forecasts_s": time.perf_counter() - t0}


def stored_requests(expect: tuple[str, ...] | None = None):
    """Every household's request as a chunk reads it; each input's PV and load source is one of
    ``expect`` (default: what ``INPUTS`` stores)."""
    if expect is None:
        expect = (SOURCE_FORECAST,) if INPUTS == "forecasts" else (SOURCE_PROFILE, SOURCE_NO_PV)
    with session_scope(DB_URL) as session:
        ids = list(session.scalars(sa.select(Household.id).order_by(Household.id)))
    t0 = time.perf_counter()
    requests = []
    for lo in range(0, len(ids), CHUNK):
        chunk = chunk_inputs(ids[lo:lo + CHUNK], day=END, url=DB_URL)
        assert not chunk.errors, list(chunk.errors.items())[:3]
        for h in ids[lo:lo + CHUNK]:
            inputs = chunk.inputs[h]
            assert inputs.pv_source in expect and inputs.load_source in expect, (h, inputs.source, expect)
            requests.append(inputs.request)
    return ids, requests, time.perf_counter() - t0


def _raw_solve(bounds: tuple[int, int]) -> int:
    cache = program_cache("highs")
    for request in _REQUESTS[bounds[0]:bounds[1]]:
        solution, _ = cache.solve(formulate(request))
        assert solution.status == "optimal", solution.status
    return bounds[1] - bounds[0]


def in_memory_engine(requests) -> dict:
    """The in-memory fleet engine on the same requests: :func:`~services.optimization.fleet.optimize_fleet`
    with the raw HiGHS engine (``highs``) on 2 forked processes, every schedule with its baselines
    and outcomes, collected in this process; nothing read from or written to a store, no broker."""
    by_id = dict(enumerate(requests))
    optimize_fleet(dict(list(by_id.items())[:40]), workers=2, engine="highs", start_method="fork")  # imports warm
    t0 = time.perf_counter()
    fleet = optimize_fleet(by_id, workers=2, engine="highs", start_method="fork")
    wall = time.perf_counter() - t0
    assert not fleet.errors and len(fleet.results) == len(requests), list(fleet.errors.items())[:3]
    return {"hh_s": len(requests) / wall, "wall_s": wall}


def raw_solver(requests) -> dict:
    """The solver alone: each request formulated and re-solved with the warm program of its shape."""
    _REQUESTS[:] = requests
    size = 100
    bounds = [(lo, min(lo + size, len(requests))) for lo in range(0, len(requests), size)]
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("fork"), initializer=_worker_start) as pool:
        list(pool.map(_raw_solve, [(0, 20), (20, 40)]))  # processes started and one program of the shape built
        t0 = time.perf_counter()
        solved = sum(pool.map(_raw_solve, bounds))
        wall = time.perf_counter() - t0
    return {"hh_s": solved / wall, "wall_s": wall}


def chunk_phases(ids) -> dict:
    """Reads, solves and writes of one chunk in this process [ms per household]: wall time
    (``read``, ...), this process's CPU (``read_cpu``, ...) and the database backends' CPU
    (``read_db``, ...)."""
    run_id = _start_without_dispatch(ids)
    now = _created(run_id)
    phases: dict = {}
    n = len(ids)

    def measured(name, work):
        db0, cpu0, t0 = _backend_cpu_s(), time.process_time(), time.perf_counter()
        out = work()
        wall, cpu, db = time.perf_counter() - t0, time.process_time() - cpu0, _backend_cpu_s()
        phases[name] = wall / n * 1e3
        phases[f"{name}_cpu"] = cpu / n * 1e3
        phases[f"{name}_db"] = sum(s - db0.get(pid, 0.0) for pid, s in db.items()) / n * 1e3
        return out

    inputs = measured("read", lambda: chunk_inputs(ids, day=END, now=now, url=DB_URL))
    assert all(i.load_source == (SOURCE_FORECAST if INPUTS == "forecasts" else SOURCE_PROFILE)
               for i in inputs.inputs.values())
    solved = measured("solve", lambda: schedule_each([(h, i.request) for h, i in inputs.inputs.items()], "highs"))
    measured("write", lambda: fleet_runs._record(run_id, 0, {h: r for h, r, _ in solved if r is not None}, {},
                                                 DB_URL))
    return phases


_TICKS = os.sysconf("SC_CLK_TCK")


def _backend_cpu_s() -> dict[int, float]:
    """CPU time [s] (user + system) of each PostgreSQL backend connected to the benchmark's database."""
    with get_engine(DB_URL).connect() as conn:
        pids = conn.scalars(sa.text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")).all()
    cpu = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # ended, or PostgreSQL on another machine
            continue
        cpu[pid] = (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime
    return cpu


def _start_without_dispatch(ids) -> int:
    dispatch, fleet_runs.dispatch_chunks = fleet_runs.dispatch_chunks, lambda *a, **k: None
    try:
        return fleet_runs.start_fleet_run(END, ids, chunk_size=CHUNK, url=DB_URL)
    finally:
        fleet_runs.dispatch_chunks = dispatch


def _created(run_id: int):
    with session_scope(DB_URL) as session:
        return session.get(fleet_runs.FleetRun, run_id).created_at


def end_to_end(ids) -> dict:
    cpu0 = _machine_cpu()
    t0 = time.perf_counter()
    run_id = fleet_runs.start_fleet_run(END, ids, chunk_size=CHUNK, inline=False, url=DB_URL)
    _wait_done(run_id, 1800)
    wall = time.perf_counter() - t0
    cpu1 = _machine_cpu()
    status = fleet_runs.fleet_run_status(run_id, url=DB_URL)
    assert (status.planned, status.failed) == (len(ids), 0), (status.planned, status.failed, status.failures[:3])
    busy = 1.0 - (cpu1[1] - cpu0[1]) / max(cpu1[0] - cpu0[0], 1)
    return {"hh_s": len(ids) / wall, "wall_s": wall, "run_id": run_id, "busy": busy}


def _machine_cpu() -> tuple[int, int]:
    """All CPU time of this machine and its idle part so far [clock ticks] (``/proc/stat``)."""
    ticks = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return sum(ticks), ticks[3] + ticks[4]  # idle and iowait


def killed_worker_run(ids, workers) -> dict:
    t0 = time.perf_counter()
    run_id = fleet_runs.start_fleet_run(END, ids, chunk_size=CHUNK, inline=False, url=DB_URL)
    victim = workers[0]
    deadline = time.monotonic() + 600
    while fleet_runs.fleet_run_status(run_id, url=DB_URL).planned < min(2 * CHUNK, len(ids) // 4):  # mid-run
        assert time.monotonic() < deadline, "the run did not start"
        time.sleep(0.2)
    time.sleep(1.0)  # into its next chunk
    victim.kill()
    killed_at = time.perf_counter() - t0
    workers[0] = Worker("w1b")  # restarted, as a supervisor would
    _wait_done(run_id, 1800)
    wall = time.perf_counter() - t0
    with session_scope(DB_URL) as session:
        planned = session.scalar(sa.select(sa.func.count()).select_from(FleetRunHousehold).where(
            FleetRunHousehold.run_id == run_id, FleetRunHousehold.status == "planned",
            FleetRunHousehold.optimization_run_id.is_not(None)))
        run_created = _created(run_id)
        plans = session.scalar(sa.select(sa.func.count()).select_from(OptimizationRun).where(
            OptimizationRun.kind == "fleet", OptimizationRun.created_at >= run_created))
    return {"wall_s": wall, "killed_at_s": killed_at, "lost": len(ids) - planned, "duplicates": plans - planned}


def _wait_done(run_id: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while fleet_runs.fleet_run_status(run_id, max_failures=0, url=DB_URL).state != "done":
        if time.monotonic() > deadline:
            raise RuntimeError(f"fleet run {run_id} did not finish in {timeout_s:g} s")
        time.sleep(0.25)


class Worker:
    """``celery -A worker worker --concurrency=1 -Q bulk`` on the benchmark's database and Redis."""

    def __init__(self, name: str):
        self.log = Path(tempfile.gettempdir()) / f"fleet_scale_{os.getpid()}_{name}.log"
        env = {**os.environ, "DATABASE_URL": DB_URL, "REDIS_URL": REDIS_URL, "PYTHONPATH": str(ROOT),
               "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_S)}
        self.process = subprocess.Popen(
            [str(ROOT / ".venv" / "bin" / "celery"), "-A", "worker", "worker", "--concurrency=1", "-Q", "bulk",
             "-n", f"{name}@%h", "--without-gossip", "--without-mingle", "--loglevel=INFO"],
            cwd=ROOT, env=env, stdout=self.log.open("w"), stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 90
        while "ready." not in self.log.read_text():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"worker {name} did not start: {self.log.read_text()[-2000:]}")
            time.sleep(0.1)

    def kill(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()


def report(setup, read_s, raw, solver, phases, e2e, killed, load_before) -> None:
    ratio = e2e["hh_s"] / raw["hh_s"]
    solver_ratio = e2e["hh_s"] / solver["hh_s"]
    print(f"set-up: {setup['load_summary']}")
    print(f"set-up: batteries added to {setup['batteries_added']} households; all {N} planned for {END}")
    if "forecasts" in setup:
        print(f"set-up: {setup['forecasts']} forecasts stored ({setup['forecast_values']} values, the 7-day "
              f"profile as P50) in {setup['forecasts_s']:.0f} s")
    print(f"set-up: {setup['load_s']:.0f} s; inputs={INPUTS}; reading every household's inputs in chunks of {CHUNK}: "
          f"{read_s:.1f} s ({read_s / N * 1e3:.2f} ms per household)")
    print()
    print(f"{'measure':<80} {'value':>10}")
    rows = [
        ("in-memory raw engine (optimize_fleet, highs), 2 processes [households/s]", raw["hh_s"]),
        ("the solver alone (formulate + warm re-solve), 2 processes [households/s]", solver["hh_s"]),
        ("end to end, store + Redis + 2 Celery workers [households/s]", e2e["hh_s"]),
        ("ratio end to end / in-memory raw engine", ratio),
        ("ratio end to end / the solver alone", solver_ratio),
        ("end to end: the machine's CPU busy (workers, PostgreSQL, Redis) [%]", 100 * e2e["busy"]),
        *((f"one chunk of {CHUNK} in one process: {label} [ms/household, {kind}]", phases[f"{name}{suffix}"])
          for name, label in (("read", "reads"), ("solve", "solves with baselines"),
                              ("write", "writes (plans, upsert)"))
          for suffix, kind in (("", "wall"), ("_cpu", "client CPU"), ("_db", "PostgreSQL CPU"))),
        ("killed-worker run: wall time [s]", killed["wall_s"]),
        ("killed-worker run: worker killed after [s]", killed["killed_at_s"]),
        ("killed-worker run: households without exactly one plan", killed["lost"]),
        ("killed-worker run: plans stored twice", killed["duplicates"]),
    ]
    for label, value in rows:
        print(f"{label:<80} {value:>10.2f}")
    print()
    print(f"cores for {TARGET_HOUSEHOLDS:,} households in {TARGET_S // 60} minutes, "
          "from the rate measured per core (2 processes)")
    print(f"{'path':<34} {'hh/s per core':>14} {'cores needed':>13}")
    for label, hh_s in (("end to end (store, broker)", e2e["hh_s"]), ("raw engine (in memory)", raw["hh_s"]),
                        ("the solver alone", solver["hh_s"])):
        per_core = hh_s / 2
        print(f"{label:<34} {per_core:>14.1f} {TARGET_HOUSEHOLDS / TARGET_S / per_core:>13.1f}")
    print(f"machine: {os.cpu_count()} cores, load average {load_before:.1f} before and {os.getloadavg()[0]:.1f} after")
    print(f"fleet_scale ratio={ratio:.2f} hh_s={e2e['hh_s']:.0f} killed_worker_lost={killed['lost']} "
          f"raw_hh_s={raw['hh_s']:.0f} solver_ratio={solver_ratio:.2f} solver_hh_s={solver['hh_s']:.0f} "
          f"households={N} chunk={CHUNK} read_ms={phases['read']:.2f} "
          f"read_cpu_ms={phases['read_cpu']:.2f} read_db_ms={phases['read_db']:.2f} "
          f"duplicates={killed['duplicates']} killed_run_s={killed['wall_s']:.0f} cpu_busy={100 * e2e['busy']:.0f}% "
          f"inputs={INPUTS}")


if __name__ == "__main__":
    main()
