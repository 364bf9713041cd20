"""Metered series, IoT devices, readings, rollups and ingestion batches.

Readings are long and narrow: (series id, UTC timestamp, value), unique on
(series, timestamp), so re-ingesting the same data changes nothing.

Energy quantities hold the energy of the interval that *starts* at ``ts``
[kWh]; instantaneous quantities (state of charge, temperature, power samples)
hold the value measured at ``ts``. The unit of each quantity is fixed in
:data:`QUANTITY_UNITS`.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from services.store.models.accounts import organisation_column
from services.store.models.base import Base, utcnow
from services.store.types import UTCDateTime

#: Unit of each quantity as stored. Energy flows are per interval and non-negative;
#: the direction is in the name (import from grid, export to grid, charge, discharge).
QUANTITY_UNITS: dict[str, str] = {
    "load": "kWh",  # household consumption
    "pv": "kWh",  # PV generation (AC)
    "grid_import": "kWh",
    "grid_export": "kWh",
    "battery_charge": "kWh",  # energy into the battery (AC side)
    "battery_discharge": "kWh",  # energy out of the battery (AC side)
    "battery_soc": "kWh",  # stored energy at ts
    "power": "kW",  # an instantaneous power sample
    "temperature": "degC",
    "humidity": "%",
    "irradiance": "W/m2",
    "other": "",
}
ENERGY_QUANTITIES = ("load", "pv", "grid_import", "grid_export", "battery_charge", "battery_discharge")

DEVICE_KINDS = ("meter", "inverter", "battery", "heat_pump", "ev_charger", "temperature_sensor")


class Device(Base):
    """An IoT device of a household (meter, inverter, battery, heat pump, EV charger, sensor).

    Devices seen for the first time on a stream are registered automatically with
    ``needs_review`` set, so that a person confirms them.
    """

    __tablename__ = "devices"

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(
        sa.ForeignKey("households.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(sa.String(32))
    name: Mapped[str] = mapped_column(sa.String(120))
    external_id: Mapped[str | None] = mapped_column(sa.String(120), doc="id on the wire (MQTT topic part)")
    metrics: Mapped[list] = mapped_column(sa.JSON, default=list, doc="quantities it reports")
    needs_review: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (sa.UniqueConstraint("household_id", "name"),)


class Series(Base):
    """A time series of one quantity for one household (optionally from one device)."""

    __tablename__ = "series"

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(
        sa.ForeignKey("households.id", ondelete="CASCADE"), index=True
    )
    device_id: Mapped[int | None] = mapped_column(sa.ForeignKey("devices.id", ondelete="SET NULL"))
    quantity: Mapped[str] = mapped_column(sa.String(32))
    unit: Mapped[str] = mapped_column(sa.String(16))
    name: Mapped[str] = mapped_column(sa.String(120), doc="unique per household, e.g. 'load' or 'kitchen/temperature'")
    resolution_s: Mapped[int | None] = mapped_column(sa.Integer, doc="nominal step [s]")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    device: Mapped[Device | None] = relationship()

    __table_args__ = (sa.UniqueConstraint("household_id", "name"),)


class Reading(Base):
    """One value of a series at a UTC instant, in the unit of the series."""

    __tablename__ = "readings"

    series_id: Mapped[int] = mapped_column(
        sa.ForeignKey("series.id", ondelete="CASCADE"), primary_key=True
    )
    ts: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    value: Mapped[float] = mapped_column(sa.Float)

    __table_args__ = ({"sqlite_with_rowid": False},)


class ReadingRollup(Base):
    """Pre-aggregated readings of a series: per bucket of ``bucket_s`` seconds starting at ``ts``,
    the sum, minimum, maximum and count of the raw values (sum/count gives the mean)."""

    __tablename__ = "reading_rollups"

    series_id: Mapped[int] = mapped_column(
        sa.ForeignKey("series.id", ondelete="CASCADE"), primary_key=True
    )
    bucket_s: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    ts: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    total: Mapped[float] = mapped_column(sa.Float)
    minimum: Mapped[float] = mapped_column(sa.Float)
    maximum: Mapped[float] = mapped_column(sa.Float)
    count: Mapped[int] = mapped_column(sa.Integer)

    __table_args__ = ({"sqlite_with_rowid": False},)


class DailyEnergy(Base):
    """A household's energy and money for one local calendar day, kept by ``services.energy.rollups``.

    Energies in kWh; ``import_cost`` and ``export_revenue`` in the tariff's currency.
    Portfolio KPIs over any period sum these rows in SQL.
    """

    __tablename__ = "daily_energy"

    household_id: Mapped[int] = mapped_column(
        sa.ForeignKey("households.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[datetime] = mapped_column(sa.Date, primary_key=True, doc="local calendar day")
    load_kwh: Mapped[float] = mapped_column(sa.Float, default=0.0)
    pv_kwh: Mapped[float] = mapped_column(sa.Float, default=0.0)
    import_kwh: Mapped[float] = mapped_column(sa.Float, default=0.0)
    export_kwh: Mapped[float] = mapped_column(sa.Float, default=0.0)
    charge_kwh: Mapped[float] = mapped_column(sa.Float, default=0.0)
    discharge_kwh: Mapped[float] = mapped_column(sa.Float, default=0.0)
    import_cost: Mapped[float] = mapped_column(sa.Float, default=0.0)
    export_revenue: Mapped[float] = mapped_column(sa.Float, default=0.0)

    __table_args__ = (sa.Index("ix_daily_energy_day", "day"),)


class IngestionMapping(Base):
    """A saved description of how to read a source's files (columns, time zone, units)."""

    __tablename__ = "ingestion_mappings"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = organisation_column()
    name: Mapped[str] = mapped_column(sa.String(120))
    spec: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = (sa.UniqueConstraint("organisation_id", "name", name="uq_ingestion_mappings_organisation_name"),)


