"""Tables leaving the app (CSV downloads, Excel sheets, reports) made safe for spreadsheets.

A spreadsheet evaluates a cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return as a formula ("CSV injection"). Household names, notes and device labels
come from users and files, so every text cell that leaves the app goes through
:func:`neutralise_cell`: such a cell gets a leading apostrophe, which spreadsheets show
as plain text. Numbers are left alone (``-3.2`` stays a negative number).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

#: First characters that make a spreadsheet treat a text cell as a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise_cell(value: Any) -> Any:
    """``value`` unchanged unless it is text a spreadsheet would evaluate; then ``"'" + value``."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells and column names are neutralised (numbers untouched)."""
    safe = frame.copy()
    safe.columns = [neutralise_cell(str(column)) for column in safe.columns]
    for column in safe.columns:
        series = safe[column]
        if pd.api.types.is_object_dtype(series) or pd.api.types.is_string_dtype(series):
            safe[column] = series.map(neutralise_cell).astype(object)
    return safe


def frame_to_csv(frame: pd.DataFrame, index: bool = False) -> str:
    """``frame`` as CSV text (comma-separated, ``.`` decimals, ISO 8601 times), formulas neutralised.

    Column names should carry their unit, e.g. ``pv_kwh`` or ``"PV [kWh]"``.
    """
    safe = neutralise_frame(frame.reset_index() if index else frame)
    return safe.to_csv(index=False, date_format="%Y-%m-%dT%H:%M:%S%z", float_format="%.6g")
