"""Organisations, users, memberships, API tokens and the audit log; every household-owned table
gets its organisation, and existing data goes into the default organisation (id 1).

Names that were unique across the store (households, tariffs, saved mappings) become unique
within an organisation, so that two clients may each have a "Home 1".

Revision ID: 0010_accounts
Revises: 0008_jobs
Create Date: 2026-12-02
"""
from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op

from services.store.types import UTCDateTime

revision = "0010_accounts"
down_revision = "0008_jobs"
branch_labels = None
depends_on = None

ROLE_CHECK = "role IN ('viewer', 'manager', 'admin')"
#: Tables whose rows belong to one organisation, and whether a row may belong to none.
OWNED = {"households": False, "tariffs": False, "ingestion_mappings": False, "ingestion_batches": False,
         "jobs": True, "fleet_runs": True}
#: Names unique within an organisation (were unique in the whole store).
RENAMED_UNIQUE = ("households", "tariffs", "ingestion_mappings")


def upgrade() -> None:
    op.create_table(
        "organisations",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("name", name=op.f("uq_organisations_name")),
    )
    op.bulk_insert(sa.table("organisations", sa.column("id", sa.Integer), sa.column("name", sa.String),
                            sa.column("created_at", UTCDateTime())),
                   [{"id": 1, "name": "Default organisation", "created_at": datetime.now(timezone.utc)}])
    if op.get_bind().dialect.name == "postgresql":  # the row above was given its id: move the sequence past it
        op.execute("SELECT setval(pg_get_serial_sequence('organisations', 'id'), 1)")
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("demo", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("password_changed_at", UTCDateTime(), nullable=False),
        sa.Column("last_sign_in_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
    )
    op.create_table(
        "memberships",
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE",
                                                          name=op.f("fk_memberships_user_id_users")), nullable=False),
        sa.Column("organisation_id", sa.Integer(),
                  sa.ForeignKey("organisations.id", ondelete="CASCADE",
                                name=op.f("fk_memberships_organisation_id_organisations")), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "organisation_id", name=op.f("pk_memberships")),
        sa.CheckConstraint(ROLE_CHECK, name=op.f("ck_memberships_membership_role")),
    )
    op.create_index(op.f("ix_memberships_organisation_id"), "memberships", ["organisation_id"])
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("organisation_id", sa.Integer(),
                  sa.ForeignKey("organisations.id", ondelete="CASCADE",
                                name=op.f("fk_api_tokens_organisation_id_organisations")), nullable=False),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="SET NULL",
                                                          name=op.f("fk_api_tokens_user_id_users")), nullable=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("last_used_at", UTCDateTime(), nullable=True),
        sa.Column("expires_at", UTCDateTime(), nullable=True),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
        sa.CheckConstraint(ROLE_CHECK, name=op.f("ck_api_tokens_api_token_role")),
    )
    op.create_index(op.f("ix_api_tokens_organisation_id"), "api_tokens", ["organisation_id"])
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("token_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(254), nullable=False),
        sa.Column("action", sa.String(60), nullable=False),
        sa.Column("target", sa.String(120), nullable=False),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
    )
    op.create_index(op.f("ix_audit_log_at"), "audit_log", ["at"])
    op.create_index(op.f("ix_audit_log_organisation_id"), "audit_log", ["organisation_id"])

    for table, nullable in OWNED.items():
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("organisation_id", sa.Integer(), nullable=nullable,
                                       server_default=None if nullable else "1"))
            batch.create_foreign_key(f"fk_{table}_organisation_id_organisations", "organisations",
                                     ["organisation_id"], ["id"], ondelete="CASCADE")
            batch.create_index(f"ix_{table}_organisation_id", ["organisation_id"])
            if table in RENAMED_UNIQUE:
                batch.drop_constraint(f"uq_{table}_name", type_="unique")
                batch.create_unique_constraint(f"uq_{table}_organisation_name", ["organisation_id", "name"])
    op.execute("UPDATE jobs SET organisation_id = 1")
    op.execute("UPDATE fleet_runs SET organisation_id = 1")
    with op.batch_alter_table("mqtt_rejections") as batch:
        batch.add_column(sa.Column("organisation_id", sa.Integer(), nullable=True))
        batch.create_index("ix_mqtt_rejections_organisation_id", ["organisation_id"])
    op.execute("UPDATE mqtt_rejections SET organisation_id = 1 WHERE household_id IN (SELECT id FROM households)")


def downgrade() -> None:
    with op.batch_alter_table("mqtt_rejections") as batch:
        batch.drop_index("ix_mqtt_rejections_organisation_id")
        batch.drop_column("organisation_id")
    for table in reversed(list(OWNED)):
        with op.batch_alter_table(table) as batch:
            if table in RENAMED_UNIQUE:
                batch.drop_constraint(f"uq_{table}_organisation_name", type_="unique")
                batch.create_unique_constraint(f"uq_{table}_name", ["name"])
            batch.drop_index(f"ix_{table}_organisation_id")
            batch.drop_constraint(f"fk_{table}_organisation_id_organisations", type_="foreignkey")
            batch.drop_column("organisation_id")
    for table in ("audit_log", "api_tokens", "memberships", "users", "organisations"):
        op.drop_table(table)
