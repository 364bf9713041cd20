"""Fleet runs in chunks: a run row and one row per household (status, reason, plan).

Revision ID: 0009_fleet
Revises: 0005_meters
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

from services.store.types import UTCDateTime

revision = "0009_fleet"
down_revision = "0005_meters"  # chained after main's head when merging main (was "0002")
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "fleet_runs",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("scope", sa.JSON(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("engine", sa.String(16), nullable=False),
        sa.Column("households", sa.Integer(), nullable=False),
        sa.Column("chunks", sa.Integer(), nullable=False),
        sa.Column("chunk_size", sa.Integer(), nullable=False),
        sa.Column("planned", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
    )
    op.create_table(
        "fleet_run_households",
        sa.Column("run_id", sa.Integer(), sa.ForeignKey("fleet_runs.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("household_id", sa.Integer(), sa.ForeignKey("households.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("chunk", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("optimization_run_id", sa.Integer(),
                  sa.ForeignKey("optimization_runs.id", ondelete="SET NULL"), nullable=True),
        sa.Column("cost", sa.Float(), nullable=True),
        sa.Column("savings", sa.Float(), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_fleet_run_households_run_chunk", "fleet_run_households", ["run_id", "chunk", "status"])


def downgrade() -> None:
    op.drop_index("ix_fleet_run_households_run_chunk", table_name="fleet_run_households")
    op.drop_table("fleet_run_households")
    op.drop_table("fleet_runs")
