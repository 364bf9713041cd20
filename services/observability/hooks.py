"""Decorators that observe the service layer's central entry points: one line where they are used.

- :func:`observed_ingestion` on the ingestion core's batch entry point: rows by channel and
  outcome, rejections by reason, batch time, failed batches, and an ``ingest batch`` span.
- :func:`observed_solve` on the solver's program cache: HiGHS time and a ``solve`` span.
"""

from __future__ import annotations

import functools
import time

from services.observability import metrics
from services.observability.tracing import service_span


def observed_ingestion(func):
    """Wrap ``func(chunks, *, source, channel, options) -> IngestReport``."""

    @functools.wraps(func)
    def wrapper(*args, channel: str, **kwargs):
        started = time.perf_counter()
        with service_span("ingest batch", channel=channel):
            try:
                report = func(*args, channel=channel, **kwargs)
            except Exception:
                metrics.INGEST_BATCHES.labels(channel, "failed").inc()
                raise
        metrics.observe_ingest(report, channel, time.perf_counter() - started)
        return report

    return wrapper


def observed_solve(method):
    """Wrap ``ProgramCache.solve(self, lp, ...) -> (LPSolution, build_ms)``."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        with service_span("solve", engine=self.engine):
            solution, build_ms = method(self, *args, **kwargs)
        solve_ms = getattr(solution, "solve_ms", None)
        if solve_ms is not None:
            metrics.observe_solve(self.engine, solve_ms)
        return solution, build_ms

    return wrapper
