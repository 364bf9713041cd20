"""Weather files: TMY3, PVGIS TMY, NSRDB PSM3/PSM4 and generic CSV, read into one shape.

Every reader returns a :class:`WeatherFile` whose ``frame`` has a UTC index of
*interval starts* and the columns of :data:`WEATHER_COLUMNS`: ``ghi``, ``dni``,
``dhi`` [W/m2], ``temp_air`` [degC], ``wind_speed`` [m/s], ``cloud_cover`` [%]
(NaN where the file has no such quantity). Values are the means over the
interval starting at the stamp, as readings are.

Files label time differently, which is where an hour of error hides:

- TMY3 stamps are *hour ending* in local standard time: the 01:00 row is the
  hour 00:00-01:00, so it moves back one step.
- NSRDB PSM3/PSM4 values are satellite *instants* at the stamp: the mean over an
  interval is the trapezoid of the instants at its start, middle and end.
- PVGIS TMY rows are labelled on the hour in UTC; the satellite instant lies
  about 10 minutes later (``irradiance time offset``), so a row is kept as the
  hour starting at its stamp.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from services.lazy import lazy_import

pvlib = lazy_import("pvlib")  # about 50 MB with scipy and h5py: loaded when a PV model runs

WEATHER_COLUMNS = ("ghi", "dni", "dhi", "temp_air", "wind_speed", "cloud_cover")
"""Columns of every weather frame: irradiance [W/m2], air temperature [degC], wind [m/s], cloud cover [%]."""

Label = Literal["start", "end", "instant"]

#: Column names seen in the wild, mapped to ours (compared case-insensitively).
_ALIASES: dict[str, tuple[str, ...]] = {
    "ghi": ("ghi", "g(h)", "shortwave_radiation", "global_horizontal", "ghi (w/m^2)", "ghi_wm2"),
    "dni": ("dni", "gb(n)", "direct_normal_irradiance", "dni (w/m^2)", "direct_normal"),
    "dhi": ("dhi", "gd(h)", "diffuse_radiation", "dhi (w/m^2)", "diffuse_horizontal"),
    "temp_air": ("temp_air", "t2m", "temperature_2m", "temperature", "air_temperature", "dry-bulb (c)",
                 "temp", "outdoor_dry_bulb_temperature"),
    "wind_speed": ("wind_speed", "ws10m", "wind_speed_10m", "wind", "wspd (m/s)"),
    "cloud_cover": ("cloud_cover", "cloudcover", "total_cloud_cover", "cloud_cover_pct"),
}
_TIME_COLUMNS = ("time", "timestamp", "ts", "datetime", "date_time", "measured_on", "time(utc)", "utc_timestamp")


class WeatherFileError(ValueError):
    """A weather file cannot be read as asked; the message says what to change."""


@dataclass(frozen=True)
class WeatherFile:
    """Weather read from a file: ``frame`` as described in the module docstring, the file's
    ``source`` kind (``tmy3``, ``pvgis``, ``psm3``, ``csv``), its ``step`` and, where the file
    says, the site's latitude/longitude [deg] and altitude [m]."""

    frame: pd.DataFrame
    source: str
    step: timedelta
    latitude: float | None = None
    longitude: float | None = None
    altitude_m: float | None = None
    name: str = ""


def read_weather_file(path: str | Path, kind: str | None = None, **options) -> WeatherFile:
    """Read any supported weather file; ``kind`` is guessed from its first lines when not given.

    ``kind`` is ``tmy3``, ``pvgis``, ``psm3`` (NSRDB SAM CSV, PSM3 or PSM4) or ``csv``;
    ``options`` go to the reader of that kind (see :func:`read_generic_csv`).
    """
    kind = kind or guess_kind(path)
    readers = {"tmy3": read_tmy3, "pvgis": read_pvgis_tmy, "psm3": read_nsrdb_csv, "csv": read_generic_csv}
    if kind not in readers:
        raise WeatherFileError(f"unknown weather file kind {kind!r}: use one of {', '.join(readers)}")
    return readers[kind](path, **options)


