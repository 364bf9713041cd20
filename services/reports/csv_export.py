"""The reports' data as CSV files in a ZIP: KPIs, daily and monthly energy, hourly series for
periods up to :data:`services.reports.data.HOURLY_MAX_DAYS` days, quality notes, households.

Every file goes through :func:`services.export.frame_to_csv` (comma-separated, ``.`` decimals,
ISO 8601 times with their UTC offset, spreadsheet formulas neutralised); headers carry units.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence

from services.export import frame_to_csv
from services.reports.data import ReportData
from services.reports.tables import daily_table, hourly_table, households_table, kpi_table, monthly_table, quality_table


def csv_files(reports: Sequence[ReportData]) -> dict[str, str]:
    """``{file name: CSV text}``; ``hourly_energy.csv`` only where the period is short enough."""
    files = {
        "kpis.csv": kpi_table(reports),
        "daily_energy.csv": daily_table(reports),
        "monthly_energy.csv": monthly_table(reports),
        "hourly_energy.csv": hourly_table(reports),
        "quality_notes.csv": quality_table(reports),
        "households.csv": households_table(reports),
    }
    return {name: frame_to_csv(frame) for name, frame in files.items()
            if not (frame.empty and name == "hourly_energy.csv")}


def build_csv_zip(reports: Sequence[ReportData]) -> bytes:
    """A ZIP holding the files of :func:`csv_files` (UTF-8)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in csv_files(reports).items():
            archive.writestr(name, text.encode("utf-8"))
    return buffer.getvalue()
