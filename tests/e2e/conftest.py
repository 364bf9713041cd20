"""Fixtures for end-to-end tests in real headless Chromium against the real app.

- ``live_server`` / ``empty_server`` / ``scratch_server`` (session): ``python app.py`` in a
  subprocess over a temp SQLite database: a small demo portfolio, empty, or empty at first
  and written to by tests. ``demo_server`` is ``live_server`` for tests that need its data.
- ``browser`` (session): one Chromium for the whole run.
- ``page`` (function): a fresh context (1280x800) whose problems are recorded;
  ``new_page(**context_options)`` opens more (phone size, dark system setting). Contexts start
  signed in (as ``harness.E2E_EMAIL``, an admin) on the server the test uses, unless the test asks
  for ``new_page(signed_in=False)``.
- ``problems``: what went wrong in this test's pages. The test FAILS at its end if anything
  was recorded (console error, uncaught exception, failed request, HTTP >= 400, a request
  leaving 127.0.0.1, a traceback in the server log), unless the test cleared what it expected.

Everything skips with a reason when /usr/bin/chromium (or Playwright) is missing; with
CI=true the root conftest turns those skips into failures.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.e2e import harness

PROBLEMS_KEY = pytest.StashKey[harness.BrowserProblems]()
PAGES_KEY = pytest.StashKey[list]()


def _require_browser() -> None:
    reason = harness.chromium_missing_reason()
    if reason:
        pytest.skip(reason)


@pytest.fixture(scope="session")
def _servers() -> list[harness.LiveServer]:
    """Every server started in this session, so that their logs can be checked per test."""
    return []


def _serve(tmp_path_factory, servers, name: str, demo_households: int) -> Iterator[harness.LiveServer]:
    _require_browser()
    folder = tmp_path_factory.mktemp(f"e2e-{name}")
    url = f"sqlite:///{folder / 'energy.db'}"
    server = harness.LiveServer(database_url=url, log_path=folder / "server.log")
    try:
        server.has_demo, server.why_no_demo = harness.prepare_database(url, demo_households=demo_households)
        server.start()
        failure = None
    except RuntimeError as exc:
        failure = f"the {name} server did not start: {exc}"
    if failure:  # outside the except block, so the report is not a chain of two tracebacks
        pytest.fail(failure, pytrace=False)
    servers.append(server)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory, _servers) -> Iterator[harness.LiveServer]:
    """The app over a small demo portfolio (4 households, seed 7). ``has_demo`` is False
    while ``services.demo`` does not exist yet: use ``demo_server`` in tests that need data."""
    yield from _serve(tmp_path_factory, _servers, "demo", demo_households=4)


@pytest.fixture
def demo_server(live_server) -> harness.LiveServer:
    """``live_server``, skipping the test when it could not be seeded with demo data."""
    if not live_server.has_demo:
        pytest.skip(f"needs the demo portfolio: {live_server.why_no_demo}")
    return live_server


@pytest.fixture(scope="session")
def empty_server(tmp_path_factory, _servers) -> Iterator[harness.LiveServer]:
    """The app over an empty (migrated) database, for empty states."""
    yield from _serve(tmp_path_factory, _servers, "empty", demo_households=0)


@pytest.fixture(scope="session")
def scratch_server(tmp_path_factory, _servers) -> Iterator[harness.LiveServer]:
    """The app over a database of its own for tests that write (create, edit, delete), so
    that neither the demo portfolio nor the empty database changes under other tests.
    Never assume it is empty: tests that write share it."""
    yield from _serve(tmp_path_factory, _servers, "scratch", demo_households=0)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """One headless Chromium for the session."""
    _require_browser()
    from playwright.sync_api import sync_playwright

    for stale in harness.SCREENSHOT_DIR.glob("FAILED-*.png"):  # post-mortems of an earlier run
        stale.unlink()

    with sync_playwright() as playwright:
        chromium = harness.launch_browser(playwright)
        yield chromium
        chromium.close()


@pytest.fixture
def problems(request, _servers) -> Iterator[harness.BrowserProblems]:
    """This test's recorder; checked when the test body ends (see ``pytest_runtest_call``)."""
    recorder = harness.BrowserProblems()
    request.node.stash[PROBLEMS_KEY] = recorder
    recorder.bookmark_servers(_servers)  # the same list: servers started later are seen too
    yield recorder


SERVER_FIXTURES = ("demo_server", "live_server", "empty_server", "scratch_server")


def _server_of(request) -> harness.LiveServer | None:
    """The server this test uses (each test uses one), or None."""
    name = next((n for n in SERVER_FIXTURES if n in request.fixturenames), None)
    return request.getfixturevalue(name) if name else None


@pytest.fixture
def new_page(request, browser, problems) -> Iterator[Callable[..., object]]:
    """``new_page(viewport=..., color_scheme=..., signed_in=True, ...)``: a page in a fresh browser
    context (default viewport 1280x800, light system setting) whose problems are recorded, with the
    session cookies of the test's server (signed in once per server, before the page opens)."""
    contexts = []
    pages: list = []
    request.node.stash[PAGES_KEY] = pages
    server = _server_of(request)

    def open_page(signed_in: bool = True, **context_options):
        # Reduced motion: Bootstrap then skips its transitions, so what a test sees is final.
        options = {"viewport": {"width": 1280, "height": 800}, "color_scheme": "light",
                   "reduced_motion": "reduce", **context_options}
        context = browser.new_context(**options)
        context.set_default_timeout(harness.DEFAULT_TIMEOUT_MS)
        if signed_in and server is not None:
            context.add_cookies(server.session_cookies())
        problems.watch(context)
        contexts.append(context)
        page = context.new_page()
        pages.append(page)
        return page

    yield open_page
    problems.closing = True
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page):
    """A fresh page, 1280x800, light system setting."""
    return new_page()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    """Fail the test (not its teardown) when its pages recorded problems; on any failure,
    keep a screenshot of each open page for the post-mortem."""
    try:
        result = yield
    except BaseException:
        _screenshot_on_failure(item)
        recorder = item.stash.get(PROBLEMS_KEY, None)
        if recorder is not None:
            recorder.collect_server_tracebacks()
            if recorder.report():  # often the cause of a timeout or of an HTTP 500
                item.add_report_section("call", "browser and server problems", recorder.report())
        raise
    recorder = item.stash.get(PROBLEMS_KEY, None)
    if recorder is not None:
        recorder.collect_server_tracebacks()
        report = recorder.report()
        if report:
            _screenshot_on_failure(item)
            pytest.fail(f"the browser or the server reported problems:\n{report}", pytrace=False)
    return result


def _screenshot_on_failure(item) -> None:
    for i, page in enumerate(item.stash.get(PAGES_KEY, [])):
        try:
            if not page.is_closed():
                harness.screenshot(page, f"FAILED-{item.name}-{i}")
        except Exception:  # noqa: BLE001 - a post-mortem aid must never hide the real failure
            pass
