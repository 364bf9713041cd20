"""Physical PV model with pvlib: from weather to expected AC output, and a clear-sky upper bound.

The chain follows PVWatts, as pvlib's ``ModelChain.with_pvwatts`` does:
solar position -> Ineichen clear sky -> (Erbs decomposition when only GHI is
known) -> Perez transposition to the plane of array -> physical incidence-angle
loss on the beam -> SAPM cell temperature -> PVWatts DC -> system losses ->
PVWatts inverter with its AC limit.

Time convention: a value labelled ``ts`` belongs to the interval *starting* at
``ts`` (as readings do). :func:`expected_pv` evaluates the sun at the middle of
each interval and returns the interval's mean power [kW] and energy [kWh per
step]. The lower-level functions evaluate at the instants they are given.

Angles in degrees: tilt from horizontal, azimuth east of north (180 = south).
Irradiance [W/m2], temperature [degC], wind [m/s], power [kW], energy [kWh].
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache

import numpy as np
import pandas as pd
import pvlib

#: Temperature coefficient of DC power [1/K], crystalline silicon (PVWatts default is -0.0047
#: for "standard" modules of 2014; -0.0037 matches current modules and the demo data).
GAMMA_PDC = -0.0037
#: Ground reflectance [-].
ALBEDO = 0.2
#: Nominal inverter efficiency [-] (PVWatts default).
ETA_INV_NOM = 0.96
#: SAPM cell-temperature parameters of a roof-mounted array (glass/glass, close mount):
#: rooftops run hotter than open racks.
TEMPERATURE_PARAMS = pvlib.temperature.TEMPERATURE_MODEL_PARAMETERS["sapm"]["close_mount_glass_glass"]
#: Fraction by which measured output may exceed the clear-sky bound of :func:`expected_pv`:
#: cloud-edge enhancement and Linke-turbidity climatology that is hazier than the day
#: can lift real output about 10 % above the Ineichen clear sky; forecasts are clipped to
#: ``(1 + CLEARSKY_MARGIN) * clearsky_kw`` and never exceed it.
CLEARSKY_MARGIN = 0.15
#: Where the air is assumed to be when a weather frame has no temperature [degC] / wind [m/s]
#: (pvlib's ModelChain defaults).
DEFAULT_TEMP_AIR = 20.0
DEFAULT_WIND_SPEED = 0.0


@dataclass(frozen=True)
class PVArray:
    """One PV array and its inverter.

    ``kwp`` DC peak power [kWp]; ``tilt_deg`` from horizontal and ``azimuth_deg`` east of
    north [deg]; ``losses_pct`` PVWatts system losses [%]; ``inverter_kw`` AC limit [kW]
    (None: no clipping beyond the PVWatts inverter curve sized at ``kwp``).
    """

    kwp: float
    tilt_deg: float = 30.0
    azimuth_deg: float = 180.0
    losses_pct: float = 14.0
    inverter_kw: float | None = None

    def __post_init__(self) -> None:
        if not self.kwp > 0:
            raise ValueError(f"kWp must be positive, got {self.kwp}")
        if not 0 <= self.tilt_deg <= 90:
            raise ValueError(f"tilt must be between 0 and 90 degrees from horizontal, got {self.tilt_deg}")
        if not 0 <= self.azimuth_deg <= 360:
            raise ValueError(
                f"azimuth must be between 0 and 360 degrees east of north (180 = south), got {self.azimuth_deg}"
            )
        if not 0 <= self.losses_pct < 100:
            hint = " (give per cent: 14, not 0.14)" if 0 < self.losses_pct < 1 else ""
            raise ValueError(f"losses must be between 0 and 100 %, got {self.losses_pct}{hint}")
        if self.inverter_kw is not None and not self.inverter_kw > 0:
            raise ValueError(f"inverter limit must be positive kW or empty, got {self.inverter_kw}")


@dataclass(frozen=True)
class Location:
    """Where the arrays are: latitude [deg north], longitude [deg east], altitude [m]."""

    latitude: float
    longitude: float
    altitude_m: float | None = None

    @property
    def altitude(self) -> float:
        """Altitude [m]: the given one, or pvlib's lookup from its bundled elevation map."""
        if self.altitude_m is not None:
            return float(self.altitude_m)
        return _lookup_altitude(round(self.latitude, 2), round(self.longitude, 2))


