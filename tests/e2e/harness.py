"""Browser-test harness: the real app in a subprocess, headless Chromium, and a problem recorder.

Used by ``tests/e2e/conftest.py`` (fixtures) and by ``make_readme_screenshot.py`` (a plain
script), so that both start the server and the browser the same way.

Nothing here talks to the internet: Chromium runs with its background networking off, and
every request a page makes to a host other than 127.0.0.1 is aborted and recorded.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from datetime import date
from http.cookiejar import CookieJar
from pathlib import Path
from urllib.parse import urlsplit

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT_DIR = Path(__file__).resolve().parent / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")

#: Flags that keep Chromium quiet: without the background-networking ones it tries to reach
#: Google hosts, and those failures would pollute the run.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ALLOWED_HOSTS = {"127.0.0.1"}
SERVER_START_TIMEOUT_S = 90  # generous: two shared cores, and pages import pandas/sklearn
DEFAULT_TIMEOUT_MS = 30_000  # longer is a hang: the overview waits for its data-quality job, seconds on 2 busy cores
DEMO_END = date(2026, 6, 30)  # fixed, so that the e2e portfolio is the same on every run


def chromium_missing_reason() -> str | None:
    """Why browser tests cannot run here (``None`` when they can)."""
    if not CHROMIUM.exists():
        return f"end-to-end tests need Chromium at {CHROMIUM} (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "end-to-end tests need Playwright for Python (pip install -r requirements-dev.txt)"
    return None


def launch_browser(playwright):
    """Debian's headless Chromium (never a downloaded one)."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)


# --------------------------------------------------------------------------- database

#: The account every browser test signs in with: an admin of the default organisation, which all
#: demo households of the e2e databases belong to. Not a demo account (those are for ``make run``).
E2E_EMAIL = "e2e-admin@example.org"
E2E_PASSWORD = "browser tests sign in with this"

# Runs in a subprocess with DATABASE_URL set, as ``flask init-db`` would: services that
# work on the configured store (daily-energy refresh) then see the e2e database, and the
# test process keeps its own settings and engines untouched.
_PREPARE_SCRIPT = """
import json, sys
from datetime import date
from services.auth import add_membership, create_user
from services.store.db import migrate
from services.store.models import DEFAULT_ORGANISATION_ID
url, n, seed, end, days = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
email, password = sys.argv[6], sys.argv[7]
migrate(url)
loaded, reason = False, ""
if n > 0:
    try:
        from services.demo import load_demo_portfolio
    except ImportError as exc:
        reason = f"services.demo.load_demo_portfolio is not importable ({exc})"
    else:
        load_demo_portfolio(n_households=n, seed=seed, end=date.fromisoformat(end), url=url, days=days)
        loaded = True
user = create_user(email, "E2E Admin", password)
add_membership(user.id, DEFAULT_ORGANISATION_ID, "admin")
print(json.dumps({"loaded": loaded, "reason": reason}))
"""


