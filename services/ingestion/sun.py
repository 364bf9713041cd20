"""Where the sun is, to the degree: enough to tell night from day for plausibility checks.

A low-precision solar position (the Astronomical Almanac's approximation, within about 0.5 deg
from 1950 to 2050), vectorised over times; no pvlib, so the ingestion path stays small.
"""

from __future__ import annotations

import numpy as np

#: Seconds from the Unix epoch to J2000.0 (2000-01-01 12:00 UTC).
_J2000_S = 946_728_000


def sun_elevation_deg(ts_s: np.ndarray, latitude_deg: np.ndarray, longitude_deg: np.ndarray) -> np.ndarray:
    """Elevation of the sun's centre above the horizon [deg] (no refraction).

    Parameters
    ----------
    ts_s : ndarray of int or float
        UTC Unix seconds.
    latitude_deg, longitude_deg : ndarray of float
        The site [deg north, deg east], per row or one for all; NaN gives NaN.
    """
    d = (np.asarray(ts_s, dtype=np.float64) - _J2000_S) / 86_400.0
    g = np.radians((357.529 + 0.98560028 * d) % 360.0)
    q = (280.459 + 0.98564736 * d) % 360.0
    ecliptic_longitude = np.radians(q + 1.915 * np.sin(g) + 0.020 * np.sin(2 * g))
    obliquity = np.radians(23.439 - 3.6e-7 * d)
    right_ascension = np.arctan2(np.cos(obliquity) * np.sin(ecliptic_longitude), np.cos(ecliptic_longitude))
    declination = np.arcsin(np.sin(obliquity) * np.sin(ecliptic_longitude))
    sidereal_deg = (280.46061837 + 360.98564736629 * d) % 360.0
    hour_angle = np.radians(sidereal_deg + np.asarray(longitude_deg, dtype=np.float64)) - right_ascension
    latitude = np.radians(np.asarray(latitude_deg, dtype=np.float64))
    sin_elevation = (np.sin(latitude) * np.sin(declination)
                     + np.cos(latitude) * np.cos(declination) * np.cos(hour_angle))
    return np.degrees(np.arcsin(np.clip(sin_elevation, -1.0, 1.0)))


def dark_throughout(start_s: np.ndarray, step_s: np.ndarray, latitude_deg: np.ndarray, longitude_deg: np.ndarray,
                    below_deg: float = -3.0) -> np.ndarray:
    """True where the sun stays below ``below_deg`` for the whole interval [start, start + step).

    Sampled at the start, every quarter and the end; intervals longer than 6 hours (or of unknown
    length or site) are never called dark.
    """
    start = np.asarray(start_s, dtype=np.float64)
    step = np.asarray(step_s, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        usable = np.isfinite(step) & (step > 0) & (step <= 6 * 3600) & np.isfinite(latitude_deg) \
            & np.isfinite(longitude_deg)
        dark = usable.copy()
        for share in (0.0, 0.25, 0.5, 0.75, 1.0):
            elevation = sun_elevation_deg(start + share * np.where(usable, step, 0.0), latitude_deg, longitude_deg)
            dark &= elevation < below_deg
    return dark
