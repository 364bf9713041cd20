"""Ingestion batches count rejections by reason and record meter register resets, rollovers and jumps.

Revision ID: 0003_ingest
Revises: 0002
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = "0003_ingest"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ingestion_batches") as batch:
        batch.add_column(sa.Column("rejected_by_reason", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("meter_events", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("meter_event_count", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("ingestion_batches") as batch:
        batch.drop_column("meter_event_count")
        batch.drop_column("meter_events")
        batch.drop_column("rejected_by_reason")
