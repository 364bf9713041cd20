"""MQTT rejections (the stream's dead-letter log), alert notification rules and their sent-log.

Revision ID: 0004_mqtt
Revises: 0002
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

import services.store.types

revision = "0004_mqtt"
down_revision = "0003_ingest"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mqtt_rejections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rejected_at", services.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("topic", sa.Text(), nullable=False),
        sa.Column("household_id", sa.BigInteger(), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("field", sa.String(length=80), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mqtt_rejections")),
    )
    with op.batch_alter_table("mqtt_rejections") as batch:
        batch.create_index("ix_mqtt_rejections_rejected_at", ["rejected_at"], unique=False)
    op.create_table(
        "notification_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("kinds", sa.String(length=200), nullable=False),
        sa.Column("min_severity", sa.String(length=8), nullable=False),
        sa.Column("emails", sa.Text(), nullable=False),
        sa.Column("webhook_url", sa.String(length=500), nullable=True),
        sa.Column("webhook_secret", sa.String(length=200), nullable=True),
        sa.Column("daily_digest", sa.Boolean(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", services.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_rules")),
    )
    with op.batch_alter_table("notification_rules") as batch:
        batch.create_index("ix_notification_rules_organisation_id", ["organisation_id"], unique=False)
    op.create_table(
        "notification_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rule_id", sa.Integer(), nullable=False),
        sa.Column("alert_key", sa.String(length=200), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("sent_at", services.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", services.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["rule_id"], ["notification_rules.id"],
                                name=op.f("fk_notification_log_rule_id_notification_rules"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_log")),
    )
    with op.batch_alter_table("notification_log") as batch:
        batch.create_index("ix_notification_log_rule_id_alert_key", ["rule_id", "alert_key"], unique=False)
    open_delivery = sa.text("resolved_at IS NULL AND status IN ('sending', 'sent')")
    op.create_index("uq_notification_log_open", "notification_log", ["rule_id", "alert_key", "channel"], unique=True,
                    sqlite_where=open_delivery, postgresql_where=open_delivery)


def downgrade() -> None:
    op.drop_table("notification_log")
    op.drop_table("notification_rules")
    op.drop_table("mqtt_rejections")
