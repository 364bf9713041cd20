"""Fleet runs: tomorrow's (or any day's) battery plans of many households, in chunks.

A :class:`FleetRun` is one request to plan ``households`` households for a local ``day``; its
households are split into numbered chunks, each a task. Every household has one
:class:`FleetRunHousehold` row from the start (``pending``), which the chunk that plans it
turns into ``planned`` (with the stored optimization run and its cost) or ``failed`` (with the
reason in words) through an upsert keyed on (run, household) that only changes a pending row:
a chunk delivered twice changes nothing the second time.
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from services.store.models.accounts import organisation_column
from services.store.models.base import Base, utcnow
from services.store.types import UTCDateTime

#: States of a run: chunks still to plan, or every household planned or failed.
FLEET_RUN_STATES = ("running", "done")
#: States of a household in a run.
FLEET_HOUSEHOLD_STATES = ("pending", "planned", "failed")


class FleetRun(Base):
    """A fleet plan for local ``day``: who started it (``scope``, an AccessScope as JSON), how its
    households were chunked, and how many are planned or failed so far."""

    __tablename__ = "fleet_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int | None] = organisation_column(nullable=True)  # None: every organisation (beat)
    scope: Mapped[dict] = mapped_column(sa.JSON, default=dict, doc="AccessScope.as_dict() of who started it")
    day: Mapped[date] = mapped_column(sa.Date, doc="the local day planned, in each household's time zone")
    state: Mapped[str] = mapped_column(sa.String(16), default="running")
    engine: Mapped[str] = mapped_column(sa.String(16), default="highs")
    households: Mapped[int] = mapped_column(sa.Integer, default=0)
    chunks: Mapped[int] = mapped_column(sa.Integer, default=0)
    chunk_size: Mapped[int] = mapped_column(sa.Integer, default=500)
    planned: Mapped[int] = mapped_column(sa.Integer, default=0)
    failed: Mapped[int] = mapped_column(sa.Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow,
                                                 doc="also the 'now' its inputs are read at")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class FleetRunHousehold(Base):
    """One household of a fleet run: its chunk, status, failure reason, and the stored plan."""

    __tablename__ = "fleet_run_households"

    run_id: Mapped[int] = mapped_column(sa.ForeignKey("fleet_runs.id", ondelete="CASCADE"), primary_key=True)
    household_id: Mapped[int] = mapped_column(sa.ForeignKey("households.id", ondelete="CASCADE"), primary_key=True)
    chunk: Mapped[int] = mapped_column(sa.Integer)
    status: Mapped[str] = mapped_column(sa.String(16), default="pending")
    reason: Mapped[str] = mapped_column(sa.Text, default="")
    optimization_run_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("optimization_runs.id", ondelete="SET NULL"))
    cost: Mapped[float | None] = mapped_column(sa.Float, doc="currency over the day")
    savings: Mapped[float | None] = mapped_column(sa.Float, doc="against no battery, currency over the day")
    savings_vs_rule: Mapped[float | None] = mapped_column(
        sa.Float, doc="against the self-consumption rule (charge from surplus PV, discharge into load), currency over the day")
    self_sufficiency: Mapped[float | None] = mapped_column(sa.Float, doc="share of the load not imported [0..1]")
    cycles: Mapped[float | None] = mapped_column(sa.Float, doc="equivalent full cycles over the day (discharged kWh / capacity)")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (sa.Index("ix_fleet_run_households_run_chunk", "run_id", "chunk", "status"),)