def guess_kind(path: str | Path) -> str:
    """``tmy3``, ``pvgis``, ``psm3`` or ``csv`` from the first lines of a file."""
    with open(path, encoding="utf-8", errors="replace") as handle:
        head = [handle.readline() for _ in range(3)]
    first, second = head[0].lower(), head[1].lower()
    if first.startswith("latitude (decimal degrees)"):
        return "pvgis"
    if "date (mm/dd/yyyy)" in second:
        return "tmy3"
    if first.startswith("source,") and "time zone" in first:
        return "psm3"
    return "csv"


def read_tmy3(path: str | Path, coerce_year: int | None = None) -> WeatherFile:
    """An NREL TMY3 file (``pvlib.iotools.read_tmy3``): hour-ending local standard time.

    Total cloud cover comes in tenths and is turned into per cent. ``coerce_year`` puts
    all rows into one year (TMY months come from different years).
    """
    data, meta = pvlib.iotools.read_tmy3(str(path), coerce_year=coerce_year, map_variables=True)
    frame = pd.DataFrame(index=data.index)
    for column in ("ghi", "dni", "dhi", "temp_air", "wind_speed"):
        frame[column] = data[column].astype(float)
    frame["cloud_cover"] = data["TotCld (tenths)"].astype(float) * 10.0
    step = timedelta(hours=1)
    frame = _to_utc(frame).shift(-1, freq=step)  # hour ending -> hour starting
    return WeatherFile(
        frame=_finish(frame), source="tmy3", step=step, latitude=float(meta["latitude"]),
        longitude=float(meta["longitude"]), altitude_m=float(meta["altitude"]),
        name=str(meta.get("Name", "")).strip('"'),
    )


def read_pvgis_tmy(path: str | Path) -> WeatherFile:
    """A PVGIS TMY file (CSV or JSON, ``pvlib.iotools.read_pvgis_tmy``), hourly in UTC."""
    data, meta = pvlib.iotools.read_pvgis_tmy(str(path), map_variables=True)
    frame = pd.DataFrame(index=data.index)
    for column in ("ghi", "dni", "dhi", "temp_air", "wind_speed"):
        frame[column] = data[column].astype(float) if column in data else np.nan
    frame["cloud_cover"] = np.nan
    inputs = meta.get("inputs", {}) if isinstance(meta, dict) else {}
    return WeatherFile(
        frame=_finish(_to_utc(frame)), source="pvgis", step=timedelta(hours=1),
        latitude=_float_or_none(inputs.get("latitude")), longitude=_float_or_none(inputs.get("longitude")),
        altitude_m=_float_or_none(inputs.get("elevation")), name="PVGIS TMY",
    )


def read_nsrdb_csv(path: str | Path) -> WeatherFile:
    """An NSRDB PSM3 or PSM4 file in SAM CSV format (``pvlib.iotools.read_nsrdb_psm4``).

    Values are instants at their stamps (local standard time); each interval's mean is the
    trapezoid of the instants at its start, middle and end (see :func:`instants_to_intervals`).
    """
    data, meta = pvlib.iotools.read_nsrdb_psm4(str(path), map_variables=True)
    frame = pd.DataFrame(index=data.index)
    for column in ("ghi", "dni", "dhi", "temp_air", "wind_speed"):
        frame[column] = data[column].astype(float) if column in data else np.nan
    frame["cloud_cover"] = np.nan  # NSRDB gives a cloud *type*, not a cover fraction
    frame = _to_utc(frame)
    step = _native_step(frame.index)
    return WeatherFile(
        frame=_finish(instants_to_intervals(frame, step)), source="psm3", step=step,
        latitude=float(meta["latitude"]), longitude=float(meta["longitude"]),
        altitude_m=float(meta["altitude"]), name=str(meta.get("Location ID", "")),
    )


