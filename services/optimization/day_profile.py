"""Local time of day and weekday/weekend of instants, and means per integer key: what the 7-day
profile of a household's readings is made of (:func:`services.optimization.inputs.household_inputs`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

MINUTES_PER_DAY = 1440


def local_minute_and_weekend(index: pd.DatetimeIndex, tz: str) -> tuple[np.ndarray, np.ndarray]:
    """Local minute of the day (0..1439) and 1 on Saturday and Sunday, else 0, of each instant
    (read-only arrays: the households of a fleet chunk share their horizons and reading times, so
    the answers are kept for the last few hundred indexes asked)."""
    key = (tz, index.as_unit("s").asi8.tobytes())
    found = _CLOCKS.get(key)
    if found is None:
        wall_minutes = index.tz_convert(tz).tz_localize(None).as_unit("s").asi8 // 60  # local wall clock
        days = wall_minutes // MINUTES_PER_DAY
        found = wall_minutes - days * MINUTES_PER_DAY, ((days + 3) % 7 >= 5).astype(np.int64)  # 1970-01-01: Thursday
        for array in found:
            array.flags.writeable = False
        if len(_CLOCKS) >= _CLOCKS_KEPT:
            _CLOCKS.pop(next(iter(_CLOCKS)))
        _CLOCKS[key] = found
    return found


_CLOCKS: dict[tuple[str, bytes], tuple[np.ndarray, np.ndarray]] = {}
_CLOCKS_KEPT = 256


def mean_by(key: np.ndarray, values: np.ndarray, size: int) -> np.ndarray:
    """Mean of ``values`` per integer ``key`` in ``0..size-1``; NaN for a key never seen."""
    counts = np.bincount(key, minlength=size)
    sums = np.bincount(key, weights=values, minlength=size)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


def mean_by_rows(key: np.ndarray, values: np.ndarray, size: int) -> np.ndarray:
    """:func:`mean_by` of each row of ``values`` (rows: households, columns: the instants of
    ``key``), equal to the bit: a key's values are added in the order they come, starting from 0,
    as ``np.bincount`` adds them; one pass per occurrence of a key (a week of readings: 7 or 8)."""
    counts = np.bincount(key, minlength=size)
    sums = np.zeros((values.shape[0], size))
    order = np.argsort(key, kind="stable")
    rank = np.arange(len(key)) - np.searchsorted(key[order], key[order])  # how many times its key came before
    for r in range(int(counts.max(initial=0))):
        chosen = order[rank == r]  # the r-th instant of each key: no key twice, so += adds each once
        sums[:, key[chosen]] += values[:, chosen]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


def means_at(key: np.ndarray, values: np.ndarray, wanted: np.ndarray, size: int) -> np.ndarray:
    """``mean_by_rows(key, values, size)[:, wanted]`` from the keys in ``wanted`` only (a day's
    96 quarter hours of 1,440 minutes): the same numbers, a key's mean being its values' alone."""
    used = np.unique(wanted)
    compact = np.full(size, -1)
    compact[used] = np.arange(len(used))
    kept = compact[key] >= 0
    return mean_by_rows(compact[key][kept], values[:, kept], len(used))[:, compact[wanted]]
