"""Features for PV and load forecasts, framed by the moment a forecast is issued.

A forecast issued at ``issue`` for the interval starting at ``ts`` may only use
readings of intervals that *ended* by ``issue``. Every history feature here is
computed from that rule (:func:`known_lag`, :func:`window_stats`), and training
rows are built the same way (:func:`issue_grid`), so a model learns exactly the
situation it will be used in: the same hour of "the last day known at issue" is
yesterday for the first 24 h of a forecast and the day before for the next 24 h.

Physics-informed PV features come from :func:`services.pvmodel.expected_pv`:
plane-of-array irradiance, its clear-sky value, the physical PV estimate, the
clear-sky index and the sun's position. Time is UTC; calendar features are in the
household's local time (people live by the wall clock, not by UTC).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

import numpy as np
import pandas as pd

from services.pvmodel import (
    DEFAULT_TEMP_AIR,
    Location,
    PVArray,
    clearsky_irradiance,
    expected_pv,
    pvwatts_ac_kw,
    solar_position,
)

DAY = pd.Timedelta(days=1)
WEEK = pd.Timedelta(days=7)

# Training grid shared by the PV and load models.
#: A weather forecast must cover this share of the intervals it is needed for to be used.
MIN_WEATHER_COVERAGE = 0.95
#: How far ahead a forecast reaches.
HORIZON = timedelta(hours=48)
#: Five hours, not six: 5 and 24 share no factor, so issues fall on every hour of the day
#: within five days and the model learns every pairing of time of day and lead time.
ISSUE_EVERY = timedelta(hours=5)
#: Training rows at most (older issues are subsampled).
MAX_ROWS = 10_000
#: Longest interval the physical PV features are evaluated over in one piece (see :func:`pv_physics`).
PHYSICS_SUBSTEP = timedelta(minutes=15)


class NotEnoughHistory(ValueError):
    """Too few readings to learn from; the message says how many there are and how many are needed."""


@dataclass(frozen=True)
class Site:
    """Where a household is: location (latitude/longitude [deg], altitude [m]) and IANA time zone."""

    location: Location
    timezone: str = "UTC"


# --- framing ---------------------------------------------------------------------------------


def regular(series: pd.Series, step: timedelta) -> pd.Series:
    """``series`` on a complete grid of ``step`` (missing intervals NaN), float, UTC."""
    if series.empty:
        return series.astype(float)
    step = pd.Timedelta(step)
    index = pd.DatetimeIndex(series.index)
    if index.tz is None:
        raise ValueError("time stamps are naive: attach a time zone (UTC)")
    series = pd.Series(series.to_numpy(dtype=float), index=index.tz_convert("UTC"))
    series = series[~series.index.duplicated(keep="last")].sort_index()
    grid = pd.date_range(series.index[0].floor(step), series.index[-1].floor(step), freq=step)
    return series.reindex(grid)


def days_with_data(grid: pd.Series) -> int:
    """Number of UTC calendar days with at least one reading."""
    return int(grid.dropna().index.normalize().nunique()) if not grid.empty else 0


def recent(history: pd.Series, issue: pd.Timestamp, step: timedelta, window: timedelta) -> pd.Series:
    """Readings of the ``window`` before ``issue`` on a full grid (NaN where missing).

    Only intervals that ended by ``issue`` are kept, whatever else ``history`` holds.
    """
    floor = pd.Timestamp(issue).floor(step)
    start = floor - pd.Timedelta(window)
    index = pd.date_range(start, floor, freq=step, inclusive="left")
    if history.empty:
        return pd.Series(np.nan, index=index)
    known = history[(history.index >= start) & (history.index < floor)]
    return regular(known, step).reindex(index) if not known.empty else pd.Series(np.nan, index=index)


def forecast_index(issue: pd.Timestamp, hours: float, step: timedelta) -> pd.DatetimeIndex:
    """Interval starts a forecast issued at ``issue`` covers: from the first interval not yet
    begun (``issue`` rounded up to ``step``) for ``hours``."""
    step = pd.Timedelta(step)
    first = pd.Timestamp(issue).ceil(step)
    return pd.date_range(first, periods=max(1, int(round(pd.Timedelta(hours=hours) / step))), freq=step)


def issue_grid(issues: pd.DatetimeIndex, horizon: timedelta, step: timedelta) -> pd.DataFrame:
    """All (issue, target) pairs: one row per issue and interval of the horizon after it.

    Returns a frame indexed by target ``ts`` with columns ``issue`` and ``horizon_h``
    (hours from issue to the target's start).
    """
    step = pd.Timedelta(step)
    n = max(1, int(round(pd.Timedelta(horizon) / step)))
    issues = pd.DatetimeIndex(issues)
    firsts = issues.ceil(step)
    ts = firsts.repeat(n) + np.tile(np.arange(n), len(issues)) * step
    issue_col = issues.repeat(n)
    frame = pd.DataFrame({"issue": issue_col, "horizon_h": (ts - issue_col) / pd.Timedelta(hours=1)},
                         index=pd.DatetimeIndex(ts, name="ts"))
    return frame


def training_issues(start: pd.Timestamp, end: pd.Timestamp, every: timedelta,
                    warmup: timedelta = timedelta(days=3)) -> pd.DatetimeIndex:
    """Issue times for training rows: every ``every`` from ``start + warmup`` up to ``end``.

    Issuing around the clock (not only at midnight) teaches the model every pairing of
    time of day and lead time that a forecast requested at any moment will meet.
    """
    every = pd.Timedelta(every)
    first = (pd.Timestamp(start) + pd.Timedelta(warmup)).ceil(every)
    if first >= end:
        return pd.DatetimeIndex([], tz="UTC")
    return pd.date_range(first, pd.Timestamp(end), freq=every, inclusive="left")


# --- history, as known at the issue ----------------------------------------------------------


def known_lag(grid: pd.Series, ts: pd.DatetimeIndex, issue: pd.DatetimeIndex, period: timedelta,
              step: timedelta) -> np.ndarray:
    """The value at ``ts - k * period`` with the smallest ``k >= 1`` whose interval ended by ``issue``.

    ``period`` one day gives "the same time on the last day known"; one week, "the same
    time last week". ``grid`` must be :func:`regular`.
    """
    step, period = pd.Timedelta(step), pd.Timedelta(period)
    ahead = (ts + step - issue) / period
    k = np.maximum(1, np.ceil(np.asarray(ahead, dtype=float))).astype(int)
    lagged = ts - pd.to_timedelta(k * period.value, unit="ns")
    return grid.reindex(lagged).to_numpy()


def persistence_quantiles(grid: pd.Series, ts: pd.DatetimeIndex, issue: pd.Timestamp,
                          step: timedelta) -> np.ndarray:
    """P10, P50, P90 of persistence for targets ``ts`` issued at ``issue`` (one row per target).

    P50 is the same time on the last day known at the issue (:func:`known_lag`); P10/P90 the
    10th/90th percentiles of that time over the last known week (missing days left out, P50
    where none is known). ``grid`` is :func:`regular` and must reach 7 days before the issue.
    Same unit as ``grid``; NaN where even P50 is unknown.
    """
    ts = pd.DatetimeIndex(ts)
    issues = pd.DatetimeIndex([pd.Timestamp(issue)] * len(ts))
    p50 = known_lag(grid, ts, issues, DAY, step)
    week = np.column_stack([known_lag(grid, ts - k * DAY, issues - k * DAY, DAY, step) for k in range(7)])
    week.sort(axis=1)  # missing days are sorted last (NaN)
    known = (~np.isnan(week)).sum(axis=1)
    rows = np.arange(len(ts))
    p10 = np.where(known > 0, week[rows, np.clip(np.floor(0.1 * (known - 1)).astype(int), 0, 6)], p50)
    p90 = np.where(known > 0, week[rows, np.clip(np.ceil(0.9 * (known - 1)).astype(int), 0, 6)], p50)
    return np.column_stack([p10, p50, p90])


def window_stats(grid: pd.Series, ends: pd.DatetimeIndex, window: timedelta,
                 min_fraction: float = 0.8) -> tuple[np.ndarray, np.ndarray]:
    """Sum and count of the known values in ``[end - window, end)`` for each end.

    Sums whose window is less than ``min_fraction`` known are NaN. Cumulative sums make
    this O(n) however many windows are asked for.
    """
    if grid.empty:
        nan = np.full(len(ends), np.nan)
        return nan, nan
    values = grid.to_numpy(dtype=float)
    known = ~np.isnan(values)
    csum = np.concatenate([[0.0], np.cumsum(np.where(known, values, 0.0))])
    ccount = np.concatenate([[0], np.cumsum(known)])
    index_ns = grid.index.as_unit("ns").asi8
    ends_ns = pd.DatetimeIndex(ends).as_unit("ns").asi8
    hi = np.searchsorted(index_ns, ends_ns, side="left")
    lo = np.searchsorted(index_ns, ends_ns - pd.Timedelta(window).value, side="left")
    sums = csum[hi] - csum[lo]
    counts = (ccount[hi] - ccount[lo]).astype(float)
    step_ns = index_ns[1] - index_ns[0] if len(index_ns) > 1 else pd.Timedelta(window).value
    expected = pd.Timedelta(window).value / step_ns
    sums = np.where(counts >= min_fraction * expected, sums, np.nan)
    return sums, counts


def last_known(grid: pd.Series, issue: pd.DatetimeIndex, step: timedelta, max_age: timedelta) -> np.ndarray:
    """The newest value whose interval ended by ``issue``, if it is younger than ``max_age``."""
    filled = grid.ffill(limit=max(1, int(pd.Timedelta(max_age) / pd.Timedelta(step))))
    return filled.reindex(pd.DatetimeIndex(issue).floor(step) - pd.Timedelta(step)).to_numpy()


# --- calendar and sun ------------------------------------------------------------------------


def calendar_features(ts: pd.DatetimeIndex, timezone: str) -> pd.DataFrame:
    """``hour`` (local, fractional), ``dow`` (0 = Monday) and ``doy`` (local day of year)."""
    local = pd.DatetimeIndex(ts).tz_convert(timezone)
    return pd.DataFrame({
        "hour": local.hour + local.minute / 60.0,
        "dow": local.day_of_week,
        "doy": local.day_of_year,
    }, index=ts)


def sun_features(ts: pd.DatetimeIndex, location: Location, step: timedelta) -> pd.DataFrame:
    """``solar_elevation`` [deg] and clear-sky ``ghi_clearsky`` [W/m2] at each interval's middle
    (for load: lighting and daytime habits follow the sun)."""
    mid = pd.DatetimeIndex(ts) + pd.Timedelta(step) / 2
    pos = solar_position(mid, location)
    cs = clearsky_irradiance(mid, location, pos)
    up = (pos["apparent_zenith"] < 90).to_numpy()
    return pd.DataFrame({"solar_elevation": pos["elevation"].to_numpy(),
                         "ghi_clearsky": np.where(up, cs["ghi"].to_numpy(), 0.0)}, index=ts)


def pv_physics(ts: pd.DatetimeIndex, arrays: Sequence[PVArray], location: Location,
               weather: pd.DataFrame | None, step: timedelta) -> pd.DataFrame:
    """Physical PV features on ``ts`` [per interval]: geometry, clear sky and, with weather,
    the physical estimate.

    Columns: ``solar_elevation``, ``solar_azimuth`` [deg] at the interval middle; ``poa_clearsky``
    [W/m2], ``clearsky_kwh`` [kWh per step], ``ghi_clearsky`` [W/m2] (interval means);
    ``clearsky_bound_kwh`` [kWh per step], the most the arrays can deliver under any sky
    (:func:`_sky_bound_kwh`); with weather also
    ``poa_global`` [W/m2], ``pv_physical_kwh`` [kWh per step], ``clearsky_index`` (GHI /
    clear-sky GHI [-]), ``ghi`` [W/m2], ``temp_air`` [degC], ``cloud_cover`` [%] (NaN where the
    weather is unknown).

    Intervals longer than :data:`PHYSICS_SUBSTEP` are integrated over sub-intervals: the sun
    moves 15 degrees in an hour, and one evaluation at the middle of the hour misses the
    output after sunrise, before sunset or after the sun passes behind the array's plane.
    Clear-sky columns do not depend on ``weather``: they are at
    :data:`~services.pvmodel.DEFAULT_TEMP_AIR`, so that the clear-sky variant sees the same
    features in training (with weather) and in use (often without). On system 50 (hourly,
    2013) measured output was above 1.15 times the old hourly clear-sky energy in 9 % of
    daylight hours; above 1.15 times ``clearsky_bound_kwh``, in 3 %.
    """
    ts = pd.DatetimeIndex(ts)
    step = pd.Timedelta(step)
    n = max(1, int(np.ceil(step / pd.Timedelta(PHYSICS_SUBSTEP))))
    sub = step / n
    clear = expected_pv(_sub_starts(ts, n, sub), arrays, location, None, sub)
    columns = {
        "solar_elevation": _per_interval(clear["solar_elevation"], n, "mean"),
        "solar_azimuth": _per_interval(clear["solar_azimuth"], n, "azimuth"),
        "poa_clearsky": _per_interval(clear["poa_clearsky"], n, "mean"),
        "clearsky_kwh": _per_interval(clear["clearsky_kwh"], n, "sum"),
        "ghi_clearsky": _per_interval(clear["ghi_clearsky"], n, "mean"),
    }
    bound = np.maximum(columns["clearsky_kwh"], _per_interval(_sky_bound_kwh(clear, arrays, sub), n, "sum"))
    columns["clearsky_bound_kwh"] = bound
    if weather is not None and not weather.empty and "ghi" in weather:
        columns.update(_weather_physics(ts, clear, weather.reindex(ts), columns["ghi_clearsky"], bound,
                                        arrays, location, n, sub))
    return pd.DataFrame(columns, index=ts)


def _weather_physics(ts: pd.DatetimeIndex, clear: pd.DataFrame, on_ts: pd.DataFrame, cs_ghi: np.ndarray,
                     bound: np.ndarray, arrays: Sequence[PVArray], location: Location, n: int,
                     sub: pd.Timedelta) -> dict[str, np.ndarray]:
    """The weather columns of :func:`pv_physics` (``bound`` is raised in place where cold air allows more)."""
    ghi = on_ts["ghi"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        kc = np.where(cs_ghi > 10.0, ghi / cs_ghi, np.nan)
    out = {"clearsky_index": np.clip(kc, 0.0, 1.5)}
    for column in ("ghi", "temp_air", "cloud_cover"):
        out[column] = on_ts[column].to_numpy(dtype=float) if column in on_ts else np.full(len(ts), np.nan)
    out["poa_global"] = np.full(len(ts), np.nan)
    out["pv_physical_kwh"] = np.full(len(ts), np.nan)
    known = ~np.isnan(ghi)
    if not known.any():
        return out
    if n == 1:
        fine_weather = on_ts[known]  # as given, with DNI/DHI where known
    else:
        # Each sub-interval keeps its interval's clear-sky index, so GHI follows the sun within
        # the interval; DNI/DHI are decomposed again from it; temperature and wind are held.
        fine_known = np.repeat(known, n)
        fine_weather = pd.DataFrame({"ghi": np.repeat(np.nan_to_num(kc[known]), n)
                                     * clear["ghi_clearsky"].to_numpy()[fine_known]},
                                    index=clear.index[fine_known])
        for column in ("temp_air", "wind_speed"):
            if column in on_ts:
                fine_weather[column] = np.repeat(on_ts[column].to_numpy(dtype=float)[known], n)
    phys = expected_pv(pd.DatetimeIndex(fine_weather.index), arrays, location, fine_weather, sub)
    out["poa_global"][known] = _per_interval(phys["poa_global"], n, "mean")
    out["pv_physical_kwh"][known] = _per_interval(phys["energy_kwh"], n, "sum")
    bound[known] = np.maximum(bound[known], _per_interval(phys["clearsky_kwh"], n, "sum"))
    return out


def _sky_bound_kwh(clear: pd.DataFrame, arrays: Sequence[PVArray], step: timedelta) -> np.ndarray:
    """Energy [kWh per step] if the whole clear-sky GHI reached each array's plane as diffuse light,
    with cells at :data:`~services.pvmodel.DEFAULT_TEMP_AIR`.

    With the sun low or behind the plane, a clear sky sends the plane little (its diffuse
    part only), while a bright, broken cloud deck can light it from the whole dome: on system
    50, 7 % of daylight hours produced more than 1.15 times the clear-sky energy (integrated
    over quarter hours), nearly all at such sun positions, and the bound must not cut the
    forecast below what is possible.
    No plane can receive more diffuse light than the horizontal gets from a clear sky (plus the
    margin for cloud enhancement), so this is the other half of the upper bound. The sun above
    the plane is covered by the clear-sky energy itself.
    """
    ghi = clear["ghi_clearsky"].to_numpy(dtype=float)
    diffuse = {"poa_direct": np.zeros_like(ghi), "poa_diffuse": ghi, "aoi": np.zeros_like(ghi)}
    hours = pd.Timedelta(step) / pd.Timedelta(hours=1)
    return sum(pvwatts_ac_kw(diffuse, np.full_like(ghi, DEFAULT_TEMP_AIR), a) for a in arrays) * hours


def _sub_starts(ts: pd.DatetimeIndex, n: int, sub: pd.Timedelta) -> pd.DatetimeIndex:
    """The starts of ``n`` sub-intervals of length ``sub`` in each interval of ``ts``, in order."""
    if n == 1:
        return ts
    return ts.repeat(n) + pd.to_timedelta(np.tile(np.arange(n), len(ts)) * sub.value, unit="ns")


def _per_interval(values: pd.Series | np.ndarray, n: int, how: str) -> np.ndarray:
    """Sum, mean or circular mean (``azimuth`` [deg]) of each run of ``n`` sub-interval values."""
    blocks = np.asarray(values, dtype=float).reshape(-1, n)
    if how == "sum":
        return blocks.sum(axis=1)
    if how == "azimuth":
        radians = np.radians(blocks)
        return np.degrees(np.arctan2(np.sin(radians).mean(axis=1), np.cos(radians).mean(axis=1))) % 360.0
    return blocks.mean(axis=1)


def weather_coverage(weather: pd.DataFrame | None, ts: pd.DatetimeIndex, column: str = "ghi") -> float:
    """Share of ``ts`` [0..1] for which ``weather`` knows ``column``."""
    if weather is None or weather.empty or column not in weather or len(ts) == 0:
        return 0.0
    return float(weather[column].reindex(ts).notna().mean())


def weather_to_step(weather: pd.DataFrame | None, step: timedelta, location: Location) -> pd.DataFrame | None:
    """Weather (interval means by UTC start) on a grid of ``step``.

    Coarser: means of the finer intervals. Finer (hourly weather, quarter-hour readings):
    each quarter keeps its hour's clear-sky index, so GHI follows the sun within the hour
    instead of jumping at the full hour; DNI/DHI are dropped (decomposed again from GHI);
    temperature, wind and cloud cover are interpolated in time.
    """
    if weather is None or weather.empty:
        return weather
    step = pd.Timedelta(step)
    index = pd.DatetimeIndex(weather.index)
    native = pd.Series(index[1:] - index[:-1]).mode().iloc[0] if len(index) > 1 else step
    if native == step:
        return weather
    if native < step:
        return weather.resample(step, label="left", closed="left").mean()
    fine = pd.date_range(index[0], index[-1] + native, freq=step, inclusive="left")
    coarse_cs = sun_features(index, location, native)["ghi_clearsky"]
    fine_cs = sun_features(fine, location, step)["ghi_clearsky"]
    out = pd.DataFrame(index=fine)
    if "ghi" in weather:
        with np.errstate(divide="ignore", invalid="ignore"):
            kc = np.where(coarse_cs > 1.0, weather["ghi"] / coarse_cs, np.nan)
        kc = pd.Series(kc, index=index).reindex(fine, method="ffill", limit=int(native / step) - 1)
        out["ghi"] = (kc.fillna(0.0) * fine_cs).where(kc.notna() | (fine_cs <= 1.0))
        out["ghi"] = out["ghi"].where(weather["ghi"].reindex(fine, method="ffill",
                                                             limit=int(native / step) - 1).notna())
    for column in ("temp_air", "wind_speed", "cloud_cover"):
        if column in weather:
            centred = weather[column].copy()
            centred.index = index + native / 2  # an interval mean belongs to its middle
            both = centred.reindex(centred.index.union(fine + step / 2)).interpolate(method="time",
                                                                                   limit_area="inside")
            out[column] = both.reindex(fine + step / 2).to_numpy()
    return out
