"""The ``jobs`` table's read and write side: one place that creates, moves and reads job rows.

A state only moves forward: queued -> running -> done | failed | cancelled. Every write of an end
state is conditional on the job not having ended already, so a cancelled job that its process
finishes anyway stays cancelled, and a redelivered task that finds its job ended does nothing.

A job belongs to the organisation of whoever started it (``organisation_id``; None for the system:
beat, the command line). A caller (``scope``, None: the current one) sees a job only when it is of
the caller's organisation and the caller started it (the same user, or for a token without a user
the same token) or is an admin there; the system sees every job. Any other job is
:class:`JobNotFound`, exactly like one that does not exist.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa

from services import access
from services.access import AccessScope
from services.auth import record
from services.config import CACHE_DIR
from services.store.db import get_engine, session_scope
from services.store.models import FINISHED_STATES, Job, utcnow

if TYPE_CHECKING:
    from services.jobs.files import StoredFile

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
    """No job with this id that the caller may see."""


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


def create_job(kind: str, params: dict, scope: AccessScope | None = None, runner: str = "embedded") -> JobView:
    """A new ``queued`` job row of the scope's organisation (None for the system); ``params`` must be
    JSON (ids, dates as ISO text, never file bytes)."""
    scope = access.resolve(scope)
    with session_scope() as session:
        job = Job(organisation_id=scope.organisation_id, kind=kind, params=params, started_by=scope.as_dict(),
                  state="queued", progress=0.0, message="waiting for a worker" if runner == "celery" else "starting",
                  runner=runner, cancel_requested=False, created_at=utcnow())
        session.add(job)
        session.flush()
        return _view(job)


def get_job(job_id: int, scope: AccessScope | None = None) -> JobView:
    """The job ``job_id``; raises :class:`JobNotFound` also for a job the scope may not see."""
    with session_scope() as session:
        job = session.scalar(sa.select(Job).where(Job.id == job_id, visible_to(scope)))
        if job is None:
            raise JobNotFound(f"job {job_id} does not exist")
        return _view(job)


def list_jobs(limit: int = 100, scope: AccessScope | None = None, kinds: tuple[str, ...] = ()) -> list[JobView]:
    """The newest ``limit`` jobs the scope may see, newest first (only ``kinds`` when given)."""
    query = sa.select(Job).where(visible_to(scope)).order_by(Job.created_at.desc(), Job.id.desc()).limit(limit)
    if kinds:
        query = query.where(Job.kind.in_(kinds))
    with session_scope() as session:
        return [_view(j) for j in session.scalars(query)]


def result_file(job_id: int, scope: AccessScope | None = None) -> StoredFile:
    """The file job ``job_id`` made (a report); :class:`JobNotFound` for a job the scope may not see,
    LookupError when the job made none or the file is no longer kept."""
    from services.jobs.files import read_file

    job = get_job(job_id, scope)
    if job.result_file_id is None:
        raise LookupError(f"job {job_id} made no file")
    return read_file(job.result_file_id)


def visible_to(scope: AccessScope | None = None) -> sa.ColumnElement[bool]:
    """A WHERE clause keeping the jobs ``scope`` may see (see the module docstring)."""
    scope = access.resolve(scope)
    if scope.is_system:
        return sa.true()
    same_organisation = Job.organisation_id == scope.organisation_id
    if scope.can("admin"):
        return same_organisation
    if scope.user_id is not None:
        return sa.and_(same_organisation, Job.started_by["user_id"].as_integer() == scope.user_id)
    if scope.token_id is not None:
        return sa.and_(same_organisation, Job.started_by["user_id"].as_integer().is_(None),
                       Job.started_by["token_id"].as_integer() == scope.token_id)
    return sa.false()  # nobody in particular: only the organisation's admins and the system see its jobs


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
        _pending_cancel_audit(job_id)
        _cancel_flag(job_id).unlink(missing_ok=True)
        _side_file("job-progress", job_id).unlink(missing_ok=True)
    return done.rowcount == 1


def request_cancel(job_id: int, scope: AccessScope | None = None) -> JobView:
    """Flag the job for cancelling; a queued job ends ``cancelled`` at once, a running one when
    it next reports progress.

    On SQLite a running job may hold the one write lock for a while (an ingestion batch is one
    transaction): the flag is then also left as a file next to the store, which
    :func:`report_progress` looks for, so that Cancel works without waiting for the lock.
    Raises :class:`JobNotFound` (nothing flagged) for a job ``scope`` may not see. The cancel of a
    job not ended yet is recorded in the audit log (``job.cancel``); when the job holds the lock,
    the entry waits in the flag file and :func:`finish_job` writes it once the lock is free.
    """
    scope = access.resolve(scope)
    before = get_job(job_id, scope).state
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
            ended_queued = state == "queued" and conn.execute(
                sa.update(Job).where(Job.id == job_id, Job.state == "queued").values(
                    cancel_requested=True, state="cancelled", finished_at=utcnow(),
                    message="cancelled before it started")).rowcount == 1
            conn.execute(sa.update(Job).where(Job.id == job_id, Job.state.not_in(FINISHED_STATES))
                         .values(cancel_requested=True))
            conn.commit()
            if sqlite and ended_queued:  # it never runs: a flag left behind would cancel a later job of this id
                _cancel_flag(job_id).unlink(missing_ok=True)
        except sa.exc.OperationalError:
            conn.rollback()
            if not sqlite:
                raise
            locked = True  # the running job holds the write lock: it reads the flag file
        finally:
            if sqlite:
                conn.exec_driver_sql(f"PRAGMA busy_timeout = {SQLITE_BUSY_MS}")
                conn.commit()
    if before not in FINISHED_STATES:
        if locked:
            _cancel_flag(job_id).write_text(json.dumps({"scope": scope.as_dict(), "state": before}))
        else:
            _audit_cancel(job_id, scope, before)
    view = get_job(job_id, access.SYSTEM_SCOPE)
    return replace(view, cancel_requested=True) if locked else view


def _audit_cancel(job_id: int, scope: AccessScope, state_before: str) -> None:
    record(scope, "job.cancel", f"job:{job_id}", {"state": state_before}, {"cancel_requested": True})


def _pending_cancel_audit(job_id: int) -> None:
    """Write the audit entry of a cancel that found the job holding SQLite's lock (see :func:`request_cancel`)."""
    try:
        pending = json.loads(_cancel_flag(job_id).read_text() or "null")
    except (OSError, ValueError):
        return
    if isinstance(pending, dict):
        _audit_cancel(job_id, AccessScope.from_dict(pending.get("scope")), str(pending.get("state")))


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
