"""Benchmark: the household explorer's main callback, the overview KPIs, and the first page load.

Run: ``.venv/bin/python benchmarks/explorer.py [--households-large 200] [--loads 5]``.

With the demo portfolio (24 households, one year at 15 minutes) in SQLite (a temp file) and in
PostgreSQL (database ``bench_explorer`` on the server of ``TEST_DATABASE_URL``, default
``postgresql+psycopg://postgres@127.0.0.1:5432/test``; created here and dropped at the end):

- server time of the explorer's main callback (``pages.household.update_explorer``, called as a
  function: queries, KPI cards and two figures) for a 1-day, 1-month and 1-year range, rotating
  over the households, and of its data alone (``services.explorer.explore``); the reference,
  measured in the same run, is the naive way to the same data: every raw reading of the range
  into pandas, resampled to the same step and split there;
- the overview callback (``pages.overview.update_overview``) for the whole portfolio over a year;
- the same with 200 generated households, to see how the times grow;
- ``first_load_s``: ``python app.py`` over the PostgreSQL demo, then headless Chromium opens ``/``
  in a new context per load; the time until the overview's energy chart has data and the KPI
  cards show (median of ``--loads`` loads, after one warm-up load that is not counted).

Last line (PostgreSQL figures): ``explorer day_p95_ms=.. month_p95_ms=.. year_p95_ms=..
overview_ms=.. overview_200_ms=.. first_load_s=..``
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import date
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from services import config  # noqa: E402
from services.store import db  # noqa: E402

REPEATS = 40
END = date(2026, 6, 30)  # fixed, so that runs are comparable
RANGES = (("day", "today"), ("month", "last_month"), ("year", "last_365_days"))
BENCH_DB = "bench_explorer"
PORT = 8063


def _use(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    config.get_settings.cache_clear()


def _p95(times: list[float]) -> float:
    return sorted(times)[max(0, int(round(0.95 * len(times))) - 1)]


def _time_ms(fn, repeats: int) -> list[float]:
    times = []
    for i in range(repeats):
        t0 = time.perf_counter()
        fn(i)
        times.append((time.perf_counter() - t0) * 1000)
    return times


def _period(preset: str, available: tuple[date, date]) -> tuple[date, date]:
    from services import explorer
    from services.energy import kpis

    if preset == "last_365_days":
        return kpis.resolve_period(preset, available)
    return explorer.resolve_preset(preset, available, available[1])


def _raw_pandas_flows(url: str, household_id: int, tz: str, start: date, end: date, step: str) -> pd.DataFrame:
    """The reference: the household's raw energy readings of the range into pandas, resampled and split there."""
    from services.energy.flows import local_day_bounds, split_flows

    lo, hi = local_day_bounds(tz, start, end)
    query = sa.text(
        "SELECT s.quantity, r.ts, r.value FROM readings r JOIN series s ON s.id = r.series_id "
        "WHERE s.household_id = :h AND r.ts >= :lo AND r.ts < :hi AND s.quantity IN "
        "('load','pv','grid_import','grid_export','battery_charge','battery_discharge')")
    sqlite = url.startswith("sqlite")
    params = {"h": household_id, "lo": int(lo.timestamp()) if sqlite else lo, "hi": int(hi.timestamp()) if sqlite else hi}
    with db.get_engine(url).connect() as conn:
        frame = pd.read_sql(query, conn, params=params)
    frame["ts"] = pd.to_datetime(frame["ts"], unit="s", utc=True) if sqlite else pd.to_datetime(frame["ts"], utc=True)
    wide = frame.pivot_table(index="ts", columns="quantity", values="value", aggfunc="sum")
    rule = {"15min": "15min", "hour": "h", "day": "D", "month": "MS"}[step]
    local = wide.tz_convert(tz).resample(rule).sum()
    return pd.concat([local, split_flows(local)], axis=1)


