"""Meter readings on finer steps than the meter's: the one resampling every 15-minute part uses.

A meter that reads every 30 or 60 minutes leaves three of four quarter hours empty when its
readings are summed into 15-minute buckets. Parts that need every step (the What-if day, the
7-day profile, the back-test, sizing, the forecasts' history) would then see a step with the
whole half hour's energy next to an empty one. :func:`spread_to_steps` fills the steps the meter
covered:

* energy [kWh per interval] is split evenly over the steps of its interval, so totals are
  conserved exactly (a 30-minute 1.0 kWh reading becomes two 0.5 kWh quarter hours);
* power [kW, a mean or sample over the interval] is repeated on each of its steps.

The meter's own step is the most common spacing of its readings (:func:`native_step_s`); a reading
followed sooner by the next one covers only the steps up to it, and a gap longer than the meter's
step stays a gap. Meters coarser than :data:`MAX_SPREAD_S` (daily totals) are left alone: spreading
a day's PV evenly over its hours would invent a profile.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

#: The coarsest meter step that is spread onto finer steps [s].
MAX_SPREAD_S = 3600

Kind = Literal["energy", "power"]


def native_step_s(stamps: np.ndarray) -> int | None:
    """The most common spacing of sorted epoch ``stamps`` [s]; None for fewer than two."""
    if len(stamps) < 2:
        return None
    gaps = np.diff(stamps)
    gaps = gaps[gaps > 0]
    if not len(gaps):
        return None
    values, counts = np.unique(gaps, return_counts=True)
    return int(values[np.argmax(counts)])


def spread_to_steps(frame: pd.DataFrame, step_s: int, kinds: dict[str, Kind] | None = None
                    ) -> tuple[pd.DataFrame, dict[str, int]]:
    """``frame`` on steps of ``step_s`` seconds, each column coarser than that spread onto them.

    Parameters
    ----------
    frame : DataFrame
        Indexed by UTC step start (on multiples of ``step_s``), NaN where a column has no value;
        energy columns [kWh per interval], power columns [kW].
    step_s : int
        The step wanted [s].
    kinds : dict, optional
        ``energy`` (split: the default for every column) or ``power`` (repeated) per column.

    Returns
    -------
    The frame (same columns, index extended by the steps filled) and, per column that was
    spread, its meter's step [s]. Unchanged (and an empty dict) when no column is coarser.
    """
    if frame.empty:
        return frame, {}
    kinds = kinds or {}
    stamps = frame.index.as_unit("s").asi8
    spread: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    native: dict[str, int] = {}
    for name in frame.columns:
        values = frame[name].to_numpy(dtype=float)
        seen = ~np.isnan(values)
        own = native_step_s(stamps[seen])
        if own is None or own <= step_s or own > MAX_SPREAD_S or own % step_s:
            continue
        at, vals = _spread(stamps[seen], values[seen], own, step_s, kinds.get(name, "energy"))
        spread[name], native[name] = (at, vals), own
    if not spread:
        return frame, {}
    extra = np.unique(np.concatenate([at for at, _ in spread.values()]))
    index = pd.to_datetime(np.union1d(stamps, extra), unit="s", utc=True).rename(frame.index.name)
    out = frame.reindex(index)
    for name, (at, vals) in spread.items():
        out[name] = pd.Series(vals, index=pd.to_datetime(at, unit="s", utc=True)).reindex(index).to_numpy()
    return out, native


def _spread(stamps: np.ndarray, values: np.ndarray, own_s: int, step_s: int, kind: Kind):
    """Readings at ``stamps`` covering ``own_s`` each (or up to the next reading) on ``step_s`` steps."""
    per = own_s // step_s
    room = np.append(np.diff(stamps) // step_s, per)  # steps until the next reading
    counts = np.clip(np.minimum(room, per), 1, None).astype(int)
    first = np.repeat(stamps, counts)
    offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    share = values / counts if kind == "energy" else values
    return first + offsets * step_s, np.repeat(share, counts)


def resampling_note(native: dict[str, int], step_s: int, labels: dict[str, str] | None = None) -> str | None:
    """One sentence saying which series were resampled from which meter step (None: none were)."""
    if not native:
        return None
    labels = labels or {}
    parts = ", ".join(f"{labels.get(name, name.replace('_', ' '))} every {own // 60} min"
                      for name, own in sorted(native.items()))
    return (f"Meters read {parts}: their energy is split evenly over {step_s // 60}-minute steps "
            "(totals unchanged)")
