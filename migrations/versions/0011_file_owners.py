"""Files kept for jobs (uploads, reports) remember who saved them, so that only they (and their
organisation's admins) can read them back by id.

Existing files have no owner: only the system (command line, workers) reads those, and they are
swept after seven days anyway.

Revision ID: 0011_file_owners
Revises: 0010_accounts
Create Date: 2026-12-03
"""
import sqlalchemy as sa
from alembic import op

revision = "0011_file_owners"
down_revision = "0010_accounts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("job_files", sa.Column("organisation_id", sa.Integer(), nullable=True))
    op.add_column("job_files", sa.Column("user_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("job_files") as batch:
        batch.drop_column("user_id")
        batch.drop_column("organisation_id")
