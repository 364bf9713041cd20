"""Save ``docs/screenshot.png``: the overview over a demo portfolio, 1280x800, light mode.

Run on demand (not part of the test suite)::

    .venv/bin/python tests/e2e/make_readme_screenshot.py [--households 12] [--dark] [--out docs/screenshot.png]

It serves the real app over a throw-away SQLite database, in headless Chromium, exactly as
the end-to-end tests do, and refuses to save a picture of a page that logged errors.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
if str(PROJECT_ROOT) not in sys.path:  # run as a script: make ``tests.e2e`` importable
    sys.path.insert(0, str(PROJECT_ROOT))

from tests.e2e import harness  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=12, help="demo households (default 12)")
    parser.add_argument("--dark", action="store_true", help="dark mode instead of light")
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "docs" / "screenshot.png")
    args = parser.parse_args(argv)

    reason = harness.chromium_missing_reason()
    if reason:
        print(f"cannot take the screenshot: {reason}", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="readme-shot-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'energy.db'}"
        loaded, why = harness.prepare_database(url, demo_households=args.households)
        if not loaded:
            print(f"cannot take the screenshot: no demo data ({why})", file=sys.stderr)
            return 2
        server = harness.LiveServer(database_url=url, log_path=Path(tmp) / "server.log").start()
        try:
            with sync_playwright() as playwright:
                browser = harness.launch_browser(playwright)
                context = browser.new_context(viewport={"width": 1280, "height": 800},
                                              color_scheme="dark" if args.dark else "light",
                                              reduced_motion="reduce")
                context.add_cookies(server.session_cookies())  # signed in, as the e2e tests are
                problems = harness.BrowserProblems()
                problems.watch(context)
                page = context.new_page()
                harness.goto(page, server.url + "/")
                page.locator(".ag-row[row-index='0'] a[href^='/household/']").wait_for()
                harness.wait_for_dash_idle(page)
                problems.servers = [server]  # no bookmark: its whole log must be clean
                problems.collect_server_tracebacks()
                if problems.report():
                    print(f"not saved: the page reported problems:\n{problems.report()}", file=sys.stderr)
                    return 1
                args.out.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(args.out))  # the viewport: what a visitor sees first
                problems.closing = True
                context.close()
                browser.close()
        finally:
            server.stop()
    print(f"saved {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
