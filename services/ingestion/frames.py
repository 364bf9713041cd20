"""The canonical batch frame: the fields of :class:`~services.ingestion.types.ReadingIn` as columns."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from services.ingestion.types import ReadingIn

#: Columns every batch frame has (optional ones are added with defaults by :func:`complete_frame`).
REQUIRED = ("household_id", "series", "quantity", "ts", "value", "unit")
OPTIONAL_DEFAULTS = {"line": None, "device_id": None, "cumulative": False, "interval_s": None}
#: Columns only frames built from files have: ``scale`` multiplies the parsed value (before unit
#: conversion), ``per_kwp`` multiplies it by the household's PV peak power [kWp] as well, and a
#: ``problem`` (with ``problem_field``) refuses the row with that reason (e.g. a series the
#: mapping does not know).
FILE_DEFAULTS = {"scale": 1.0, "per_kwp": False, "problem": None, "problem_field": None}


def frame_from_readings(readings: Iterable[ReadingIn]) -> pd.DataFrame:
    """A batch frame from readings (object columns keep each value as given)."""
    rows = list(readings)
    columns = list(REQUIRED) + list(OPTIONAL_DEFAULTS)
    data = {c: [getattr(r, c) for r in rows] for c in columns}
    return pd.DataFrame({c: pd.Series(v, dtype=object) for c, v in data.items()}, columns=columns)


def complete_frame(frame: pd.DataFrame, first_line: int = 1) -> pd.DataFrame:
    """``frame`` with every optional column present and ``line`` filled (position + ``first_line``
    where missing), indexed 0..n-1.

    Raises
    ------
    ValueError
        When a required column is missing (a programming error of the caller, not bad data).
    """
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise ValueError(f"a batch frame needs the columns {list(REQUIRED)}; {missing} missing")
    frame = frame.reset_index(drop=True)
    n = len(frame)
    extra = {}
    if "line" not in frame.columns:
        extra["line"] = np.arange(first_line, first_line + n, dtype=np.int64)
    for name, default in {**OPTIONAL_DEFAULTS, **FILE_DEFAULTS}.items():
        if name not in frame.columns and name not in extra:
            extra[name] = pd.Series([default] * n, dtype=object) if default is None else default
    if extra:
        frame = frame.assign(**extra)
    return frame
