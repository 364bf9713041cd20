"""Cells of a batch frame that are not what their column holds, found before anything reads them.

A JSON body or an MQTT payload can put anything in any field: ``true`` for a number, an object
for a unit, a list for a time, text with a NUL byte (which PostgreSQL's text cannot hold) or a
lone surrogate (which no UTF-8 encoder takes). Each such cell refuses its row with a reason; the
cell itself is blanked so that the checks after this one never meet a value they cannot handle
(a dict cannot be hashed, a NUL cannot be stored). Columns of one clean type, as files give
them, are screened in one vectorised pass.
"""

from __future__ import annotations

import numbers
import re
from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

#: Characters no name, unit or time may hold: C0 controls (NUL, tab, newline ...), DEL and C1 controls.
_CONTROL_RE2 = r"[\x00-\x1f\x7f-\x9f]"
_BAD_TEXT = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")

#: Per column: what it may hold, in words for the reason.
_TEXT = ("series", "quantity", "unit")
_WHOLE = ("household_id", "device_id")
_NUMBER = ("value", "interval_s")
_WHOLE_TEXT = re.compile(r"[+-]?\d+(?:\.0*)?")


@dataclass(frozen=True)
class Screened:
    """The frame with unusable cells blanked, and per row (``bad``) the field and reason of the first."""

    frame: pd.DataFrame
    bad: np.ndarray
    field: np.ndarray
    reason: np.ndarray


def screen_cells(frame: pd.DataFrame) -> Screened:
    """Refuse rows whose cells are of the wrong kind (see the module docstring)."""
    n = len(frame)
    bad = np.zeros(n, dtype=bool)
    field = np.empty(n, dtype=object)
    reason = np.empty(n, dtype=object)
    blanked: dict[str, pd.Series] = {}
    for column in ("household_id", "series", "quantity", "ts", "value", "unit", "device_id", "cumulative",
                   "interval_s"):
        if column not in frame.columns:
            continue
        found = _screen_column(column, frame[column])
        if found is None:
            continue
        mask, reasons = found
        fresh = mask & ~bad
        field[fresh] = column
        reason[fresh] = reasons[fresh]
        bad |= mask
        values = frame[column]
        blank = values.astype(object).where(~mask, None) if not isinstance(values.dtype, pd.CategoricalDtype) \
            else values.cat.add_categories([]).where(~mask)
        blanked[column] = blank
    if blanked:
        frame = frame.assign(**blanked)
    return Screened(frame=frame, bad=bad, field=field, reason=reason)


def storable_text(text: str) -> str:
    """``text`` as any store can keep it: NUL bytes and lone surrogates written as escapes."""
    if not isinstance(text, str):
        text = str(text)
    if "\x00" in text:
        text = text.replace("\x00", "\\x00")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def _screen_column(column: str, values: pd.Series) -> tuple[np.ndarray, np.ndarray] | None:
    """(bad mask, reason per row) of one column, or None when every cell is fine."""
    dtype = values.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        categories = pd.Series(list(dtype.categories), dtype=object)
        found = _screen_column(column, categories)
        if found is None:
            return None
        codes = values.cat.codes.to_numpy()
        bad_category = np.append(found[0], False)
        why = np.append(found[1], None)
        return bad_category[codes], why[codes]
    if pd.api.types.is_bool_dtype(dtype):
        if column == "cumulative":
            return None
        return np.ones(len(values), dtype=bool), np.full(len(values), _reason(column, True), dtype=object)
    if pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_datetime64_any_dtype(dtype):
        return None
    kind = pd.api.types.infer_dtype(values, skipna=True)
    if kind == "empty":
        return None
    if kind == "string":
        if column == "cumulative" or column in _WHOLE:
            return _per_cell(column, values)
        if column == "ts":
            return None  # a time is never stored as text: one that holds such a character is unreadable
        mask = _bad_text(values)
        if not mask.any():
            return None
        reasons = np.empty(len(values), dtype=object)
        reasons[mask] = [_reason(column, v) for v in values.to_numpy(dtype=object)[mask]]
        return mask, reasons
    if kind in ("integer", "floating", "mixed-integer-float", "decimal") and column != "cumulative":
        return None
    return _per_cell(column, values)


def _bad_text(values: pd.Series) -> np.ndarray:
    """Strings holding a control character or a lone surrogate (vectorised where Arrow can take them)."""
    try:
        array = pa.array(values.array)  # zero-copy for Arrow-backed strings (pandas' default for files)
        if not pa.types.is_string(array.type) and not pa.types.is_large_string(array.type):
            raise pa.ArrowTypeError("not strings")
    except (UnicodeEncodeError, pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
        raw = values.to_numpy(dtype=object, na_value=None)
        try:
            array = pa.array(raw, type=pa.string())
        except (UnicodeEncodeError, pa.ArrowInvalid, pa.ArrowTypeError):
            return np.array([isinstance(v, str) and _BAD_TEXT.search(v) is not None for v in raw], dtype=bool)
    return np.asarray(pc.fill_null(pc.match_substring_regex(array, _CONTROL_RE2), False), dtype=bool)


def _per_cell(column: str, values: pd.Series) -> tuple[np.ndarray, np.ndarray] | None:
    raw = values.to_numpy(dtype=object)
    reasons = np.array([_problem(column, v) for v in raw], dtype=object)
    mask = np.array([r is not None for r in reasons], dtype=bool)
    return (mask, reasons) if mask.any() else None


def _problem(column: str, value) -> str | None:
    """Why ``value`` cannot stand in ``column``, or None when it can (checks after this one judge it)."""
    if value is None or value is pd.NaT or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return None
    if column == "cumulative":
        if isinstance(value, (bool, np.bool_)) or (isinstance(value, numbers.Real) and value in (0, 1)):
            return None
        return _reason(column, value) if isinstance(value, str) and _BAD_TEXT.search(value) else \
            _not_what(column, value)
    if isinstance(value, (bool, np.bool_)):
        return _reason(column, value)
    if isinstance(value, str):
        if _BAD_TEXT.search(value):
            return _reason(column, value)
        if column in _WHOLE and value.strip() and not _WHOLE_TEXT.fullmatch(value.strip()):
            return _not_what(column, value)
        return None
    if isinstance(value, numbers.Number):
        return None if column != "ts" or isinstance(value, numbers.Real) else _reason(column, value)
    if column == "ts" and isinstance(value, (datetime, date, pd.Timestamp, np.datetime64)):
        return None
    return _reason(column, value)


def _reason(column: str, value) -> str:
    if isinstance(value, str):
        return (f"the {column} {_shown(value)} holds a control character or a broken character (NUL, a line "
                "break, an unpaired surrogate): remove it")
    return _not_what(column, value)


def _not_what(column: str, value) -> str:
    shown = _shown(value)
    what = {
        "household_id": "a whole number (the household's id)", "device_id": "a whole number (the device's id)",
        "series": "text (the series name)", "quantity": "text such as load or pv",
        "unit": "text such as kWh or W", "value": "a number such as 3.25",
        "interval_s": "a number of seconds", "ts": "a time (ISO 8601 text or Unix seconds)",
        "cumulative": "true or false",
    }[column]
    return f"the {column} {shown} is not {what}: send {what}"


def _shown(value) -> str:
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "{}" if not value else "an object {...}"
    if isinstance(value, (list, tuple)):
        return "[]" if not value else "a list [...]"
    text = repr(value)
    return storable_text(text if len(text) <= 40 else text[:37] + "...")