@lru_cache(maxsize=256)
def _lookup_altitude(latitude: float, longitude: float) -> float:
    # A pure function of its arguments, cached only to skip re-reading pvlib's map file.
    return float(pvlib.location.lookup_altitude(latitude, longitude))


# --- geometry and clear sky ----------------------------------------------------------------


def solar_position(times: pd.DatetimeIndex, location: Location) -> pd.DataFrame:
    """Sun position at ``times`` (UTC instants).

    Returns
    -------
    DataFrame
        ``apparent_zenith``, ``zenith``, ``elevation``, ``azimuth`` [deg] (azimuth east of north).
    """
    pos = pvlib.solarposition.get_solarposition(
        times, location.latitude, location.longitude, altitude=location.altitude
    )
    return pos[["apparent_zenith", "zenith", "elevation", "azimuth"]]


def clearsky_irradiance(times: pd.DatetimeIndex, location: Location,
                        solar_pos: pd.DataFrame | None = None) -> pd.DataFrame:
    """Ineichen/Perez clear-sky irradiance at ``times`` with the Linke turbidity climatology.

    Returns
    -------
    DataFrame
        ``ghi``, ``dni``, ``dhi`` [W/m2].
    """
    solar_pos = solar_position(times, location) if solar_pos is None else solar_pos
    turbidity = pvlib.clearsky.lookup_linke_turbidity(times, location.latitude, location.longitude)
    airmass_rel = pvlib.atmosphere.get_relative_airmass(solar_pos["apparent_zenith"])
    pressure = pvlib.atmosphere.alt2pres(location.altitude)
    airmass_abs = pvlib.atmosphere.get_absolute_airmass(airmass_rel, pressure)
    dni_extra = pvlib.irradiance.get_extra_radiation(times)
    cs = pvlib.clearsky.ineichen(solar_pos["apparent_zenith"], airmass_abs, turbidity,
                                 altitude=location.altitude, dni_extra=dni_extra)
    return pd.DataFrame(cs, index=times)[["ghi", "dni", "dhi"]].fillna(0.0)


def decompose_ghi(ghi: pd.Series, solar_pos: pd.DataFrame, model: str = "erbs") -> pd.DataFrame:
    """Split global horizontal irradiance [W/m2] into ``dni`` and ``dhi`` [W/m2].

    ``model`` is ``erbs`` (fast, needs only GHI) or ``dirint`` (uses the change of the
    clearness index between steps; better with hourly satellite data, slower).
    """
    if model == "erbs":
        out = pvlib.irradiance.erbs(ghi, solar_pos["zenith"], ghi.index)
        dni = out["dni"]
    elif model == "dirint":
        dni = pvlib.irradiance.dirint(ghi, solar_pos["zenith"], ghi.index)
    else:
        raise ValueError(f"decomposition model must be 'erbs' or 'dirint', got {model!r}")
    dni = pd.Series(np.nan_to_num(np.asarray(dni, dtype=float)), index=ghi.index).clip(lower=0.0)
    cos_z = np.cos(np.radians(solar_pos["zenith"])).clip(lower=0.0)
    dhi = (ghi - dni * cos_z).clip(lower=0.0)
    return pd.DataFrame({"dni": dni, "dhi": dhi})


def plane_of_array(array: PVArray, solar_pos: pd.DataFrame, dni, ghi, dhi,
                   model: str = "perez") -> pd.DataFrame:
    """Irradiance on the array's plane with ``model`` (``perez``, ``haydavies`` or ``isotropic``).

    Returns
    -------
    DataFrame
        ``poa_global``, ``poa_direct``, ``poa_diffuse`` [W/m2] (non-negative) and ``aoi`` [deg].
    """
    times = solar_pos.index
    dni_extra = pvlib.irradiance.get_extra_radiation(times)
    airmass = pvlib.atmosphere.get_relative_airmass(solar_pos["apparent_zenith"], model="kastenyoung1989")
    poa = pvlib.irradiance.get_total_irradiance(
        array.tilt_deg, array.azimuth_deg, solar_pos["apparent_zenith"], solar_pos["azimuth"],
        dni, ghi, dhi, dni_extra=dni_extra, airmass=airmass, albedo=ALBEDO, model=model,
    )
    out = pd.DataFrame(poa, index=times)[["poa_global", "poa_direct", "poa_diffuse"]]
    out = out.fillna(0.0).clip(lower=0.0)
    out["aoi"] = pvlib.irradiance.aoi(array.tilt_deg, array.azimuth_deg,
                                      solar_pos["apparent_zenith"], solar_pos["azimuth"])
    return out


