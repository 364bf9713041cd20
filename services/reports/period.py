"""The period a report covers: a calendar month, a calendar year or exact dates, in local days.

Days are the household's local calendar days (as in ``daily_energy``); ``start`` and ``end``
are both included. Parsing is strict and every refusal says what to choose instead, so a
page can show the message as it is.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta

#: The kinds of period a report can cover.
PERIOD_KINDS = {"month": "Month", "year": "Year", "custom": "Exact dates"}
#: Longest period of exact dates [days]: two years of daily rows still make a readable report.
MAX_CUSTOM_DAYS = 731


class ReportInputError(ValueError):
    """A report cannot be made from what was chosen; the message says what to change."""


@dataclass(frozen=True)
class ReportPeriod:
    """Local days ``start`` to ``end`` (both included); ``kind`` is ``month``, ``year`` or ``custom``."""

    kind: str
    start: date
    end: date

    @property
    def days(self) -> int:
        """Number of local days in the period."""
        return (self.end - self.start).days + 1

    @property
    def label(self) -> str:
        """How the period is named in a report: ``May 2026``, ``Year 2026``, ``2026-05-03 to 2026-05-20``."""
        if self.kind == "month":
            return f"{self.start:%B %Y}"
        if self.kind == "year":
            return f"Year {self.start.year}"
        return f"{self.start.isoformat()} to {self.end.isoformat()}"

    @property
    def slug(self) -> str:
        """The period in a file name: ``2026-05``, ``2026``, ``2026-05-03_2026-05-20``."""
        if self.kind == "month":
            return f"{self.start:%Y-%m}"
        if self.kind == "year":
            return str(self.start.year)
        return f"{self.start.isoformat()}_{self.end.isoformat()}"


def month_period(value: str | None) -> ReportPeriod:
    """The calendar month ``YYYY-MM``."""
    try:
        year, month = (int(part) for part in (value or "").split("-")[:2])
        first = date(year, month, 1)
    except ValueError:
        raise ReportInputError("Choose a month (for example 2026-05).") from None
    return ReportPeriod("month", first, date(year, month, calendar.monthrange(year, month)[1]))


def year_period(value: str | int | None) -> ReportPeriod:
    """The calendar year ``YYYY``."""
    try:
        year = int(value)
        first = date(year, 1, 1)
    except (TypeError, ValueError):
        raise ReportInputError("Choose a year (for example 2026).") from None
    return ReportPeriod("year", first, date(year, 12, 31))


def custom_period(start: date | None, end: date | None) -> ReportPeriod:
    """Exact local days ``start`` to ``end``; swapped when given the wrong way round."""
    if start is None or end is None:
        raise ReportInputError("Choose both a first and a last day for the report.")
    start, end = sorted((start, end))
    if (end - start).days + 1 > MAX_CUSTOM_DAYS:
        raise ReportInputError(f"Choose at most {MAX_CUSTOM_DAYS} days, or a year report for a longer view.")
    return ReportPeriod("custom", start, end)


def parse_period(kind: str | None, month: str | None = None, year: str | int | None = None,
                 start: date | None = None, end: date | None = None) -> ReportPeriod:
    """The period chosen on the Reports page: ``kind`` picks which of the other arguments counts."""
    if kind == "month":
        return month_period(month)
    if kind == "year":
        return year_period(year)
    if kind == "custom":
        return custom_period(start, end)
    raise ReportInputError(f"Choose a kind of period: {', '.join(PERIOD_KINDS.values())}.")


def clip_to(period: ReportPeriod, available: tuple[date, date] | None) -> tuple[date, date] | None:
    """The part of ``period`` inside ``available`` (first, last day with data), or None when they do not meet."""
    if available is None:
        return None
    start, end = max(period.start, available[0]), min(period.end, available[1])
    return (start, end) if start <= end else None


def month_choices(available: tuple[date, date] | None) -> list[dict]:
    """The months with data, newest first, as ``{"label": "May 2026", "value": "2026-05"}``."""
    if available is None:
        return []
    first, last = available
    month, choices = date(last.year, last.month, 1), []
    while month >= date(first.year, first.month, 1):
        choices.append({"label": f"{month:%B %Y}", "value": f"{month:%Y-%m}"})
        month = (month - timedelta(days=1)).replace(day=1)
    return choices


def year_choices(available: tuple[date, date] | None) -> list[dict]:
    """The years with data, newest first."""
    if available is None:
        return []
    return [{"label": str(y), "value": str(y)} for y in range(available[1].year, available[0].year - 1, -1)]
