"""Timestamps as sources give them, to UTC Unix seconds, with a reason for every one refused.

Accepted: ISO 8601 with an offset (``2024-03-31T02:15:00+02:00``, ``...Z``), Unix epoch seconds
(numbers or digit strings), timezone-aware datetimes, and naive local times read in a zone
(IANA like ``Europe/Berlin`` or a fixed offset like ``UTC-08:00``). A naive time that does not
exist (the hour skipped when daylight saving starts) or that happens twice (the hour repeated
when it ends) is refused with a reason unless a policy says how to resolve it.

Times are kept to the second (the store's resolution on SQLite), rounded down.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

#: Instants outside these years are refused: almost always a wrong unit, a typo or a value that is no
#: time at all (``true`` read as the number 1 is 1970-01-01T00:00:01).
EARLIEST = int(pd.Timestamp("1990-01-01", tz="UTC").timestamp())
LATEST = int(pd.Timestamp("2100-01-01", tz="UTC").timestamp())
#: How far ahead of the clock a reading may be [s]: a day covers any time zone slip; beyond it, a
#: device's clock or a typo in the year (and such a reading would move every "latest data" view).
MAX_FUTURE_S = 86_400
_OFFSET_RE = re.compile(r"^(?:UTC|GMT)?\s*([+-])(\d{1,2})(?::?(\d{2}))?$", re.IGNORECASE)
_HAS_OFFSET = r"(?:Z|[+-]\d\d(?::?\d\d)?)$"
_HOW_TO_WRITE = ("use ISO 8601 like 2024-03-31T02:15:00+02:00, Unix seconds, or set the "
                 "timestamp format in the mapping")


@dataclass(frozen=True)
class ParsedTimes:
    """UTC Unix seconds per row (``seconds``, int64; meaningless where ``bad``), and for the
    rows in ``bad`` (in order) a reason each."""

    seconds: np.ndarray
    bad: np.ndarray
    reasons: list[str]


def zone_from_text(text: str) -> tzinfo:
    """The time zone named by ``text``: an IANA name or a fixed offset (``UTC-08:00``, ``+01:00``, ``Z``).

    Raises
    ------
    ValueError
        With a message that says what is accepted.
    """
    name = (text or "").strip()
    if name.upper() in ("Z", "UTC", "GMT"):
        return timezone.utc
    match = _OFFSET_RE.match(name)
    if match:
        sign, hours, minutes = match.group(1), int(match.group(2)), int(match.group(3) or 0)
        if hours > 14 or minutes >= 60:
            raise ValueError(f"time zone offset {text!r} is out of range: offsets go from -12:00 to +14:00")
        delta = timedelta(hours=hours, minutes=minutes)
        return timezone(-delta if sign == "-" else delta)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {text!r}: use an IANA name like 'Europe/Berlin' or a fixed offset "
            "like 'UTC-08:00'"
        ) from None


def parse_timestamps(values: pd.Series, zones: pd.Series | str | tzinfo, *, nonexistent: str = "reject",
                     ambiguous: str = "reject", fmt: str | None = None, now_s: int | None = None) -> ParsedTimes:
    """Timestamps to UTC Unix seconds.

    Parameters
    ----------
    values : Series
        Strings, numbers (Unix seconds), datetimes, or a mixture (object dtype).
    zones : Series of str, str or tzinfo
        The zone for naive local times, one for all rows or one per row (a household's zone).
    nonexistent : {'reject', 'shift_forward', 'shift_backward'}
    ambiguous : {'reject', 'earlier', 'later'}
    fmt : str, optional
        A ``strptime`` format (``'%d.%m.%Y %H:%M'``) or ``'epoch_s'`` / ``'epoch_ms'``;
        None reads ISO 8601 and Unix seconds.
    now_s : int, optional
        The current time [UTC Unix seconds]; times more than :data:`MAX_FUTURE_S` after it are
        refused. None: the clock.

    Returns
    -------
    ParsedTimes
    """
    n = len(values)
    seconds = np.zeros(n, dtype=np.int64)
    bad = np.zeros(n, dtype=bool)
    reasons = np.empty(n, dtype=object)
    values = values.reset_index(drop=True)
    if not isinstance(zones, pd.Series):
        zones = pd.Series([zones] * n if n else [], dtype=object) if n else pd.Series([], dtype=object)
    zones = zones.reset_index(drop=True)
    _parse_into(values, zones, np.arange(n), seconds, bad, reasons, nonexistent, ambiguous, fmt)
    out_of_range = ~bad & ((seconds < EARLIEST) | (seconds >= LATEST))
    if out_of_range.any():
        for i in np.flatnonzero(out_of_range):
            reasons[i] = _out_of_range_reason(values.iloc[i], int(seconds[i]))
        bad |= out_of_range
    now_s = int(datetime.now(timezone.utc).timestamp()) if now_s is None else int(now_s)
    future = ~bad & (seconds > now_s + MAX_FUTURE_S)
    if future.any():
        now_text = datetime.fromtimestamp(now_s, tz=timezone.utc).strftime("%Y-%m-%d %H:%M")
        for i in np.flatnonzero(future):
            shown = datetime.fromtimestamp(int(seconds[i]), tz=timezone.utc).strftime("%Y-%m-%d %H:%M")
            reasons[i] = (f"{_raw_text(values.iloc[i])} is {shown} UTC, more than a day after now ({now_text} UTC): "
                          "check the year, the time zone or the clock of the device")
        bad |= future
    return ParsedTimes(seconds=seconds, bad=bad, reasons=[str(r) for r in reasons[bad]])


def _parse_into(values: pd.Series, zones: pd.Series, where: np.ndarray, seconds, bad, reasons,
                nonexistent: str, ambiguous: str, fmt: str | None) -> None:
    """Parse ``values`` (rows ``where`` of the whole) into the output arrays."""
    if len(values) == 0:
        return
    dtype = values.dtype
    if isinstance(dtype, pd.DatetimeTZDtype):
        _store(pd.DatetimeIndex(values), where, seconds, bad, reasons, values, "")
    elif pd.api.types.is_datetime64_dtype(dtype):
        _localize_into(pd.DatetimeIndex(values), zones, where, seconds, bad, reasons, values, nonexistent, ambiguous)
    elif pd.api.types.is_bool_dtype(dtype):
        bad[where] = True
        reasons[where] = [f"{v!r} is not a time: {_HOW_TO_WRITE}" for v in values]
    elif pd.api.types.is_numeric_dtype(dtype):
        _epoch_into(values.to_numpy(dtype=np.float64, na_value=np.nan), where, seconds, bad, reasons, values,
                    scale=1000.0 if fmt == "epoch_ms" else 1.0)
    elif pd.api.types.is_string_dtype(dtype) and not pd.api.types.is_object_dtype(dtype):
        _strings_into(values, zones, where, seconds, bad, reasons, nonexistent, ambiguous, fmt)
    else:
        _objects_into(values, zones, where, seconds, bad, reasons, nonexistent, ambiguous, fmt)


def _objects_into(values, zones, where, seconds, bad, reasons, nonexistent, ambiguous, fmt) -> None:
    # A mixture (readings from JSON or Python): split by kind and parse each kind vectorised.
    kinds = values.map(_kind).to_numpy()
    for kind in ("aware", "naive", "number", "text", "other"):
        mask = kinds == kind
        if not mask.any():
            continue
        part = values[mask].reset_index(drop=True)
        part_zones = zones[mask].reset_index(drop=True)
        rows = where[mask]
        if kind == "aware":
            part = pd.Series(pd.to_datetime(list(part), utc=True))
        elif kind == "naive":
            part = pd.Series(pd.to_datetime(list(part)))
        elif kind == "number":
            part = part.astype(np.float64)
        elif kind == "text":
            try:
                part = part.astype("str")
            except UnicodeEncodeError:  # a lone surrogate: no time has one, the row is unreadable either way
                part = part.map(lambda v: v.encode("utf-8", "replace").decode("utf-8")).astype("str")
        else:
            bad[rows] = True
            reasons[rows] = [_unreadable(v) for v in part]
            continue
        _parse_into(part, part_zones, rows, seconds, bad, reasons, nonexistent, ambiguous, fmt)


def _kind(value) -> str:
    if isinstance(value, datetime):
        return "aware" if value.tzinfo is not None else "naive"
    if isinstance(value, bool) or value is None:
        return "other"
    if isinstance(value, (int, float, np.integer, np.floating)):
        return "number"
    if isinstance(value, str):
        return "text"
    return "other"


def _strings_into(values, zones, where, seconds, bad, reasons, nonexistent, ambiguous, fmt) -> None:
    text = values.str.strip()
    # pandas reads "now", "today" ... as the parser's clock (naive, so read in the wrong zone): a time
    # is written with digits.
    wordy = ~np.asarray(pc.fill_null(pc.match_substring_regex(_arrow(text), r"\d"), True), dtype=bool)
    if wordy.any():
        rows = where[wordy]
        bad[rows] = True
        reasons[rows] = [_unreadable(v) for v in values[wordy]]
        keep = ~wordy
        if not keep.any():
            return
        values, zones, where = values[keep].reset_index(drop=True), zones[keep].reset_index(drop=True), where[keep]
        text = text[keep].reset_index(drop=True)
    if fmt in ("epoch_s", "epoch_ms"):
        numbers = pd.to_numeric(text, errors="coerce")
        _epoch_into(numbers.to_numpy(dtype=np.float64, na_value=np.nan), where, seconds, bad, reasons, values,
                    scale=1000.0 if fmt == "epoch_ms" else 1.0)
        return
    if fmt:
        parsed = pd.to_datetime(text, format=fmt, errors="coerce", utc="%z" in fmt)
        index = pd.DatetimeIndex(parsed)
        if index.tz is None:
            _localize_into(index, zones, where, seconds, bad, reasons, values, nonexistent, ambiguous)
        else:
            _store(index, where, seconds, bad, reasons, values, f" with the format {fmt!r}")
        return
    try:
        # Fast path: Arrow reads strict ISO 8601 with offsets in C++ and refuses the whole column
        # if any row lacks one; then each row is classified below.
        utc = pc.cast(_arrow(values), pa.timestamp("us", tz="UTC"))
        _store(pd.DatetimeIndex(utc.to_pandas()), where, seconds, bad, reasons, values, "")
        return
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    arrow = _arrow(text)
    has_offset = np.asarray(pc.fill_null(pc.match_substring_regex(arrow, _HAS_OFFSET), False))
    is_number = text.str.fullmatch(r"[+-]?\d+(?:\.\d*)?").fillna(False).to_numpy(dtype=bool)
    if has_offset.any():
        part = text[has_offset]
        _store(pd.DatetimeIndex(pd.to_datetime(part, format="ISO8601", utc=True, errors="coerce")),
               where[has_offset], seconds, bad, reasons, values[has_offset], "")
    if is_number.any():
        numbers = pd.to_numeric(text[is_number], errors="coerce").to_numpy(dtype=np.float64)
        _epoch_into(numbers, where[is_number], seconds, bad, reasons, values[is_number], scale=1.0)
    naive = ~has_offset & ~is_number
    if naive.any():
        local = pd.DatetimeIndex(pd.to_datetime(text[naive], format="ISO8601", errors="coerce"))
        _localize_into(local, zones[naive].reset_index(drop=True), where[naive], seconds, bad, reasons,
                       values[naive], nonexistent, ambiguous)


def _arrow(values: pd.Series) -> pa.Array:
    try:
        return pa.array(values.array)  # zero-copy for Arrow-backed strings
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, UnicodeEncodeError):
        pass
    raw = values.to_numpy(dtype=object, na_value=None)
    try:
        return pa.array(raw, type=pa.string())
    except UnicodeEncodeError:  # a lone surrogate: no time has one, so the row is unreadable either way
        return pa.array([v.encode("utf-8", "replace").decode("utf-8") if isinstance(v, str) else v for v in raw],
                        type=pa.string())


def _store(index: pd.DatetimeIndex, where, seconds, bad, reasons, raw: pd.Series, how: str) -> None:
    """Write aware instants (NaT = unreadable) into the outputs."""
    missing = np.asarray(index.isna())
    good = ~missing
    if good.any():
        seconds[where[good]] = index[good].tz_convert("UTC").as_unit("s").asi8
    if missing.any():
        bad[where[missing]] = True
        reasons[where[missing]] = [_unreadable(v, how) for v in raw.to_numpy(dtype=object)[missing]]


def _epoch_into(numbers: np.ndarray, where, seconds, bad, reasons, raw: pd.Series, scale: float) -> None:
    missing = ~np.isfinite(numbers)
    good = ~missing
    # Clipped first so that a huge number stays huge (and is refused as out of range) instead of wrapping.
    seconds[where[good]] = np.floor(np.clip(numbers[good] / scale, -1e13, 1e13)).astype(np.int64)
    if missing.any():
        bad[where[missing]] = True
        reasons[where[missing]] = [_unreadable(v) for v in raw.to_numpy(dtype=object)[missing]]


def _localize_into(local: pd.DatetimeIndex, zones: pd.Series, where, seconds, bad, reasons, raw: pd.Series,
                   nonexistent: str, ambiguous: str) -> None:
    """Read naive local times in their zones, resolving or refusing DST gaps and folds."""
    raw_values = raw.to_numpy(dtype=object)
    unreadable = np.asarray(local.isna())
    if unreadable.any():
        bad[where[unreadable]] = True
        reasons[where[unreadable]] = [_unreadable(v) for v in raw_values[unreadable]]
    zone_keys = zones.map(lambda z: z if isinstance(z, str) else getattr(z, "key", None) or str(z)).to_numpy()
    for key in pd.unique(zone_keys):
        mask = (zone_keys == key) & ~unreadable
        if not mask.any():
            continue
        sample = zones[np.flatnonzero(zone_keys == key)[0]]
        if sample is None or (isinstance(sample, float) and np.isnan(sample)):
            bad[where[mask]] = True
            reasons[where[mask]] = "the time has no UTC offset and no time zone is known: give the offset " \
                                   "(2024-03-31T02:15:00+02:00) or set the time zone in the mapping"
            continue
        zone = zone_from_text(sample) if isinstance(sample, str) else sample
        part = local[mask].as_unit("s")
        utc, problems = localize(part, zone, nonexistent=nonexistent, ambiguous=ambiguous)
        rows = where[mask]
        ok = ~problems.astype(bool)
        seconds[rows[ok]] = utc[ok]
        for i in np.flatnonzero(~ok):
            bad[rows[i]] = True
            reasons[rows[i]] = _dst_reason(part[i], zone, problems[i])


#: Problem codes of :func:`localize`.
OK, NONEXISTENT, AMBIGUOUS = 0, 1, 2


def localize(local: pd.DatetimeIndex, zone: tzinfo, *, nonexistent: str = "reject",
             ambiguous: str = "reject") -> tuple[np.ndarray, np.ndarray]:
    """Naive local times in ``zone`` to UTC Unix seconds.

    Returns ``(seconds, problems)``: ``problems`` is 0 where resolved, :data:`NONEXISTENT` for a
    time in a spring-forward gap and :data:`AMBIGUOUS` for one in a fall-back fold (refused
    under the ``'reject'`` policies; ``seconds`` is meaningless there).
    """
    n = len(local)
    # Reading the fold both ways tells which rows are ambiguous (the two readings differ) and
    # which do not exist (NaT either way), without a per-row loop.
    as_dst = local.tz_localize(zone, ambiguous=np.ones(n, dtype=bool), nonexistent="NaT")
    as_std = local.tz_localize(zone, ambiguous=np.zeros(n, dtype=bool), nonexistent="NaT")
    gap = np.asarray(as_dst.isna())
    fold = ~gap & (as_dst.asi8 != as_std.asi8)
    chosen = as_std if ambiguous == "later" else as_dst
    seconds = np.where(gap, 0, chosen.as_unit("s").asi8)
    problems = np.zeros(n, dtype=np.int8)
    if gap.any():
        if nonexistent in ("shift_forward", "shift_backward"):
            shifted = local[gap].tz_localize(zone, ambiguous=np.ones(int(gap.sum()), dtype=bool),
                                             nonexistent=nonexistent)
            seconds[gap] = shifted.as_unit("s").asi8
        else:
            problems[gap] = NONEXISTENT
    if fold.any() and ambiguous not in ("earlier", "later"):
        problems[fold] = AMBIGUOUS
    return seconds, problems


def _dst_reason(local: pd.Timestamp, zone: tzinfo, problem: int) -> str:
    name = getattr(zone, "key", None) or str(zone)
    shown = local.strftime("%Y-%m-%d %H:%M:%S")
    if problem == NONEXISTENT:
        before = local - pd.Timedelta(hours=3)
        jump = zone.utcoffset((local + pd.Timedelta(hours=3)).to_pydatetime()) - zone.utcoffset(before.to_pydatetime())
        minutes = int(jump.total_seconds() // 60)
        return (f"{shown} does not exist in {name}: clocks jump forward {minutes} minutes that night. "
                "Give the time with its UTC offset, or set the mapping's policy for non-existent times "
                "to shift_forward or shift_backward")
    first = local.tz_localize(zone, ambiguous=True).isoformat()
    second = local.tz_localize(zone, ambiguous=False).isoformat()
    return (f"{shown} happens twice in {name} (clocks go back that night): give the time with its UTC "
            f"offset ({first} or {second}), or set the mapping's policy for ambiguous times to "
            "earlier or later")


def _unreadable(value, how: str = "") -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NaT or \
            (isinstance(value, str) and not value.strip()):
        return "the timestamp is empty: every reading needs a time"
    return f"{value!r} is not a date and time we can read{how}: {_HOW_TO_WRITE}"


def _raw_text(value) -> str:
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _out_of_range_reason(value, seconds: int) -> str:
    if isinstance(value, (int, float, np.integer, np.floating)) or (isinstance(value, str) and value.strip().isdigit()):
        number = float(value)
        if EARLIEST <= number / 1000 < LATEST:
            return (f"{value} is not Unix seconds in a sensible range: it looks like milliseconds; "
                    "divide by 1000 or set the timestamp format to epoch_ms")
    shown = datetime.fromtimestamp(seconds, tz=timezone.utc).isoformat() if -6e10 < seconds < 2.5e11 else str(value)
    return (f"{value!r} is {shown} UTC, outside 1990-2099: check the year and the unit of the timestamp "
            "(a value that is no time, such as true, reads as 1970)")
