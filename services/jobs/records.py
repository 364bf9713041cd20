"""The ``jobs`` table's read and write side: one place that creates, moves and reads job rows.

A state only moves forward: queued -> running -> done | failed | cancelled. Every write of an end
state is conditional on the job not having ended already, so a cancelled job that its process
finishes anyway stays cancelled, and a redelivered task that finds its job ended does nothing.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from services.access import LOCAL_SCOPE, AccessScope
from services.config import CACHE_DIR
from services.store.db import get_engine, session_scope
from services.store.models import FINISHED_STATES, Job, utcnow

log = logging.getLogger(__name__)

#: How long a progress write waits for SQLite's write lock [ms], and the store's usual wait [ms].
SQLITE_PROGRESS_WAIT_MS = 100
SQLITE_BUSY_MS = 30_000
SQLITE_CANCEL_WAIT_MS = 2_000

#: Ended jobs older than this are removed by the sweep schedule.
KEEP_JOBS = timedelta(days=90)

#: A running job whose heartbeat is older than this lost its process (a killed worker, a restart).
STALE_AFTER = timedelta(minutes=30)
INTERRUPTED_REASON = (f"No progress for {STALE_AFTER.total_seconds() / 60:.0f} minutes: the process running it "
                      "stopped (a restart or a killed worker). Start the job again.")



class JobNotFound(LookupError):
    """No job with this id."""


@dataclass(frozen=True)
class JobView:
    """A job as pages, the API and tests see it (UTC times; ``progress`` 0-1)."""

    id: int
    kind: str
    params: dict
    started_by: AccessScope
    state: str
    progress: float
    message: str
    result: dict | None
    result_file_id: int | None
    error: str | None
    runner: str
    celery_task_id: str | None
    cancel_requested: bool
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    interrupted: bool = False
    """Recorded as running, but with no heartbeat for :data:`STALE_AFTER`: its process is gone (a
    restart of the web server, a killed worker). Read, not stored: the sweep records it as failed."""

    @property
    def finished(self) -> bool:
        return self.state in FINISHED_STATES

    @property
    def duration_s(self) -> float | None:
        """Seconds from start to end (or to now while running) [s]; None before it starts."""
        if self.started_at is None:
            return None
        return ((self.finished_at or utcnow()) - self.started_at).total_seconds()


def _view(job: Job) -> JobView:
    progress, message = _side_progress(job) or (float(job.progress or 0.0), job.message or "")
    return JobView(job.id, job.kind, dict(job.params or {}), AccessScope.from_dict(job.started_by), job.state,
                   progress, message, job.result, job.result_file_id, job.error,
                   job.runner, job.celery_task_id, bool(job.cancel_requested), job.created_at, job.started_at,
                   job.finished_at, _interrupted(job))


def _interrupted(job: Job) -> bool:
    if job.state != "running":
        return False
    now = utcnow()
    return (job.heartbeat_at or job.created_at) < now - STALE_AFTER and not _beats_in_side_file(job.id, now)


def create_job(kind: str, params: dict, scope: AccessScope = LOCAL_SCOPE, runner: str = "embedded") -> JobView:
    """A new ``queued`` job row; ``params`` must be JSON (ids, dates as ISO text, never file bytes)."""
    with session_scope() as session:
        job = Job(kind=kind, params=params, started_by=scope.as_dict(), state="queued", progress=0.0,
                  message="waiting for a worker" if runner == "celery" else "starting", runner=runner,
                  cancel_requested=False, created_at=utcnow())
        session.add(job)
        session.flush()
        return _view(job)


def get_job(job_id: int) -> JobView:
    """The job ``job_id``; raises :class:`JobNotFound`."""
    with session_scope() as session:
        job = session.get(Job, job_id)
        if job is None:
            raise JobNotFound(f"job {job_id} does not exist")
        return _view(job)


def list_jobs(limit: int = 100, scope: AccessScope = LOCAL_SCOPE, kinds: tuple[str, ...] = ()) -> list[JobView]:
    """The newest ``limit`` jobs, newest first (only ``kinds`` when given).

    ``scope`` is where sign-in will narrow the list to the caller's organisation; today every
    caller is the local user and sees every job.
    """
    query = sa.select(Job).order_by(Job.created_at.desc(), Job.id.desc()).limit(limit)
    if kinds:
        query = query.where(Job.kind.in_(kinds))
    with session_scope() as session:
        return [_view(j) for j in session.scalars(query)]


def set_task_id(job_id: int, task_id: str | None, runner: str) -> None:
    """Record which Celery task (if any) runs the job, so that Cancel can revoke it."""
    with session_scope() as session:
        session.execute(sa.update(Job).where(Job.id == job_id).values(celery_task_id=task_id, runner=runner))


def mark_running(job_id: int, task_id: str | None = None, redelivered: bool = False) -> bool:
    """queued -> running; False when the job has ended already (cancelled before it started) or
    runs elsewhere.

    A running job is started again only when its process is known dead: its own Celery task came
    back redelivered (the worker running it died, and the broker gave the task out again), or its
    heartbeat stopped :data:`STALE_AFTER` ago. Every job kind is safe to run again (one
    transaction, or upserts).
    """
    now = utcnow()
    values = {"state": "running", "started_at": now, "heartbeat_at": now, "message": "started", "progress": 0.0}
    if task_id:
        values["celery_task_id"] = task_id
    restartable = [sa.and_(Job.state == "running", Job.heartbeat_at < now - STALE_AFTER)]
    if redelivered and task_id:
        restartable.append(sa.and_(Job.state == "running", Job.celery_task_id == task_id))
    with session_scope() as session:
        done = session.execute(sa.update(Job).where(Job.id == job_id, sa.or_(Job.state == "queued", *restartable),
                                                    Job.cancel_requested.is_(False)).values(**values))
        return done.rowcount == 1


def cancel_requested(job_id: int) -> bool:
    """Whether someone asked to cancel the job (a cheap read: a runner asks at every step)."""
    with session_scope() as session:
        cancel = bool(session.scalar(sa.select(Job.cancel_requested).where(Job.id == job_id)))
    return cancel or (get_engine().dialect.name == "sqlite" and _cancel_flag(job_id).exists())


def report_progress(job_id: int, share: float, message: str) -> None:
    """Move the job's progress [0-1] and heartbeat.

    The job may be writing in a transaction of its own (an ingestion batch is one): on SQLite,
    which has one writer at a time, the progress write then waits only briefly and, when the job
    holds the lock, goes to a side file that job views read until the job ends
    (:func:`cancel_requested` only reads, and WAL readers never wait).
    """
    engine = get_engine()
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as conn:
        if sqlite:
            conn.exec_driver_sql(f"PRAGMA busy_timeout = {SQLITE_PROGRESS_WAIT_MS}")
            conn.commit()
        try:
            conn.execute(sa.update(Job).where(Job.id == job_id, Job.state == "running").values(
                progress=min(max(float(share), 0.0), 1.0), message=message[:300], heartbeat_at=utcnow()))
            conn.commit()
        except sa.exc.OperationalError:
            conn.rollback()
            if not sqlite:
                raise
            # The job's own transaction holds the lock: leave the progress next to the store instead.
            _side_file("job-progress", job_id).parent.mkdir(parents=True, exist_ok=True)
            _side_file("job-progress", job_id).write_text(json.dumps({"progress": share, "message": message[:300]}))
        finally:
            if sqlite:
                conn.exec_driver_sql(f"PRAGMA busy_timeout = {SQLITE_BUSY_MS}")
                conn.commit()


def finish_job(job_id: int, state: str, *, result: dict | None = None, result_file_id: int | None = None,
               error: str | None = None, message: str = "") -> bool:
    """End the job in ``state`` (done, failed, cancelled) unless it has ended already."""
    if state not in FINISHED_STATES:
        raise ValueError(f"not an end state: {state!r}")
    values = {"state": state, "finished_at": utcnow(), "result": result, "result_file_id": result_file_id,
              "error": error, "message": message[:300]}
    if state == "done":
        values["progress"] = 1.0
    with session_scope() as session:
        done = session.execute(sa.update(Job).where(Job.id == job_id, Job.state.not_in(FINISHED_STATES))
                               .values(**values))
    if get_engine().dialect.name == "sqlite":
        _cancel_flag(job_id).unlink(missing_ok=True)
        _side_file("job-progress", job_id).unlink(missing_ok=True)
    return done.rowcount == 1


def request_cancel(job_id: int) -> JobView:
    """Flag the job for cancelling; a queued job ends ``cancelled`` at once, a running one when
    it next reports progress.

    On SQLite a running job may hold the one write lock for a while (an ingestion batch is one
    transaction): the flag is then also left as a file next to the store, which
    :func:`report_progress` looks for, so that Cancel works without waiting for the lock.
    """
    engine = get_engine()
    sqlite = engine.dialect.name == "sqlite"
    if sqlite:
        _cancel_flag(job_id).parent.mkdir(parents=True, exist_ok=True)
        _cancel_flag(job_id).touch()
    locked = False
    with engine.connect() as conn:
        if sqlite:
            conn.exec_driver_sql(f"PRAGMA busy_timeout = {SQLITE_CANCEL_WAIT_MS}")
            conn.commit()
        try:
            state = conn.scalar(sa.select(Job.state).where(Job.id == job_id))
            if sqlite and (state is None or state in FINISHED_STATES):
                # No run left to stop: a flag left behind would cancel a later job given this id.
                _cancel_flag(job_id).unlink(missing_ok=True)
            if state is None:
                raise JobNotFound(f"job {job_id} does not exist")
            if state == "queued":
                conn.execute(sa.update(Job).where(Job.id == job_id, Job.state == "queued").values(
                    cancel_requested=True, state="cancelled", finished_at=utcnow(),
                    message="cancelled before it started"))
            conn.execute(sa.update(Job).where(Job.id == job_id, Job.state.not_in(FINISHED_STATES))
                         .values(cancel_requested=True))
            conn.commit()
        except sa.exc.OperationalError:
            conn.rollback()
            if not sqlite:
                raise
            locked = True  # the running job holds the write lock: it reads the flag file
        finally:
            if sqlite:
                conn.exec_driver_sql(f"PRAGMA busy_timeout = {SQLITE_BUSY_MS}")
                conn.commit()
    view = get_job(job_id)
    return replace(view, cancel_requested=True) if locked else view


def _cancel_flag(job_id: int) -> Path:
    return _side_file("job-cancel", job_id)


def _side_file(folder: str, job_id: int) -> Path:
    """A file next to an SQLite store about one of its jobs (SQLite stores are on the machine that runs them)."""
    database = hashlib.sha1(get_engine().url.render_as_string().encode()).hexdigest()[:12]
    return CACHE_DIR / folder / f"{database}-{job_id}"


def _side_progress(job: Job) -> tuple[float, str] | None:
    """Progress a running SQLite job could only leave in a side file (see :func:`report_progress`)."""
    if job.state != "running" or get_engine().dialect.name != "sqlite":
        return None
    try:
        data = json.loads(_side_file("job-progress", job.id).read_text())
    except (OSError, ValueError):
        return None
    return float(data["progress"]), str(data["message"])


def fail_stale_jobs(now: datetime | None = None) -> list[int]:
    """End as failed every running job whose heartbeat stopped :data:`STALE_AFTER` ago; their ids.

    On SQLite a job inside its own long transaction beats in its side file instead (see
    :func:`report_progress`): that counts too.
    """
    now = now or utcnow()
    with session_scope() as session:
        stale = list(session.scalars(sa.select(Job.id).where(
            Job.state == "running", sa.func.coalesce(Job.heartbeat_at, Job.created_at) < now - STALE_AFTER)))
    stale = [job_id for job_id in stale if not _beats_in_side_file(job_id, now)]
    if stale:
        with session_scope() as session:
            session.execute(sa.update(Job).where(Job.id.in_(stale)).values(
                state="failed", finished_at=now, message="interrupted", error=INTERRUPTED_REASON))
    return stale


def _beats_in_side_file(job_id: int, now: datetime) -> bool:
    if get_engine().dialect.name != "sqlite":
        return False
    try:
        beat = datetime.fromtimestamp(_side_file("job-progress", job_id).stat().st_mtime, tz=now.tzinfo)
    except OSError:
        return False
    return beat >= now - STALE_AFTER


def delete_old_jobs(now: datetime | None = None) -> int:
    """Remove jobs that ended more than :data:`KEEP_JOBS` ago; how many were removed."""
    cutoff = (now or utcnow()) - KEEP_JOBS
    with session_scope() as session:
        return session.execute(sa.delete(Job).where(Job.state.in_(FINISHED_STATES),
                                                    Job.finished_at < cutoff)).rowcount
