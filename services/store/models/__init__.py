"""The store's tables. Import models from here: ``from services.store.models import Household``."""

from services.store.models.accounts import (
    DEFAULT_ORGANISATION_ID,
    ROLES,
    ApiToken,
    AuditEntry,
    Membership,
    Organisation,
    User,
)
from services.store.models.base import Base, utcnow
from services.store.models.fleet import FleetRun, FleetRunHousehold
from services.store.models.households import Battery, Household, PVSystem, Tariff, TariffPeriod, TariffPrice
from services.store.models.jobs import FINISHED_STATES, JOB_STATES, Job, JobFile, ScheduleRun
from services.store.models.notifications import NotificationLog, NotificationRule
from services.store.models.planning import (
    Forecast,
    ForecastBacktest,
    ForecastModel,
    ForecastValue,
    OptimizationRun,
    SchedulePlan,
    WeatherRecord,
    WeatherSite,
)
from services.store.models.readings import (
    DEVICE_KINDS,
    ENERGY_QUANTITIES,
    QUANTITY_UNITS,
    DailyEnergy,
    Device,
    IngestionBatch,
    IngestionMapping,
    IngestionRejection,
    Reading,
    ReadingRollup,
    Series,
)
from services.store.models.streaming import MqttRejection

__all__ = [
    "ApiToken",
    "AuditEntry",
    "DEFAULT_ORGANISATION_ID",
    "Membership",
    "Organisation",
    "ROLES",
    "User",
    "Base",
    "Battery",
    "DEVICE_KINDS",
    "DailyEnergy",
    "Device",
    "ENERGY_QUANTITIES",
    "FleetRun",
    "FleetRunHousehold",
    "Forecast",
    "ForecastBacktest",
    "ForecastModel",
    "FINISHED_STATES",
    "ForecastValue",
    "JOB_STATES",
    "Job",
    "JobFile",
    "ScheduleRun",
    "Household",
    "IngestionBatch",
    "IngestionMapping",
    "IngestionRejection",
    "MqttRejection",
    "NotificationLog",
    "NotificationRule",
    "OptimizationRun",
    "PVSystem",
    "QUANTITY_UNITS",
    "Reading",
    "ReadingRollup",
    "SchedulePlan",
    "Series",
    "Tariff",
    "TariffPeriod",
    "TariffPrice",
    "WeatherRecord",
    "WeatherSite",
    "utcnow",
]