def prepare_database(url: str, demo_households: int = 0, demo_seed: int = 7,
                     demo_end: date = DEMO_END, demo_days: int = 60) -> tuple[bool, str]:
    """Migrate ``url``, when ``demo_households`` > 0 load the demo portfolio into it
    (``demo_days`` days ending at 00:00 UTC of ``demo_end``; 60 days cover every period
    preset up to "last 30 days" and take a few seconds), and add the :data:`E2E_EMAIL` admin.

    Returns
    -------
    (bool, str)
        Whether demo data was loaded, and why not when it was asked for but ``services.demo``
        cannot be imported yet (tests that need data then skip with that reason).

    Raises
    ------
    RuntimeError
        When migrating or loading fails; the message carries the subprocess's output.
    """
    env = {**os.environ, "DATABASE_URL": url}
    done = subprocess.run(
        [sys.executable, "-c", _PREPARE_SCRIPT, url, str(demo_households), str(demo_seed),
         demo_end.isoformat(), str(demo_days), E2E_EMAIL, E2E_PASSWORD],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=600,
    )
    if done.returncode != 0:
        raise RuntimeError(f"preparing the database {url} failed:\n{done.stdout[-2000:]}{done.stderr[-4000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return result["loaded"], result["reason"]


def household_ids(url: str) -> list[int]:
    """Ids of the households in the database at ``url``, in ascending order."""
    import sqlalchemy as sa

    from services.store.db import get_engine

    with get_engine(url).connect() as conn:
        return list(conn.execute(sa.text("SELECT id FROM households ORDER BY id")).scalars())


# --------------------------------------------------------------------------- server

def free_port() -> int:
    """A TCP port nobody listens on right now (on 127.0.0.1)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LiveServer:
    """``python app.py`` in a subprocess of its own, serving ``database_url`` on ``url``."""

    database_url: str
    log_path: Path
    has_demo: bool = False
    why_no_demo: str = ""
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None
    #: Signs the session cookies; one per server, so that nothing is written to ``data/secret_key``.
    secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(48))
    _cookies: list[dict] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> LiveServer:
        env = dict(os.environ)
        # Dev tools and the reloader would change the page and fork the server; Celery is not
        # what the browser tests are about.
        for name in ("DEBUG", "REDIS_URL"):
            env.pop(name, None)
        env.update(DATABASE_URL=self.database_url, HOST="127.0.0.1", PORT=str(self.port),
                   SECRET_KEY=self.secret_key, PYTHONUNBUFFERED="1")
        self._log = open(self.log_path, "wb")
        # A session of its own, so that stop() also ends the workers of background callbacks.
        self.process = subprocess.Popen(
            [sys.executable, "app.py"], cwd=PROJECT_ROOT, env=env,
            stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        self._wait_until_healthy()
        return self

    def _wait_until_healthy(self) -> None:
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"the app exited with code {self.process.returncode} before answering /health.\n"
                    f"Its output:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=2) as resp:
                    if resp.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.25)
        self.stop()
        raise RuntimeError(
            f"the app did not answer {self.url}/health within {SERVER_START_TIMEOUT_S} s.\n"
            f"Its output:\n{self.log_tail()}")

    def session_cookies(self) -> list[dict]:
        """The cookies of a browser signed in as :data:`E2E_EMAIL` (the session, and the CSRF token
        that Dash's renderer sends back), for Playwright's ``context.add_cookies``. Signs in once
        per server, as a browser would: GET /sign-in for the form's token, POST the form."""
        if self._cookies is None:
            self._cookies = [_playwright_cookie(c) for c in sign_in(self.url, E2E_EMAIL, E2E_PASSWORD)]
        return self._cookies

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
            except ProcessLookupError:
                pass
        self._log.close()
        self.process = None

    def log_size(self) -> int:
        """Bytes written to the server log so far (a bookmark for :meth:`tracebacks_since`)."""
        return self.log_path.stat().st_size if self.log_path.exists() else 0

    def log_tail(self, chars: int = 4000) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return text[-chars:] or "(no output)"

    def tracebacks_since(self, offset: int) -> list[str]:
        """Python tracebacks the server logged after byte ``offset`` (a callback that crashed)."""
        with open(self.log_path, "rb") as fh:
            fh.seek(offset)
            text = fh.read().decode(errors="replace")
        return [m.group(0)[:3000] for m in
                re.finditer(r"Traceback \(most recent call last\):.*?(?=\n\S*127\.0\.0\.1 - -|\Z)",
                            text, flags=re.S)]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # the 303 after signing in is the answer looked at


def sign_in(base_url: str, email: str, password: str) -> CookieJar:
    """Sign in at ``base_url`` with the sign-in form and return the cookies it set.

    Raises
    ------
    AssertionError
        When the form does not answer 303 with a session cookie (the body says why).
    """
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), _NoRedirect)
    with opener.open(f"{base_url}/sign-in", timeout=30) as form:
        assert form.status == 200, f"GET /sign-in answered HTTP {form.status}"
    csrf = next((c.value for c in jar if c.name == "_csrf_token"), "")
    body = urllib.parse.urlencode({"email": email, "password": password, "csrf_token": csrf}).encode()
    try:
        with opener.open(f"{base_url}/sign-in", data=body, timeout=30) as answer:
            status, text = answer.status, answer.read().decode(errors="replace")
    except urllib.error.HTTPError as exc:
        status, text = exc.code, exc.read().decode(errors="replace")
    assert status == 303 and any(c.name == "ed_session" for c in jar), (
        f"signing in as {email} answered HTTP {status}:\n{text[:2000]}")
    return jar


def browser_cookies(base_url: str, email: str = E2E_EMAIL, password: str = E2E_PASSWORD) -> list[dict]:
    """Cookies of a browser signed in at ``base_url`` (see :func:`sign_in`), for Playwright's
    ``context.add_cookies`` (benchmarks that open pages)."""
    return [_playwright_cookie(c) for c in sign_in(base_url, email, password)]


def _playwright_cookie(cookie) -> dict:
    return {"name": cookie.name, "value": cookie.value, "domain": urlsplit(f"//{cookie.domain}").hostname,
            "path": cookie.path or "/", "httpOnly": cookie.has_nonstandard_attr("HttpOnly"),
            "secure": bool(cookie.secure), "sameSite": "Lax",
            **({"expires": float(cookie.expires)} if cookie.expires else {})}


