"""The job engine on a real Redis with a real Celery worker process (started by the fixtures), on
both store backends: a Dash background callback through CeleryManager, a job on the bulk queue
seen and cancelled through the Jobs page's callbacks, a schedule fired with a frozen time, and the
health of workers and queues."""

from __future__ import annotations

import functools
import json
import os
import signal
import time
import uuid
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from services.access import AccessScope, use_scope
from services.health import check_beat, check_queues, check_services, check_workers
from services.households import create_household
from services.jobs import cancel_job, get_job, list_jobs, save_file, start_job
from services.store.db import session_scope
from services.store.models import IngestionBatch, Reading
from tests.factories import load_mapping_spec, wide_load_csv
from tests.unit.test_data_page import CSV, form, mapped_columns, upload

# Each CeleryManager registers the pages' callbacks again under the same names (the same functions).
pytestmark = pytest.mark.filterwarnings("ignore::celery.exceptions.DuplicateTaskNameWarning")

# The default organisation (1), which the factories' households belong to.
ANNA = AccessScope(user_id=7, organisation_id=1, role="manager", label="anna@utility.example")
#: Rows of the upload that the cancel test stops midway: enough chunks to be caught running.
BIG_ROWS = 400_000
#: How long a test waits for the worker before it reports what it saw [s] (a guard, not a timing check).
PATIENCE_S = 180


def wait_for(what: str, probe, every_s: float = 0.1):
    """``probe()``'s first truthy value; fails naming ``what`` after :data:`PATIENCE_S`."""
    deadline = time.monotonic() + PATIENCE_S
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(every_s)
    raise AssertionError(f"gave up waiting for {what}")


def _home() -> int:
    return create_household({"name": "Worker Home", "timezone": "Europe/Berlin", "latitude": 48.1,
                             "longitude": 11.6, "pv_systems": [{"kwp": 6.0}]})


def _count(model) -> int:
    with session_scope() as session:
        return session.scalar(sa.select(sa.func.count()).select_from(model))


@functools.cache
def _celery_manager():
    """Dash's CeleryManager on the one Celery app, as app.py builds it with REDIS_URL (once: it
    registers every background callback as a task)."""
    from dash import CeleryManager

    from services.tasks.celery_app import celery_app

    return CeleryManager(celery_app)


def test_a_background_callback_runs_on_the_worker_through_celery_manager(store, worker, dash_app):
    import pages.data as page
    from services.auth import create_token, verify_token
    from services.tasks.celery_app import INTERACTIVE_QUEUE, celery_app

    home = _home()
    view, secret = create_token("browser", 1, "manager")  # who the request came from
    caller = AccessScope(organisation_id=1, role="manager", token_id=view.id)
    with use_scope(caller):
        file = page.preview_upload(upload(CSV), "meter.csv")["file"]  # the upload waits in the store, as the caller's
    keys, columns = mapped_columns()
    manager = _celery_manager()
    key = next(k for k, fn, _progress in manager.functions if fn.__name__ == "ingest_upload")
    job_fn = manager.func_registry[key]
    assert celery_app.amqp.router.route({}, job_fn.name)["queue"].name == INTERACTIVE_QUEUE

    result_key = f"test-{uuid.uuid4().hex}"
    args = {"n_clicks": 1, "form": form(home), "columns": columns, "keys": keys, "file": file}
    # What Dash hands the job of a request: its headers and cookies, from which the job finds its caller.
    context = {"headers": {"Authorization": f"Bearer {secret}"}, "cookies": {}}
    task_id = manager.call_job_fn(result_key, job_fn, args, context)
    wait_for("the callback's result", lambda: manager.result_ready(result_key))
    result = manager.get_result(result_key, task_id)
    announced = manager.get_updated_props(result_key)  # what the page learnt while the job ran

    assert "received 26, inserted 25, updated 0, unchanged 0, rejected 1" in json.dumps(result)
    assert _count(Reading) == 25
    [job] = list_jobs()
    assert (job.kind, job.state, job.runner, job.celery_task_id) == ("ingest_upload", "done", "celery", task_id)
    assert job.started_by.token_id == view.id and verify_token(secret) is not None  # it ran as its caller
    assert job.progress == 1.0 and job.result["rejected"] == 1
    assert announced == {"data-job-id": {"data": job.id}}  # the page's Cancel can end this job's record


def test_a_bulk_job_shows_its_progress_on_the_jobs_page_and_cancel_stops_it(store, worker, dash_app):
    import pages.jobs as page

    home = _home()
    file_id = save_file("big.csv", wide_load_csv(BIG_ROWS), "text/csv", scope=ANNA)
    job = start_job("ingest_upload", {"file_id": file_id, "mapping": load_mapping_spec(home), "file_kind": "csv",
                                      "filename": "big.csv"}, ANNA)
    assert job.state in ("queued", "running") and job.runner == "celery" and job.celery_task_id

    def running_row():
        rows = page.refresh_jobs(1, None)["rows"]
        row = next(r for r in rows if r["id"] == job.id)
        return row if row["state"] == "running" and row["progress"].endswith("rows read") else None

    row = wait_for("the job to run and report progress", running_row)  # e.g. "15% 60,000 rows read"
    assert row["who"] == "anna@utility.example" and 0 < int(row["progress"].split("%")[0]) < 100
    detail, cancel_disabled, _ = page.show_job([row], [row])
    assert cancel_disabled is False and "a Celery worker" in str(detail)

    out = page.cancel_selected(1, [row])
    # The worker may have stopped at its next chunk before the page read the job back.
    assert out["alert"] in (f"Job {job.id} stops at its next step.", f"Job {job.id} cancelled.")
    ended = wait_for("the job to stop", lambda: (j := get_job(job.id)).finished and j)
    assert ended.state == "cancelled" and ended.message == "cancelled while running"
    assert _count(Reading) == 0  # one batch, one transaction: nothing of it is stored
    with session_scope() as session:
        assert session.scalar(sa.select(IngestionBatch.status)) == "failed"
    assert page.refresh_jobs(2, None)["rows"][0]["state"] == "cancelled"


