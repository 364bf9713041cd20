"""Synthetic but physically consistent weather per site: sun, clouds, temperature, wind.

Solar position and Ineichen clear-sky irradiance come from pvlib. Clouds are a
clear-sky index ``kc`` [-] (GHI / clear-sky GHI) built from two autoregressive
processes on the logit scale: a daily level with day-to-day persistence around
a seasonal mean (cloudy winters, sunnier summers), and hourly variation within
the day. GHI is split into DNI and DHI with Erbs. Air temperature has a seasonal
cycle, multi-day weather anomalies and a diurnal swing that is larger on clear
days. All households of a site share this weather; PV adds a little household
noise on top (:mod:`services.demo.pv`).

Arrays are aligned with the 15-minute UTC index of the portfolio; irradiance is
the mean over the interval starting at ``ts`` (evaluated at the interval
midpoint) [W/m2], temperature [degC], wind [m/s], cloud cover [%].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pvlib
from scipy.signal import lfilter

from services.demo.portfolio import SITES, Site

STEP = pd.Timedelta(minutes=15)


@dataclass(frozen=True)
class SiteWeather:
    """Weather of one site on the portfolio's 15-minute index (arrays of equal length)."""

    site: Site
    index: pd.DatetimeIndex  # UTC interval starts
    solar_zenith: np.ndarray  # [deg] at interval midpoints
    solar_azimuth: np.ndarray  # [deg east of north]
    dni_extra: np.ndarray  # extraterrestrial normal irradiance [W/m2]
    clearsky_ghi: np.ndarray  # [W/m2]
    kc: np.ndarray  # clear-sky index [-]
    ghi: np.ndarray  # [W/m2]
    dni: np.ndarray  # [W/m2]
    dhi: np.ndarray  # [W/m2]
    temp_air: np.ndarray  # [degC]
    wind_speed: np.ndarray  # [m/s]
    cloud_cover: np.ndarray  # [%]


def period_index(end: pd.Timestamp, days: int) -> pd.DatetimeIndex:
    """The 15-minute UTC interval starts of the ``days`` days before ``end`` (UTC midnight)."""
    if days < 1:
        raise ValueError(f"the demo period must be at least 1 day, got {days}")
    start = end - pd.Timedelta(days=days)
    return pd.date_range(start, periods=days * 96, freq=STEP, name="ts")


def site_weather(site: Site, index: pd.DatetimeIndex, seed: int) -> SiteWeather:
    """Sun, clouds, temperature and wind of ``site`` over ``index`` for ``seed``."""
    site_no = SITES.index(site) if site in SITES else 99
    rng = np.random.default_rng([seed, 1000 + site_no])
    mid = index + STEP / 2  # energy of an interval: sun position at its middle
    location = pvlib.location.Location(site.latitude, site.longitude, "UTC", site.altitude_m)
    # pvlib's ephemeris is within 0.01 degree of SPA for the true zenith and ten times faster.
    solpos = location.get_solarposition(mid, method="ephemeris")
    clearsky = location.get_clearsky(mid, model="ineichen", solar_position=solpos)
    dni_extra = pvlib.irradiance.get_extra_radiation(mid).to_numpy()
    zenith = solpos["zenith"].to_numpy()

    doy = mid.day_of_year.to_numpy()
    hours = (mid - index[0]).total_seconds().to_numpy() / 3600.0
    kc, day_level = _clear_sky_index(site, rng, doy, hours)
    ghi = np.where(zenith < 90.0, clearsky["ghi"].to_numpy() * kc, 0.0)
    erbs = pvlib.irradiance.erbs(ghi, zenith, doy)
    dni = np.nan_to_num(np.asarray(erbs["dni"], dtype=float))
    dhi = np.nan_to_num(np.asarray(erbs["dhi"], dtype=float))

    solar_hour = (mid.hour.to_numpy() + mid.minute.to_numpy() / 60.0 + site.longitude / 15.0) % 24
    temp_air = _air_temperature(site, rng, doy, hours, solar_hour, day_level)
    wind = _wind_speed(site, rng, doy, hours)
    # Inverse of Kasten & Czeplak, kc = 1 - 0.75 * cc**3.4, with cc as a fraction.
    cloud_cover = 100.0 * np.clip((1.0 - kc) / 0.75, 0.0, 1.0) ** (1 / 3.4)
    return SiteWeather(
        site=site, index=index, solar_zenith=zenith, solar_azimuth=solpos["azimuth"].to_numpy(),
        dni_extra=dni_extra, clearsky_ghi=clearsky["ghi"].to_numpy(), kc=kc, ghi=ghi, dni=dni,
        dhi=dhi, temp_air=temp_air, wind_speed=wind, cloud_cover=cloud_cover,
    )


