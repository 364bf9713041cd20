"""worker.py and app.background_manager: one Celery app for workers, beat and Dash's CeleryManager."""

from __future__ import annotations

import pytest
from dash import CeleryManager, DiskcacheManager

from services.config import Settings

# Each CeleryManager registers the pages' callbacks again under the same names (the same functions).
pytestmark = pytest.mark.filterwarnings("ignore::celery.exceptions.DuplicateTaskNameWarning")


def test_the_worker_module_exposes_the_one_app_with_jobs_schedules_and_the_pages_callbacks(dash_app):
    import worker
    from services.tasks.celery_app import BULK_QUEUE, INTERACTIVE_QUEUE, celery_app

    assert worker.celery_app is celery_app
    assert {"jobs.run", "schedules.fire"} <= set(celery_app.tasks)
    route = celery_app.amqp.router.route
    assert route({}, "background_callback_0123")["queue"].name == INTERACTIVE_QUEUE
    assert route({}, "jobs.run")["queue"].name == BULK_QUEUE
    assert set(celery_app.conf.beat_schedule) == {"weather_refresh", "issue_forecasts", "retrain_stale_models",
                                                  "sweep_interrupted", "requeue_fleet_chunks", "fleet_plan_tomorrow", "evaluate_alerts",
                                                  "alert_digest"}


def test_background_callbacks_use_celery_with_redis_and_diskcache_without(dash_app):
    import app
    from services.tasks.celery_app import celery_app

    with_redis = app.background_manager(Settings(redis_url="redis://127.0.0.1:6379/11"))
    assert isinstance(with_redis, CeleryManager) and with_redis.handle is celery_app
    assert with_redis.cache_by is None  # the seam: app.result_keys() keys results by user once sign-in lands
    # Every background callback of the pages is a task of the one app, so a worker can run it.
    assert all(f"background_callback_{key}" in celery_app.tasks for key, _fn, _p in with_redis.functions)
    assert isinstance(app.background_manager(Settings()), DiskcacheManager)
