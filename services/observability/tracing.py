"""OpenTelemetry tracing: Flask requests, SQLAlchemy statements, Celery tasks and a few service spans.

Off unless asked: :func:`setup_tracing` installs a tracer provider when
``OTEL_EXPORTER_OTLP_ENDPOINT`` is set (spans go out over OTLP/HTTP in batches; the standard
``OTEL_*`` variables configure the exporter) or when a test passes an exporter. A Dash callback's
span is renamed ``callback <output id>`` by the request hooks (:mod:`.web`), so a trace reads
callback -> service span (:func:`service_span`) -> SQL statements.
"""

from __future__ import annotations

import logging
import os
from contextlib import contextmanager

from opentelemetry import trace

logger = logging.getLogger(__name__)

TRACER_NAME = "energy_dashboard"
_state = {"provider": None}


def setup_tracing(service_name: str = "energy-dashboard", exporter=None, server=None) -> bool:
    """Install tracing for this process; True when spans are recorded.

    Parameters
    ----------
    service_name : str
        ``service.name`` of the spans (``OTEL_SERVICE_NAME`` overrides it).
    exporter : SpanExporter, optional
        Where spans go, synchronously (tests: an in-memory exporter). Default: OTLP/HTTP when
        ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set, else nothing is installed.
    server : flask.Flask, optional
        Instrumented for incoming requests.
    """
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    if exporter is None and not os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        return False
    provider = _state["provider"]
    if provider is None:
        name = os.environ.get("OTEL_SERVICE_NAME") or service_name
        provider = TracerProvider(resource=Resource.create({"service.name": name}))
        trace.set_tracer_provider(provider)
        _state["provider"] = provider
        _instrument_libraries()
    if exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    elif not getattr(provider, "_energy_otlp", False):
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        provider._energy_otlp = True
    if server is not None and not getattr(server, "_energy_traced", False):
        from opentelemetry.instrumentation.flask import FlaskInstrumentor

        FlaskInstrumentor().instrument_app(server, excluded_urls="/metrics,/health,/_reload-hash")
        server._energy_traced = True
    return True


def _instrument_libraries() -> None:
    from opentelemetry.instrumentation.celery import CeleryInstrumentor
    from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

    from services.store import db

    # The engines this process already has, and (by patching create_engine) those made later:
    # the store creates its engines lazily, one per URL.
    # skip_dep_check: the instrumentation declares SQLAlchemy < 2.1; its engine events work on 2.1
    # (tests/unit/test_tracing.py shows the statements in the trace).
    SQLAlchemyInstrumentor().instrument(engines=list(db._ENGINES.values()), skip_dep_check=True)
    CeleryInstrumentor().instrument()


def tracing_enabled() -> bool:
    return _state["provider"] is not None


@contextmanager
def service_span(name: str, **attributes):
    """A span around a service call (``ingest batch``, ``solve``); no cost when tracing is off."""
    if _state["provider"] is None:
        yield None
        return
    with trace.get_tracer(TRACER_NAME).start_as_current_span(name, attributes=attributes) as span:
        yield span


def traced(name: str):
    """Decorator: a :func:`service_span` named ``name`` around each call of a service function."""
    import functools

    def decorate(func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with service_span(name):
                return func(*args, **kwargs)

        return wrapper

    return decorate


def rename_current_span(name: str) -> None:
    """Rename the active span (the Flask request span of a Dash callback)."""
    span = trace.get_current_span()
    if span.is_recording():
        span.update_name(name)
