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

import diskcache  # noqa: E402
from dash import Dash, DiskcacheManager  # noqa: E402

from services.config import CACHE_DIR, PROJECT_ROOT, Settings, get_settings  # noqa: E402


def background_manager(settings: Settings):
    """Where long callbacks run: Diskcache in-process by default, Celery + Redis with ``REDIS_URL``."""
    if settings.redis_url:
        from celery import Celery  # optional dependency, installed where Redis is used
        from dash import CeleryManager

        celery_app = Celery(__name__, broker=settings.redis_url, backend=settings.redis_url)
        return CeleryManager(celery_app)
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    return DiskcacheManager(diskcache.Cache(str(CACHE_DIR)))


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
    from components.shell import shell_layout

    app.layout = shell_layout

    from api import register_api

    register_api(app.server)

    from cli import register_cli

    register_cli(app.server)
    return app


app = create_app()
server = app.server

if __name__ == "__main__":
    _settings = get_settings()
    app.run(host=_settings.host, port=_settings.port, debug=_settings.debug)