def hourly_records(weather: SiteWeather) -> pd.DataFrame:
    """Hourly observations of a site as stored in ``weather`` (means of the four quarter hours).

    Returns a DataFrame indexed by UTC hour start with ``ghi``, ``dni``, ``dhi`` [W/m2],
    ``temp_air`` [degC], ``wind_speed`` [m/s] and ``cloud_cover`` [%].
    """
    frame = pd.DataFrame(
        {
            "ghi": weather.ghi, "dni": weather.dni, "dhi": weather.dhi,
            "temp_air": weather.temp_air, "wind_speed": weather.wind_speed,
            "cloud_cover": weather.cloud_cover,
        },
        index=weather.index,
    )
    return frame.resample("1h").mean().round(2)


def ar1(rng: np.random.Generator, n: int, rho: float) -> np.ndarray:
    """A stationary AR(1) series with unit variance and lag-one correlation ``rho``."""
    shocks = rng.standard_normal(n) * np.sqrt(1.0 - rho**2)
    start = rng.standard_normal()  # drawn from the stationary distribution: no warm-up needed
    # lfilter runs x[t] = rho * x[t-1] + e[t] in C; a Python loop costs ~0.5 s per portfolio.
    out, _ = lfilter([1.0], [1.0, -rho], shocks, zi=[rho * start])
    return out


def _logit(p):
    return np.log(p / (1.0 - p))


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _clear_sky_index(site: Site, rng: np.random.Generator, doy: np.ndarray,
                     hours: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Clear-sky index [-] per step, and the day's cloud level per step [-]."""
    n_days = int(hours[-1] // 24) + 2
    n_hours = int(hours[-1]) + 2
    season = np.cos(2 * np.pi * (doy - 172) / 365.25)  # +1 at midsummer, -1 at midwinter
    mean_kc = 0.5 * (site.kc_summer + site.kc_winter) + 0.5 * (site.kc_summer - site.kc_winter) * season
    daily = ar1(rng, n_days, 0.6)  # fronts last a few days
    hourly = ar1(rng, n_hours, 0.8)  # clouds come and go within the day
    # Interpolate both to the quarter hours, so no step appears at midnight or on the hour.
    day_z = np.interp(hours / 24.0, np.arange(n_days), daily)
    hour_z = np.interp(hours, np.arange(n_hours), hourly)
    day_logit = _logit(mean_kc) + 1.4 * day_z
    fine = 0.15 * rng.standard_normal(len(hours))
    kc = 0.03 + 0.99 * _sigmoid(day_logit + 0.8 * hour_z + fine)
    return kc, _sigmoid(day_logit)


def _air_temperature(site: Site, rng: np.random.Generator, doy: np.ndarray, hours: np.ndarray,
                     solar_hour: np.ndarray, day_level: np.ndarray) -> np.ndarray:
    n_days = int(hours[-1] // 24) + 2
    seasonal = site.temp_mean + site.temp_amplitude * np.cos(2 * np.pi * (doy - 200) / 365.25)
    anomaly = 3.0 * np.interp(hours / 24.0, np.arange(n_days), ar1(rng, n_days, 0.8))
    # Clear days swing more between night and afternoon; summer days more than winter ones.
    sun_season = 0.65 + 0.35 * np.cos(2 * np.pi * (doy - 172) / 365.25)
    swing = (2.0 + 6.0 * day_level) * sun_season
    diurnal = swing * np.cos(2 * np.pi * (solar_hour - 15.0) / 24.0)
    return np.round(seasonal + anomaly + diurnal, 2)


def _wind_speed(site: Site, rng: np.random.Generator, doy: np.ndarray, hours: np.ndarray) -> np.ndarray:
    n_hours = int(hours[-1]) + 2
    gust = np.interp(hours, np.arange(n_hours), ar1(rng, n_hours, 0.95))
    seasonal = 1.0 + 0.2 * np.cos(2 * np.pi * (doy - 15) / 365.25)  # windier winters
    return np.round(site.wind_mean * seasonal * np.exp(0.45 * gust - 0.1), 2)