def cell_temperature(poa_global, temp_air, wind_speed) -> np.ndarray:
    """SAPM cell temperature [degC] of a roof-mounted module from POA irradiance [W/m2],
    air temperature [degC] and wind speed [m/s]."""
    p = TEMPERATURE_PARAMS
    return np.asarray(pvlib.temperature.sapm_cell(poa_global, temp_air, wind_speed, p["a"], p["b"], p["deltaT"]),
                      dtype=float)


def pvwatts_ac_kw(poa: pd.DataFrame, temp_cell, array: PVArray) -> np.ndarray:
    """AC power [kW] from plane-of-array irradiance and cell temperature, PVWatts style.

    The beam loses what the glass reflects (pvlib's physical IAM); DC follows PVWatts with
    :data:`GAMMA_PDC`; ``losses_pct`` come off the DC side; the PVWatts inverter is sized so
    that its AC ceiling is ``inverter_kw`` (or ``kwp * ETA_INV_NOM`` without one).
    """
    iam = np.nan_to_num(np.asarray(pvlib.iam.physical(poa["aoi"]), dtype=float))
    effective = poa["poa_direct"].to_numpy() * iam + poa["poa_diffuse"].to_numpy()
    pdc_kw = np.asarray(pvlib.pvsystem.pvwatts_dc(effective, temp_cell, array.kwp, GAMMA_PDC), dtype=float)
    pdc_kw = pdc_kw * (1.0 - array.losses_pct / 100.0)
    inverter_pdc0 = (array.inverter_kw or array.kwp * ETA_INV_NOM) / ETA_INV_NOM
    pac_kw = np.asarray(pvlib.inverter.pvwatts(pdc_kw, inverter_pdc0, eta_inv_nom=ETA_INV_NOM), dtype=float)
    return np.clip(np.nan_to_num(pac_kw), 0.0, None)


# --- the whole chain -------------------------------------------------------------------------


