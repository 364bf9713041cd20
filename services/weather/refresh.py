"""Refresh the stored weather forecasts of every site (the CLI's ``weather-refresh``, a cron job).

Pages and the REST API never ask the weather provider themselves: they read what this
stored. Each site goes through :func:`~services.weather.open_meteo.forecast_for_site`, so
the cache, the retries and the circuit breaker apply; a provider that is down costs one
failed site per attempt until the breaker opens, then nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from services.store.db import session_scope
from services.store.models import Household, WeatherSite
from services.weather.open_meteo import CACHE_MAX_AGE, OpenMeteoClient, forecast_for_site
from services.weather.store import ensure_site, site_for_household


@dataclass(frozen=True)
class SiteRefresh:
    """What happened for one site: ``status`` ``fresh`` (fetched now), ``cached`` (a forecast
    younger than the cache age is stored) or ``degraded`` (the provider failed: ``message``
    says why); ``hours_stored`` [h] of weather the store now holds for the hours ahead."""

    site_id: int
    name: str
    status: str
    issued_at: datetime | None
    hours_stored: int
    message: str


def refresh_weather(hours: int = 48, now: datetime | None = None, client: OpenMeteoClient | None = None,
                    force: bool = False) -> list[SiteRefresh]:
    """Fetch the forecast of the ``hours`` ahead for every weather site, in name order.

    ``force`` asks the provider even where the stored forecast is younger than the cache age.
    """
    if not 1 <= hours <= 16 * 24:
        raise ValueError(f"hours must be between 1 and 384 (16 days, the provider's limit), got {hours}")
    client = client or OpenMeteoClient()
    max_age = timedelta(0) if force else CACHE_MAX_AGE
    with session_scope() as session:
        sites = session.execute(sa.select(WeatherSite.id, WeatherSite.name).order_by(WeatherSite.name)).all()
    out = []
    for site_id, name in sites:
        answer = forecast_for_site(site_id, hours, now, client, max_age=max_age)
        out.append(SiteRefresh(site_id, name, answer.status, answer.issued_at,
                               int(answer.frame["ghi"].notna().sum()) if not answer.frame.empty else 0,
                               answer.message))
    return out


def add_household_sites() -> list[str]:
    """Create a weather site at each household that has none within reach; returns their names.

    A site serves every household within :data:`~services.weather.store.MAX_SITE_DISTANCE_KM`,
    so a household near one created a moment ago gets none of its own.
    """
    with session_scope() as session:
        households = session.execute(
            sa.select(Household.id, Household.name, Household.latitude, Household.longitude).order_by(Household.id)
        ).all()
    created = []
    for household_id, name, latitude, longitude in households:
        if site_for_household(household_id) is None:
            site_name = f"{name} (household {household_id})"
            ensure_site(site_name, latitude, longitude)
            created.append(site_name)
    return created


def households_without_site() -> int:
    """How many households have no weather site within reach (their forecasts go without weather)."""
    with session_scope() as session:
        household_ids = list(session.scalars(sa.select(Household.id)))
    return sum(site_for_household(h) is None for h in household_ids)
