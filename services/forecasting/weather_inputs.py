"""The weather a forecast is made with: as it was known at an origin (back-tests) or now (issuing),
with the state of that weather (stored, degraded, stale, none) and notes saying why.

Irradiance in W/m2, temperature in degC, on the forecast's step; times UTC.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd

from services.forecasting.features import MIN_WEATHER_COVERAGE, weather_coverage, weather_to_step
from services.weather.open_meteo import OpenMeteoClient, forecast_for_site, weather_source_status
from services.weather.store import weather_known_at

#: Weather forecasts older than this when a forecast is issued make it "stale".
WEATHER_STALE_AFTER = timedelta(hours=12)


def known_weather(household, origin: pd.Timestamp, hours: float, step: timedelta):
    """The weather for ``hours`` from ``origin`` as it was known at ``origin``, on ``step``
    (W/m2, degC), or None without a weather site or stored weather. ``household`` has
    ``weather_site`` and ``site.location``."""
    if household.weather_site is None:
        return None
    start = origin.floor("h").to_pydatetime()
    frame = weather_known_at(household.weather_site.id, start, start + timedelta(hours=hours + 1),
                             origin.to_pydatetime())
    if frame.empty:
        return None
    return weather_to_step(frame.drop(columns=["issued_at", "is_forecast", "source"]), step,
                           household.site.location)


def forecast_weather(household, issue: pd.Timestamp, start: pd.Timestamp, hours: float,
                      wanted: pd.DatetimeIndex, step: timedelta, fetch: bool, client: OpenMeteoClient | None):
    """Weather for ``hours`` from ``start`` as known at ``issue``, its state and notes (see
    :class:`~services.forecasting.service.ForecastResult`). ``fetch`` asks the provider first (its answer lands in the store)."""
    if household.weather_site is None:
        return None, "none", ["no weather site within 50 km: forecast without weather"]
    site = household.weather_site
    state, notes = "stored", []
    if fetch:
        answer = forecast_for_site(site.id, int(np.ceil(hours)), issue.to_pydatetime(), client)
        state, notes = answer.status, ([answer.message] if answer.status == "degraded" else [])
    first = start.floor("h").to_pydatetime()
    known = weather_known_at(site.id, first, first + timedelta(hours=hours + 1), issue.to_pydatetime())
    frame = None if known.empty else weather_to_step(
        known.drop(columns=["issued_at", "is_forecast", "source"]), step, household.site.location)
    if fetch:
        return frame, state, notes
    coverage = weather_coverage(frame, wanted)
    if coverage < MIN_WEATHER_COVERAGE:
        state = "none"
        notes.append("no weather forecast stored for these hours" if coverage == 0 else
                     f"the stored weather covers only {coverage:.0%} of these hours")
    provider, detail = weather_source_status(site.id, issue.to_pydatetime())
    if provider == "degraded":
        state = "none" if state == "none" else "degraded"
        notes.append(f"weather provider {detail}")
    issued = known.loc[known["is_forecast"].astype(bool), "issued_at"].max() if not known.empty else None
    if state == "stored" and issued is not None and not pd.isna(issued) and issue - issued > WEATHER_STALE_AFTER:
        state = "stale"
        notes.append(f"the weather forecast was issued {issued:%Y-%m-%d %H:%M} UTC, "
                     f"{(issue - issued) / pd.Timedelta(hours=1):.0f} h before this forecast")
    return frame, state, notes
