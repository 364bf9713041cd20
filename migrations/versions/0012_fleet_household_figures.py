"""A fleet run keeps, per household, what the Optimize page's fleet table shows: savings against
the self-consumption rule, self-sufficiency and equivalent full cycles, beside the cost and the
savings against no battery it kept already. Rows planned before have none (shown as missing).

Revision ID: 0012_fleet_household_figures
Revises: 0011_file_owners
Create Date: 2026-12-04
"""
import sqlalchemy as sa
from alembic import op

revision = "0012_fleet_household_figures"
down_revision = "0011_file_owners"
branch_labels = None
depends_on = None

COLUMNS = ("savings_vs_rule", "self_sufficiency", "cycles")


def upgrade() -> None:
    for name in COLUMNS:
        op.add_column("fleet_run_households", sa.Column(name, sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("fleet_run_households") as batch:
        for name in reversed(COLUMNS):
            batch.drop_column(name)
