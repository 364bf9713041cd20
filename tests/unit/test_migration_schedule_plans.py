"""Migration 0013 moves every stored run's steps from rows of steps into one row of arrays and
back, value for value, on SQLite and PostgreSQL; uneven steps stop it before anything moves."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from services import config
from services.optimization.store import run_steps
from services.store.db import PROJECT_ROOT, get_engine
from services.store.models import Base

BEFORE, AFTER = "0012_fleet_household_figures", "0013_schedule_plans"
COLUMNS = ("pv_kw", "load_kw", "charge_kw", "discharge_kw", "import_kw", "export_kw", "curtail_kw", "soc_kwh",
           "import_price", "export_price")
T0 = 1_780_000_200  # a UTC instant [Unix s], 2026-05-28
#: Two runs of evenly spaced steps (4 of an hour, with numbers that print long; 1 of 30 minutes).
STEPS = {1: [(T0 + 3600 * k, [0.1 + 0.2, 1 / 3, k * 1e-17, 2.0 ** -30, 5.0, 0.0, 7e300, 1e-310, -0.25, 0.08 * k])
             for k in range(4)],
         2: [(T0, [1.5] * 10)]}


def _alembic(url: str, revision: str, down: bool = False) -> None:
    cfg = Config(str(PROJECT_ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    with get_engine(url).begin() as conn:
        cfg.attributes["connection"] = conn
        (command.downgrade if down else command.upgrade)(cfg, revision)


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request, tmp_path) -> Iterator[str]:
    """A database of its own with no schema yet."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrate.db'}"
        return
    admin = os.environ.get("TEST_DATABASE_URL")
    if not admin:
        pytest.skip("PostgreSQL tests need TEST_DATABASE_URL")
    admin = config.Settings(database_url=admin).database_url
    name = f"migrate_0013_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin_engine = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
    with admin_engine.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.engine.make_url(admin).set(database=name).render_as_string(hide_password=False)
    yield url
    get_engine(url).dispose()
    with admin_engine.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin_engine.dispose()


def _ts(conn, seconds: int):
    return seconds if conn.dialect.name == "sqlite" else sa.func.to_timestamp(seconds)


def _old_schema_with_steps(url: str, steps: dict) -> None:
    _alembic(url, BEFORE)
    with get_engine(url).begin() as conn:
        for run_id in steps:
            conn.execute(sa.text("INSERT INTO optimization_runs (id, kind, created_at, request, status, message, "
                                 "baselines, timings_ms) VALUES (:id, 'whatif', :at, :request, 'optimal', '', '{}', "
                                 "'{}')"), {"id": run_id, "at": _at(conn), "request": '{"dt_h": 0.5}'})
        old = sa.table("schedule_steps", sa.column("run_id"), sa.column("ts"), *map(sa.column, COLUMNS))
        for run_id, rows in steps.items():
            for ts, values in rows:
                conn.execute(sa.insert(old).values(run_id=run_id, ts=_ts(conn, ts), **dict(zip(COLUMNS, values))))


def _at(conn):
    return T0 if conn.dialect.name == "sqlite" else "2026-05-28 00:00:00+00"


def _old_rows(url: str) -> list[tuple]:
    epoch = "ts" if get_engine(url).dialect.name == "sqlite" else "CAST(extract(epoch FROM ts) AS bigint)"
    with get_engine(url).connect() as conn:
        return [(r[0], int(r[1]), list(r[2:])) for r in conn.execute(sa.text(
            f"SELECT run_id, {epoch}, {', '.join(COLUMNS)} FROM schedule_steps ORDER BY run_id, ts"))]


def test_steps_move_into_arrays_and_back_value_for_value(empty_url):
    _old_schema_with_steps(empty_url, STEPS)
    before = _old_rows(empty_url)
    assert len(before) == 5
    _alembic(empty_url, AFTER)
    with get_engine(empty_url).connect() as conn:
        assert not sa.inspect(conn).has_table("schedule_steps")
        assert set(sa.inspect(conn).get_table_names()) >= {t.name for t in Base.metadata.sorted_tables}
    for run_id, rows in STEPS.items():
        frame = run_steps(run_id, url=empty_url)
        assert [int(t.timestamp()) for t in frame.index] == [ts for ts, _ in rows]
        for j, name in enumerate(COLUMNS):
            assert frame[name].tolist() == [values[j] for _, values in rows]  # to the bit
    _alembic(empty_url, BEFORE, down=True)
    assert _old_rows(empty_url) == before
    _alembic(empty_url, AFTER)  # and up again
    assert run_steps(2, url=empty_url)["soc_kwh"].tolist() == [1.5]


def test_uneven_steps_stop_the_migration_and_name_the_run(empty_url):
    _old_schema_with_steps(empty_url, {5: [(T0, [1.0] * 10), (T0 + 900, [1.0] * 10), (T0 + 2700, [1.0] * 10)]})
    with pytest.raises(RuntimeError, match=r"run\(s\) 5 are not evenly spaced"):
        _alembic(empty_url, AFTER)
    assert len(_old_rows(empty_url)) == 3  # nothing moved