def measure(label: str, url: str, n_households: int) -> dict[str, float]:
    """Load the demo portfolio into ``url`` (empty) and time the callbacks; returns the figures."""
    from app import app  # noqa: F401  (pages need the app)
    from pages.household import update_explorer
    from pages.overview import update_overview
    from services import explorer
    from services.access import visible_household_ids
    from services.demo import load_demo_portfolio
    from services.energy.kpis import data_period

    _use(url)
    db.migrate(url)
    t0 = time.perf_counter()
    load_demo_portfolio(n_households=n_households, seed=42, end=END, url=url)
    out = {"load_s": time.perf_counter() - t0}
    homes = visible_household_ids()
    zones = {h: explorer.household_basics(h).timezone for h in homes}
    available = data_period(homes)
    rows = []
    for key, preset in RANGES:
        start, end = _period(preset, available)
        step = explorer.choose_resolution(start, end).resolution
        s, e = start.isoformat(), end.isoformat()
        for h in homes[:3]:  # warm the engine, caches and imports
            update_explorer(s, e, "auto", "energy", "none", "light", h)
        times = _time_ms(lambda i, s=s, e=e: update_explorer(s, e, "auto", "energy", "none", "light",
                                                              homes[i % len(homes)]), REPEATS)
        service = _time_ms(lambda i, a=start, b=end: explorer.explore(homes[i % len(homes)], a, b), 10)
        raw = _time_ms(lambda i, a=start, b=end, k=step.key: _raw_pandas_flows(
            url, homes[i % len(homes)], zones[homes[i % len(homes)]], a, b, k), 5)
        out[f"{key}_p50"], out[f"{key}_p95"] = statistics.median(times), _p95(times)
        out[f"{key}_raw"] = statistics.median(raw)
        rows.append((key, f"{(end - start).days + 1} d", step.label, out[f"{key}_p50"], out[f"{key}_p95"],
                     statistics.median(service), out[f"{key}_raw"]))
    start, end = _period("last_365_days", available)
    update_overview(start.isoformat(), end.isoformat(), "light")
    times = _time_ms(lambda i: update_overview(start.isoformat(), end.isoformat(), "light"), 15)
    out["overview_p50"], out["overview_p95"] = statistics.median(times), _p95(times)
    print(f"\n{label}: {n_households} households, demo load {out['load_s']:.1f} s")
    print(f"  {'range':<6}{'days':>7}  {'step':<7}{'callback p50 ms':>16}{'p95 ms':>9}{'data only p50 ms':>18}"
          f"{'reference: raw rows into pandas ms':>36}")
    for key, days, step_label, p50, p95, service, raw in rows:
        print(f"  {key:<6}{days:>7}  {step_label:<7}{p50:>16.1f}{p95:>9.1f}{service:>18.1f}{raw:>36.1f}")
    print(f"  overview KPIs, {n_households} households over a year: p50 {out['overview_p50']:.0f} ms, "
          f"p95 {out['overview_p95']:.0f} ms", flush=True)
    return out


