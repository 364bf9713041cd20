"""PV output of a household from its site's weather, with pvlib's physics.

Chain (per array): household cloud noise on the site's clear-sky index ->
GHI -> Erbs decomposition into DNI/DHI -> Hay-Davies transposition to the
plane of array -> Faiman cell temperature -> PVWatts DC (gamma -0.37 %/K) ->
system losses -> PVWatts inverter with its AC limit. Solar position and
clear-sky irradiance are computed once per site (:mod:`services.demo.weather`):
households sit a few km from the site centre, where the sun's position differs
by far less than the cloud noise.

Output is AC energy in the interval starting at ``ts`` [kWh per 15 min], zero
whenever the sun is below the horizon at the interval's middle.
"""

from __future__ import annotations

import numpy as np
import pvlib

from services.demo.portfolio import HouseholdSpec, PVSpec
from services.demo.weather import SiteWeather, ar1

#: Temperature coefficient of DC power [1/K], typical crystalline silicon.
GAMMA_PDC = -0.0037
#: Ground reflectance [-] for the diffuse part reflected onto tilted panels.
ALBEDO = 0.2
#: Hours per 15-minute step, to turn mean power [kW] into energy [kWh].
STEP_HOURS = 0.25


def household_pv(spec: HouseholdSpec, weather: SiteWeather, seed: int) -> np.ndarray:
    """AC energy of all arrays of ``spec`` [kWh per 15 min]; zeros if it has no PV.

    A household's sky differs slightly from the site centre's: its clear-sky index
    is the site's times a slow multiplicative noise (about 5 %), capped at 1.05.
    """
    n = len(weather.index)
    if not spec.pv:
        return np.zeros(n)
    rng = np.random.default_rng([seed, spec.index, 2])
    kc = np.minimum(weather.kc * np.exp(0.05 * ar1(rng, n, 0.9)), 1.05)
    daylight = weather.solar_zenith < 90.0
    ghi = np.where(daylight, weather.clearsky_ghi * kc, 0.0)
    split = pvlib.irradiance.erbs(ghi, weather.solar_zenith, weather.index.day_of_year.to_numpy())
    dni = np.nan_to_num(np.asarray(split["dni"], dtype=float))
    dhi = np.nan_to_num(np.asarray(split["dhi"], dtype=float))
    energy = np.zeros(n)
    for array in spec.pv:
        energy += array_ac_kwh(array, weather, ghi, dni, dhi)
    energy[~daylight] = 0.0
    return energy


def array_ac_kwh(array: PVSpec, weather: SiteWeather, ghi: np.ndarray, dni: np.ndarray,
                 dhi: np.ndarray) -> np.ndarray:
    """AC energy of one array [kWh per 15 min] from horizontal irradiance [W/m2].

    Parameters
    ----------
    array : PVSpec
        ``kwp`` [kWp], tilt/azimuth [deg], ``losses_pct`` [%], ``inverter_kw`` [kW].
    weather : SiteWeather
        Sun position [deg], extraterrestrial irradiance [W/m2], air temperature [degC]
        and wind speed [m/s] on the same index.
    ghi, dni, dhi : ndarray
        Global horizontal, direct normal and diffuse horizontal irradiance [W/m2].
    """
    poa = pvlib.irradiance.get_total_irradiance(
        array.tilt_deg, array.azimuth_deg, weather.solar_zenith, weather.solar_azimuth,
        dni, ghi, dhi, dni_extra=weather.dni_extra, albedo=ALBEDO, model="haydavies",
    )
    poa_global = np.nan_to_num(np.asarray(poa["poa_global"], dtype=float)).clip(min=0.0)
    temp_cell = pvlib.temperature.faiman(poa_global, weather.temp_air, weather.wind_speed)
    pdc_kw = pvlib.pvsystem.pvwatts_dc(poa_global, temp_cell, array.kwp, GAMMA_PDC)
    pdc_kw = np.asarray(pdc_kw, dtype=float) * (1.0 - array.losses_pct / 100.0)
    # PVWatts inverter: its AC output saturates at eta_nom * pdc0, so pdc0 is chosen
    # to make that limit the inverter's AC rating.
    eta_nom = 0.96
    pac_kw = pvlib.inverter.pvwatts(pdc_kw, array.inverter_kw / eta_nom, eta_inv_nom=eta_nom)
    pac_kw = np.clip(np.nan_to_num(np.asarray(pac_kw, dtype=float)), 0.0, array.inverter_kw)
    return pac_kw * STEP_HOURS
