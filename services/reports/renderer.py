"""Plotly figures to SVG or PNG with kaleido, in a headless Chromium kept open between reports.

Kaleido 1.x drives a Chromium through choreographer. Starting one takes a few seconds, more
than a report may wait, so this process keeps one open (a cache, like a connection pool:
nothing in it is shared state, and a second worker simply opens its own). It is started
lazily, or ahead of time by :func:`warm_up` (the Reports page calls it when it opens); after a
``fork`` (gunicorn, background callbacks) the child opens its own, since threads do not survive
a fork. A render that fails restarts the browser once before giving up.

Offline: the browser is ``$BROWSER_PATH`` or Debian's ``/usr/bin/chromium`` (whatever
``chromium`` is on ``PATH`` otherwise), plotly.js comes from the installed plotly package and
MathJax is switched off, so rendering never fetches anything.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import shutil
import threading
from pathlib import Path

import plotly
import plotly.graph_objects as go

#: Seconds to wait for the browser to start, and for one batch of figures.
START_TIMEOUT_S = 60
RENDER_TIMEOUT_S = 60
DEBIAN_CHROMIUM = "/usr/bin/chromium"


#: A forked child's copies of its parent's browser objects, kept alive on purpose (see ``_reset``).
_INHERITED: list = []


class RendererUnavailable(RuntimeError):
    """No browser could be started to draw the charts; the message says how to install one."""


def browser_path() -> str | None:
    """The Chromium kaleido uses: ``$BROWSER_PATH``, else ``/usr/bin/chromium``, else ``chromium`` on PATH."""
    for candidate in (os.environ.get("BROWSER_PATH"), DEBIAN_CHROMIUM, shutil.which("chromium"),
                      shutil.which("chromium-browser")):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


def plotly_js_path() -> Path:
    """plotly.js as installed with the plotly package (no CDN)."""
    return Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


class ChartRenderer:
    """One kaleido browser on a private event-loop thread; :meth:`render` is safe from any thread."""

    def __init__(self) -> None:
        self._kaleido = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._reset()
        os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        # In a forked child the parent's loop thread does not exist, and its browser belongs to the
        # parent: start from nothing. The parent's objects are kept, never dropped: their finalizers
        # would close the parent's browser through the pipe the child inherited, and delete its profile.
        if self._kaleido is not None or self._loop is not None:
            _INHERITED.append((self._kaleido, self._loop))
        self._lock = threading.Lock()
        self._loop = None
        self._kaleido = None
        self._pid = os.getpid()

    def warm_up(self) -> None:
        """Start the browser in the background unless it runs already; never blocks, never raises."""
        if self._kaleido is not None and self._pid == os.getpid():
            return

        def start() -> None:
            try:
                with self._lock:
                    self._ensure_open()
            except Exception:  # noqa: BLE001 - a failed warm-up shows again, with its message, at render time
                pass

        threading.Thread(target=start, name="kaleido-warm-up", daemon=True).start()

    def render(self, figures: list[go.Figure], fmt: str = "svg", scale: float = 1.0) -> list[bytes]:
        """Each figure as an image at its layout's width and height [CSS px], in order.

        Raises
        ------
        RendererUnavailable
            When no Chromium is installed or it cannot start.
        """
        if not figures:
            return []
        opts = {"format": fmt, "scale": scale}
        with self._lock:
            for attempt in (1, 2):
                self._ensure_open()
                try:
                    return self._run(self._render_all(figures, opts), RENDER_TIMEOUT_S)
                except Exception as exc:  # noqa: BLE001 - a crashed browser: start a fresh one, once
                    self._close()
                    if attempt == 2:
                        raise RendererUnavailable(f"Charts could not be drawn: {exc}") from exc
        raise AssertionError("unreachable")

    def close(self) -> None:
        """Close the browser (it is opened again on the next render)."""
        with self._lock:
            self._close()

    # --- inside the lock ------------------------------------------------------------------

    def _ensure_open(self) -> None:
        if self._pid != os.getpid():  # forked without the at-fork hook (it runs for os.fork and multiprocessing)
            self._reset()
        if self._kaleido is not None:
            return
        path = browser_path()
        if path is None:
            raise RendererUnavailable(
                "Charts in reports are drawn by Chromium, and none is installed: install Debian's "
                "`chromium` package (apt-get install chromium) or set BROWSER_PATH to a Chrome/Chromium binary."
            )
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
            threading.Thread(target=self._loop.run_forever, name="kaleido-loop", daemon=True).start()
        try:
            self._kaleido = self._run(self._open(path), START_TIMEOUT_S)
        except Exception as exc:  # noqa: BLE001 - any failure to start means no charts
            raise RendererUnavailable(f"Chromium at {path} did not start for chart rendering: {exc}") from exc

    async def _open(self, path: str):
        import kaleido  # imported here: it pulls in choreographer and logs at import

        k = kaleido.Kaleido(n=1, mathjax=False, plotlyjs=str(plotly_js_path()), path=path)
        await k.open()
        return k

    async def _render_all(self, figures: list[go.Figure], opts: dict) -> list[bytes]:
        sized = [dict(opts, width=fig.layout.width or 700, height=fig.layout.height or 400) for fig in figures]
        return [await self._kaleido.calc_fig(fig, opts=o) for fig, o in zip(figures, sized)]

    def _run(self, coroutine, timeout: float):
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    def _close(self) -> None:
        if self._kaleido is not None and self._loop is not None and self._pid == os.getpid():
            try:
                self._run(self._kaleido.close(), 10)
            except Exception:  # noqa: BLE001 - closing a dead browser may fail; it is gone either way
                pass
        self._kaleido = None


#: This process's renderer (a cache of one browser; see the module docstring).
renderer = ChartRenderer()
atexit.register(renderer.close)
