"""Seasonal time-of-use periods: a month mask on tariff periods.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tariff_periods") as batch:
        batch.add_column(sa.Column("months", sa.Integer(), nullable=False, server_default="4095"))


def downgrade() -> None:
    with op.batch_alter_table("tariff_periods") as batch:
        batch.drop_column("months")