def read_generic_csv(path: str | Path | io.StringIO, time_column: str | None = None, timezone: str = "UTC",
                     label: Label = "start", columns: dict[str, str] | None = None,
                     step: timedelta | None = None) -> WeatherFile:
    """A CSV with a time column and any of our quantities under common names.

    Parameters
    ----------
    time_column : str, optional
        Name of the time column; guessed from common names (``time``, ``timestamp``,
        ``measured_on`` ...) when not given.
    timezone : str
        IANA zone of naive time stamps; stamps with an offset keep theirs.
    label : {"start", "end", "instant"}
        What a stamp means: the start of the interval its values describe, its end, or an
        instant (then interval means are built by the trapezoid rule).
    columns : dict, optional
        ``{our name: file column}`` for columns the guesser does not know.
    step : timedelta, optional
        Interval length; the most common spacing of the stamps when not given.
    """
    raw = pd.read_csv(path)
    if raw.empty:
        raise WeatherFileError("the file has a header but no rows")
    time_column = time_column or _find_column(raw.columns, _TIME_COLUMNS)
    if time_column is None or time_column not in raw.columns:
        raise WeatherFileError(
            f"no time column found among {list(raw.columns)[:8]}: pass time_column='...' naming it"
        )
    stamps = pd.to_datetime(raw[time_column], utc=False, format="mixed")
    index = pd.DatetimeIndex(stamps)
    index = index.tz_localize(timezone) if index.tz is None else index
    frame = pd.DataFrame(index=index)
    mapping = dict(columns or {})
    for ours in WEATHER_COLUMNS:
        source_name = mapping.get(ours) or _find_column(raw.columns, _ALIASES[ours])
        frame[ours] = pd.to_numeric(raw[source_name], errors="coerce").to_numpy() if source_name else np.nan
    if frame[list(WEATHER_COLUMNS)].isna().all().all():
        raise WeatherFileError(
            f"none of the columns {list(raw.columns)[:8]} is a known weather quantity: "
            "map them with columns={'ghi': 'your GHI column', ...}"
        )
    frame = _to_utc(frame).sort_index()
    frame = frame[~frame.index.duplicated(keep="last")]
    step = step or _native_step(frame.index)
    if label == "end":
        frame = frame.shift(-1, freq=step)
    elif label == "instant":
        frame = instants_to_intervals(frame, step)
    elif label != "start":
        raise WeatherFileError(f"label must be 'start', 'end' or 'instant', got {label!r}")
    return WeatherFile(frame=_finish(frame), source="csv", step=step, name=Path(str(path)).name
                       if isinstance(path, (str, Path)) else "csv")


def instants_to_intervals(frame: pd.DataFrame, step: timedelta) -> pd.DataFrame:
    """Interval means from instantaneous samples.

    The mean over ``[ts, ts + step)`` is ``(x(ts) + 2 x(ts + step/2) + x(ts + step)) / 4``
    (trapezoid over two half steps) with ``x`` linearly interpolated between samples, on a
    grid of ``step`` aligned to whole ``step``s. An interval is NaN when a sample around it
    is missing.
    """
    if frame.empty:
        return frame
    step = pd.Timedelta(step)
    start = frame.index.min().floor(step)
    end = frame.index.max().ceil(step)
    fine = pd.date_range(start, end, freq=step / 2)
    numeric = frame.astype(float)
    both = numeric.reindex(numeric.index.union(fine))
    dense = both.interpolate(method="time", limit_area="inside").reindex(fine)
    # Interpolating across a missing sample would invent weather: blank points whose
    # neighbouring samples lie more than one step apart.
    known = pd.DatetimeIndex(numeric.index).as_unit("ns").asi8
    fine_ns = fine.as_unit("ns").asi8
    pos = np.searchsorted(known, fine_ns, side="left")
    exact = (pos < len(known)) & (known[np.minimum(pos, len(known) - 1)] == fine_ns)
    before = known[np.clip(pos - 1, 0, len(known) - 1)]
    after = known[np.clip(pos, 0, len(known) - 1)]
    gap = after - before
    too_wide = ~exact & ((pos == 0) | (pos == len(known)) | (gap > pd.Timedelta(step).value))
    dense.loc[too_wide] = np.nan
    values = dense.to_numpy()
    starts = values[0:-1:2]
    mids = values[1::2]
    ends = values[2::2]
    n = min(len(starts), len(mids), len(ends))
    means = (starts[:n] + 2.0 * mids[:n] + ends[:n]) / 4.0
    return pd.DataFrame(means, index=fine[0:-1:2][:n], columns=frame.columns)


