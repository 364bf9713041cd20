"""Benchmark: ingesting a 1,000,000-row long CSV, against what PostgreSQL itself can do with the file.

Run: ``.venv/bin/python benchmarks/ingest.py`` (PostgreSQL from ``TEST_DATABASE_URL``, default
``postgresql+psycopg://postgres@127.0.0.1:5432/test``; scratch databases are created and dropped).

The file: 29 series (7 homes x load, pv, grid import, grid export, and one temperature sensor)
over one year at 15 minutes, 1,016,160 rows of ``timestamp,series,value`` (ISO 8601 with offset);
PV is 0 while the sun is down (night-time output is refused).

Measured in the same run:

- project: :func:`services.ingestion.files.ingest_file` through a saved mapping (read in chunks,
  parse, validate, convert, COPY into a temporary table, one ``INSERT ... ON CONFLICT``), without
  and then with the daily-energy refresh that follows a commit;
- limit: ``psql \\copy`` of the same file into a temporary table, then ``INSERT ... ON CONFLICT DO
  NOTHING`` into an empty table identical to ``readings`` (same columns, primary key and foreign
  key), joining the 29 names to series ids;
- re-ingest of the same file (must insert 0 rows), SQLite rows/s, and the peak memory of
  ``flask --app app ingest`` on the file (a child process; its maximum resident set size).

Last line: ``ingest ratio=<project/limit> project_rows_s=<n> limit_rows_s=<n> reingest_inserted=<n>
sqlite_rows_s=<n> peak_mb=<n>``
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from services import config  # noqa: E402
from services.ingestion.sun import sun_elevation_deg  # noqa: E402
from services.store import db  # noqa: E402

HOMES = 7
STEPS = 365 * 96
REPEATS = 3
MAPPING = "bench-long"


def _use(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    config.get_settings.cache_clear()


def write_file(path: Path) -> int:
    """The long CSV: rows ordered by time, then series; returns the row count."""
    rng = np.random.default_rng(7)
    index = pd.date_range("2023-01-01", periods=STEPS, freq="15min", tz="UTC")
    stamps = np.array(index.strftime("%Y-%m-%dT%H:%M:%S+00:00"), dtype=object)
    names = [f"home{h}/{q}" for h in range(1, HOMES + 1) for q in ("load", "pv", "grid_import", "grid_export")]
    names.append("home1/outdoor_temperature")
    values = rng.uniform(0.0, 0.6, size=(STEPS, len(names))).round(4)
    # PV makes nothing while the sun is down at the homes' site (ingestion refuses night-time output).
    middle = index.as_unit("s").asi8 + 450
    night = sun_elevation_deg(middle, 52.5, 13.4) < 0
    pv = [i for i, name in enumerate(names) if name.endswith("/pv")]
    values[np.ix_(night, pv)] = 0.0
    values[:, -1] = rng.normal(12.0, 8.0, size=STEPS).round(2)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("timestamp,series,value\n")
        block = 20_000
        for lo in range(0, STEPS, block):
            hi = min(lo + block, STEPS)
            frame = pd.DataFrame({
                "timestamp": np.repeat(stamps[lo:hi], len(names)),
                "series": np.tile(np.array(names, dtype=object), hi - lo),
                "value": values[lo:hi].ravel(),
            })
            frame.to_csv(handle, header=False, index=False)
    return STEPS * len(names)


def mapping_spec(home_ids: list[int]) -> dict:
    columns = []
    for number, household_id in enumerate(home_ids, start=1):
        for quantity in ("load", "pv", "grid_import", "grid_export"):
            columns.append({"column": f"home{number}/{quantity}", "series": quantity, "quantity": quantity,
                            "unit": "kWh", "household_id": household_id})
    columns.append({"column": "home1/outdoor_temperature", "series": "outdoor/temperature",
                    "quantity": "temperature", "unit": "degC", "household_id": home_ids[0]})
    return {"name": MAPPING, "layout": "long", "series_column": "series", "value_column": "value",
            "time": {"column": "timestamp"}, "columns": columns}


def prepare_store(url: str) -> list[int]:
    """Migrate, add the homes (5 kWp PV each) and save the mapping; returns the household ids."""
    from services.ingestion.mapping import mapping_from_dict, save_mapping
    from services.store.models import Household, PVSystem

    _use(url)
    db.migrate(url)
    with db.session_scope(url) as session:
        homes = [Household(name=f"Bench home {i}", timezone="Europe/Berlin", latitude=52.5, longitude=13.4)
                 for i in range(1, HOMES + 1)]
        session.add_all(homes)
        session.flush()
        session.add_all(PVSystem(household_id=h.id, kwp=5.0) for h in homes)
        ids = [h.id for h in homes]
    save_mapping(mapping_from_dict(mapping_spec(ids)))
    return ids


def empty_readings(url: str) -> None:
    with db.get_engine(url).begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("TRUNCATE readings, daily_energy")
        else:
            conn.exec_driver_sql("DELETE FROM readings")
            conn.exec_driver_sql("DELETE FROM daily_energy")
        conn.exec_driver_sql("DELETE FROM series")
    if db.backend_name(url) == "postgresql":
        with db.get_engine(url).connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE readings")


def project_run(url: str, path: Path, refresh: bool) -> tuple[float, object]:
    from services.ingestion.files import ingest_file
    from services.ingestion.mapping import load_mapping

    _use(url)
    mapping = load_mapping(MAPPING)
    started = time.perf_counter()
    report = ingest_file(path, mapping, refresh_rollups=refresh)
    return time.perf_counter() - started, report


def limit_run(url: str, path: Path, rows: int) -> float:
    """psql \\copy into a temporary table + INSERT ... ON CONFLICT DO NOTHING into an empty copy of readings."""
    from services.ingestion.mapping import load_mapping

    with db.get_engine(url).begin() as conn:
        conn.exec_driver_sql("DROP TABLE IF EXISTS limit_readings")
        conn.exec_driver_sql("CREATE TABLE limit_readings (LIKE readings INCLUDING ALL)")
        conn.exec_driver_sql("DROP TABLE IF EXISTS limit_names")
        conn.exec_driver_sql("CREATE TABLE limit_names (name text PRIMARY KEY, series_id integer)")
        for column in load_mapping(MAPPING).columns:
            conn.execute(sa.text(
                "INSERT INTO limit_names SELECT :name, id FROM series WHERE household_id = :hh AND name = :series"),
                {"name": column.column, "hh": column.household_id, "series": column.series_name})
        conn.exec_driver_sql("ANALYZE limit_names")
    script = f"""
