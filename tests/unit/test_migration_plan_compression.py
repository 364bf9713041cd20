"""Migration 0014: on PostgreSQL the plans' arrays and the runs' JSON are compressed with LZ4 from
then on (pglz again on downgrade); a plan stored after it reads back value for value; SQLite
upgrades and downgrades through it unchanged."""

from __future__ import annotations

import numpy as np
import sqlalchemy as sa

from services.store.db import get_engine
from tests.unit.test_migration_schedule_plans import _alembic, empty_url  # noqa: F401 - the fixture

BEFORE, AFTER = "0013_schedule_plans", "0014_plan_compression"
ARRAYS = ("pv_kw", "load_kw", "charge_kw", "discharge_kw", "import_kw", "export_kw", "curtail_kw", "soc_kwh",
          "import_price", "export_price")


def _methods(conn) -> dict[str, str]:
    return dict(conn.execute(sa.text(
        "SELECT attname, attcompression FROM pg_attribute WHERE attnum > 0 AND NOT attisdropped "
        "AND attrelid IN ('schedule_plans'::regclass, 'optimization_runs'::regclass) "
        "AND attname = ANY(:names)"), {"names": [*ARRAYS, "request", "baselines", "timings_ms"]}).all())


def test_plans_are_compressed_with_lz4_after_the_migration_and_read_back_the_same(empty_url):  # noqa: F811
    _alembic(empty_url, AFTER)
    engine = get_engine(empty_url)
    if engine.dialect.name != "postgresql":
        _alembic(empty_url, BEFORE, down=True)  # nothing to change on SQLite, both ways
        with engine.connect() as conn:
            assert conn.scalar(sa.text("SELECT version_num FROM alembic_version")) == BEFORE
        return
    with engine.begin() as conn:
        assert conn.scalar(sa.text("SELECT 'lz4' = ANY(enumvals) FROM pg_settings "
                                   "WHERE name = 'default_toast_compression'")), "this server has no LZ4"
        assert set(_methods(conn).values()) == {"l"}
        run_id = conn.scalar(sa.text(
            "INSERT INTO optimization_runs (kind, request, status, message, baselines, timings_ms, created_at) "
            "VALUES ('fleet', '{}', 'optimal', '', '{}', '{}', now()) RETURNING id"))
        # As a plan's arrays are: runs of zeros and of repeated prices, some numbers that print long (77 kB).
        values = np.zeros((len(ARRAYS), 960))
        values[:, ::7] = np.random.default_rng(3).uniform(-5.0, 5.0, (len(ARRAYS), 138))
        values[-2:] = [[0.1 + 0.2], [1 / 3]]
        conn.execute(sa.text(
            f"INSERT INTO schedule_plans (run_id, start, step_s, steps, {', '.join(ARRAYS)}) VALUES "
            f"(:run, now(), 90, 960, {', '.join(f':a{i}' for i in range(len(ARRAYS)))})"),
            {"run": run_id, **{f"a{i}": v.tolist() for i, v in enumerate(values)}})
        method = conn.scalar(sa.text("SELECT pg_column_compression(pv_kw) FROM schedule_plans WHERE run_id = :r"),
                             {"r": run_id})
        stored = conn.execute(sa.text(f"SELECT {', '.join(ARRAYS)} FROM schedule_plans WHERE run_id = :r"),
                              {"r": run_id}).one()
    assert method == "lz4"
    np.testing.assert_array_equal(np.array(stored, dtype=float), values)
    _alembic(empty_url, BEFORE, down=True)
    with engine.connect() as conn:
        assert set(_methods(conn).values()) == {"p"}
