"""Benchmark: demo-data load time and the overview callback's server time, on SQLite and PostgreSQL.

Run: ``.venv/bin/python benchmarks/overview.py`` (PostgreSQL from ``TEST_DATABASE_URL``,
default ``postgresql+psycopg://postgres@127.0.0.1:5432/test``; a scratch database is created
and dropped). The reference, measured in the same run, is the naive way: pull the raw
quarter-hour readings of the period into pandas and sum them there.

Last line: ``overview demo_load_sqlite_s=.. demo_load_pg_s=.. callback_30d_sqlite_p95_ms=..
callback_365d_sqlite_p95_ms=.. callback_30d_pg_p95_ms=.. callback_365d_pg_p95_ms=..
raw_pandas_365d_pg_ms=.. speedup_365d_pg=..``
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from services import config  # noqa: E402
from services.store import db  # noqa: E402

REPEATS = 15


def _use(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    config.get_settings.cache_clear()


def _time_ms(fn, repeats: int = REPEATS) -> list[float]:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return times


def _p95(times: list[float]) -> float:
    return sorted(times)[max(0, int(round(0.95 * len(times))) - 1)]


def _raw_pandas_totals(url: str, start, end) -> dict:
    """The reference: every raw energy reading of the period into pandas, summed per quantity."""
    query = sa.text(
        "SELECT s.quantity, r.value FROM readings r JOIN series s ON s.id = r.series_id "
        "WHERE r.ts >= :lo AND r.ts < :hi AND s.quantity IN ('load','pv','grid_import','grid_export')"
    )
    lo = pd.Timestamp(start).tz_localize("UTC")
    hi = pd.Timestamp(end + timedelta(days=1)).tz_localize("UTC")
    params = {"lo": int(lo.timestamp()), "hi": int(hi.timestamp())} if url.startswith("sqlite") else {
        "lo": lo.to_pydatetime(), "hi": hi.to_pydatetime()}
    with db.get_engine(url).connect() as conn:
        frame = pd.read_sql(query, conn, params=params)
    return frame.groupby("quantity")["value"].sum().to_dict()


def measure(label: str, url: str) -> dict[str, float]:
    from app import app  # noqa: F401  (pages need the app)
    from pages.overview import update_overview
    from services.access import visible_household_ids
    from services.demo import load_demo_portfolio
    from services.energy.kpis import data_period, resolve_period

    _use(url)
    db.migrate(url)
    t0 = time.perf_counter()
    load_demo_portfolio(url=url)
    load_s = time.perf_counter() - t0
    available = data_period(visible_household_ids())
    out = {"load_s": load_s}
    for preset, key in (("last_30_days", "30d"), ("last_365_days", "365d")):
        start, end = resolve_period(preset, available)
        update_overview(start.isoformat(), end.isoformat(), "light")  # warm caches and engine
        times = _time_ms(lambda s=start, e=end: update_overview(s.isoformat(), e.isoformat(), "light"))
        out[f"cb_{key}_median"] = statistics.median(times)
        out[f"cb_{key}_p95"] = _p95(times)
        raw = _time_ms(lambda s=start, e=end: _raw_pandas_totals(url, s, e), repeats=3)
        out[f"raw_{key}_median"] = statistics.median(raw)
    print(f"{label:<10} demo load {load_s:6.1f} s | overview callback median/p95 ms: "
          f"30 d {out['cb_30d_median']:.0f}/{out['cb_30d_p95']:.0f}, 365 d {out['cb_365d_median']:.0f}/"
          f"{out['cb_365d_p95']:.0f} | raw rows into pandas (reference) 30 d {out['raw_30d_median']:.0f} ms, "
          f"365 d {out['raw_365d_median']:.0f} ms", flush=True)
    return out


def main() -> None:
    admin = config.Settings(
        database_url=os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    ).database_url
    with tempfile.TemporaryDirectory() as tmp:
        sqlite = measure("SQLite", f"sqlite:///{tmp}/bench.db")
    name = f"energy_bench_{uuid.uuid4().hex[:8]}"
    admin_engine = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
    with admin_engine.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    pg_url = sa.engine.make_url(admin).set(database=name).render_as_string(hide_password=False)
    try:
        pg = measure("PostgreSQL", pg_url)
    finally:
        db.get_engine(pg_url).dispose()
        with admin_engine.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    print(
        f"overview demo_load_sqlite_s={sqlite['load_s']:.1f} demo_load_pg_s={pg['load_s']:.1f} "
        f"callback_30d_sqlite_p95_ms={sqlite['cb_30d_p95']:.0f} callback_365d_sqlite_p95_ms={sqlite['cb_365d_p95']:.0f} "
        f"callback_30d_pg_p95_ms={pg['cb_30d_p95']:.0f} callback_365d_pg_p95_ms={pg['cb_365d_p95']:.0f} "
        f"raw_pandas_365d_pg_ms={pg['raw_365d_median']:.0f} "
        f"speedup_365d_pg={pg['raw_365d_median'] / pg['cb_365d_median']:.1f}"
    )


if __name__ == "__main__":
    main()
