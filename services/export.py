"""Tables leaving the app (CSV downloads, Excel sheets, reports) made safe for spreadsheets.

A spreadsheet evaluates a cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return as a formula ("CSV injection"). Household names, notes and device labels
come from users and files, so every text cell that leaves the app goes through
:func:`neutralise_cell`: such a cell gets a leading apostrophe, which spreadsheets show
as plain text. Numbers are left alone (``-3.2`` stays a negative number).

Where a cell starts depends on the reader: a spreadsheet set to ``;`` as list separator
(German, French Excel) splits a comma-separated file at every ``;`` and a ``;``-separated
file at every ``,`` that is not quoted. So text is neutralised at its start and after every
``,`` and ``;`` in it (``a;=1`` becomes ``a;'=1``), whichever separator the file uses.
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

#: First characters that make a spreadsheet treat a text cell as a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


#: A formula character at the start of the text or right after a separator of either kind.
_FORMULA_START = re.compile(r"(^|[,;])(?=[=+\-@\t\r])")


def neutralise_cell(value: Any) -> Any:
    """``value`` unchanged unless it is text a spreadsheet would evaluate, from its start or from a
    ``,`` or ``;`` on; there it gets an apostrophe (``"=1"`` becomes ``"'=1"``)."""
    if isinstance(value, str) and (value.startswith(FORMULA_PREFIXES) or _FORMULA_START.search(value)):
        return _FORMULA_START.sub(lambda m: m.group(1) + "'", value)
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


def frame_to_csv(frame: pd.DataFrame, index: bool = False, sep: str = ",") -> str:
    """``frame`` as CSV text (ISO 8601 times), formulas neutralised for readers of either separator.

    ``sep`` is ``","`` (with ``.`` decimals) or ``";"`` (with ``,`` decimals, as European
    spreadsheets read them). Column names should carry their unit, e.g. ``pv_kwh`` or ``"PV [kWh]"``.
    """
    if sep not in (",", ";"):
        raise ValueError(f"sep must be ',' or ';', got {sep!r}")
    safe = neutralise_frame(frame.reset_index() if index else frame)
    return safe.to_csv(index=False, sep=sep, decimal="." if sep == "," else ",",
                       date_format="%Y-%m-%dT%H:%M:%S%z", float_format="%.6g")
