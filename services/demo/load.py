"""Household consumption: daily routine, weekends, seasons, appliances, EV and heat pump.

The base load follows a household's routine in local time (a morning peak, a
small midday bump, a long evening peak), later and broader mornings at the
weekend, and about 20 % more in midwinter than on average (lighting, being
indoors). Multiplicative noise with some persistence and short appliance
spikes (kettle, oven, washing machine) make it look metered. Some households
charge an EV in the evening (3.7 kW, a few sessions a week); heat pump
households draw electricity in proportion to how cold it is outside, plus hot
water.

All energies are kWh in the 15-minute interval starting at ``ts``; powers kW.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from services.demo.portfolio import HouseholdSpec
from services.demo.weather import SiteWeather, ar1

STEP_HOURS = 0.25
#: EV charging power [kW] and the share of evenings with a charging session.
EV_POWER_KW = 3.7
EV_SESSION_PROBABILITY = 0.3
#: Heat pump electrical power per kelvin below the heating limit [kW/K], that limit [degC],
#: and the hot-water share [kW, mean].
HP_KW_PER_K = 0.03
HP_HEATING_LIMIT_C = 15.5
HP_HOT_WATER_KW = 0.08
#: Nominal yearly energy of the EV and heat pump [kWh/year], subtracted from the
#: household's annual total so that the base load carries the rest.
EV_NOMINAL_KWH = 1200.0
HP_NOMINAL_KWH = 2200.0


@dataclass(frozen=True)
class HouseholdLoad:
    """A household's consumption [kWh per 15 min]; ``heat_pump`` is the part drawn by the heat
    pump (zeros without one), already included in ``total``."""

    total: np.ndarray
    heat_pump: np.ndarray


def household_load(spec: HouseholdSpec, weather: SiteWeather, seed: int) -> HouseholdLoad:
    """Consumption of ``spec`` over the weather's index [kWh per 15 min], non-negative."""
    rng = np.random.default_rng([seed, spec.index, 3])
    index = weather.index
    local = (index + pd.Timedelta(minutes=7.5)).tz_convert(spec.timezone)
    hour = local.hour.to_numpy() + local.minute.to_numpy() / 60.0
    weekend = local.day_of_week.to_numpy() >= 5
    doy = local.day_of_year.to_numpy()

    extras = (EV_NOMINAL_KWH if spec.has_ev else 0.0) + (HP_NOMINAL_KWH if spec.has_heat_pump else 0.0)
    base_annual = max(spec.annual_load_kwh - extras, 1500.0)
    shape = _daily_routine(rng, hour, weekend, doy)
    noise = np.exp(0.25 * ar1(rng, len(index), 0.7) - 0.25**2 / 2)
    base = base_annual / (365.0 * 96.0) * shape / shape.mean() * noise
    base += _appliance_spikes(rng, hour, len(index))

    total = base
    if spec.has_ev:
        total = total + _ev_sessions(rng, local, len(index))
    heat_pump = np.zeros(len(index))
    if spec.has_heat_pump:
        heat_pump = heat_pump_kwh(weather.temp_air, rng)
        total = total + heat_pump
    return HouseholdLoad(total=np.maximum(total, 0.0), heat_pump=heat_pump)


