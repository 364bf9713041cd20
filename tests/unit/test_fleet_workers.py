"""Fleet runs through real Celery workers on a real Redis (db 12, flushed per session), each
worker a process started here, on each backend: a worker killed (SIGKILL) in the middle of a
chunk, and the run still ends with every household planned exactly once; a chunk delivered
again changes nothing. Skipped with a reason without Redis."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from services.optimization.fleet_runs import fleet_run_status, start_fleet_run
from services.store.db import session_scope
from services.store.models import FleetRunHousehold, OptimizationRun
from tests.optimize_helpers import HORIZON_DAY, add_battery_home, add_flat_tariff

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/12")
PROJECT_ROOT = Path(__file__).resolve().parents[2]
CELERY = PROJECT_ROOT / ".venv" / "bin" / "celery"
VISIBILITY_S = 6  # a killed worker's chunk goes to another worker after this [s]
HOUSEHOLDS, CHUNK = 48, 8


@pytest.fixture(scope="session")
def redis_db():
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.exceptions.ConnectionError as exc:
        pytest.skip(f"fleet worker tests need Redis at {REDIS_URL}: {exc}")
    client.flushdb()
    from services.tasks.celery_app import celery_app

    # This process only sends: point the app at the test database of Redis before its first use.
    celery_app.conf.broker_url = celery_app.conf.result_backend = REDIS_URL
    assert celery_app.connection_for_write().as_uri().endswith("/12") or "TEST_REDIS_URL" in os.environ
    yield client
    client.flushdb()


class Worker:
    """``celery -A worker worker --concurrency=1 -Q bulk`` in its own process group."""

    def __init__(self, name: str, db_url: str, log: Path):
        env = {**os.environ, "DATABASE_URL": db_url, "REDIS_URL": REDIS_URL,
               "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_S), "PYTHONPATH": str(PROJECT_ROOT)}
        self.log = log
        self.process = subprocess.Popen(
            [str(CELERY), "-A", "worker", "worker", "--concurrency=1", "-Q", "bulk", "-n", f"{name}@%h",
             "--without-gossip", "--without-mingle", "--loglevel=INFO"],
            cwd=PROJECT_ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True)
        _wait(lambda: "ready." in log.read_text() or self.process.poll() is not None, 60, "the worker to start")
        assert self.process.poll() is None, log.read_text()[-3000:]

    def kill(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)  # the main process and its pool child, no goodbye
        self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()


def _wait(condition, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:g} s waiting for {what}")
        time.sleep(0.05)


def _counts() -> tuple[int, int, int]:
    with session_scope() as session:
        rows = session.scalar(sa.select(sa.func.count()).select_from(FleetRunHousehold)
                              .where(FleetRunHousehold.status == "planned"))
        plans = session.scalar(sa.select(sa.func.count()).select_from(OptimizationRun))
        households = session.scalar(sa.select(sa.func.count(sa.distinct(OptimizationRun.household_id))))
    return rows, plans, households


def test_a_killed_workers_chunk_is_planned_by_another_worker_exactly_once(db_url, redis_db, tmp_path):
    tariff = add_flat_tariff()
    homes = [add_battery_home(name=f"Home {i:02d}", tariff_id=tariff) for i in range(HOUSEHOLDS)]
    killed: list[Worker] = []
    second = None
    try:
        run_id = start_fleet_run(HORIZON_DAY, homes, chunk_size=CHUNK, inline=False)

        def busy_after_a_chunk() -> bool:  # a chunk done, the next one delivered and not acknowledged
            return fleet_run_status(run_id).planned >= CHUNK and redis_db.hlen("unacked") == 1

        for attempt in range(3):  # the kill may land in the instant between two chunks: then again
            killed.append(Worker(f"first{attempt}", db_url, tmp_path / f"first{attempt}.log"))
            _wait(busy_after_a_chunk, 60, "the first worker to be in the middle of a chunk")
            killed[-1].kill()
            if redis_db.hlen("unacked") == 1:
                break
        status = fleet_run_status(run_id)
        assert status.pending > 0 and redis_db.hlen("unacked") == 1  # one chunk lost with its worker
        second = Worker("second", db_url, tmp_path / "second.log")
        _wait(lambda: fleet_run_status(run_id).state == "done", 120, "the second worker to finish the run")
        status = fleet_run_status(run_id)
        assert (status.planned, status.failed, status.pending) == (HOUSEHOLDS, 0, 0)
        assert _counts() == (HOUSEHOLDS, HOUSEHOLDS, HOUSEHOLDS)  # every household planned exactly once
        # Killed after its commit but before its acknowledgement, the chunk comes back once more
        # even when the run is done: it finds nothing pending.
        _wait(lambda: redis_db.hlen("unacked") == 0, 60, "the lost chunk to be delivered again")
        assert _counts() == (HOUSEHOLDS, HOUSEHOLDS, HOUSEHOLDS)

        # The broker delivers chunk 0 once more: it finds nothing pending and changes nothing.
        from services.tasks.fleet import plan_fleet_chunk_task

        again = plan_fleet_chunk_task.apply_async((run_id, 0)).get(timeout=60)
        assert again == {"run_id": run_id, "chunk": 0, "planned": 0, "failed": 0, "skipped": 0}
        assert _counts() == (HOUSEHOLDS, HOUSEHOLDS, HOUSEHOLDS)
    finally:
        for worker in killed:
            worker.stop()
        if second is not None:
            second.stop()
    assert "fleet.plan_chunk" in (tmp_path / "second.log").read_text(), "the second worker ran no chunk"
