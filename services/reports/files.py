"""One entry point for every report download: households + period + format -> a named file.

Formats: ``pdf`` (one PDF per household; several households come as a ZIP of PDFs, because
each report goes to its household and must hold its data only), ``xlsx`` (one workbook, a
sheet per table, a row per household), ``csv`` (a ZIP of CSV files) and ``html`` (one
self-contained interactive file). Households without data in the period are left out and
named in :attr:`ReportFile.skipped`; when none has data the error says so.
"""

from __future__ import annotations

import io
import re
import unicodedata
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass

from services.reports.csv_export import build_csv_zip
from services.reports.data import Progress, ReportData, gather_many, require_data
from services.reports.excel import build_workbook
from services.reports.html_report import build_html
from services.reports.pdf import build_pdf, prepare_pdf
from services.reports.period import ReportInputError, ReportPeriod

#: Download formats: key -> label.
FORMATS = {"pdf": "PDF", "xlsx": "Excel", "csv": "CSV", "html": "Interactive HTML"}
MIMETYPES = {
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "application/zip",
    "html": "text/html",
    "zip": "application/zip",
}


@dataclass(frozen=True)
class ReportFile:
    """A finished download: ``filename``, its bytes and MIME type; ``households`` reported and the
    names of those ``skipped`` for lack of data in the period."""

    filename: str
    content: bytes
    mimetype: str
    households: int
    skipped: tuple[str, ...] = ()


def build_report_file(fmt: str, household_ids: Sequence[int], period: ReportPeriod,
                      progress: Progress | None = None) -> ReportFile:
    """Build the ``fmt`` report on ``household_ids`` over ``period``.

    The caller has checked that the households are visible to the user (:mod:`services.access`).
    ``progress(done, total, label)`` is called as households are read and drawn.

    Raises
    ------
    ReportInputError
        No household chosen, an unknown format, or no data in the period (the message says what to choose).
    """
    if fmt not in FORMATS:
        raise ReportInputError(f"Choose a format: {', '.join(FORMATS.values())}.")
    ids = list(dict.fromkeys(int(h) for h in household_ids))
    if not ids:
        raise ReportInputError("Choose at least one household.")
    drawn = len(ids) if fmt == "pdf" else 1
    total = len(ids) + drawn

    def step(done: int, label: str) -> None:
        if progress:
            progress(done, total, label)

    if fmt == "pdf":
        prepare_pdf()  # the chart browser starts while the data is read (a no-op once it runs)
    reports = gather_many(ids, period, lambda i, n, _label: step(i, "Reading data"))
    with_data = require_data(reports)
    skipped = tuple(r.household.name for r in reports if not r.has_data)
    stem = _stem(with_data, period)
    if fmt == "pdf":
        if len(with_data) == 1:
            content = build_pdf(with_data[0])
            step(total, "Drawing PDF")
            return ReportFile(f"{stem}.pdf", content, MIMETYPES["pdf"], 1, skipped)
        pdfs = {}
        for i, report in enumerate(with_data):
            pdfs[f"{_household_slug(report)}_{period.slug}.pdf"] = build_pdf(report)
            step(len(ids) + i + 1, "Drawing PDFs")
        return ReportFile(f"{stem}.zip", zip_files(pdfs), MIMETYPES["zip"], len(with_data), skipped)
    if fmt == "xlsx":
        content, name = build_workbook(with_data), f"{stem}.xlsx"
    elif fmt == "csv":
        content, name = build_csv_zip(with_data), f"{stem.replace('energy-report', 'energy-data')}.zip"
    else:
        content, name = build_html(with_data), f"{stem}.html"
    step(total, "Writing file")
    return ReportFile(name, content, MIMETYPES[fmt], len(with_data), skipped)


def zip_files(files: dict[str, bytes]) -> bytes:
    """A ZIP archive of ``{name: bytes}`` (PDFs are compressed already: stored as they are)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def slugify(text: str) -> str:
    """``Müller family, Pankow`` -> ``muller-family-pankow``: safe in any file name ("" stays "household")."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:60].strip("-") or "household"


def _household_slug(report: ReportData) -> str:
    # The id keeps two households with look-alike names apart.
    return f"{slugify(report.household.name)}-{report.household.id}"


def _stem(reports: Sequence[ReportData], period: ReportPeriod) -> str:
    who = _household_slug(reports[0]) if len(reports) == 1 else f"{len(reports)}-households"
    return f"energy-report_{who}_{period.slug}"
