"""Jobs: long work started by a person, a schedule or the CLI, and the files they take and give.

A job row is the one record of a job, whoever runs it (a Celery worker or the process that
started it): the Jobs page, a restarted web server and the workers all read it from here.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from services.store.models.accounts import organisation_column
from services.store.models.base import Base, utcnow
from services.store.types import UTCDateTime

JOB_STATES = ("queued", "running", "done", "failed", "cancelled")
FINISHED_STATES = ("done", "failed", "cancelled")


class Job(Base):
    """One job: what (``kind`` + ``params``), who (``started_by``: an AccessScope as JSON), how far.

    ``progress`` is the share done [0-1] with ``message`` saying the stage; ``result`` is a small
    JSON summary and ``result_file_id`` a :class:`JobFile` (a report) when the job makes a file.
    ``heartbeat_at`` moves with progress: a running job whose heartbeat stops lost its process.
    """

    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int | None] = organisation_column(nullable=True)  # None: a system job (beat, CLI)
    kind: Mapped[str] = mapped_column(sa.String(40), index=True)
    params: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    started_by: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    state: Mapped[str] = mapped_column(sa.String(16), default="queued", index=True)
    progress: Mapped[float] = mapped_column(sa.Float, default=0.0, doc="share done, 0-1")
    message: Mapped[str] = mapped_column(sa.String(300), default="")
    result: Mapped[dict | None] = mapped_column(sa.JSON)
    result_file_id: Mapped[int | None] = mapped_column(sa.Integer)
    error: Mapped[str | None] = mapped_column(sa.Text)
    runner: Mapped[str] = mapped_column(sa.String(16), default="embedded", doc="celery or embedded")
    celery_task_id: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    cancel_requested: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class JobFile(Base):
    """A file a job takes (an upload) or gives (a report), kept in the store and passed by id,
    so that no file travels through the broker. ``organisation_id`` / ``user_id``: who saved it
    (None: the system), the only ones besides the organisation's admins who may read it."""

    __tablename__ = "job_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    filename: Mapped[str] = mapped_column(sa.String(255))
    mimetype: Mapped[str] = mapped_column(sa.String(120), default="application/octet-stream")
    size_bytes: Mapped[int] = mapped_column(sa.Integer, default=0)
    content: Mapped[bytes] = mapped_column(sa.LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    organisation_id: Mapped[int | None] = mapped_column(sa.Integer)
    user_id: Mapped[int | None] = mapped_column(sa.Integer)


class ScheduleRun(Base):
    """Beat's last run of each schedule: when it fired and the job it started."""

    __tablename__ = "schedule_runs"

    name: Mapped[str] = mapped_column(sa.String(60), primary_key=True)
    last_run_at: Mapped[datetime] = mapped_column(UTCDateTime)
    job_id: Mapped[int | None] = mapped_column(sa.Integer)
    detail: Mapped[str] = mapped_column(sa.String(300), default="")