# --------------------------------------------------------------------------- problems

@dataclass
class BrowserProblems:
    """What went wrong in a page: console errors, uncaught exceptions, failed requests,
    HTTP errors, requests that tried to leave 127.0.0.1, and server tracebacks.

    A test that expects some of them calls :meth:`clear` (or empties one list) before it ends.
    """

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    error_responses: list[str] = field(default_factory=list)
    external_requests: list[str] = field(default_factory=list)
    server_tracebacks: list[str] = field(default_factory=list)
    closing: bool = False  # requests aborted because the context is closing are not problems
    #: Servers whose logs belong to this test; a server missing from ``log_offsets`` is read
    #: from its start (it was started during the test, and its start-up output is clean).
    servers: list[LiveServer] = field(default_factory=list)
    log_offsets: dict[int, int] = field(default_factory=dict)

    def bookmark_servers(self, servers: list[LiveServer]) -> None:
        """Remember where each server's log stands, to look for tracebacks from here on."""
        self.servers = servers
        self.log_offsets = {id(s): s.log_size() for s in servers}

    def collect_server_tracebacks(self) -> None:
        for server in self.servers:
            self.server_tracebacks.extend(server.tracebacks_since(self.log_offsets.get(id(server), 0)))

    KINDS = ("console_errors", "page_errors", "failed_requests", "error_responses",
             "external_requests", "server_tracebacks")

    def clear(self) -> None:
        for name in self.KINDS:
            getattr(self, name).clear()

    def report(self) -> str:
        """Every recorded problem, one per line, grouped; empty when there are none."""
        lines = []
        for name in self.KINDS:
            for item in getattr(self, name):
                lines.append(f"{name.replace('_', ' ')}: {item}")
        return "\n".join(lines)

    def watch(self, context) -> None:
        """Record the problems of every page opened in ``context`` and block the internet."""
        context.route("**/*", self._route)
        context.on("page", self._watch_page)
        for page in context.pages:
            self._watch_page(page)

    def _route(self, route) -> None:
        url = route.request.url
        if urlsplit(url).hostname in ALLOWED_HOSTS:
            route.continue_()
        else:
            self.external_requests.append(url)
            route.abort("blockedbyclient")

    def _watch_page(self, page) -> None:
        page.on("console", self._on_console)
        page.on("pageerror", lambda exc: self.page_errors.append(str(exc)))
        page.on("requestfailed", self._on_request_failed)
        page.on("response", self._on_response)

    def _on_console(self, msg) -> None:
        if msg.type == "error":
            loc = msg.location or {}
            self.console_errors.append(f"{msg.text} ({loc.get('url', '?')}:{loc.get('lineNumber', '?')})")

    def _on_request_failed(self, request) -> None:
        failure = request.failure or ""
        if self.closing or urlsplit(request.url).hostname not in ALLOWED_HOSTS:
            return  # external ones are already in external_requests
        # A navigation cancels what the previous page still had in flight: not a fault of the app.
        if "ERR_ABORTED" in failure:
            return
        self.failed_requests.append(f"{request.method} {request.url}: {failure}")

    def _on_response(self, response) -> None:
        if response.status >= 400:
            self.error_responses.append(f"{response.request.method} {response.url}: HTTP {response.status}")


# --------------------------------------------------------------------------- page helpers

# Dash is idle when its renderer is mounted, no callback is queued or running, and no
# component is marked as loading. It must hold for a few polls in a row, because a finished
# callback can trigger the next one in the following tick.
_DASH_IDLE_JS = """
(readySelector) => {
  const quiet = (() => {
    if (document.querySelector('._dash-loading')) return false;
    if (readySelector && !document.querySelector(readySelector)) return false;
    const store = window.store;
    if (!store) return false;
    const state = store.getState();
    if (state.isLoading) return false;
    const callbacks = state.callbacks || {};
    for (const key of Object.keys(callbacks)) {
      if (key === 'stored' || key === 'completed') continue;
      if (Array.isArray(callbacks[key]) && callbacks[key].length) return false;
    }
    return !document.querySelector('[data-dash-is-loading="true"]');
  })();
  window.__e2eQuietPolls = quiet ? (window.__e2eQuietPolls || 0) + 1 : 0;
  return window.__e2eQuietPolls >= 3;
}
"""


#: Present once Dash has rendered the shell around the current page (dash.page_container).
PAGE_CONTENT = "#_pages_content"