def heat_pump_kwh(temp_air: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Heat pump electricity [kWh per 15 min] from outdoor air temperature [degC]."""
    heating_kw = HP_KW_PER_K * np.clip(HP_HEATING_LIMIT_C - temp_air, 0.0, None)
    # The compressor cycles: modulate around the mean demand rather than drawing a flat line.
    cycling = np.clip(1.0 + 0.3 * rng.standard_normal(len(temp_air)), 0.2, None)
    return (heating_kw * cycling + HP_HOT_WATER_KW) * STEP_HOURS


def indoor_temperature(temp_air: np.ndarray, index: pd.DatetimeIndex, tz: str,
                       rng: np.random.Generator) -> np.ndarray:
    """A living-room temperature [degC] at each ``ts``: heated to about 21 degC with a night
    set-back, drifting up with the outdoor air in summer, with sensor noise (0.1 K steps)."""
    local = index.tz_convert(tz)
    hour = local.hour.to_numpy() + local.minute.to_numpy() / 60.0
    night = (hour >= 23.0) | (hour < 6.0)
    heated = 21.0 - 1.5 * night
    summer_drift = 0.45 * np.clip(temp_air - 21.0, 0.0, None)
    slow = 0.3 * ar1(rng, len(index), 0.98)
    return np.round(heated + summer_drift + slow + 0.05 * rng.standard_normal(len(index)), 1)


def _gauss(hour: np.ndarray, centre: float, width: float) -> np.ndarray:
    # Circular distance on the 24 h clock, so a peak near midnight wraps.
    d = (hour - centre + 12.0) % 24.0 - 12.0
    return np.exp(-0.5 * (d / width) ** 2)


def _daily_routine(rng: np.random.Generator, hour: np.ndarray, weekend: np.ndarray,
                   doy: np.ndarray) -> np.ndarray:
    """Relative consumption per step [-]: routine x season (weights vary per household)."""
    morning = float(rng.normal(6.8, 0.4))
    evening = float(rng.normal(19.0, 0.6))
    w_morning, w_midday, w_evening = rng.uniform(0.6, 1.1), rng.uniform(0.2, 0.5), rng.uniform(1.0, 1.6)
    standby = float(rng.uniform(0.25, 0.45))
    workday = (
        standby + w_morning * _gauss(hour, morning, 0.8) + w_midday * _gauss(hour, 12.5, 1.5)
        + w_evening * _gauss(hour, evening, 1.8)
    )
    weekend_day = (
        standby + 0.8 * w_morning * _gauss(hour, morning + 2.0, 1.3)
        + 1.8 * w_midday * _gauss(hour, 12.5, 2.0) + w_evening * _gauss(hour, evening, 2.0)
    )
    routine = np.where(weekend, weekend_day, workday)
    season = 1.0 + 0.2 * np.cos(2 * np.pi * (doy - 15) / 365.25)
    # Lighting: winter evenings are dark earlier, so the evening peak grows more than the rest.
    lighting = 0.15 * np.clip(np.cos(2 * np.pi * (doy - 15) / 365.25), 0.0, None) * _gauss(hour, 18.0, 2.5)
    return routine * season + lighting


def _appliance_spikes(rng: np.random.Generator, hour: np.ndarray, n: int) -> np.ndarray:
    """Kettle, oven, washing machine: about three short bursts a day, mostly while awake."""
    awake = np.where((hour >= 6.5) & (hour < 23.0), 1.0, 0.08)
    rate = 3.0 / 96.0 * awake / awake.mean()
    hits = rng.random(n) < rate
    return np.where(hits, rng.uniform(0.15, 0.6, n), 0.0)


def _ev_sessions(rng: np.random.Generator, local: pd.DatetimeIndex, n: int) -> np.ndarray:
    """EV charging [kWh per step]: on some evenings, from arrival until the car is full."""
    ev = np.zeros(n)
    step_kwh = EV_POWER_KW * STEP_HOURS
    days = local.normalize().unique()
    first_step = np.searchsorted(local.normalize().asi8, days.asi8)
    for day_no in range(len(days)):
        if rng.random() >= EV_SESSION_PROBABILITY:
            continue
        arrival_steps = int(rng.integers(17 * 4, 20 * 4))  # 17:00-20:00 local
        need_kwh = float(rng.uniform(6.0, 16.0))
        start = first_step[day_no] + arrival_steps
        full, rest = divmod(need_kwh, step_kwh)
        stop = min(start + int(full), n)
        ev[start:stop] += step_kwh
        if stop < n and rest > 0:
            ev[stop] += rest
    return ev
