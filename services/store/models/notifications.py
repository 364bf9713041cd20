"""Alert notification rules and the log of what was sent (which makes sending idempotent)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from services.store.models.base import Base, utcnow
from services.store.types import UTCDateTime


class NotificationRule(Base):
    """Who is told about which alerts, and how.

    ``kinds`` is a comma-separated list of alert kinds (``gap,stuck,pv``; empty: every kind);
    ``min_severity`` the least severe alert sent (``high`` > ``medium`` > ``low``); ``emails`` a
    comma-separated list of addresses; ``webhook_url`` with ``webhook_secret`` (the HMAC-SHA256 key
    of the signature header). ``daily_digest`` rules get one summary a day instead of a message per
    alert. ``organisation_id`` is NULL until sign-in brings organisations (then: the local user's).
    """

    __tablename__ = "notification_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int | None] = mapped_column(sa.Integer, index=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    kinds: Mapped[str] = mapped_column(sa.String(200), default="")
    min_severity: Mapped[str] = mapped_column(sa.String(8), default="medium")
    emails: Mapped[str] = mapped_column(sa.Text, default="")
    webhook_url: Mapped[str | None] = mapped_column(sa.String(500))
    webhook_secret: Mapped[str | None] = mapped_column(sa.String(200))
    daily_digest: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    enabled: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


#: Rows that count as the open alert's delivery (claimed and being sent, or sent).
OPEN_DELIVERY = sa.text("resolved_at IS NULL AND status IN ('sending', 'sent')")


class NotificationLog(Base):
    """One delivery attempt of one alert (or one digest) to one channel of one rule.

    ``alert_key`` identifies the alert (``<household id>:<kind>``) or the digest (``digest:<day>``).
    An alert counts as sent while a ``sent`` row for it has no ``resolved_at``; when the alert is
    no longer open, its rows get ``resolved_at``, so that it is sent again if it reopens.
    """

    __tablename__ = "notification_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    rule_id: Mapped[int] = mapped_column(sa.ForeignKey("notification_rules.id", ondelete="CASCADE"))
    alert_key: Mapped[str] = mapped_column(sa.String(200))
    channel: Mapped[str] = mapped_column(sa.String(16))  # email | webhook
    status: Mapped[str] = mapped_column(sa.String(16))  # sending | sent | failed
    attempts: Mapped[int] = mapped_column(sa.Integer, default=1)
    error: Mapped[str] = mapped_column(sa.Text, default="")
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        sa.Index("ix_notification_log_rule_id_alert_key", "rule_id", "alert_key"),
        # At most one claim or delivery per open alert, rule and channel: two evaluations running
        # at once cannot both send it (the second one's claim fails on this index).
        sa.Index("uq_notification_log_open", "rule_id", "alert_key", "channel", unique=True,
                 sqlite_where=OPEN_DELIVERY, postgresql_where=OPEN_DELIVERY),
    )