class IngestionBatch(Base):
    """One ingestion: where it came from and what happened to its rows."""

    __tablename__ = "ingestion_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = organisation_column()
    source: Mapped[str] = mapped_column(sa.String(200), doc="file name, API client, MQTT topic, 'demo'")
    channel: Mapped[str] = mapped_column(sa.String(16), doc="file | api | mqtt | cli | demo")
    mapping_name: Mapped[str | None] = mapped_column(sa.String(120))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(sa.String(16), default="running")  # running | done | failed
    received: Mapped[int] = mapped_column(sa.Integer, default=0)
    inserted: Mapped[int] = mapped_column(sa.Integer, default=0)
    updated: Mapped[int] = mapped_column(sa.Integer, default=0)
    unchanged: Mapped[int] = mapped_column(sa.Integer, default=0)
    rejected: Mapped[int] = mapped_column(sa.Integer, default=0)
    message: Mapped[str] = mapped_column(sa.Text, default="")
    rejected_by_reason: Mapped[list | None] = mapped_column(
        sa.JSON, doc="[{field, example, count}]: every rejected row counted by kind of reason, most frequent first")
    meter_events: Mapped[list | None] = mapped_column(
        sa.JSON, doc="[{household_id, series, kind, before, at, value_before, value_after}]: register resets, "
                     "rollovers and jumps (the first 500)")
    meter_event_count: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")

    __table_args__ = (sa.Index("ix_ingestion_batches_started_at", "started_at"),)


class IngestionRejection(Base):
    """A row that a batch refused, with the line, the field and a reason a person can act on."""

    __tablename__ = "ingestion_rejections"

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(
        sa.ForeignKey("ingestion_batches.id", ondelete="CASCADE"), index=True
    )
    line: Mapped[int | None] = mapped_column(sa.Integer)
    field: Mapped[str] = mapped_column(sa.String(80), default="")
    reason: Mapped[str] = mapped_column(sa.Text)
    raw: Mapped[str] = mapped_column(sa.Text, default="")
