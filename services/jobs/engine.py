"""Start, run and cancel jobs: the one entry point, :func:`start_job`, for pages, schedules and the CLI.

Where a job runs:

- With ``REDIS_URL`` set, :func:`start_job` queues it on the Celery ``bulk`` queue and returns at
  once; a worker (``celery -A worker worker``) runs it with :func:`execute_job`.
- ``here=True`` runs it in the calling process: a page's background callback does this, so that
  the job runs where the callback runs (a Celery worker on the ``interactive`` queue with Redis,
  a process of Dash's Diskcache manager without) and its progress bar follows the job.
- Without Redis every job runs here (the embedded default).

Either way the job is a row in the store (:mod:`services.jobs.records`) with who started it, its
progress, result or error, so that the Jobs page sees it and it outlives a web-server restart.

Starting a job needs role manager. Its runner runs as whoever started it
(``access.use_scope(job.started_by)``, on a worker and here alike), so that the services it calls
see that caller's organisation only. Only those who may see a job (:func:`records.visible_to`) may
cancel it; a cancel is recorded in the audit log.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable

from services import access
from services.access import SYSTEM_SCOPE, AccessScope
from services.config import get_settings
from services.jobs import records
from services.jobs.kinds import JobCancelled, job_kind
from services.jobs.records import JobView

log = logging.getLogger(__name__)

#: Progress is written to the store at most this often [s], unless it moved by PROGRESS_STEP [share];
#: a cancel is looked for at every step.
PROGRESS_EVERY_S = 0.5
PROGRESS_STEP = 0.05

#: How long queueing a job keeps trying an unreachable broker (about 2 s): a page must not hang on it.
QUEUE_RETRY = {"max_retries": 2, "interval_start": 0.5, "interval_step": 0.5, "interval_max": 1.0}

OnProgress = Callable[[int, int, str], None]


def queue_available() -> bool:
    """Whether jobs can be queued for Celery workers (``REDIS_URL`` is set)."""
    return bool(get_settings().redis_url)


def start_job(kind: str, params: dict, scope: AccessScope | None = None, *, here: bool = False,
              on_progress: OnProgress | None = None, on_start: Callable[[JobView], None] | None = None) -> JobView:
    """Record a job of ``kind`` and run it: queued for a worker, or here (see the module).

    Parameters
    ----------
    kind : str
        A name of :data:`services.jobs.kinds.KINDS` (or the file kinds).
    params : dict
        JSON parameters (ids, ISO dates, file ids); checked here, before anything is queued.
    scope : AccessScope, optional
        Who starts it (None: the current caller): stored with the job, its organisation's, and
        current while its runner runs. :class:`~services.access.Forbidden` below manager.
    here : bool
        Run in this process and return when it ends (a page's background callback).
    on_progress : callable, optional
        ``(done, total, stage)`` relayed from the runner when running here (a progress bar).
    on_start : callable, optional
        Called with the recorded job before it runs here (a page keeps its id for its Cancel button).

    Returns
    -------
    JobView
        The ended job when run here; the queued job otherwise.
    """
    job_kind(kind)  # an unknown kind is the caller's bug: say so before recording anything
    scope = access.require_role("manager", scope)
    try:
        json.dumps(params)
    except TypeError as exc:
        raise ValueError(f"job parameters must be JSON (pass ids, ISO dates and file ids): {exc}") from None
    if here or not queue_available():
        task_id = _current_task_id()
        job = records.create_job(kind, params, scope, runner="celery" if task_id else "embedded")
        if task_id:
            records.set_task_id(job.id, task_id, "celery")
        if on_start is not None:
            on_start(job)
        return execute_job(job.id, on_progress=on_progress, task_id=task_id)
    from services.tasks.celery_app import BULK_QUEUE
    from services.tasks.jobs import run_job

    task_id = uuid.uuid4().hex
    job = records.create_job(kind, params, scope, runner="celery")
    records.set_task_id(job.id, task_id, "celery")  # before the worker can see the task: Cancel can revoke it
    try:
        run_job.apply_async((job.id,), task_id=task_id, queue=BULK_QUEUE, retry_policy=QUEUE_RETRY)
    except Exception as exc:  # the broker is down: the job would wait forever for a task that was never sent
        log.warning("could not queue job %s", job.id, exc_info=True)
        records.finish_job(job.id, "failed", message="not queued",
                           error=f"Could not reach Redis to queue the job ({type(exc).__name__}: {exc}): "
                                 "check REDIS_URL and that Redis runs, then start the job again.")
    return records.get_job(job.id, SYSTEM_SCOPE)


def execute_job(job_id: int, on_progress: OnProgress | None = None, task_id: str | None = None,
                redelivered: bool = False) -> JobView:
    """Run the recorded job ``job_id`` in this process and record how it ended.

    A job that has ended already, was cancelled before it started or runs elsewhere is not run
    again: the call returns it as it is. ``redelivered`` (the broker gave task ``task_id`` out
    again because the worker running it died) lets a job that is still recorded as running start over.
    """
    if not records.mark_running(job_id, task_id, redelivered):
        return records.get_job(job_id, SYSTEM_SCOPE)
    job = records.get_job(job_id, SYSTEM_SCOPE)
    last_write = [0.0, 0.0]  # when [s, monotonic], at which share

    def progress(done: int, total: int, stage: str) -> None:
        share, now = done / max(total, 1), time.monotonic()
        if now - last_write[0] >= PROGRESS_EVERY_S or share - last_write[1] >= PROGRESS_STEP or done >= total:
            last_write[:] = [now, share]
            records.report_progress(job_id, share, stage)
        if on_progress is not None:
            on_progress(done, total, stage)
        if records.cancel_requested(job_id):
            raise JobCancelled(job_id)

    try:
        with access.use_scope(job.started_by):  # the services it calls see the starter's organisation only
            output = job_kind(job.kind).run(job.params, job.started_by, progress)
    except JobCancelled:
        records.finish_job(job_id, "cancelled", message="cancelled while running")
    except (ValueError, LookupError) as exc:  # a reason a person can act on
        records.finish_job(job_id, "failed", error=str(exc) or type(exc).__name__, message="failed")
    except Exception as exc:
        log.exception("job %s (%s) failed", job_id, job.kind)
        records.finish_job(job_id, "failed", message="failed",
                           error=f"Unexpected error ({type(exc).__name__}: {exc}); the worker's log has the trace.")
    else:
        if records.get_job(job_id, SYSTEM_SCOPE).cancel_requested:  # cancelled during its last step: its result is not wanted
            records.finish_job(job_id, "cancelled", message="cancelled while running")
        else:
            records.finish_job(job_id, "done", result=output.summary, result_file_id=output.file_id, message="done")
    return records.get_job(job_id, SYSTEM_SCOPE)


def cancel_job(job_id: int, scope: AccessScope | None = None, *, process_stopped: bool = False) -> JobView:
    """Cancel the job: a queued one ends at once (and its Celery task is revoked so that no worker
    starts it); a running one stops at its next progress step. Ended jobs are left as they are.

    ``process_stopped``: the caller has stopped the process running the job (Dash's cancel of a
    background callback), so the job is recorded as cancelled now. ``scope`` is who cancels (None:
    the current caller); :class:`records.JobNotFound` for a job they may not see. Audited by
    :func:`records.request_cancel`.
    """
    job = records.request_cancel(job_id, scope)
    if (process_stopped or job.interrupted) and not job.finished:  # no process left to stop at a step
        records.finish_job(job_id, "cancelled", message="cancelled from its page")
    if job.celery_task_id and queue_available():
        try:
            from services.tasks.celery_app import celery_app

            celery_app.control.revoke(job.celery_task_id)
        except Exception:  # the flag in the store stops the job anyway; the broker may be down
            log.warning("could not revoke task %s of job %s", job.celery_task_id, job_id, exc_info=True)
    return records.get_job(job_id, SYSTEM_SCOPE)


def _current_task_id() -> str | None:
    """The id of the Celery task this process is running (a background callback), if any."""
    try:
        from celery import current_task
    except ImportError:
        return None
    request = getattr(current_task, "request", None) if current_task else None
    if request is None or getattr(request, "called_directly", True):
        return None
    return request.id
