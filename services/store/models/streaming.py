"""Messages from the MQTT stream that could not become readings (the stream's dead-letter log)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from services.store.models.base import Base, utcnow
from services.store.types import UTCDateTime


class MqttRejection(Base):
    """One MQTT message that was acknowledged without storing (all of) it, with the reason.

    ``topic`` and ``payload`` are what arrived (the payload cut to an excerpt, control characters
    escaped); ``household_id`` is the id the topic names, if it is a number (not a foreign key: a
    topic may name a household that does not exist, which is one of the reasons).
    """

    __tablename__ = "mqtt_rejections"

    id: Mapped[int] = mapped_column(primary_key=True)
    rejected_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    topic: Mapped[str] = mapped_column(sa.Text)
    household_id: Mapped[int | None] = mapped_column(sa.BigInteger)
    organisation_id: Mapped[int | None] = mapped_column(sa.Integer, index=True,
                                                        doc="the named household's, when it exists")
    payload: Mapped[str] = mapped_column(sa.Text, default="")
    field: Mapped[str] = mapped_column(sa.String(80), default="")
    reason: Mapped[str] = mapped_column(sa.Text)

    __table_args__ = (sa.Index("ix_mqtt_rejections_rejected_at", "rejected_at"),)