def first_load_seconds(url: str, loads: int) -> tuple[float | None, str]:
    """Median seconds from opening ``/`` to the overview's chart with data and its KPI cards, in
    headless Chromium, a new browser context per load; (None, reason) when it cannot be measured."""
    try:
        from playwright.sync_api import sync_playwright

        from services.auth import add_membership, create_user, list_users
        from tests.e2e.harness import E2E_EMAIL, E2E_PASSWORD, browser_cookies, launch_browser
    except ImportError as exc:
        return None, f"Playwright is missing ({exc})"
    env = {**os.environ, "DATABASE_URL": url, "PORT": str(PORT), "HOST": "127.0.0.1"}
    env.pop("DEBUG", None)
    log = open(Path(tempfile.gettempdir()) / "bench_explorer_server.log", "wb")
    server = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                              start_new_session=True)
    ready = ("() => { const gd = document.querySelector('#overview-trend .js-plotly-plot');"
             " return !!(gd && gd.data && gd.data.length) &&"
             " document.querySelectorAll('#overview-kpis .kpi-value').length >= 4; }")
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{PORT}/health", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    return None, f"the app did not start (see {log.name})"
                time.sleep(0.25)
        _use(url)
        if not list_users():  # a user to sign in as, in the benchmark's own store
            add_membership(create_user(E2E_EMAIL, "Benchmark", E2E_PASSWORD).id, 1, "viewer")
        cookies = browser_cookies(f"http://127.0.0.1:{PORT}")
        times = []
        with sync_playwright() as playwright:
            browser = launch_browser(playwright)
            for i in range(loads + 1):
                context = browser.new_context(viewport={"width": 1280, "height": 800})
                context.add_cookies(cookies)
                page = context.new_page()
                t0 = time.perf_counter()
                page.goto(f"http://127.0.0.1:{PORT}/", wait_until="commit")
                page.wait_for_function(ready, polling=20, timeout=60_000)
                if i:  # the first load warms the server (imports, first queries): not counted
                    times.append(time.perf_counter() - t0)
                context.close()
            browser.close()
        print(f"\nfirst load of / in headless Chromium (new context each, server warm): "
              f"{', '.join(f'{t:.2f}' for t in times)} s; median {statistics.median(times):.2f} s", flush=True)
        return statistics.median(times), ""
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=20)
        log.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=24, help="the demo portfolio (default 24)")
    parser.add_argument("--households-large", type=int, default=200, help="the larger portfolio (default 200)")
    parser.add_argument("--loads", type=int, default=5, help="page loads for first_load_s (median)")
    args = parser.parse_args()
    admin = config.Settings(
        database_url=os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    ).database_url
    admin_engine = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
    pg_url = sa.engine.make_url(admin).set(database=BENCH_DB).render_as_string(hide_password=False)

    def fresh_pg() -> None:
        db.get_engine(pg_url).dispose()
        with admin_engine.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)'))
            conn.execute(sa.text(f'CREATE DATABASE "{BENCH_DB}"'))

    small_n, big = args.households, args.households_large
    try:
        with tempfile.TemporaryDirectory() as tmp:
            sqlite = measure("SQLite", f"sqlite:///{tmp}/bench.db", small_n)
            sqlite_big = measure("SQLite", f"sqlite:///{tmp}/bench_big.db", big)
        fresh_pg()
        pg = measure("PostgreSQL", pg_url, small_n)
        first_load, why = first_load_seconds(pg_url, args.loads)
        if first_load is None:
            print(f"\nfirst_load_s not measured: {why}")
        fresh_pg()
        pg_big = measure("PostgreSQL", pg_url, big)
    finally:
        db.get_engine(pg_url).dispose()
        with admin_engine.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)'))

    print(f"\nGrowth from {small_n} to {big} households (p95 ms; demo load s):")
    print(f"  {'':<12}{'day':>14}{'month':>14}{'year':>14}{'overview':>16}{'demo load':>14}")
    for label, small, large in (("SQLite", sqlite, sqlite_big), ("PostgreSQL", pg, pg_big)):
        cells = [f"{small[k]:.0f} -> {large[k]:.0f}" for k in ("day_p95", "month_p95", "year_p95", "overview_p95")]
        cells.append(f"{small['load_s']:.0f} -> {large['load_s']:.0f}")
        print(f"  {label:<12}" + "".join(f"{c:>{w}}" for c, w in zip(cells, (14, 14, 14, 16, 14))))
    first = "nan" if first_load is None else f"{first_load:.2f}"
    print(f"explorer day_p95_ms={pg['day_p95']:.0f} month_p95_ms={pg['month_p95']:.0f} "
          f"year_p95_ms={pg['year_p95']:.0f} overview_ms={pg['overview_p95']:.0f} "
          f"overview_200_ms={pg_big['overview_p95']:.0f} first_load_s={first}")


if __name__ == "__main__":
    main()
