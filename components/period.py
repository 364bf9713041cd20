"""Choosing a period of local calendar days."""

from __future__ import annotations

from datetime import date

from dash import dcc


def day_range_picker(picker_id: str, start: date, end: date, available: tuple[date, date]) -> dcc.DatePickerRange:
    """A date range limited to the days that have data, weeks starting on Monday, ISO dates."""
    return dcc.DatePickerRange(
        id=picker_id,
        start_date=start,
        end_date=end,
        min_date_allowed=available[0],
        max_date_allowed=available[1],
        display_format="YYYY-MM-DD",
        first_day_of_week=1,
    )


def picked_day(value: str | None) -> date | None:
    """The day a date picker holds (``YYYY-MM-DD``, possibly with a time part), or None when empty."""
    return date.fromisoformat(value[:10]) if value else None
