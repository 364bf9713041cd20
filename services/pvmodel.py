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

import calendar
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache

import numpy as np
import pandas as pd

from services.equipment import PV
from services.lazy import lazy_import

pvlib = lazy_import("pvlib")  # about 50 MB with scipy and h5py: loaded when a PV model runs

#: Temperature coefficient of DC power [1/K], crystalline silicon (PVWatts default is -0.0047
#: for "standard" modules of 2014; -0.0037 matches current modules and the demo data).
GAMMA_PDC = -0.0037
#: Ground reflectance [-].
ALBEDO = 0.2
#: Nominal inverter efficiency [-] (PVWatts default).
ETA_INV_NOM = 0.96
#: SAPM cell-temperature parameters of a roof-mounted array (glass/glass, close mount):
#: rooftops run hotter than open racks.
#: pvlib.temperature.TEMPERATURE_MODEL_PARAMETERS["sapm"]["close_mount_glass_glass"], written out so that
#: importing this module does not load pvlib.
TEMPERATURE_PARAMS = {"a": -2.98, "b": -0.0471, "deltaT": 1}
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
    (None: no clipping beyond the PVWatts inverter curve sized at ``kwp``). Fields and defaults:
    :data:`services.equipment.PV`, whose checks judge what a person enters; the checks here only
    keep the model from computing nonsense (azimuth 360 is north; losses under 1 % are a fraction).
    """

    kwp: float
    tilt_deg: float = PV.tilt_deg.default
    azimuth_deg: float = PV.azimuth_deg.default
    losses_pct: float = PV.losses_pct.default
    inverter_kw: float | None = PV.inverter_kw.default

    @classmethod
    def of(cls, system: object) -> PVArray:
        """The model's view of a stored or entered PV system (a ``PVSystemDetail``, a
        ``PVSystemInput`` or a store row: anything with the fields of :data:`services.equipment.PV`)."""
        return cls(**{name: getattr(system, name) for name in cls.__dataclass_fields__})

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
            raise ValueError(f"losses must be between 0 and 100 %, got {self.losses_pct}")
        if 0 < self.losses_pct < 1:  # no real system loses under 1 %: a fraction given as per cent
            raise ValueError(f"losses of {self.losses_pct} % are implausible: give per cent: "
                             f"{self.losses_pct * 100:g}, not {self.losses_pct}")
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


@lru_cache(maxsize=256)
def _monthly_linke(latitude: float, longitude: float) -> tuple[float, ...]:
    # Reading pvlib's turbidity map costs milliseconds; the 12 monthly values of a place never change.
    middles = pd.DatetimeIndex([f"2015-{m:02d}-15" for m in range(1, 13)], tz="UTC")
    values = pvlib.clearsky.lookup_linke_turbidity(middles, latitude, longitude, interp_turbidity=False)
    return tuple(float(v) for v in values)


def linke_turbidity(times: pd.DatetimeIndex, location: Location) -> np.ndarray:
    """Linke turbidity [-] at ``times``: pvlib's monthly climatology, interpolated between
    mid-months by day of year as :func:`pvlib.clearsky.lookup_linke_turbidity` does."""
    monthly = np.array(_monthly_linke(round(location.latitude, 4), round(location.longitude, 4)))
    wrapped = np.concatenate([[monthly[-1]], monthly, [monthly[0]]])
    utc = pd.DatetimeIndex(times).tz_convert("UTC") if pd.DatetimeIndex(times).tz else pd.DatetimeIndex(times)
    doy = utc.day_of_year.to_numpy()
    leap = utc.is_leap_year
    return np.where(leap, np.interp(doy, _month_middles(True), wrapped),
                    np.interp(doy, _month_middles(False), wrapped))


def _month_middles(leap: bool) -> np.ndarray:
    days = np.array(calendar.mdays[1:], dtype=float)
    if leap:
        days[1] += 1
    year = days.sum()
    return np.concatenate([[-calendar.mdays[12] / 2.0], np.cumsum(days) - days / 2.0,
                           [year + calendar.mdays[1] / 2.0]])


# --- geometry and clear sky ----------------------------------------------------------------


def solar_position(times: pd.DatetimeIndex, location: Location) -> pd.DataFrame:
    """Sun position at ``times`` (UTC instants).

    Regular time grids are cached per place (SPA costs ~0.1 s for a year of hours, and the
    households of one site, the quality checks and the forecasts ask for the same grid).

    Returns
    -------
    DataFrame
        ``apparent_zenith``, ``zenith``, ``elevation``, ``azimuth`` [deg] (azimuth east of north).
    """
    stamps = times.as_unit("ns").asi8
    if len(stamps) > 2 and times.tz is not None:
        steps = np.diff(stamps)
        if (steps == steps[0]).all():
            return _regular_solar_position(location.latitude, location.longitude, location.altitude,
                                           str(times.tz), int(stamps[0]), int(steps[0]), len(stamps)).set_axis(times)
    return _solar_position(times, location.latitude, location.longitude, location.altitude)


@lru_cache(maxsize=64)
def _regular_solar_position(latitude: float, longitude: float, altitude: float, tz: str, first_ns: int,
                            step_ns: int, count: int) -> pd.DataFrame:
    times = pd.to_datetime(first_ns + step_ns * np.arange(count, dtype=np.int64), unit="ns", utc=True).tz_convert(tz)
    return _solar_position(times, latitude, longitude, altitude)


def _solar_position(times: pd.DatetimeIndex, latitude: float, longitude: float, altitude: float) -> pd.DataFrame:
    pos = pvlib.solarposition.get_solarposition(times, latitude, longitude, altitude=altitude)
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
    turbidity = linke_turbidity(times, location)
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
    dni, dhi = _decompose(ghi.to_numpy(dtype=float), solar_pos["zenith"].to_numpy(), ghi.index, model)
    return pd.DataFrame({"dni": dni, "dhi": dhi}, index=ghi.index)


def plane_of_array(array: PVArray, solar_pos: pd.DataFrame, dni, ghi, dhi,
                   model: str = "perez") -> pd.DataFrame:
    """Irradiance on the array's plane with ``model`` (``perez``, ``haydavies`` or ``isotropic``).

    Returns
    -------
    DataFrame
        ``poa_global``, ``poa_direct``, ``poa_diffuse`` [W/m2] (non-negative) and ``aoi`` [deg].
    """
    sun = _Sun.at(solar_pos)
    poa = _poa(array, sun, np.asarray(dni, dtype=float), np.asarray(ghi, dtype=float),
               np.asarray(dhi, dtype=float), model)
    return pd.DataFrame(poa, index=solar_pos.index)


def cell_temperature(poa_global, temp_air, wind_speed) -> np.ndarray:
    """SAPM cell temperature [degC] of a roof-mounted module from POA irradiance [W/m2],
    air temperature [degC] and wind speed [m/s]."""
    p = TEMPERATURE_PARAMS
    return np.asarray(pvlib.temperature.sapm_cell(poa_global, temp_air, wind_speed, p["a"], p["b"], p["deltaT"]),
                      dtype=float)


def pvwatts_ac_kw(poa, temp_cell, array: PVArray) -> np.ndarray:
    """AC power [kW] from plane-of-array irradiance (``poa_direct``, ``poa_diffuse`` [W/m2],
    ``aoi`` [deg]) and cell temperature [degC], PVWatts style.

    The beam loses what the glass reflects (pvlib's physical IAM); DC follows PVWatts with
    :data:`GAMMA_PDC`; ``losses_pct`` come off the DC side; the PVWatts inverter is sized so
    that its AC ceiling is ``inverter_kw`` (or ``kwp * ETA_INV_NOM`` without one).
    """
    iam = np.nan_to_num(np.asarray(pvlib.iam.physical(np.asarray(poa["aoi"], dtype=float)), dtype=float))
    effective = np.asarray(poa["poa_direct"], dtype=float) * iam + np.asarray(poa["poa_diffuse"], dtype=float)
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
        ``poa_clearsky``, ``poa_global`` [W/m2] (kWp-weighted mean over arrays);
        ``temp_cell`` [degC]; ``ac_kw`` mean AC power [kW] and ``energy_kwh`` [kWh per step];
        ``clearsky_kw`` / ``clearsky_kwh``, the same under a clear sky (the upper bound,
        before :data:`CLEARSKY_MARGIN`). Everything is zero when the sun is below the horizon
        at the interval middle.
    """
    if not arrays:
        raise ValueError("no PV arrays given: a household without PV has no PV forecast")
    index = pd.DatetimeIndex(index)
    mid = index + step / 2
    pos = solar_position(mid, location)
    sun = _Sun.at(pos)
    cs = clearsky_irradiance(mid, location, pos)
    cs_ghi, cs_dni, cs_dhi = (cs[c].to_numpy() for c in ("ghi", "dni", "dhi"))
    n = len(mid)
    if weather is None:
        ghi, dni, dhi = cs_ghi, cs_dni, cs_dhi
        temp_air, wind = np.full(n, DEFAULT_TEMP_AIR), np.full(n, DEFAULT_WIND_SPEED)
    else:
        ghi, dni, dhi, temp_air, wind = _weather_arrays(weather, index, sun, decomposition)

    daylight = sun.apparent_zenith < 90.0
    ac, ac_cs, poa_sum, poa_cs_sum, temp_cell = (np.zeros(n) for _ in range(5))
    for array in arrays:
        poa = _poa(array, sun, dni, ghi, dhi, transposition)
        poa_cs = _poa(array, sun, cs_dni, cs_ghi, cs_dhi, transposition)
        t_cell = cell_temperature(poa["poa_global"], temp_air, wind)
        t_cell_cs = cell_temperature(poa_cs["poa_global"], temp_air, wind)
        ac += pvwatts_ac_kw(poa, t_cell, array)
        ac_cs += pvwatts_ac_kw(poa_cs, t_cell_cs, array)
        poa_sum += poa["poa_global"] * array.kwp
        poa_cs_sum += poa_cs["poa_global"] * array.kwp
        temp_cell += t_cell * array.kwp
    for values in (ac, ac_cs, poa_sum, poa_cs_sum):
        values[~daylight] = 0.0
    total_kwp = sum(a.kwp for a in arrays)
    hours = step / timedelta(hours=1)
    return pd.DataFrame({
        "solar_elevation": sun.elevation,
        "solar_azimuth": sun.azimuth,
        "ghi_clearsky": np.where(daylight, cs_ghi, 0.0),
        "poa_clearsky": poa_cs_sum / total_kwp,
        "poa_global": poa_sum / total_kwp,
        "temp_cell": temp_cell / total_kwp,
        "ac_kw": ac,
        "energy_kwh": ac * hours,
        "clearsky_kw": ac_cs,
        "clearsky_kwh": ac_cs * hours,
    }, index=index)


def clearsky_bound_kwh(expected: pd.DataFrame) -> pd.Series:
    """The most a forecast may say [kWh per step]: the clear-sky energy plus :data:`CLEARSKY_MARGIN`."""
    return expected["clearsky_kwh"] * (1.0 + CLEARSKY_MARGIN)


@dataclass(frozen=True)
class _Sun:
    """Sun and atmosphere at a set of instants, as numpy arrays (computed once per call chain)."""

    times: pd.DatetimeIndex
    apparent_zenith: np.ndarray
    zenith: np.ndarray
    azimuth: np.ndarray
    elevation: np.ndarray
    dni_extra: np.ndarray
    airmass: np.ndarray

    @classmethod
    def at(cls, solar_pos: pd.DataFrame) -> _Sun:
        times = pd.DatetimeIndex(solar_pos.index)
        apparent = solar_pos["apparent_zenith"].to_numpy(dtype=float)
        return cls(
            times=times, apparent_zenith=apparent, zenith=solar_pos["zenith"].to_numpy(dtype=float),
            azimuth=solar_pos["azimuth"].to_numpy(dtype=float),
            elevation=solar_pos["elevation"].to_numpy(dtype=float),
            dni_extra=np.asarray(pvlib.irradiance.get_extra_radiation(times), dtype=float),
            airmass=np.asarray(pvlib.atmosphere.get_relative_airmass(apparent, model="kastenyoung1989"),
                               dtype=float),
        )


def _poa(array: PVArray, sun: _Sun, dni: np.ndarray, ghi: np.ndarray, dhi: np.ndarray,
         model: str) -> dict[str, np.ndarray]:
    poa = pvlib.irradiance.get_total_irradiance(
        array.tilt_deg, array.azimuth_deg, sun.apparent_zenith, sun.azimuth, dni, ghi, dhi,
        dni_extra=sun.dni_extra, airmass=sun.airmass, albedo=ALBEDO, model=model,
    )
    out = {k: np.clip(np.nan_to_num(np.asarray(poa[k], dtype=float)), 0.0, None)
           for k in ("poa_global", "poa_direct", "poa_diffuse")}
    out["aoi"] = np.asarray(pvlib.irradiance.aoi(array.tilt_deg, array.azimuth_deg, sun.apparent_zenith,
                                                 sun.azimuth), dtype=float)
    return out


def _decompose(ghi: np.ndarray, zenith: np.ndarray, times: pd.DatetimeIndex,
               model: str) -> tuple[np.ndarray, np.ndarray]:
    if model == "erbs":
        dni = pvlib.irradiance.erbs(ghi, zenith, times.day_of_year.to_numpy())["dni"]
    elif model == "dirint":
        dni = pvlib.irradiance.dirint(pd.Series(ghi, index=times), pd.Series(zenith, index=times), times)
    else:
        raise ValueError(f"decomposition model must be 'erbs' or 'dirint', got {model!r}")
    dni = np.clip(np.nan_to_num(np.asarray(dni, dtype=float)), 0.0, None)
    dhi = np.clip(ghi - dni * np.clip(np.cos(np.radians(zenith)), 0.0, None), 0.0, None)
    return dni, dhi


def _weather_arrays(weather: pd.DataFrame, index: pd.DatetimeIndex, sun: _Sun, decomposition: str):
    """Weather on ``index`` as arrays, with DNI/DHI decomposed from GHI where missing."""
    if "ghi" not in weather.columns:
        raise ValueError("weather needs a 'ghi' column [W/m2] to estimate PV")
    frame = weather.reindex(index)
    ghi = np.clip(np.nan_to_num(frame["ghi"].to_numpy(dtype=float)), 0.0, None)
    dni_split, dhi_split = _decompose(ghi, sun.zenith, sun.times, decomposition)
    if "dni" in frame.columns and "dhi" in frame.columns:
        given_dni, given_dhi = frame["dni"].to_numpy(dtype=float), frame["dhi"].to_numpy(dtype=float)
        known = ~np.isnan(given_dni) & ~np.isnan(given_dhi)
        dni = np.where(known, given_dni, dni_split)
        dhi = np.where(known, given_dhi, dhi_split)
    else:
        dni, dhi = dni_split, dhi_split
    return ghi, dni, dhi, _column(frame, "temp_air", DEFAULT_TEMP_AIR), _column(frame, "wind_speed",
                                                                              DEFAULT_WIND_SPEED)


def _column(frame: pd.DataFrame, name: str, default: float) -> np.ndarray:
    if name not in frame.columns:
        return np.full(len(frame), default)
    values = frame[name].to_numpy(dtype=float)
    return np.where(np.isnan(values), default, values)
