"""Celery signals: job durations and counts, the request id carried from web to worker, logs.

Imported by the Celery app (:mod:`services.tasks.celery_app`), so every worker, beat and the web
process that publishes tasks connect these handlers exactly once.

- ``before_task_publish`` puts the current request id in the task's headers;
- ``task_prerun`` / ``task_postrun`` time each task (``energy_job_duration_seconds{task,state}``)
  and make the publisher's request id current while it runs, so its log lines carry it;
- ``setup_logging`` installs our log handler (JSON with ``LOG_FORMAT=json``) instead of Celery's;
- ``worker_process_init`` sets up tracing and pool gauges in each pool process;
  ``worker_process_shutdown`` marks the process dead for the multiprocess metrics.
"""

from __future__ import annotations

import os
import time

from celery import signals

from services.observability import metrics
from services.observability.logs import current_request_id, reset_request_id, set_request_id

REQUEST_ID_KEY = "request_id"
_running: dict[str, tuple[float, object]] = {}  # task id -> (start, request-id token), per worker process


@signals.before_task_publish.connect
def _publish_request_id(headers=None, **_kwargs) -> None:
    request_id = current_request_id()
    if headers is not None and request_id and REQUEST_ID_KEY not in headers:
        headers[REQUEST_ID_KEY] = request_id


@signals.task_prerun.connect
def _task_started(task_id=None, task=None, **_kwargs) -> None:
    request_id = None
    if task is not None:  # custom headers land on the request, or in its ``headers`` (by protocol)
        request_id = getattr(task.request, REQUEST_ID_KEY, None) or (
            (getattr(task.request, "headers", None) or {}).get(REQUEST_ID_KEY))
    token = set_request_id(request_id or f"task-{task_id}")
    _running[task_id] = (time.perf_counter(), token)
    metrics.JOBS_STARTED.labels(_task_name(task)).inc()


@signals.task_postrun.connect
def _task_finished(task_id=None, task=None, state=None, **_kwargs) -> None:
    started, token = _running.pop(task_id, (None, None))
    if started is not None:
        metrics.JOB_DURATION.labels(_task_name(task), state or "UNKNOWN").observe(time.perf_counter() - started)
    if token is not None:
        try:
            reset_request_id(token)
        except ValueError:  # set in another context (eager tasks nested in a request)
            pass


@signals.worker_init.connect
def _worker_started(**_kwargs) -> None:
    """The worker's main process: a fresh metrics folder, and its own metrics port when configured."""
    from services.config import get_settings

    metrics.reset_multiprocess_dir()
    port = get_settings().metrics_port
    if port:
        metrics.serve_metrics_port(port)


@signals.setup_logging.connect
def _worker_logging(**_kwargs) -> None:
    """Our handler instead of Celery's (connecting here tells Celery to leave logging alone)."""
    from services.config import get_settings
    from services.observability.logs import configure_logging

    settings = get_settings()
    configure_logging(settings.log_format, settings.log_level)


@signals.worker_process_init.connect
def _worker_process_started(**_kwargs) -> None:
    from services.observability.tracing import setup_tracing

    setup_tracing("energy-dashboard-worker")
    metrics.watch_pools()


@signals.worker_process_shutdown.connect
def _worker_process_stopped(**_kwargs) -> None:
    metrics.mark_process_dead(os.getpid())


def _task_name(task) -> str:
    return getattr(task, "name", None) or "unknown"
