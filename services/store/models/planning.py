"""Weather, forecasts and optimization runs.

Irradiance in W/m2, temperature in degC, wind in m/s, cloud cover in percent.
Schedules use the household's point of view: import and charge are energy
flowing in, export and discharge flowing out, all non-negative [kW].
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Mapped, mapped_column, relationship

from services.store.models.base import Base, utcnow
from services.store.types import UTCDateTime


class WeatherSite(Base):
    """A place with weather data; households near it share it."""

    __tablename__ = "weather_sites"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120), unique=True)
    latitude: Mapped[float] = mapped_column(sa.Float)
    longitude: Mapped[float] = mapped_column(sa.Float)
    altitude_m: Mapped[float | None] = mapped_column(sa.Float)


class WeatherRecord(Base):
    """Weather at a site for the interval starting at ``ts``.

    ``issued_at`` is when the value became known: the forecast's issue time, or ``ts``
    itself for an observation, so a back-test can ask for what was known at a moment.
    """

    __tablename__ = "weather"

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(sa.ForeignKey("weather_sites.id", ondelete="CASCADE"))
    ts: Mapped[datetime] = mapped_column(UTCDateTime)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    is_forecast: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    source: Mapped[str] = mapped_column(sa.String(40), doc="demo, tmy3, pvgis, psm3, open-meteo, csv")
    ghi: Mapped[float | None] = mapped_column(sa.Float, doc="W/m2")
    dni: Mapped[float | None] = mapped_column(sa.Float, doc="W/m2")
    dhi: Mapped[float | None] = mapped_column(sa.Float, doc="W/m2")
    temp_air: Mapped[float | None] = mapped_column(sa.Float, doc="degC")
    wind_speed: Mapped[float | None] = mapped_column(sa.Float, doc="m/s")
    cloud_cover: Mapped[float | None] = mapped_column(sa.Float, doc="%")

    __table_args__ = (
        sa.UniqueConstraint("site_id", "source", "issued_at", "ts"),
        sa.Index("ix_weather_site_ts", "site_id", "ts"),
    )


class ForecastModel(Base):
    """A trained forecasting model for one household and target (``pv`` or ``load``)."""

    __tablename__ = "forecast_models"

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(
        sa.ForeignKey("households.id", ondelete="CASCADE"), index=True
    )
    target: Mapped[str] = mapped_column(sa.String(16))
    version: Mapped[str] = mapped_column(sa.String(40))
    trained_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    train_start: Mapped[datetime] = mapped_column(UTCDateTime)
    train_end: Mapped[datetime] = mapped_column(UTCDateTime)
    features: Mapped[list] = mapped_column(sa.JSON, default=list)
    metrics: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    blob: Mapped[bytes | None] = mapped_column(sa.LargeBinary, doc="serialized estimator")


class Forecast(Base):
    """One issued forecast of a household's ``pv`` or ``load`` [kWh per step]."""

    __tablename__ = "forecasts"

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(
        sa.ForeignKey("households.id", ondelete="CASCADE"), index=True
    )
    target: Mapped[str] = mapped_column(sa.String(16))
    method: Mapped[str] = mapped_column(sa.String(24), doc="ml | physical | persistence")
    model_id: Mapped[int | None] = mapped_column(sa.ForeignKey("forecast_models.id", ondelete="SET NULL"))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    note: Mapped[str] = mapped_column(sa.Text, default="")

    values: Mapped[list[ForecastValue]] = relationship(cascade="all, delete-orphan")

    __table_args__ = (sa.Index("ix_forecasts_household_target_issued", "household_id", "target", "issued_at"),)


class ForecastValue(Base):
    """A step of a forecast: median and P10/P90 quantiles [kWh in the step starting at ts]."""

    __tablename__ = "forecast_values"

    forecast_id: Mapped[int] = mapped_column(
        sa.ForeignKey("forecasts.id", ondelete="CASCADE"), primary_key=True
    )
    ts: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    p50: Mapped[float] = mapped_column(sa.Float)
    p10: Mapped[float | None] = mapped_column(sa.Float)
    p90: Mapped[float | None] = mapped_column(sa.Float)

    __table_args__ = ({"sqlite_with_rowid": False},)


class ForecastBacktest(Base):
    """A rolling-origin evaluation of a forecast method; ``metrics`` holds per-month figures."""

    __tablename__ = "forecast_backtests"

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(
        sa.ForeignKey("households.id", ondelete="CASCADE"), index=True
    )
    target: Mapped[str] = mapped_column(sa.String(16))
    period_start: Mapped[datetime] = mapped_column(UTCDateTime)
    period_end: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    metrics: Mapped[dict] = mapped_column(sa.JSON, default=dict)


class OptimizationRun(Base):
    """A battery schedule request and its outcome (inputs, solver status, timings, costs)."""

    __tablename__ = "optimization_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("households.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(sa.String(16), doc="day_ahead | whatif | backtest | fleet | sizing | api")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    request: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    status: Mapped[str] = mapped_column(sa.String(24), doc="optimal | infeasible | error")
    message: Mapped[str] = mapped_column(sa.Text, default="")
    objective: Mapped[float | None] = mapped_column(sa.Float)
    cost: Mapped[float | None] = mapped_column(sa.Float, doc="currency over the horizon")
    baselines: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    timings_ms: Mapped[dict] = mapped_column(sa.JSON, default=dict)

    plan: Mapped[SchedulePlan | None] = relationship(cascade="all, delete-orphan")


#: A column of one value per step: float8[] on PostgreSQL, a JSON list of numbers elsewhere.
StepValues = sa.JSON().with_variant(postgresql.ARRAY(sa.Float()), "postgresql")

#: The per-step columns of a stored plan, in their order.
STEP_COLUMNS = ("pv_kw", "load_kw", "charge_kw", "discharge_kw", "import_kw", "export_kw", "curtail_kw", "soc_kwh",
                "import_price", "export_price")


class SchedulePlan(Base):
    """The steps of an optimized schedule, one row per stored run with one array per quantity
    (step ``k`` starts at ``start + k * step_s``): powers are means over the step [kW], SOC at the
    step's end [kWh], prices [currency/kWh]. Written and read only through
    :mod:`services.optimization.store` (``run_steps``), which gives them back as rows of steps.
    A row of arrays rather than a row per step: a fleet chunk of 500 households stores 500 rows,
    not 48,000 (each with its key and its foreign-key check)."""

    __tablename__ = "schedule_plans"

    run_id: Mapped[int] = mapped_column(
        sa.ForeignKey("optimization_runs.id", ondelete="CASCADE"), primary_key=True
    )
    start: Mapped[datetime] = mapped_column(UTCDateTime, doc="UTC start of the first step")
    step_s: Mapped[int] = mapped_column(sa.Integer, doc="step length [s]")
    steps: Mapped[int] = mapped_column(sa.Integer, doc="number of steps (the length of every array)")
    pv_kw: Mapped[list] = mapped_column(StepValues)
    load_kw: Mapped[list] = mapped_column(StepValues)
    charge_kw: Mapped[list] = mapped_column(StepValues)
    discharge_kw: Mapped[list] = mapped_column(StepValues)
    import_kw: Mapped[list] = mapped_column(StepValues)
    export_kw: Mapped[list] = mapped_column(StepValues)
    curtail_kw: Mapped[list] = mapped_column(StepValues)
    soc_kwh: Mapped[list] = mapped_column(StepValues)
    import_price: Mapped[list] = mapped_column(StepValues, doc="currency/kWh")
    export_price: Mapped[list] = mapped_column(StepValues, doc="currency/kWh")
