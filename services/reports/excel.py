"""The reports as an Excel workbook (xlsxwriter): one sheet per table, units in the headers.

Numbers are written as numbers (blank where a value is undefined), days and times as Excel
dates, every text cell through :func:`services.export.neutralise_cell` so that a household
called ``=HYPERLINK(...)`` stays text. Each sheet has its header row frozen, a filter, and
columns as wide as their content.
"""

from __future__ import annotations

import io
import math
import numbers
from collections.abc import Sequence
from datetime import date, datetime

import pandas as pd

from services.export import neutralise_cell
from services.reports.data import ReportData
from services.reports.metered import savings_method
from services.reports.summary import definitions
from services.reports.tables import daily_table, households_table, kpi_table, monthly_table, quality_table

#: Widest column [characters]; longer text wraps in the cell's tooltip-free way spreadsheets do.
MAX_WIDTH = 60


def build_workbook(reports: Sequence[ReportData]) -> bytes:
    """The workbook's bytes: sheets KPIs, Daily energy, Monthly energy, Quality notes, Households, About."""
    import xlsxwriter  # imported here: only downloads need it

    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    formats = {
        "header": book.add_format({"bold": True, "bg_color": "#E9ECEF", "bottom": 1, "text_wrap": True,
                                   "valign": "top"}),
        "number": book.add_format({"num_format": "#,##0.00"}),
        "integer": book.add_format({"num_format": "0"}),
        "date": book.add_format({"num_format": "yyyy-mm-dd"}),
        "datetime": book.add_format({"num_format": "yyyy-mm-dd hh:mm"}),
        "text": book.add_format({"text_wrap": False}),
    }
    sheets = {
        "KPIs": kpi_table(reports),
        "Daily energy": daily_table(reports),
        "Monthly energy": monthly_table(reports),
        "Quality notes": quality_table(reports),
        "Households": households_table(reports),
    }
    for name, frame in sheets.items():
        write_sheet(book, name, frame, formats)
    _about_sheet(book, reports, formats)
    book.close()
    return buffer.getvalue()


def write_sheet(book, name: str, frame: pd.DataFrame, formats: dict) -> None:
    """``frame`` on a new sheet ``name``: typed cells, frozen header, filter, fitted widths."""
    sheet = book.add_worksheet(name)
    columns = list(frame.columns)
    widths = [len(str(c)) for c in columns]
    for col, header in enumerate(columns):
        sheet.write_string(0, col, neutralise_cell(str(header)), formats["header"])
    for row, values in enumerate(frame.itertuples(index=False, name=None), start=1):
        for col, value in enumerate(values):
            widths[col] = max(widths[col], _write_cell(sheet, row, col, value, formats))
    for col, width in enumerate(widths):
        sheet.set_column(col, col, min(width + 2, MAX_WIDTH))
    sheet.freeze_panes(1, 0)
    if columns:
        sheet.autofilter(0, 0, max(len(frame), 1), len(columns) - 1)


def _write_cell(sheet, row: int, col: int, value, formats: dict) -> int:
    """Write one typed cell; return the width it needs [characters]."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return 0
    if isinstance(value, numbers.Real):
        fmt = formats["integer"] if isinstance(value, numbers.Integral) else formats["number"]
        sheet.write_number(row, col, float(value), fmt)
        return len(f"{value:,.2f}")
    if isinstance(value, pd.Timestamp | datetime):
        stamp = pd.Timestamp(value)
        naive = stamp.tz_localize(None) if stamp.tzinfo else stamp  # local wall time, as the header says
        sheet.write_datetime(row, col, naive.to_pydatetime(), formats["datetime"])
        return 16
    if isinstance(value, date):
        sheet.write_datetime(row, col, datetime(value.year, value.month, value.day), formats["date"])
        return 10
    text = neutralise_cell(str(value))
    sheet.write_string(row, col, text, formats["text"])
    return len(text)


def _about_sheet(book, reports: Sequence[ReportData], formats: dict) -> None:
    first = reports[0]
    rows = [("Period", first.period.label), ("First day", first.period.start.isoformat()),
            ("Last day", first.period.end.isoformat()), ("Households", str(len(reports))),
            ("Generated", first.generated_at.strftime("%Y-%m-%d %H:%M UTC")),
            ("Currency", first.currency), ("Battery savings", savings_method(first.household.export_curtailable)),
            *(("Meter data", note) for r in reports for note in r.flow_notes if len(reports) == 1),
            *definitions()]
    write_sheet(book, "About", pd.DataFrame(rows, columns=["Item", "Meaning"]), formats)
