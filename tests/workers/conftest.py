"""Real Redis and real Celery worker processes for the job engine's tests.

- ``redis_url`` (session): Redis db 9 on 127.0.0.1 (``TEST_REDIS_URL`` overrides), flushed at the
  start and the end of the session; the tests skip with a reason when Redis is absent.
- ``backend_url`` (session, per backend): a migrated store on SQLite and on PostgreSQL.
- ``worker`` (session, per backend): ``celery -A worker worker --pool=prefork --concurrency=1
  -Q interactive,bulk`` in a subprocess with DATABASE_URL and REDIS_URL set, ready when it answers
  a ping; terminated (its own process group) at teardown.
- ``store``: the worker's store emptied, and this process pointed at the same store and Redis.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from services import config
from tests.conftest import PROJECT_ROOT, _empty_all_tables

DEFAULT_TEST_REDIS = "redis://127.0.0.1:6379/9"
WORKER_READY_S = 90


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    import redis

    url = os.environ.get("TEST_REDIS_URL", DEFAULT_TEST_REDIS)
    client = redis.Redis.from_url(url, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.exceptions.ConnectionError as exc:
        pytest.skip(f"worker tests need Redis at {url} (set TEST_REDIS_URL): {exc}")
    client.flushdb()
    from services.tasks.celery_app import celery_app

    _point_at(celery_app, url)
    yield url
    client.flushdb()
    client.close()


def _point_at(app, url: str) -> None:
    """Send this process's tasks and read their results at ``url``: the one Celery app was built at
    import with the process's REDIS_URL, and an earlier test may have opened its backend or pool."""
    app.conf.update(broker_url=url, result_backend=url)
    app._backend_cache = None
    app._local = threading.local()
    if app._pool is not None:
        app._pool.force_close_all()
        app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def backend_url(request) -> str:
    return request.getfixturevalue(f"{request.param}_url")


class Worker:
    """A Celery worker subprocess; ``name`` is its node name (as ping replies give it)."""

    def __init__(self, database_url: str, redis_url: str, log_path: Path) -> None:
        self.name = f"test-{os.getpid()}@localhost"
        self.log_path = log_path
        env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url, "OMP_NUM_THREADS": "1"}
        command = [str(PROJECT_ROOT / ".venv" / "bin" / "celery"), "-A", "worker", "worker", "--pool=prefork",
                   "--concurrency=1", "-Q", "interactive,bulk", "-n", self.name, "--without-gossip",
                   "--without-mingle", "-l", "info"]
        self._log = log_path.open("wb")
        self.process = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=self._log,
                                        stderr=subprocess.STDOUT, start_new_session=True)

    def wait_ready(self) -> None:
        from services.tasks.celery_app import celery_app

        deadline = time.monotonic() + WORKER_READY_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            replies = celery_app.control.ping(destination=[self.name], timeout=1.0)
            if replies:
                return
        raise RuntimeError(f"the worker did not start; its log ends:\n{self.log_tail()}")

    def pool_pids(self) -> list[int]:
        """The worker's pool children (the processes that run tasks), from /proc."""
        children = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == self.process.pid:  # field 4 of stat: the parent's pid
                children.append(int(stat.parent.name))
        return children

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)  # warm shutdown of the worker and its pool child
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self._log.close()


@pytest.fixture(scope="session")
def worker(backend_url, redis_url, tmp_path_factory) -> Iterator[Worker]:
    running = Worker(backend_url, redis_url, tmp_path_factory.mktemp("worker") / "worker.log")
    try:
        running.wait_ready()
    except RuntimeError as exc:
        running.stop()
        pytest.fail(str(exc), pytrace=False)
    yield running
    running.stop()


@pytest.fixture
def store(worker, backend_url, redis_url, monkeypatch) -> Iterator[str]:
    """The worker's store, empty, made this process's DATABASE_URL; REDIS_URL set here too, so that
    :func:`services.jobs.start_job` queues for the worker."""
    _empty_all_tables(backend_url)
    monkeypatch.setenv("DATABASE_URL", backend_url)
    monkeypatch.setenv("REDIS_URL", redis_url)
    config.get_settings.cache_clear()
    yield backend_url
    config.get_settings.cache_clear()
