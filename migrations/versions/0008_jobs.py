"""Jobs, the files they take and give, and beat's last run per schedule.

Revision ID: 0008_jobs
Revises: 0002
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

import services.store.types

revision = "0008_jobs"
down_revision = "0009_fleet"
branch_labels = None
depends_on = None

UTC = services.store.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("started_by", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("message", sa.String(length=300), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("result_file_id", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("runner", sa.String(length=16), nullable=False),
        sa.Column("celery_task_id", sa.String(length=64), nullable=True),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("started_at", UTC, nullable=True),
        sa.Column("finished_at", UTC, nullable=True),
        sa.Column("heartbeat_at", UTC, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
    )
    op.create_index(op.f("ix_jobs_kind"), "jobs", ["kind"])
    op.create_index(op.f("ix_jobs_state"), "jobs", ["state"])
    op.create_index(op.f("ix_jobs_celery_task_id"), "jobs", ["celery_task_id"])
    op.create_index(op.f("ix_jobs_created_at"), "jobs", ["created_at"])
    op.create_table(
        "job_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("mimetype", sa.String(length=120), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_files")),
    )
    op.create_index(op.f("ix_job_files_created_at"), "job_files", ["created_at"])
    op.create_table(
        "schedule_runs",
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("last_run_at", UTC, nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column("detail", sa.String(length=300), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_schedule_runs")),
    )


def downgrade() -> None:
    op.drop_table("schedule_runs")
    op.drop_index(op.f("ix_job_files_created_at"), table_name="job_files")
    op.drop_table("job_files")
    for column in ("created_at", "celery_task_id", "state", "kind"):
        op.drop_index(op.f(f"ix_jobs_{column}"), table_name="jobs")
    op.drop_table("jobs")