def wait_for_dash_idle(page, timeout_ms: int = DEFAULT_TIMEOUT_MS, ready_selector: str | None = PAGE_CONTENT) -> None:
    """Wait until the Dash app in ``page`` has rendered (``ready_selector`` is in the DOM) and
    has no callback queued or running."""
    page.evaluate("() => { window.__e2eQuietPolls = 0; }")
    page.wait_for_function(_DASH_IDLE_JS, arg=ready_selector, polling=100, timeout=timeout_ms)


def goto(page, url: str, timeout_ms: int = DEFAULT_TIMEOUT_MS) -> None:
    """Open ``url`` and wait until Dash has finished rendering it.

    Raises AssertionError at once when the server answers the page itself with an HTTP
    error, rather than letting the test wait for a page that will never render.
    """
    response = page.goto(url, wait_until="load", timeout=timeout_ms)
    if response is not None and response.status >= 400:
        raise AssertionError(f"GET {url} answered HTTP {response.status}: the server log says why")
    wait_for_dash_idle(page, timeout_ms)


def screenshot(page, name: str, full_page: bool = True) -> Path:
    """Save ``page`` to ``tests/e2e/screenshots/<name>.png`` and return the path."""
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-") or "page"
    path = SCREENSHOT_DIR / f"{safe}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


# Text whose contrast with what is behind it is below WCAG AA (4.5:1, or 3:1 for large text).
# The background is found by compositing the ancestors' backgrounds up to the first opaque one;
# disabled controls, SVG text (Plotly draws its own) and invisible elements are not judged.
_LOW_CONTRAST_JS = """
(root) => {
  const parse = (c) => {
    const m = /rgba?\\(([^)]+)\\)/.exec(c || '');
    if (!m) return null;
    const p = m[1].split(/[\\s,\\/]+/).filter(Boolean).map(Number);
    return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
  };
  const over = (top, bottom) => [0, 1, 2].map(i => top[i] * top[3] + bottom[i] * (1 - top[3])).concat([1]);
  const lum = (c) => {
    const lin = c.slice(0, 3).map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2];
  };
  const backgroundOf = (el) => {
    const layers = [];
    for (let node = el; node && node.nodeType === 1; node = node.parentElement) {
      const bg = parse(getComputedStyle(node).backgroundColor);
      if (bg && bg[3] > 0) { layers.push(bg); if (bg[3] >= 1) break; }
    }
    let color = [255, 255, 255, 1];
    for (let i = layers.length - 1; i >= 0; i--) color = over(layers[i], color);
    return color;
  };
  const found = [];
  const scope = root || document.body;
  for (const el of [scope, ...scope.querySelectorAll('*')]) {
    if (el.closest('svg, .js-plotly-plot, :disabled, .disabled, [aria-disabled="true"], [aria-hidden="true"]')) continue;
    const text = Array.from(el.childNodes).filter(n => n.nodeType === 3).map(n => n.textContent).join('').trim();
    if (!text) continue;
    const style = getComputedStyle(el);
    if (style.visibility !== 'visible' || !el.getClientRects().length) continue;
    const fg = parse(style.color);
    if (!fg || fg[3] === 0) continue;
    const bg = backgroundOf(el);
    const [a, b] = [lum(over(fg, bg)), lum(bg)];
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    const size = parseFloat(style.fontSize), bold = parseInt(style.fontWeight, 10) >= 700;
    const needed = (size >= 24 || (size >= 18.66 && bold)) ? 3 : 4.5;
    if (ratio < needed) found.push({text: text.slice(0, 40), ratio: Math.round(ratio * 100) / 100,
                                    needed, color: style.color, background: 'rgb(' + bg.slice(0, 3).map(Math.round).join(', ') + ')'});
  }
  return found;
}
"""


def low_contrast_texts(page, selector: str = "body") -> list[dict]:
    """Visible text under ``selector`` that fails WCAG AA contrast against its background:
    dicts with ``text``, ``ratio``, ``needed``, ``color`` and ``background``."""
    return page.locator(selector).first.evaluate(_LOW_CONTRAST_JS)


def relative_luminance(css_color: str) -> float:
    """WCAG relative luminance (0 = black, 1 = white) of ``rgb(...)``/``rgba(...)``/``#rrggbb``."""
    text = css_color.strip().lower()
    if text.startswith("#"):
        hexa = text[1:]
        if len(hexa) == 3:
            hexa = "".join(c * 2 for c in hexa)
        channels = [int(hexa[i:i + 2], 16) for i in (0, 2, 4)]
    else:
        numbers = re.findall(r"[\d.]+", text)
        if len(numbers) < 3:
            raise ValueError(f"not a CSS colour I can read: {css_color!r}")
        channels = [float(n) for n in numbers[:3]]

    def linear(c: float) -> float:
        c = c / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b
