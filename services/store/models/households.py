"""Households and what they own: PV systems, batteries, tariffs.

Conventions (as in pvlib): tilt in degrees from horizontal, azimuth in degrees
east of north (180 = south). Power in kW, energy in kWh, prices in currency
per kWh, efficiencies as fractions (0.95, not 95).
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from services.equipment import BATTERY, PV
from services.store.models.accounts import organisation_column
from services.store.models.base import Base, utcnow
from services.store.types import UTCDateTime


class Tariff(Base):
    """An electricity tariff, shared by any number of households.

    ``kind``:
    - ``flat``: ``import_price`` at all times;
    - ``tou``: time-of-use periods in local time (:class:`TariffPeriod`), ``import_price``
      where no period applies;
    - ``dynamic``: an hourly price series (:class:`TariffPrice`), ``import_price`` where
      the series has no value.
    ``export_price`` is the feed-in remuneration [currency/kWh], flat for every kind.
    """

    __tablename__ = "tariffs"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = organisation_column()
    name: Mapped[str] = mapped_column(sa.String(120))
    kind: Mapped[str] = mapped_column(sa.String(16))  # flat | tou | dynamic
    currency: Mapped[str] = mapped_column(sa.String(3), default="EUR")
    import_price: Mapped[float] = mapped_column(sa.Float, doc="currency/kWh")
    export_price: Mapped[float] = mapped_column(sa.Float, default=0.0, doc="currency/kWh, feed-in")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    periods: Mapped[list[TariffPeriod]] = relationship(
        back_populates="tariff", cascade="all, delete-orphan", order_by="TariffPeriod.start_minute"
    )

    __table_args__ = (sa.CheckConstraint("kind IN ('flat', 'tou', 'dynamic')", name="tariff_kind"),
                      sa.UniqueConstraint("organisation_id", "name", name="uq_tariffs_organisation_name"))


class TariffPeriod(Base):
    """A time-of-use period: ``import_price`` applies from ``start_minute`` to ``end_minute``
    (minutes after local midnight, end exclusive; ``end_minute`` < ``start_minute`` wraps past
    midnight) on the weekdays set in ``weekdays`` (bit 0 = Monday ... bit 6 = Sunday) of the months
    set in ``months`` (bit 0 = January ... bit 11 = December; seasonal tariffs)."""

    __tablename__ = "tariff_periods"

    id: Mapped[int] = mapped_column(primary_key=True)
    tariff_id: Mapped[int] = mapped_column(sa.ForeignKey("tariffs.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(40), default="peak")
    start_minute: Mapped[int] = mapped_column(sa.Integer)
    end_minute: Mapped[int] = mapped_column(sa.Integer)
    weekdays: Mapped[int] = mapped_column(sa.Integer, default=0b1111111)
    months: Mapped[int] = mapped_column(sa.Integer, default=0xFFF, server_default="4095")
    import_price: Mapped[float] = mapped_column(sa.Float, doc="currency/kWh")

    tariff: Mapped[Tariff] = relationship(back_populates="periods")


class TariffPrice(Base):
    """One hour (or step) of a dynamic tariff: import price from ``ts`` [currency/kWh]."""

    __tablename__ = "tariff_prices"

    tariff_id: Mapped[int] = mapped_column(
        sa.ForeignKey("tariffs.id", ondelete="CASCADE"), primary_key=True
    )
    ts: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    import_price: Mapped[float] = mapped_column(sa.Float)

    __table_args__ = ({"sqlite_with_rowid": False},)


class Household(Base):
    """A home in the portfolio. Its local time zone is an IANA name (``Europe/Berlin``)."""

    __tablename__ = "households"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = organisation_column()
    name: Mapped[str] = mapped_column(sa.String(120))
    timezone: Mapped[str] = mapped_column(sa.String(64), default="UTC")
    latitude: Mapped[float] = mapped_column(sa.Float, doc="degrees north")
    longitude: Mapped[float] = mapped_column(sa.Float, doc="degrees east")
    tariff_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("tariffs.id", ondelete="SET NULL"), index=True
    )
    grid_import_limit_kw: Mapped[float | None] = mapped_column(sa.Float, doc="kW, None = no limit")
    grid_export_limit_kw: Mapped[float | None] = mapped_column(
        sa.Float, doc="kW, None = no limit, 0 = no export allowed"
    )
    export_curtailable: Mapped[bool] = mapped_column(
        sa.Boolean, default=True, server_default=sa.true(),
        doc="the inverter may curtail PV instead of exporting when the feed-in price is negative",
    )
    notes: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    tariff: Mapped[Tariff | None] = relationship()
    pv_systems: Mapped[list[PVSystem]] = relationship(
        back_populates="household", cascade="all, delete-orphan", order_by="PVSystem.id"
    )
    battery: Mapped[Battery | None] = relationship(
        back_populates="household", cascade="all, delete-orphan", uselist=False
    )

    __table_args__ = (sa.UniqueConstraint("organisation_id", "name", name="uq_households_organisation_name"),)


class PVSystem(Base):
    """A PV array with its inverter: ``kwp`` DC peak power [kWp], tilt and azimuth [degrees],
    system ``losses_pct`` [%] as in PVWatts (14 is typical), inverter AC limit [kW]. Each column's
    default and meaning: :data:`services.equipment.PV`."""

    __tablename__ = "pv_systems"

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(
        sa.ForeignKey("households.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(sa.String(80), default=PV.name.default)
    kwp: Mapped[float] = mapped_column(sa.Float, doc=PV.kwp.description)
    tilt_deg: Mapped[float] = mapped_column(sa.Float, default=PV.tilt_deg.default, doc=PV.tilt_deg.description)
    azimuth_deg: Mapped[float] = mapped_column(sa.Float, default=PV.azimuth_deg.default,
                                               doc=PV.azimuth_deg.description)
    losses_pct: Mapped[float] = mapped_column(sa.Float, default=PV.losses_pct.default, doc=PV.losses_pct.description)
    inverter_kw: Mapped[float | None] = mapped_column(sa.Float, doc=PV.inverter_kw.description)

    household: Mapped[Household] = relationship(back_populates="pv_systems")


class Battery(Base):
    """A home battery. ``capacity_kwh`` usable energy [kWh]; power limits [kW];
    efficiencies as fractions of one way (charge, discharge); SOC limits as fractions
    of capacity (0.1 = 10 %). Each column's default and meaning: the stored fields of
    :data:`services.equipment.BATTERY`."""

    __tablename__ = "batteries"

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(
        sa.ForeignKey("households.id", ondelete="CASCADE"), unique=True
    )
    capacity_kwh: Mapped[float] = mapped_column(sa.Float, doc=BATTERY.capacity_kwh.description)
    max_charge_kw: Mapped[float] = mapped_column(sa.Float, doc=BATTERY.max_charge_kw.description)
    max_discharge_kw: Mapped[float] = mapped_column(sa.Float, doc=BATTERY.max_discharge_kw.description)
    charge_efficiency: Mapped[float] = mapped_column(sa.Float, default=BATTERY.charge_efficiency.default,
                                                     doc=BATTERY.charge_efficiency.description)
    discharge_efficiency: Mapped[float] = mapped_column(sa.Float, default=BATTERY.discharge_efficiency.default,
                                                        doc=BATTERY.discharge_efficiency.description)
    soc_min: Mapped[float] = mapped_column(sa.Float, default=BATTERY.soc_min.default, doc=BATTERY.soc_min.description)
    soc_max: Mapped[float] = mapped_column(sa.Float, default=BATTERY.soc_max.default, doc=BATTERY.soc_max.description)

    household: Mapped[Household] = relationship(back_populates="battery")