def test_a_job_whose_worker_process_is_killed_starts_over_and_stores_every_reading_once(store, worker):
    home = _home()
    file_id = save_file("big.csv", wide_load_csv(BIG_ROWS), "text/csv", scope=ANNA)
    job = start_job("ingest_upload", {"file_id": file_id, "mapping": load_mapping_spec(home), "file_kind": "csv",
                                      "filename": "big.csv"}, ANNA)
    wait_for("the job to read rows", lambda: get_job(job.id).message.endswith("rows read"))
    [child] = worker.pool_pids()
    os.kill(child, signal.SIGKILL)  # the process running the job dies mid-batch

    ended = wait_for("the job to end", lambda: (j := get_job(job.id)).finished and j)
    assert ended.state == "done", ended.error
    assert ended.result["summary"].startswith(f"received {BIG_ROWS}, inserted {BIG_ROWS}")
    assert _count(Reading) == BIG_ROWS
    with session_scope() as session:  # the killed attempt's batch never closed; the sweep records it later
        statuses = sorted(session.scalars(sa.select(IngestionBatch.status)))
    assert statuses == ["done", "running"]
    assert wait_for("a new pool process", lambda: worker.pool_pids() and worker.pool_pids()[0] != child)


def test_health_reports_the_worker_and_the_queue_depth_and_a_queued_job_cancels_unrun(store, worker):
    from services.config import get_settings
    from services.tasks.celery_app import BULK_QUEUE, celery_app

    settings = get_settings()
    # The ping waits 1 s for answers: a worker busy restarting its pool (a test before killed it) or a
    # loaded machine can miss one, so ask until it answers.
    status, detail = wait_for("the worker to answer a ping", lambda: (r := check_workers(settings))[0] == "ok" and r)
    assert status == "ok" and worker.name in detail
    by_name = wait_for("the health report to see the worker", lambda: (
        b := {s.name: s for s in check_services(settings).services})["workers"].status == "ok" and b)
    assert by_name["queues"].detail == "interactive: 0 waiting, bulk: 0 waiting"  # what /api/services/health reports

    celery_app.control.cancel_consumer(BULK_QUEUE, destination=[worker.name], reply=True)
    try:
        jobs = [start_job("sweep", {}) for _ in range(3)]
        assert check_queues(settings) == ("ok", "interactive: 0 waiting, bulk: 3 waiting")
        assert cancel_job(jobs[0].id).state == "cancelled"
    finally:
        celery_app.control.add_consumer(BULK_QUEUE, destination=[worker.name], reply=True)
    for job in jobs[1:]:
        assert wait_for(f"job {job.id}", lambda j=job: (v := get_job(j.id)).finished and v).state == "done"
    assert wait_for("an empty bulk queue", lambda: check_queues(settings)[1].endswith("bulk: 0 waiting"))
    cancelled = get_job(jobs[0].id)
    assert (cancelled.state, cancelled.started_at) == ("cancelled", None)  # revoked, and refused if delivered


def test_a_schedule_fired_with_a_frozen_time_runs_on_the_worker_and_beat_reports_it(store, worker):
    from services.config import get_settings
    from services.tasks.schedules import fire, last_runs

    frozen = datetime(2026, 12, 2, 3, 0, tzinfo=UTC)
    reply = fire.apply_async(("sweep_interrupted",), kwargs={"now": frozen.isoformat()}).get(timeout=PATIENCE_S)
    job = get_job(reply["job_id"])
    assert (job.kind, job.state, job.runner) == ("sweep", "done", "celery")
    assert job.started_by.label == "schedule sweep_interrupted"
    assert last_runs()["sweep_interrupted"] == (frozen, job.id, f"job {job.id} done")
    status, detail = check_beat(get_settings())
    assert status == "degraded"  # the frozen run is long past: beat looks stopped
    assert "last run sweep_interrupted at 2026-12-02 03:00 UTC" in detail and "celery -A worker beat" in detail


def test_the_jobs_page_queues_a_scheduled_job_for_the_worker(store, worker, dash_app):
    import pages.jobs as page

    out = page.start_now(1, "sweep")
    [job] = list_jobs()
    assert out["alert"] == f"Job {job.id} (Sweep of interrupted work) queued."
    done = wait_for("the sweep", lambda: (j := get_job(job.id)).finished and j)
    assert (done.state, done.runner, done.started_by.label) == ("done", "celery", "system")
