"""Beat's schedules: what runs when, without anyone asking.

=====================  ==========================================  =============================
schedule               job kind                                    when (settings)
=====================  ==========================================  =============================
weather_refresh        ``weather_refresh`` (next 48 h)             every WEATHER_REFRESH_MINUTES
issue_forecasts        ``forecast_issue`` (next 48 h, stored)      every WEATHER_REFRESH_MINUTES
retrain_stale_models   ``forecast_retrain_stale``                  daily at RETRAIN_AT
sweep_interrupted      ``sweep`` (batches, jobs, old files)        every SWEEP_MINUTES
requeue_fleet_chunks   ``fleet_requeue`` (idle STALE_CHUNK_S)       every REQUEUE_FLEET_CHUNKS_EVERY
fleet_plan_tomorrow    ``fleet_tomorrow``                          daily at FLEET_PLAN_AT
evaluate_alerts        ``alerts``                                  every ALERTS_MINUTES
alert_digest           ``alerts_digest``                           daily at DIGEST_AT
=====================  ==========================================  =============================

Clock times are local to SCHEDULE_TIMEZONE. Beat only sends ``schedules.fire(name)``; the worker
that runs it records the run in ``schedule_runs`` (beat's last run, for the health report) and
runs the job there, as a job row the Jobs page shows, started by "schedule <name>".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from celery.schedules import crontab

from services.access import AccessScope
from services.config import PROJECT_ROOT, Settings, get_settings
from services.jobs import start_job
from services.jobs.records import JobView
from services.store.db import session_scope
from services.store.models import ScheduleRun, utcnow
from services.tasks.celery_app import BULK_QUEUE, celery_app

#: How often fleet runs are checked for chunks whose worker died (fleet_runs.STALE_CHUNK_S says when
#: a run counts as stalled): a plan for tomorrow should not wait for the 15-minute sweep's hour.
REQUEUE_FLEET_CHUNKS_EVERY = timedelta(minutes=5)


@dataclass(frozen=True)
class Schedule:
    """A schedule: run job ``kind`` with ``params`` every ``every`` or daily at local ``at`` (HH:MM)."""

    name: str
    kind: str
    every: timedelta | None = None
    at: str | None = None
    params: dict = field(default_factory=dict)

    @property
    def when(self) -> str:
        """In words, for the health report and the README."""
        if self.at:
            return f"daily at {self.at}"
        minutes = self.every.total_seconds() / 60 if self.every else 0
        return "hourly" if minutes == 60 else f"every {minutes:g} min"


def schedules(settings: Settings | None = None) -> tuple[Schedule, ...]:
    """The schedules, with the times of ``settings`` (default: the process's)."""
    s = settings or get_settings()
    return (
        Schedule("weather_refresh", "weather_refresh", every=timedelta(minutes=s.weather_refresh_minutes),
                 params={"hours": 48}),
        # The optimizer plans with stored forecasts; viewing one stores nothing, so they are issued here.
        Schedule("issue_forecasts", "forecast_issue", every=timedelta(minutes=s.weather_refresh_minutes),
                 params={"hours": 48}),
        Schedule("retrain_stale_models", "forecast_retrain_stale", at=s.retrain_at),
        Schedule("sweep_interrupted", "sweep", every=timedelta(minutes=s.sweep_minutes)),
        Schedule("requeue_fleet_chunks", "fleet_requeue", every=REQUEUE_FLEET_CHUNKS_EVERY),
        Schedule("fleet_plan_tomorrow", "fleet_tomorrow", at=s.fleet_plan_at),
        Schedule("evaluate_alerts", "alerts", every=timedelta(minutes=s.alerts_minutes)),
        Schedule("alert_digest", "alerts_digest", at=s.digest_at),
    )


def beat_schedule(settings: Settings | None = None) -> dict[str, dict]:
    """Celery's ``beat_schedule``: each entry sends ``schedules.fire(name)`` to the bulk queue."""
    out = {}
    for item in schedules(settings):
        if item.at:
            hour, minute = item.at.split(":")
            when = crontab(hour=int(hour), minute=int(minute))
        else:
            when = item.every
        out[item.name] = {"task": "schedules.fire", "schedule": when, "args": (item.name,),
                          "options": {"queue": BULK_QUEUE}}
    return out


def fire_schedule(name: str, now: datetime | None = None) -> JobView:
    """Run schedule ``name`` now, in this process: record the run, then run its job here.

    ``now`` [UTC] is the time recorded as the run (tests freeze it); the job itself runs now.
    """
    by_name = {s.name: s for s in schedules()}
    if name not in by_name:
        raise ValueError(f"unknown schedule {name!r}: one of {', '.join(by_name)}")
    item = by_name[name]
    fired_at = now or utcnow()
    _record_run(name, fired_at, None, "started")
    scope = AccessScope(label=f"schedule {name}")
    job = start_job(item.kind, dict(item.params), scope, here=True)
    _record_run(name, fired_at, job.id, f"job {job.id} {job.state}")
    return job


def last_runs(url: str | None = None) -> dict[str, tuple[datetime, int | None, str]]:
    """Per schedule that has run: (when [UTC], its job id, what happened)."""
    with session_scope(url) as session:
        rows = session.execute(sa.select(ScheduleRun.name, ScheduleRun.last_run_at, ScheduleRun.job_id,
                                         ScheduleRun.detail)).all()
    return {name: (at, job_id, detail) for name, at, job_id, detail in rows}


def _record_run(name: str, at: datetime, job_id: int | None, detail: str) -> None:
    with session_scope() as session:
        row = session.get(ScheduleRun, name)
        if row is None:
            session.add(ScheduleRun(name=name, last_run_at=at, job_id=job_id, detail=detail[:300]))
        else:
            row.last_run_at, row.job_id, row.detail = at, job_id, detail[:300]


@celery_app.task(name="schedules.fire")
def fire(name: str, now: str | None = None) -> dict:
    """What beat sends: run schedule ``name`` on this worker (``now``: ISO time to record, for tests)."""
    job = fire_schedule(name, datetime.fromisoformat(now) if now else None)
    return {"schedule": name, "job_id": job.id, "state": job.state}


def install(app=celery_app, settings: Settings | None = None) -> None:
    """Give the Celery app the schedules, in the schedules' time zone."""
    s = settings or get_settings()
    app.conf.update(beat_schedule=beat_schedule(s), timezone=s.schedule_timezone,
                    beat_schedule_filename=str(PROJECT_ROOT / "data" / "celerybeat-schedule"))


install()
