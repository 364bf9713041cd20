"""Operations: metrics (Prometheus), traces (OpenTelemetry), structured logs and the request id.

:func:`instrument_web` is the one call the app factory makes; Celery workers load
:mod:`services.observability.celery_signals` through the Celery app; the MQTT listener, the
ingestion core and the solver report through the observers of :mod:`.metrics`.
No Dash here: the app passes its page templates in.
"""

from __future__ import annotations

from collections.abc import Iterable

from services.config import Settings


def instrument_web(server, settings: Settings, page_templates: Iterable[str] = ()) -> None:
    """Logs, tracing, pool gauges, request hooks and ``/metrics`` for the web process.

    Tracing first: its Flask hooks must open the request span before ours rename it.
    """
    from services.observability.logs import configure_logging
    from services.observability.metrics import LiveCollector, watch_pools
    from services.observability.tracing import setup_tracing
    from services.observability.web import instrument_server

    configure_logging(settings.log_format, settings.log_level)
    setup_tracing("energy-dashboard-web", server=server)
    watch_pools()

    from services.config import get_settings

    def breakers() -> dict[str, int]:
        from services.weather.open_meteo import breaker_gauges

        return breaker_gauges()

    # The store, Redis and token as configured when asked (tests switch DATABASE_URL per test).
    live = LiveCollector(breakers=breakers)
    instrument_server(server, page_templates=page_templates, metrics_token=lambda: get_settings().metrics_token,
                      live=[live])
