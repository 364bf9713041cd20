"""Periods of the household explorer: presets, the comparison period and the step of the chart.

All days are local calendar days of the household, both ends included. Presets are anchored at
the household's newest day with data (or today in its time zone, when that is earlier), so a
portfolio whose data ends in the past still opens on data.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from services.energy import kpis
from services.energy.flows import resolution_for

#: Period presets of the explorer, in the order they are offered.
PRESETS = {
    "today": "Today",
    "yesterday": "Yesterday",
    "last_7_days": "Last 7 days",
    "this_month": "This month",
    "last_month": "Last month",
    "this_year": "This year",
    "custom": "Custom",
}

#: Comparison modes: none, the period just before, or the same dates a year earlier.
COMPARISONS = {"none": "None", "previous": "Previous period", "year": "A year earlier"}


def local_today(tz: str, now: datetime | None = None) -> date:
    """Today's date in time zone ``tz`` (``now`` for tests; an aware datetime)."""
    return (now or datetime.now(ZoneInfo(tz))).astimezone(ZoneInfo(tz)).date()


def resolve_preset(preset: str, available: tuple[date, date], today: date) -> tuple[date, date]:
    """``(start, end)`` local days of a preset, anchored at ``min(last day with data, today)``.

    ``today`` and ``yesterday`` are single days; the others follow :func:`services.energy.kpis.resolve_period`.
    The result is clipped to ``available`` (first and last day with data). ``custom`` is not a
    period of its own: it raises, like any unknown name.

    Raises
    ------
    ValueError
        For an unknown preset (the message lists the valid ones).
    """
    first, last = available
    anchor = min(last, today)
    if preset in ("today", "yesterday"):
        day = anchor if preset == "today" else anchor - timedelta(days=1)
        day = min(max(day, first), last)
        return day, day
    if preset not in PRESETS or preset == "custom":
        valid = ", ".join(p for p in PRESETS if p != "custom")
        raise ValueError(f"unknown period {preset!r}; choose one of {valid}")
    return kpis.resolve_period(preset, available, today=today)


def matching_preset(start: date, end: date, available: tuple[date, date], today: date) -> str:
    """The preset that gives exactly ``start``..``end`` today, or ``custom``."""
    for preset in PRESETS:
        if preset != "custom" and resolve_preset(preset, available, today) == (start, end):
            return preset
    return "custom"


def _is_whole_months(start: date, end: date) -> bool:
    return start.day == 1 and end.day == calendar.monthrange(end.year, end.month)[1]


def _add_months(day: date, months: int, last_day: bool = False) -> date:
    """``day`` moved by ``months``; the day of month is clipped (31 Mar - 1 month = 29 Feb in a
    leap year), or set to the month's last day with ``last_day``."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    length = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, length if last_day else min(day.day, length))


def comparison_period(start: date, end: date, mode: str) -> tuple[date, date] | None:
    """The period to compare ``start``..``end`` with, or None for ``mode="none"``.

    - ``previous``: the whole calendar months just before when the period is whole months
      (March 2024 -> February 2024, 1-29; a year -> the year before), else as many days just before;
    - ``year``: the same dates a year earlier; 29 February becomes 28 February, and a period ending
      on a month's last day ends on that month's last day (February 2025 -> 1-29 February 2024).

    Raises
    ------
    ValueError
        For an unknown mode.
    """
    if mode == "none" or not mode:
        return None
    if mode == "previous":
        if _is_whole_months(start, end):
            months = (end.year - start.year) * 12 + end.month - start.month + 1
            return _add_months(start, -months), _add_months(end, -months, last_day=True)
        days = (end - start).days + 1
        return start - timedelta(days=days), start - timedelta(days=1)
    if mode == "year":
        month_end = end.day == calendar.monthrange(end.year, end.month)[1]
        return _add_months(start, -12), _add_months(end, -12, last_day=month_end)
    raise ValueError(f"unknown comparison {mode!r}; choose one of {', '.join(COMPARISONS)}")


# --- resolution ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Resolution:
    """A step of the explorer's charts: ``seconds`` is the nominal length (None for a month)."""

    key: str
    label: str  # "per <label>": 15 min, hour, day, month
    adjective: str  # "<adjective> steps": 15-minute, hourly, daily, monthly
    seconds: int | None


RESOLUTIONS = {
    "15min": Resolution("15min", "15 min", "15-minute", 900),
    "hour": Resolution("hour", "hour", "hourly", 3600),
    "day": Resolution("day", "day", "daily", 86400),
    "month": Resolution("month", "month", "monthly", None),
}
#: Longest period drawn per month rather than per day in "auto" [days].
AUTO_DAILY_MAX_DAYS = 400
#: Most steps a chart draws per series; finer choices over longer periods are refused.
MAX_POINTS = 3000


@dataclass(frozen=True)
class ResolutionChoice:
    """The step used and why: ``requested`` is what the person chose (``auto`` or a key of
    :data:`RESOLUTIONS`); ``note`` says why it was not honoured, when it was not."""

    resolution: Resolution
    requested: str
    points: int
    note: str | None = None


def step_count(start: date, end: date, resolution: Resolution) -> int:
    """How many steps of ``resolution`` the local days ``start``..``end`` span (DST ignored)."""
    days = (end - start).days + 1
    if resolution.seconds is None:
        return (end.year - start.year) * 12 + end.month - start.month + 1
    return days * 86400 // resolution.seconds


def auto_resolution(days: int) -> Resolution:
    """15 min up to three days, hourly up to 45 days, daily up to 400 days, then monthly."""
    if days > AUTO_DAILY_MAX_DAYS:
        return RESOLUTIONS["month"]
    seconds, _label = resolution_for(days)
    return next(r for r in RESOLUTIONS.values() if r.seconds == seconds)


def choose_resolution(start: date, end: date, requested: str | None = "auto") -> ResolutionChoice:
    """The step for local days ``start``..``end``: the requested one, or the automatic one.

    A request that would draw more than :data:`MAX_POINTS` steps per series is refused: the next
    coarser step that fits is used, and ``note`` says so and what to do for the finer one.
    An unknown request counts as ``auto``.
    """
    requested = requested if requested in RESOLUTIONS else "auto"
    days = (end - start).days + 1
    if requested == "auto":
        chosen = auto_resolution(days)
        return ResolutionChoice(chosen, "auto", step_count(start, end, chosen))
    wanted = RESOLUTIONS[requested]
    points = step_count(start, end, wanted)
    if points <= MAX_POINTS:
        return ResolutionChoice(wanted, requested, points)
    order = list(RESOLUTIONS.values())
    coarser = next(r for r in order[order.index(wanted) + 1:] if step_count(start, end, r) <= MAX_POINTS)
    max_days = MAX_POINTS * wanted.seconds // 86400
    note = (f"{wanted.adjective.capitalize()} steps over {days} days would draw {points:,} points per series "
            f"(at most {MAX_POINTS:,}): showing {coarser.adjective} steps. For {wanted.adjective} steps choose "
            f"{max_days} days or fewer.")
    return ResolutionChoice(coarser, requested, step_count(start, end, coarser), note)
