"""Households say whether their PV export can be curtailed at negative feed-in prices.

Revision ID: 0005_meters
Revises: 0002
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = "0005_meters"
down_revision = "0004_mqtt"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("households") as batch:
        batch.add_column(sa.Column("export_curtailable", sa.Boolean(), nullable=False, server_default=sa.true()))


def downgrade() -> None:
    with op.batch_alter_table("households") as batch:
        batch.drop_column("export_curtailable")
