"""The one Celery app, for workers (``celery -A worker worker``), beat and the web server.

Two queues: ``interactive`` for what a person is waiting for (a background callback, a what-if),
``bulk`` for fleets, retraining, reports and refreshes. Tasks acknowledge late and are re-queued
when their worker dies, so every task must be idempotent: it writes its results with an upsert.
Large payloads (uploads, report files) travel by id through the store, never through the broker.
"""

from __future__ import annotations

from celery import Celery

from services.config import get_settings
from services.observability import celery_signals  # noqa: F401 - job metrics, request ids, worker logs

INTERACTIVE_QUEUE = "interactive"
BULK_QUEUE = "bulk"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"

# Task modules a worker imports; each feature adds its own module here.
TASK_MODULES: list[str] = ["services.tasks.fleet", "services.tasks.jobs", "services.tasks.schedules",
                           "services.observability.tasks"]


def make_celery(redis_url: str, name: str = "energy_dashboard", visibility_timeout_s: int = 3600) -> Celery:
    """A Celery app on the Redis at ``redis_url`` (broker and result backend). A task whose worker
    died unacknowledged goes to another worker after ``visibility_timeout_s`` [s]."""
    app = Celery(name, broker=redis_url, backend=redis_url, include=list(TASK_MODULES))
    app.conf.update(
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        task_default_queue=BULK_QUEUE,
        # Dash names the tasks of background callbacks ``background_callback_<key>``: a person waits for them.
        # Jobs and schedules go to the default queue, bulk.
        task_routes={"background_callback_*": {"queue": INTERACTIVE_QUEUE}},
        task_acks_late=True,  # a task whose worker dies is delivered again...
        task_reject_on_worker_lost=True,  # ...instead of being acknowledged as failed
        worker_prefetch_multiplier=1,  # a dying worker holds at most one unstarted task
        broker_connection_retry_on_startup=True,
        # Redis looks for unacknowledged tasks older than the timeout every few seconds (kombu's
        # default is every 100 s), so a short timeout (tests) hands a killed worker's task on soon.
        broker_transport_options={"visibility_timeout": visibility_timeout_s,
                                  "unacked_restore_interval": max(1, min(10, visibility_timeout_s // 10)),
                                  "unacked_restore_throttle": 1},
        result_expires=7 * 24 * 3600,
        timezone="UTC",
        enable_utc=True,
    )
    return app


celery_app = make_celery(get_settings().redis_url or DEFAULT_REDIS_URL,
                         visibility_timeout_s=get_settings().celery_visibility_timeout_s)
