"""Energy Dashboard: the Dash app factory, its shell, pages, REST API and CLI commands.

Run it with ``make run`` (or ``python app.py``); ``server`` is the WSGI app for gunicorn.
"""

from __future__ import annotations

import os

# Background callbacks run in processes forked from the server. GNU OpenMP (scikit-learn's gradient
# boosting) hangs or crashes in a child forked from a thread that had started its OpenMP thread pool
# (a gunicorn sync worker predicts and forks in one thread), so the app process runs OpenMP on one
# thread. Read once, when scikit-learn loads: it must be set before the imports below.
os.environ["OMP_NUM_THREADS"] = "1"

import hashlib  # noqa: E402

import dash  # noqa: E402
import diskcache  # noqa: E402
from dash import Dash, DiskcacheManager  # noqa: E402

from services.config import CACHE_DIR, PROJECT_ROOT, Settings, get_settings  # noqa: E402


def background_manager(settings: Settings):
    """Where long callbacks run: Diskcache in-process by default, the Celery workers with ``REDIS_URL``.

    With Redis the manager uses the one Celery app (``services.tasks.celery_app``), whose routes
    send background callbacks to the ``interactive`` queue; ``worker.py`` imports this module so
    that workers know the callbacks.
    """
    if settings.redis_url:
        from dash import CeleryManager

        from services.tasks.celery_app import celery_app

        return type("ScopedCeleryManager", (ScopedKeys, CeleryManager), {})(celery_app)
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    return ScopedDiskcacheManager(diskcache.Cache(str(CACHE_DIR)))


def result_keys() -> list:
    """Zero-argument functions whose values go into every background result's key, so that a
    result is only ever served to the user (and organisation, and role) whose request made it.
    Dash keys a result by the callback and its arguments alone: two people asking the same would
    share one key, and one would read the other's result."""
    from services.access import current_scope

    return [lambda: current_scope().cache_key]


class ScopedKeys:
    """A background-callback manager whose result keys include :func:`result_keys`. Unlike Dash's
    ``cache_by`` this keeps results uncached (each is cleared once read), so a rerun never shows
    the previous run's result."""

    def build_cache_key(self, fn, args, cache_args_to_ignore, triggered):
        base = super().build_cache_key(fn, args, cache_args_to_ignore, triggered)
        return hashlib.sha256("|".join([base, *(str(key()) for key in result_keys())]).encode()).hexdigest()


class ScopedDiskcacheManager(ScopedKeys, DiskcacheManager):
    """Dash's Diskcache manager with results keyed by caller."""


def create_app(settings: Settings | None = None) -> Dash:
    """Build the Dash app: pages from ``pages/``, assets from ``assets/`` (no CDN), the REST API
    blueprint under ``/api`` and ``/health``, and the Flask CLI commands."""
    settings = settings or get_settings()
    from components.callback_errors import handle_callback_error

    app = Dash(
        __name__,
        use_pages=True,
        pages_folder=str(PROJECT_ROOT / "pages"),
        assets_folder=str(PROJECT_ROOT / "assets"),
        title="Energy Dashboard",
        update_title=None,
        suppress_callback_exceptions=True,
        serve_locally=True,
        assets_path_ignore=["vendor"],  # loaded on demand (plotly.js: assets/plotly_loader.js), not on every page
        background_callback_manager=background_manager(settings),
        meta_tags=[{"name": "viewport", "content": "width=device-width, initial-scale=1"}],
        on_error=handle_callback_error,  # no bare 500 from a callback: a message, and the trace in the log
    )
    from api.security import install_security
    from api.signin import register_sign_in

    install_security(app.server, lambda: sorted(set(app.csp_hashes())))
    register_sign_in(app.server)
    from components.shell import shell_layout

    app.layout = shell_layout

    from api import register_api

    register_api(app.server)

    from cli import register_cli

    register_cli(app.server)
    from services.observability import instrument_web

    instrument_web(app.server, settings, [p.get("path_template") or p["path"] for p in dash.page_registry.values()])
    return app


app = create_app()
server = app.server

if __name__ == "__main__":
    from services.serving import check_serving

    _settings = get_settings()
    check_serving(_settings)
    if _settings.debug:  # Dash's dev tools only: never Werkzeug's interactive debugger or its reloader
        app.enable_dev_tools(debug=True, dev_tools_hot_reload=False)
    app.server.run(host=_settings.host, port=_settings.port, debug=False, use_debugger=False, use_reloader=False,
                   threaded=True)