BEGIN;
CREATE TEMP TABLE limit_stage (ts timestamptz, series text, value double precision) ON COMMIT DROP;
\\copy limit_stage FROM '{path}' WITH (FORMAT csv, HEADER true)
INSERT INTO limit_readings (series_id, ts, value)
SELECT n.series_id, s.ts, s.value FROM limit_stage s JOIN limit_names n ON n.name = s.series
ON CONFLICT DO NOTHING;
COMMIT;
"""
    dsn = sa.engine.make_url(url)
    env = {**os.environ, "PGPASSWORD": dsn.password or ""}
    command = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", dsn.host or "127.0.0.1", "-p", str(dsn.port or 5432),
               "-U", dsn.username or "postgres", "-d", dsn.database]
    started = time.perf_counter()
    subprocess.run(command, input=script, text=True, env=env, check=True, capture_output=True)
    elapsed = time.perf_counter() - started
    with db.get_engine(url).begin() as conn:
        count = conn.exec_driver_sql("SELECT count(*) FROM limit_readings").scalar_one()
        conn.exec_driver_sql("DROP TABLE limit_readings")
        conn.exec_driver_sql("DROP TABLE limit_names")
    if count != rows:
        raise RuntimeError(f"the limit stored {count} rows of {rows}")
    return elapsed


# Starts ``argv[2:]`` and writes its peak resident memory [kB] to the file ``argv[1]``. A child's
# ru_maxrss starts at its parent's peak (fork and vfork share the parent's memory until exec), and
# this benchmark holds a million rows by then: measured from here, every child would seem as big
# as the benchmark. A fresh interpreter (~10 MB) in between is smaller than any child it measures.
_MEASURE = ("import os, subprocess, sys; child = subprocess.Popen(sys.argv[2:]); "
            "_, status, usage = os.wait4(child.pid, 0); open(sys.argv[1], 'w').write(str(usage.ru_maxrss)); "
            "sys.exit(os.waitstatus_to_exitcode(status))")


def run_measured(args: list[str], env: dict) -> tuple[float, float, str]:
    """Run a child process; its own peak resident memory [MB] (``wait4``'s rusage), wall time [s], output."""
    with tempfile.TemporaryFile(mode="w+") as out, tempfile.NamedTemporaryFile(mode="r") as peak:
        started = time.perf_counter()
        child = subprocess.run([sys.executable, "-c", _MEASURE, peak.name, *args], cwd=ROOT, env=env,
                               stdout=out, stderr=subprocess.STDOUT, text=True)
        elapsed = time.perf_counter() - started
        out.seek(0)
        output = out.read()
        maxrss_kb = float(peak.read() or "nan")  # ru_maxrss is in kB on Linux
    if child.returncode != 0:
        raise RuntimeError(f"{' '.join(args[:4])} failed: {output[-2000:]}")
    return maxrss_kb / 1024.0, elapsed, output


def cli_peak_mb(url: str, path: Path) -> tuple[float, float, float]:
    """Peak memory [MB] of ``flask --app app ingest`` on the file, its wall time [s], and the peak of
    the same CLI doing nothing (``--help``: importing the app), to tell ingestion's share."""
    env = {**os.environ, "DATABASE_URL": url}
    flask = str(ROOT / ".venv" / "bin" / "flask")
    baseline, _, _ = run_measured([flask, "--app", "app", "--help"], env)
    peak, elapsed, output = run_measured([flask, "--app", "app", "ingest", str(path), "--mapping", MAPPING], env)
    print("  cli:", output.strip().splitlines()[0])
    return peak, elapsed, baseline


def main() -> None:
    admin = config.Settings(database_url=os.environ.get(
        "TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")).database_url
    name = f"bench_ingest_{uuid.uuid4().hex[:8]}"
    admin_engine = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
    with admin_engine.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    pg_url = sa.engine.make_url(admin).set(database=name).render_as_string(hide_password=False)
    workdir = Path(tempfile.mkdtemp(prefix="bench_ingest_"))
    sqlite_url = f"sqlite:///{workdir / 'bench.db'}"
    try:
        path = workdir / "readings_long.csv"
        started = time.perf_counter()
        rows = write_file(path)
        print(f"file: {rows:,} rows, {path.stat().st_size / 1e6:.0f} MB, written in {time.perf_counter() - started:.1f} s")
        prepare_store(pg_url)

        project, project_refresh, limit, reingest = [], [], [], []
        reingest_inserted = None
        for _ in range(REPEATS):
            empty_readings(pg_url)
            seconds, report = project_run(pg_url, path, refresh=False)
            assert report.inserted == rows and report.rejected == 0, report.summary()
            project.append(seconds)
            seconds, report = project_run(pg_url, path, refresh=False)
            reingest.append(seconds)
            reingest_inserted = report.inserted
            assert report.unchanged == rows, report.summary()
            limit.append(limit_run(pg_url, path, rows))
        empty_readings(pg_url)
        seconds, report = project_run(pg_url, path, refresh=True)
        project_refresh.append(seconds)

        prepare_store(sqlite_url)
        sqlite_seconds, report = project_run(sqlite_url, path, refresh=False)
        assert report.inserted == rows, report.summary()
        _use(pg_url)

        empty_readings(pg_url)
        peak_mb, cli_seconds, baseline_mb = cli_peak_mb(pg_url, path)

        project_s, limit_s, reingest_s = (statistics.median(x) for x in (project, limit, reingest))
        print()
        print(f"{'path (PostgreSQL unless said)':<58}{'median s':>10}{'rows/s':>12}")
        table = [
            ("project: file -> readings (parse, validate, upsert)", project_s),
            ("project, again with the daily-energy refresh", project_refresh[0]),
            ("project: re-ingest of the same file (0 inserted)", reingest_s),
            ("limit: psql \\copy + INSERT ON CONFLICT DO NOTHING", limit_s),
            ("project on SQLite", sqlite_seconds),
            ("CLI (flask --app app ingest), whole process", cli_seconds),
        ]
        for label, seconds in table:
            print(f"{label:<58}{seconds:>10.2f}{rows / seconds:>12,.0f}")
        print(f"runs per figure: {REPEATS} (medians); CLI peak memory {peak_mb:.0f} MB, of which "
              f"{baseline_mb:.0f} MB is importing the app (flask --app app --help)")
        print()
        print(f"ingest ratio={limit_s / project_s:.2f} project_rows_s={rows / project_s:.0f} "
              f"limit_rows_s={rows / limit_s:.0f} reingest_inserted={reingest_inserted} "
              f"sqlite_rows_s={rows / sqlite_seconds:.0f} peak_mb={peak_mb:.0f}")
    finally:
        db.get_engine(pg_url).dispose()
        with admin_engine.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin_engine.dispose()
        for child in workdir.iterdir():
            child.unlink()
        workdir.rmdir()


if __name__ == "__main__":
    main()