def check_weather_frame(frame: pd.DataFrame) -> None:
    """Refuse values that betray a wrong unit, with the likely fix.

    GHI/DNI/DHI must lie in 0..1500 W/m2, air temperature in -70..65 degC, wind 0..75 m/s,
    cloud cover 0..100 %.
    """
    limits = {
        "ghi": (-5.0, 1500.0, "GHI above 1500 W/m2 is more than reaches the ground: is the column in "
                               "W/m2? (Wh/m2 per hour equals W/m2; J/m2 per hour is 3600 times it)"),
        "dni": (-5.0, 1500.0, "DNI above 1500 W/m2 is more than the sun gives: is the column in W/m2?"),
        "dhi": (-5.0, 1000.0, "DHI above 1000 W/m2 is not diffuse light: is the column in W/m2?"),
        "temp_air": (-70.0, 65.0, "air temperature out of -70..65 degC: if it is in kelvin, subtract 273.15; "
                                   "if in Fahrenheit, convert with (F - 32) / 1.8"),
        "wind_speed": (0.0, 75.0, "wind speed out of 0..75 m/s: if it is in km/h, divide by 3.6"),
        "cloud_cover": (0.0, 100.0, "cloud cover out of 0..100 %: give per cent (tenths times 10, "
                                     "fractions times 100, oktas times 12.5)"),
    }
    for column, (low, high, hint) in limits.items():
        if column not in frame:
            continue
        values = frame[column].dropna()
        if values.empty:
            continue
        bad = values[(values < low) | (values > high)]
        if not bad.empty:
            raise WeatherFileError(f"{column} = {bad.iloc[0]:g} at {bad.index[0]}: {hint}")
    if "cloud_cover" in frame:
        cc = frame["cloud_cover"].dropna()
        if len(cc) >= 24 and 0 < cc.max() <= 1.0:
            raise WeatherFileError(
                f"cloud cover never exceeds {cc.max():g}: it looks like a fraction; give per cent (times 100)"
            )


def _finish(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.reindex(columns=list(WEATHER_COLUMNS)).astype(float)
    for column in ("ghi", "dni", "dhi"):
        # Satellite products write tiny negatives at night; no light is zero light.
        out[column] = out[column].clip(lower=0.0) + 0.0  # + 0.0 turns -0.0 into 0.0
    out.index.name = "ts"
    check_weather_frame(out)
    return out


def _to_utc(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    index = pd.DatetimeIndex(out.index)
    if index.tz is None:
        raise WeatherFileError("time stamps have no time zone: say which one they are in")
    out.index = index.tz_convert("UTC")
    return out


def _native_step(index: pd.DatetimeIndex) -> timedelta:
    if len(index) < 2:
        raise WeatherFileError("a weather file needs at least two rows to know its time step")
    diffs = pd.Series(index[1:] - index[:-1])
    step = diffs.mode().iloc[0]
    if step <= pd.Timedelta(0):
        raise WeatherFileError("time stamps are not increasing: sort the file by time")
    return step.to_pytimedelta()


def _find_column(columns, names: tuple[str, ...]) -> str | None:
    lowered = {str(c).strip().lower(): c for c in columns}
    for name in names:
        if name in lowered:
            return lowered[name]
    return None


def _float_or_none(value) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
