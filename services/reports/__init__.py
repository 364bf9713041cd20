"""Reports on households over a period: PDF, Excel, CSV and interactive HTML files.

Modules, in the order the data flows: :mod:`~services.reports.period` (which days),
:mod:`~services.reports.data` (gather a :class:`ReportData` per household),
:mod:`~services.reports.metered` (flow split and battery savings),
:mod:`~services.reports.summary` and :mod:`~services.reports.tables` (words and tables),
:mod:`~services.reports.charts` with :mod:`~services.reports.renderer` (figures and kaleido),
then one writer per format (:mod:`~services.reports.pdf`, :mod:`~services.reports.excel`,
:mod:`~services.reports.csv_export`, :mod:`~services.reports.html_report`) and
:mod:`~services.reports.files`, the entry point for downloads.
"""

from services.reports.data import ReportData, gather_report_data
from services.reports.files import FORMATS, ReportFile, build_report_file
from services.reports.period import (
    PERIOD_KINDS,
    ReportInputError,
    ReportPeriod,
    month_choices,
    parse_period,
    year_choices,
)
from services.reports.renderer import RendererUnavailable, renderer

__all__ = [
    "FORMATS",
    "PERIOD_KINDS",
    "RendererUnavailable",
    "ReportData",
    "ReportFile",
    "ReportInputError",
    "ReportPeriod",
    "build_report_file",
    "gather_report_data",
    "month_choices",
    "parse_period",
    "renderer",
    "year_choices",
]
