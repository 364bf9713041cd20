"""Benchmark: first load of the overview (/) in headless Chromium, from opening the page to its charts drawn.

Run: ``.venv/bin/python benchmarks/browser_load.py [--households 24] [--days 365] [--runs 3]``.
It loads the demo portfolio into a temporary SQLite database, serves the real app on it
(``python app.py``, as the browser tests do), and opens ``/`` in a fresh browser context per run
(a cold cache: every script, stylesheet and callback fetched again). The reference measured in the
same run is the bare shell: the time until Dash has rendered the page container, before any
chart. What the page costs on top of the framework is the difference.

``measure_first_load(base_url, runs)`` is the function other benchmarks import (explorer.py).

Last line: ``browser_load first_load_s=<median> shell_s=<median> runs=<n> requests=<n> transfer_kb=<kB>
callbacks=<n> slowest_callback_ms=<ms>``
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.e2e import harness  # noqa: E402

#: True once every chart of the page has drawn data (and a map its land): the moment measured.
#: A graph drawn from a figure with no traces (the "Loading…" placeholder) does not count.
_CHARTS_DRAWN_JS = """
() => {
  const content = document.querySelector('#_pages_content');
  if (!content) return false;
  const graphs = content.querySelectorAll('.dash-graph');
  if (!graphs.length) return false;
  for (const g of graphs) {
    if (g.closest('[style*="display: none"]')) continue;
    const plot = g.querySelector('.js-plotly-plot');
    if (!plot || !plot.data || !plot.data.length || !plot._fullLayout) return false;
    if (plot.querySelector('.geo') && !plot.querySelector('.geo .layer.land path[d]')) return false;
    if (!plot.querySelector('.main-svg')) return false;
  }
  return performance.now();
}
"""

_SHELL_JS = "() => document.querySelector('#_pages_content') ? performance.now() : false"


@dataclass
class LoadTiming:
    """One cold load: seconds from navigation start to the shell and to the charts drawn, what
    was transferred, and the server time of each Dash callback request [ms] (``Server-Timing``
    is off, so the browser's request duration stands for it)."""

    charts_s: float
    shell_s: float
    requests: int = 0
    transfer_bytes: int = 0
    callbacks_ms: list[tuple[str, float]] = field(default_factory=list)


def _one_load(browser, url: str, timeout_ms: int, cookies: list[dict]) -> LoadTiming:
    context = browser.new_context(viewport={"width": 1280, "height": 800}, reduced_motion="reduce")
    context.add_cookies(cookies)  # signed in, as a returning user is
    try:
        page = context.new_page()
        page.goto(url, wait_until="commit", timeout=timeout_ms)
        shell = page.wait_for_function(_SHELL_JS, polling="raf", timeout=timeout_ms).json_value()
        charts = page.wait_for_function(_CHARTS_DRAWN_JS, polling="raf", timeout=timeout_ms).json_value()
        entries = page.evaluate(
            "() => performance.getEntriesByType('resource').map(e => ({name: e.name, size: e.transferSize,"
            " ms: e.responseEnd - e.startTime, start: e.startTime}))")
        callbacks = [(f"{e['start']:.0f}", e["ms"]) for e in entries if "/_dash-update-component" in e["name"]]
        # Let the page finish what it started (the data-quality card) before the next run, so that
        # a run never shares the server with the previous one's work.
        harness.wait_for_dash_idle(page, timeout_ms=timeout_ms)
        return LoadTiming(charts_s=charts / 1000.0, shell_s=shell / 1000.0, requests=len(entries) + 1,
                          transfer_bytes=sum(int(e["size"] or 0) for e in entries), callbacks_ms=callbacks)
    finally:
        context.close()


def measure_loads(base_url: str, runs: int = 3, path: str = "/", timeout_ms: int = 60_000,
                  cookies: list[dict] | None = None) -> list[LoadTiming]:
    """``runs`` cold loads of ``base_url + path`` in headless Chromium (a fresh context each, signed
    in with ``cookies``; default: signed in as the harness's admin)."""
    cookies = harness.browser_cookies(base_url.rstrip("/")) if cookies is None else cookies
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = harness.launch_browser(playwright)
        try:
            _one_load(browser, base_url.rstrip("/") + path, timeout_ms, cookies)  # the server's first-request work
            return [_one_load(browser, base_url.rstrip("/") + path, timeout_ms, cookies) for _ in range(runs)]
        finally:
            browser.close()


def measure_first_load(base_url: str, runs: int = 3) -> float:
    """Median seconds over ``runs`` cold loads from opening ``base_url``/ to the overview's charts drawn."""
    return statistics.median(t.charts_s for t in measure_loads(base_url, runs))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=24)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--url", help="measure a server that is already running instead of starting one")
    parser.add_argument("--email", default=harness.E2E_EMAIL, help="who signs in on --url")
    parser.add_argument("--password", default=harness.E2E_PASSWORD, help="their password")
    args = parser.parse_args(argv)
    reason = harness.chromium_missing_reason()
    if reason:
        print(f"cannot measure: {reason}", file=sys.stderr)
        return 2
    if args.url:
        cookies = harness.browser_cookies(args.url.rstrip("/"), args.email, args.password)
        return _report(measure_loads(args.url, args.runs, cookies=cookies))
    with tempfile.TemporaryDirectory(prefix="browser-load-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'energy.db'}"
        loaded, why = harness.prepare_database(url, demo_households=args.households, demo_days=args.days)
        if not loaded:
            print(f"cannot measure: no demo data ({why})", file=sys.stderr)
            return 2
        server = harness.LiveServer(database_url=url, log_path=Path(tmp) / "server.log").start()
        try:
            return _report(measure_loads(server.url, args.runs, cookies=server.session_cookies()))
        finally:
            server.stop()


def _report(timings: list[LoadTiming]) -> int:
    print(f"{'run':>3} {'shell s':>8} {'charts s':>9} {'requests':>9} {'kB':>7}  callbacks (start ms: duration ms)")
    for i, t in enumerate(timings, 1):
        calls = ", ".join(f"{start}: {ms:.0f}" for start, ms in t.callbacks_ms)
        print(f"{i:>3} {t.shell_s:>8.2f} {t.charts_s:>9.2f} {t.requests:>9} {t.transfer_bytes / 1024:>7.0f}  {calls}")
    median = statistics.median(t.charts_s for t in timings)
    slowest = max((ms for t in timings for _s, ms in t.callbacks_ms), default=0.0)
    print(f"browser_load first_load_s={median:.2f} shell_s={statistics.median(t.shell_s for t in timings):.2f} "
          f"runs={len(timings)} requests={timings[-1].requests} transfer_kb={timings[-1].transfer_bytes / 1024:.0f} "
          f"callbacks={len(timings[-1].callbacks_ms)} slowest_callback_ms={slowest:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