def expected_pv(index: pd.DatetimeIndex, arrays: Sequence[PVArray], location: Location,
                weather: pd.DataFrame | None = None, step: timedelta = timedelta(hours=1),
                transposition: str = "perez", decomposition: str = "erbs") -> pd.DataFrame:
    """Expected AC output of ``arrays`` in each interval starting at ``index``, and its clear-sky bound.

    Parameters
    ----------
    index : DatetimeIndex
        UTC interval starts, ``step`` apart.
    arrays : sequence of PVArray
        The household's arrays (their outputs add up).
    location : Location
        Latitude/longitude [deg], altitude [m].
    weather : DataFrame, optional
        On ``index``: ``ghi`` [W/m2] (required), ``dni``/``dhi`` [W/m2] (decomposed from GHI
        when absent or missing), ``temp_air`` [degC], ``wind_speed`` [m/s]. Values are the
        interval means. Without weather only the clear-sky columns are meaningful and
        ``ac_kw``/``energy_kwh`` are the clear-sky ones.
    step : timedelta
        Interval length; the sun is placed at the interval middle.

    Returns
    -------
    DataFrame indexed like ``index``
        ``solar_elevation``, ``solar_azimuth`` [deg]; ``ghi_clearsky`` [W/m2];
        ``poa_clearsky``, ``poa_global`` [W/m2] (irradiance-weighted mean over arrays);
        ``temp_cell`` [degC]; ``ac_kw`` mean AC power [kW] and ``energy_kwh`` [kWh per step];
        ``clearsky_kw`` / ``clearsky_kwh``, the same under a clear sky (the upper bound,
        before :data:`CLEARSKY_MARGIN`). Everything is zero when the sun is below the horizon
        at the interval middle.
    """
    if not arrays:
        raise ValueError("no PV arrays given: a household without PV has no PV forecast")
    mid = pd.DatetimeIndex(index) + step / 2
    pos = solar_position(mid, location)
    cs = clearsky_irradiance(mid, location, pos)
    daylight = (pos["apparent_zenith"] < 90.0).to_numpy()
    if weather is None:
        ghi, dni, dhi = cs["ghi"], cs["dni"], cs["dhi"]
        temp_air = pd.Series(DEFAULT_TEMP_AIR, index=mid)
        wind = pd.Series(DEFAULT_WIND_SPEED, index=mid)
    else:
        ghi, dni, dhi, temp_air, wind = _weather_on(weather, index, mid, pos, decomposition)

    hours = step / timedelta(hours=1)
    out = pd.DataFrame(index=pd.DatetimeIndex(index))
    out["solar_elevation"] = pos["elevation"].to_numpy()
    out["solar_azimuth"] = pos["azimuth"].to_numpy()
    out["ghi_clearsky"] = np.where(daylight, cs["ghi"].to_numpy(), 0.0)
    ac = np.zeros(len(mid))
    ac_cs = np.zeros(len(mid))
    poa_sum = np.zeros(len(mid))
    poa_cs_sum = np.zeros(len(mid))
    temp_cell = np.zeros(len(mid))
    total_kwp = sum(a.kwp for a in arrays)
    for array in arrays:
        poa = plane_of_array(array, pos, dni, ghi, dhi, transposition)
        poa_cs = plane_of_array(array, pos, cs["dni"], cs["ghi"], cs["dhi"], transposition)
        t_cell = cell_temperature(poa["poa_global"], temp_air, wind)
        t_cell_cs = cell_temperature(poa_cs["poa_global"], temp_air, wind)
        ac += pvwatts_ac_kw(poa, t_cell, array)
        ac_cs += pvwatts_ac_kw(poa_cs, t_cell_cs, array)
        poa_sum += poa["poa_global"].to_numpy() * array.kwp
        poa_cs_sum += poa_cs["poa_global"].to_numpy() * array.kwp
        temp_cell += t_cell * array.kwp
    night = ~daylight
    for values in (ac, ac_cs, poa_sum, poa_cs_sum):
        values[night] = 0.0
    out["poa_clearsky"] = poa_cs_sum / total_kwp
    out["poa_global"] = poa_sum / total_kwp
    out["temp_cell"] = temp_cell / total_kwp
    out["ac_kw"] = ac
    out["energy_kwh"] = ac * hours
    out["clearsky_kw"] = ac_cs
    out["clearsky_kwh"] = ac_cs * hours
    return out


def clearsky_bound_kwh(expected: pd.DataFrame) -> pd.Series:
    """The most a forecast may say [kWh per step]: the clear-sky energy plus :data:`CLEARSKY_MARGIN`."""
    return expected["clearsky_kwh"] * (1.0 + CLEARSKY_MARGIN)


def _weather_on(weather: pd.DataFrame, index: pd.DatetimeIndex, mid: pd.DatetimeIndex,
                pos: pd.DataFrame, decomposition: str):
    """Weather columns re-labelled to interval middles, with DNI/DHI decomposed where missing."""
    if "ghi" not in weather.columns:
        raise ValueError("weather needs a 'ghi' column [W/m2] to estimate PV")
    frame = weather.reindex(pd.DatetimeIndex(index))
    frame.index = mid
    ghi = frame["ghi"].astype(float).clip(lower=0.0)
    have_split = {"dni", "dhi"} <= set(frame.columns)
    split = decompose_ghi(ghi.fillna(0.0), pos, decomposition)
    if have_split:
        known = frame["dni"].notna() & frame["dhi"].notna()
        dni = frame["dni"].astype(float).where(known, split["dni"])
        dhi = frame["dhi"].astype(float).where(known, split["dhi"])
    else:
        dni, dhi = split["dni"], split["dhi"]
    temp_air = _column(frame, "temp_air", DEFAULT_TEMP_AIR)
    wind = _column(frame, "wind_speed", DEFAULT_WIND_SPEED)
    return ghi.fillna(0.0), dni.fillna(0.0), dhi.fillna(0.0), temp_air, wind


def _column(frame: pd.DataFrame, name: str, default: float) -> pd.Series:
    if name not in frame.columns:
        return pd.Series(default, index=frame.index)
    return frame[name].astype(float).fillna(default)
