"""services.health: each check against real services (both store backends, HiGHS, Diskcache, Redis)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory

from services import health
from services.config import PROJECT_ROOT, Settings
from services.households import create_household
from services.store.db import migrate

#: The newest migration, which a freshly migrated store is at.
HEAD = ScriptDirectory(str(PROJECT_ROOT / "migrations")).get_current_head()

HOME = {"name": "Home A", "timezone": "Europe/Berlin", "latitude": 52.5, "longitude": 13.4,
        "pv_systems": [{"kwp": 5.0}]}


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A local port that accepts connections and never answers: what a hung server looks like."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    yield listener.getsockname()[1]
    listener.close()


def closed_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there any more: connections are refused
    return port


# --- store ---------------------------------------------------------------------------------------


def test_store_ok_reports_revision_and_whether_there_is_data(db_url):
    status, detail = health.check_store(Settings(database_url=db_url))
    assert status == "ok"
    assert f"schema at revision {HEAD} (newest)" in detail
    assert "no households yet" in detail

    create_household(HOME)
    status, detail = health.check_store(Settings(database_url=db_url))
    assert (status, detail.endswith("; 1 household")) == ("ok", True)


def test_store_down_when_postgresql_refuses_connections():
    url = f"postgresql+psycopg://postgres@127.0.0.1:{closed_port()}/none"
    status, detail = health.check_store(Settings(database_url=url))
    assert status == "down"
    assert detail.startswith("cannot reach the database")


def test_store_down_when_sqlite_file_is_missing_and_does_not_create_it(tmp_path):
    path = tmp_path / "nowhere" / "energy.db"
    status, detail = health.check_store(Settings(database_url=f"sqlite:///{path}"))
    assert status == "down"
    assert str(path) in detail and "migrate" in detail
    assert not path.exists()


def test_store_degraded_without_schema_or_behind_newest_revision(tmp_path):
    url = f"sqlite:///{tmp_path / 'store.db'}"
    sa.create_engine(url).connect().close()  # an empty file: reachable, no tables
    status, detail = health.check_store(Settings(database_url=url))
    assert status == "degraded" and "has no schema" in detail

    migrate(url)
    with sa.create_engine(url).begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '0000'"))
    status, detail = health.check_store(Settings(database_url=url))
    assert status == "degraded"
    assert f"schema at revision 0000, newest is {HEAD}" in detail


# --- solver ----------------------------------------------------------------------------------------


def test_solver_solves_the_test_lp():
    status, detail = health.check_solver(Settings())
    assert status == "ok"
    assert detail.startswith("HiGHS ") and "optimality" in detail


# --- background workers ------------------------------------------------------------------------------


def test_diskcache_folder_writable(tmp_path):
    status, detail = health.check_background_workers(Settings(), cache_dir=tmp_path)
    assert status == "ok" and str(tmp_path) in detail


def test_diskcache_folder_missing_or_a_file_is_down(tmp_path):
    not_a_folder = tmp_path / "cache"
    not_a_folder.write_text("oops")
    assert health.check_background_workers(Settings(), cache_dir=not_a_folder)[0] == "down"
    assert health.check_background_workers(Settings(), cache_dir=tmp_path / "missing")[0] == "down"


def test_redis_ping_answered():
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=1).close()
    except OSError:
        pytest.skip("Redis is not running on 127.0.0.1:6379 (.ci/run starts it)")
    status, detail = health.check_background_workers(Settings(redis_url="redis://127.0.0.1:6379/0"))
    assert (status, "answered PING" in detail) == ("ok", True)


def test_redis_refused_connection_is_down():
    status, detail = health.check_background_workers(Settings(redis_url=f"redis://127.0.0.1:{closed_port()}/0"))
    assert status == "down" and detail.startswith("cannot reach Redis")


def test_hung_database_and_redis_time_out_instead_of_hanging(silent_port):
    settings = Settings(
        database_url=f"postgresql+psycopg://postgres@127.0.0.1:{silent_port}/none",
        redis_url=f"redis://127.0.0.1:{silent_port}/0",
    )
    report = health.check_services(settings)
    by_name = {s.name: s for s in report.services}
    assert report.status == "down"
    assert by_name["store"].status == "down" and "timeout" in by_name["store"].detail
    assert by_name["background_workers"].status == "down" and "timed out" in by_name["background_workers"].detail
    assert by_name["solver"].status == "ok"  # one service down does not hide the others


# --- the runner ---------------------------------------------------------------------------------------


def test_overall_status_is_the_worst_and_order_is_kept():
    checks = (("a", lambda s: ("ok", "fine")), ("b", lambda s: ("degraded", "look")), ("c", lambda s: ("ok", "")))
    report = health.check_services(Settings(), checks=checks)
    assert report.status == "degraded"
    assert [s.name for s in report.services] == ["a", "b", "c"]
    assert all(s.latency_ms >= 0 for s in report.services)
    assert report.checked_at.tzinfo is not None


def test_a_check_that_raises_is_down_with_its_error():
    def broken(settings):
        raise RuntimeError("model file missing")

    report = health.check_services(Settings(), checks=(("ok", lambda s: ("ok", "")), ("forecaster", broken)))
    assert report.status == "down"
    assert report.services[1].detail == "RuntimeError: model file missing"


def test_a_check_that_hangs_is_reported_down(monkeypatch):
    release = threading.Event()
    monkeypatch.setattr(health, "CHECK_TIMEOUT_S", 0.05)

    def hangs(settings):
        release.wait(30)
        return "ok", "too late"

    try:
        report = health.check_services(Settings(), checks=(("weather", hangs),))
    finally:
        release.set()
    assert report.services[0].status == "down"
    assert "did not answer" in report.services[0].detail


def test_default_checks_cover_store_solver_and_workers():
    assert [name for name, _ in health.SERVICE_CHECKS] == ["store", "solver", "forecaster", "weather_source",
                                                     "background_workers", "workers", "queues", "beat"]


# --- Celery workers, queues and beat --------------------------------------------------------------
# (with a running worker: tests/workers/test_workers.py)


def test_without_redis_workers_queues_and_beat_say_jobs_run_in_the_web_server():
    for check in (health.check_workers, health.check_queues, health.check_beat):
        status, detail = check(Settings())
        assert status == "ok" and detail.startswith(health.NO_REDIS)


def test_unreachable_redis_makes_workers_and_queues_down_with_the_reason():
    settings = Settings(redis_url=f"redis://127.0.0.1:{closed_port()}/0")
    for check in (health.check_workers, health.check_queues):
        status, detail = check(settings)
        assert status == "down" and detail.startswith("cannot reach Redis")


def test_no_worker_on_the_broker_is_down_with_how_to_start_one():
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=1).close()
    except OSError:
        pytest.skip("Redis is not running on 127.0.0.1:6379 (.ci/run starts it)")
    import redis

    # Workers bind their queues as keys of their db: an empty db has none (other tests and stacks
    # on this machine may run workers on other dbs of the same Redis).
    empty = [db for db in range(15, -1, -1) if redis.Redis(port=6379, db=db).dbsize() == 0]
    if not empty:
        pytest.skip("every db of the Redis at 127.0.0.1:6379 is in use")
    status, detail = health.check_workers(Settings(redis_url=f"redis://127.0.0.1:6379/{empty[0]}"))
    assert status == "down" and "celery -A worker worker -Q interactive,bulk" in detail


def test_beat_that_never_ran_is_degraded_with_how_to_start_it(db_url):
    status, detail = health.check_beat(Settings(database_url=db_url, redis_url="redis://127.0.0.1:6379/11"))
    assert status == "degraded" and "celery -A worker beat" in detail


def test_the_optimizer_still_solves_after_the_health_check_solved_in_a_thread():
    """HiGHS sizes one scheduler per process from the first solve: the check must not break later ones."""
    from concurrent.futures import ThreadPoolExecutor

    import numpy as np

    from services.optimization import BatteryParams, Prices, ScheduleRequest, schedule_battery

    with ThreadPoolExecutor(1) as pool:
        assert pool.submit(health.check_solver, Settings()).result()[0] == "ok"
    request = ScheduleRequest(pv_kw=np.zeros(4), load_kw=np.ones(4), prices=Prices(np.array([0.1, 0.1, 0.5, 0.5])),
                              battery=BatteryParams(capacity_kwh=2, max_charge_kw=1, max_discharge_kw=1), dt_h=1.0)
    assert schedule_battery(request).status == "optimal"
