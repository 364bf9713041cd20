"""Data quality of stored series: gaps, duplicates, stuck values, spikes, impossible readings, and PV
below what the sun allows.

Checks run per series and are summarised per household (for the Data page) and
as counts over many households (for the overview). What each check means:

gaps
    Missing intervals between two readings, judged against the series' nominal
    step (``Series.resolution_s``; the most common step between its readings when
    that is not set). Found in SQL with ``LAG`` over the series, so only the gaps
    travel, never the rows.
duplicates
    The store's unique key (series, ts) refuses exact duplicates (an ingestion
    batch reports those it saw as ``unchanged``). What the store can still show is
    more than one reading in one nominal interval (a logger that drifted, a device
    sending at :00 and :07): counted here as readings beyond the first per interval.
stuck values
    A value repeated for hours where the quantity always moves: household load
    (at least :data:`STUCK_HOURS` ``["load"]`` hours), temperature; PV stuck at the
    same non-zero value (zero is a normal night). Found in SQL as runs of equal
    consecutive values ("gaps and islands").
spikes
    Single readings far from their neighbours: a Hampel filter, i.e. the distance
    to the rolling median in units of the rolling scaled MAD, with a floor so that
    a flat baseline does not turn every kettle into a spike.
impossible readings
    PV at night or above the array's rating, grid import or export above the connection, for
    the series' interval: see :mod:`services.quality.limits`.
PV under-performance
    Measured PV energy against a pvlib clear-sky PVWatts expectation for the
    household's location and arrays, on its clearest days of the year before the period's end
    (a winter month alone may have none): see :mod:`services.quality.pv`.

Energies [kWh per interval starting at ts], power [kW], temperature [degC];
times UTC. Every function takes its household or series ids explicitly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import sqlalchemy as sa

from services.households import HouseholdDetail, HouseholdNotFound, get_household
from services.pvmodel import Location
from services.quality.limits import LIMIT_QUANTITIES, Implausible, ReadingLimits, describe, find_implausible
from services.quality.pv import PVPerformance, pv_performance, readings_window
from services.store.db import session_scope
from services.store.frames import rows_array
from services.store.models import Reading, Series
from services.store.types import epoch_seconds, time_bucket

#: Shortest flat run [h] reported as stuck, per quantity; quantities not listed are never "stuck"
#: (a battery sits full for hours, grid export is zero all night, a heat pump is off at 0 kW).
STUCK_HOURS = {"load": 4.0, "temperature": 8.0, "pv": 6.0}
#: Quantities whose stuck value must be non-zero to count (PV at 0 is night, not a fault).
STUCK_NONZERO = frozenset({"pv"})
#: Two values closer than this count as equal [unit of the series]; meters repeat exactly.
FLAT_TOLERANCE = 1e-9
#: Quantities checked for spikes.
SPIKE_QUANTITIES = frozenset({"load", "power", "temperature"})
#: Hampel window: readings on each side of the one judged.
SPIKE_HALF_WINDOW = 4
#: Distance to the rolling median, in scales, beyond which a reading is a spike.
SPIKE_THRESHOLD = 6.0
#: Floor of the scale, as a fraction of the series' usual range (99th minus 1st percentile):
#: household load is spiky by nature (a kettle on a quiet night is ten MADs away), so a spike
#: must also stand out against what the series does all year, e.g. 1.5 times its usual range.
SPIKE_SCALE_FLOOR = 0.25
#: A second floor, as a fraction of the rolling median's size, for series that barely move all
#: year (a room at 20.0 degC): a step of 0.1 is resolution, not a spike.
SPIKE_RELATIVE_FLOOR = 0.02
#: At most this many gaps/runs/spikes are listed per series (all are counted).
MAX_LISTED = 200
#: What :meth:`HouseholdQuality.counts` counts, with the words the overview and the Data page use.
QUALITY_LABELS = {"gaps": "gaps", "stuck": "stuck periods", "spikes": "spikes",
                  "implausible": "impossible readings", "pv_underperforming": "PV under-performing",
                  "duplicates": "duplicate readings"}


@dataclass(frozen=True)
class Gap:
    """Missing readings of a series: intervals from ``start`` up to (not including) ``end`` [UTC]."""

    series_id: int
    start: datetime
    end: datetime
    missing: int

    @property
    def hours(self) -> float:
        return (self.end - self.start).total_seconds() / 3600.0


@dataclass(frozen=True)
class FlatRun:
    """A series repeating ``value`` for the intervals from ``start`` up to ``end`` [UTC]."""

    series_id: int
    start: datetime
    end: datetime
    value: float
    readings: int

    @property
    def hours(self) -> float:
        return (self.end - self.start).total_seconds() / 3600.0


@dataclass(frozen=True)
class Spike:
    """A reading ``value`` at ``ts`` far from the median of its neighbours ``expected``;
    ``score`` is the distance in (floored) scaled MADs."""

    series_id: int
    ts: datetime
    value: float
    expected: float
    score: float


@dataclass(frozen=True)
class SeriesQuality:
    """Quality of one series over the period checked. Counts cover the whole period; the
    lists hold at most :data:`MAX_LISTED` items each."""

    series_id: int
    name: str
    quantity: str
    step_s: int | None
    readings: int
    first: datetime | None
    last: datetime | None
    gaps: tuple[Gap, ...] = ()
    gap_count: int = 0
    missing: int = 0
    duplicates: int = 0
    flat_runs: tuple[FlatRun, ...] = ()
    spikes: tuple[Spike, ...] = ()
    spike_count: int = 0
    implausible: tuple[Implausible, ...] = ()
    implausible_count: int = 0

    @property
    def completeness(self) -> float | None:
        """Share of the expected intervals between first and last reading that are present [-]."""
        if not self.readings or not self.step_s:
            return None
        return self.readings / (self.readings + self.missing)


@dataclass(frozen=True)
class Issue:
    """One finding, in words for the Data page: ``kind`` is gap, duplicates, stuck, spikes, implausible or pv."""

    household_id: int
    kind: str
    series: str
    start: datetime | None
    end: datetime | None
    message: str


@dataclass(frozen=True)
class HouseholdQuality:
    """Quality of every series of one household, and its PV against the clear sky."""

    household_id: int
    name: str
    series: tuple[SeriesQuality, ...]
    pv: PVPerformance | None
    issues: tuple[Issue, ...] = field(default=())
    limits: ReadingLimits | None = None

    def counts(self) -> dict[str, int]:
        """Findings per kind of :data:`QUALITY_LABELS`: ``gaps``, ``duplicates``, ``stuck``, ``spikes``,
        ``implausible`` (readings), ``pv_underperforming`` (0 or 1)."""
        return {
            "gaps": sum(s.gap_count for s in self.series),
            "duplicates": sum(s.duplicates for s in self.series),
            "stuck": sum(len(s.flat_runs) for s in self.series),
            "spikes": sum(s.spike_count for s in self.series),
            "implausible": sum(s.implausible_count for s in self.series),
            "pv_underperforming": int(bool(self.pv and self.pv.flagged)),
        }


# --- per household ---------------------------------------------------------------------------


def check_household(household_id: int, start: datetime | None = None, end: datetime | None = None,
                    *, spikes: bool = True, detail: HouseholdDetail | None = None) -> HouseholdQuality:
    """Run every check on every series of household ``household_id`` over ``[start, end)`` (UTC).
    ``detail``: the household as the caller already read it (a report), so it is read once.

    Raises
    ------
    HouseholdNotFound
        When the household does not exist (or the caller may not see it).
    """
    if detail is None or detail.id != household_id:
        detail = get_household(household_id)
    with session_scope() as session:
        rows = session.execute(
            sa.select(Series.id, Series.name, Series.quantity, Series.resolution_s)
            .where(Series.household_id == household_id).order_by(Series.name)
        ).all()
    limits = household_limits(detail)
    results = tuple(check_series(sid, name, quantity, step, start, end, spikes=spikes, limits=limits)
                    for sid, name, quantity, step in rows)
    pv_ids = [s.series_id for s in results if s.quantity == "pv" and s.readings]
    pv = pv_performance(household_id, start, end, series_ids=pv_ids, detail=detail) if pv_ids else None
    issues = _issues(household_id, results, pv, limits)
    return HouseholdQuality(household_id, detail.name, results, pv, issues, limits)


def household_limits(detail: HouseholdDetail) -> ReadingLimits:
    """The location and ratings that bound a household's readings (:mod:`services.quality.limits`)."""
    return ReadingLimits(Location(detail.latitude, detail.longitude), float(detail.pv_kwp or 0.0),
                         detail.grid_import_limit_kw, detail.grid_export_limit_kw)


def quality_counts(household_ids: Sequence[int], start: datetime | None = None,
                   end: datetime | None = None) -> dict:
    """Counts of findings over ``household_ids`` for the overview.

    Returns
    -------
    dict
        ``households`` checked, ``households_with_issues``, totals ``gaps``, ``duplicates``,
        ``stuck``, ``spikes``, ``implausible``, ``pv_underperforming`` (households), and ``by_household``:
        ``{household_id: {kind: count}}``. Unknown ids are skipped.
    """
    totals = dict.fromkeys(QUALITY_LABELS, 0)
    by_household: dict[int, dict[str, int]] = {}
    for household_id in household_ids:
        try:
            counts = check_household(household_id, start, end).counts()
        except HouseholdNotFound:
            continue
        by_household[household_id] = counts
        for kind, n in counts.items():
            totals[kind] += n
    with_issues = sum(1 for c in by_household.values() if any(c.values()))
    return {"households": len(by_household), "households_with_issues": with_issues, **totals,
            "by_household": by_household}


# --- per series ------------------------------------------------------------------------------


def check_series(series_id: int, name: str, quantity: str, step_s: int | None,
                 start: datetime | None = None, end: datetime | None = None,
                 *, spikes: bool = True, limits: ReadingLimits | None = None) -> SeriesQuality:
    """Gaps, duplicates, stuck values, spikes and (with ``limits``) impossible readings of one series
    over ``[start, end)``."""
    count, first, last = _extent(series_id, start, end)
    if not count:
        return SeriesQuality(series_id, name, quantity, step_s, 0, None, None)
    step = step_s or infer_step(series_id, start, end)
    gaps = series_gaps(series_id, step, start, end) if step else []
    dupes = duplicate_count(series_id, step, start, end) if step else 0
    runs: list[FlatRun] = []
    if quantity in STUCK_HOURS and step:
        runs = flat_runs(series_id, step, STUCK_HOURS[quantity], start, end,
                         nonzero=quantity in STUCK_NONZERO)
    found: list[Spike] = []
    if spikes and quantity in SPIKE_QUANTITIES:
        found = find_spikes(series_id, start, end)
    impossible: list[Implausible] = []
    if limits is not None and quantity in LIMIT_QUANTITIES and step:
        impossible = find_implausible(series_id, quantity, step, limits, start, end)
    return SeriesQuality(
        series_id, name, quantity, step, count, first, last,
        gaps=tuple(gaps[:MAX_LISTED]), gap_count=len(gaps), missing=sum(g.missing for g in gaps),
        duplicates=dupes, flat_runs=tuple(runs[:MAX_LISTED]),
        spikes=tuple(found[:MAX_LISTED]), spike_count=len(found),
        implausible=tuple(impossible[:MAX_LISTED]), implausible_count=len(impossible),
    )


def infer_step(series_id: int, start: datetime | None = None, end: datetime | None = None) -> int | None:
    """The most common step between consecutive readings [s]; None with fewer than two readings."""
    lagged = _lagged(series_id, start, end).subquery()
    diff = (lagged.c.ts_s - lagged.c.prev_s).label("diff")
    query = (sa.select(diff, sa.func.count().label("n")).where(lagged.c.prev_s.is_not(None))
             .group_by(diff).order_by(sa.desc("n"), diff).limit(1))
    with session_scope() as session:
        row = session.execute(query).first()
    return int(row[0]) if row and row[0] > 0 else None


def series_gaps(series_id: int, step_s: int, start: datetime | None = None,
                end: datetime | None = None) -> list[Gap]:
    """Runs of missing intervals between consecutive readings, in time order.

    A gap is where two readings are at least 1.5 steps apart (so jitter of a few seconds
    is not a gap); ``missing`` is the number of whole steps absent.
    """
    lagged = _lagged(series_id, start, end).subquery()
    query = (sa.select(lagged.c.prev_s, lagged.c.ts_s)
             .where(lagged.c.prev_s.is_not(None), (lagged.c.ts_s - lagged.c.prev_s) * 2 >= step_s * 3)
             .order_by(lagged.c.ts_s))
    with session_scope() as session:
        rows = session.execute(query).all()
    return [Gap(series_id, _utc(prev + step_s), _utc(ts), int(round((ts - prev) / step_s)) - 1)
            for prev, ts in rows]


def duplicate_count(series_id: int, step_s: int, start: datetime | None = None,
                    end: datetime | None = None) -> int:
    """Readings beyond the first in the same nominal interval of ``step_s`` seconds."""
    bucket = time_bucket(Reading.ts, step_s).label("bucket")
    inner = readings_window(sa.select(bucket, sa.func.count().label("n")).where(Reading.series_id == series_id),
                    start, end).group_by(bucket).having(sa.func.count() > 1).subquery()
    with session_scope() as session:
        return int(session.scalar(sa.select(sa.func.coalesce(sa.func.sum(inner.c.n - 1), 0))) or 0)


def flat_runs(series_id: int, step_s: int, min_hours: float, start: datetime | None = None,
              end: datetime | None = None, *, nonzero: bool = False) -> list[FlatRun]:
    """Runs of consecutive readings with the same value lasting at least ``min_hours``.

    Consecutive means no gap between them (at most 1.5 steps apart); ``nonzero`` keeps only
    runs away from zero. Done in SQL as "gaps and islands": a new island starts wherever the
    value changes or readings are not consecutive, islands are numbered by a running sum.
    """
    lagged = _lagged(series_id, start, end, with_value=True).subquery()
    same = sa.and_(lagged.c.prev_value.is_not(None),
                   sa.func.abs(lagged.c.value - lagged.c.prev_value) <= FLAT_TOLERANCE,
                   (lagged.c.ts_s - lagged.c.prev_s) * 2 < step_s * 3)
    brk = sa.case((same, 0), else_=1)
    islands = sa.select(
        lagged.c.ts_s, lagged.c.value,
        sa.func.sum(brk).over(order_by=lagged.c.ts_s, rows=(None, 0)).label("island"),
    ).subquery()
    min_readings = max(2, int(np.ceil(min_hours * 3600 / step_s)))
    query = (
        sa.select(sa.func.min(islands.c.ts_s), sa.func.max(islands.c.ts_s), sa.func.min(islands.c.value),
                  sa.func.count())
        .group_by(islands.c.island)
        .having(sa.func.count() >= min_readings)
        .order_by(sa.func.min(islands.c.ts_s))
    )
    if nonzero:
        query = query.having(sa.func.abs(sa.func.min(islands.c.value)) > FLAT_TOLERANCE)
    with session_scope() as session:
        rows = session.execute(query).all()
    return [FlatRun(series_id, _utc(lo), _utc(hi + step_s), float(value), int(n)) for lo, hi, value, n in rows]


def find_spikes(series_id: int, start: datetime | None = None, end: datetime | None = None) -> list[Spike]:
    """Readings of a series that :func:`hampel` marks as spikes."""
    # Unix seconds rather than the column type: a year of quarter hours is 35,000 rows, and
    # building a datetime per row would cost more than the filter itself.
    query = readings_window(sa.select(epoch_seconds(Reading.ts), Reading.value).where(Reading.series_id == series_id),
                    start, end)
    with session_scope() as session:
        rows = session.execute(query.order_by(Reading.ts)).all()
    if len(rows) < 2 * SPIKE_HALF_WINDOW + 1:
        return []
    table = rows_array(rows)
    index = pd.to_datetime(table[:, 0].astype("int64"), unit="s", utc=True)
    flagged = hampel(pd.Series(table[:, 1], index=index))
    return [Spike(series_id, ts.to_pydatetime(), float(row.value), float(row.expected), float(row.score))
            for ts, row in flagged.iterrows()]


def hampel(values: pd.Series, half_window: int = SPIKE_HALF_WINDOW, threshold: float = SPIKE_THRESHOLD,
           scale_floor: float = SPIKE_SCALE_FLOOR) -> pd.DataFrame:
    """Spikes of ``values`` by the Hampel filter.

    A reading is a spike when ``|x - median| > threshold * max(1.4826 * MAD, floor)`` over the
    centred window of ``2 * half_window + 1`` readings, where ``floor`` is ``scale_floor`` times
    the series' usual range (99th minus 1st percentile), or :data:`SPIKE_RELATIVE_FLOOR` times
    ``|median|`` where that is larger.

    Returns
    -------
    DataFrame indexed like the spikes in ``values``
        ``value``, ``expected`` (the rolling median) and ``score`` (distance in scales).
    """
    width = 2 * half_window + 1
    median = values.rolling(width, center=True, min_periods=half_window + 1).median()
    mad = (values - median).abs().rolling(width, center=True, min_periods=half_window + 1).median()
    low, high = np.nanpercentile(values.to_numpy(), [1, 99]) if len(values) else (0.0, 0.0)
    floor = scale_floor * float(high - low)
    floor = np.maximum(median.abs() * SPIKE_RELATIVE_FLOOR, max(floor, 1e-12))
    scale = np.maximum(1.4826 * mad, floor)
    score = (values - median).abs() / scale
    hits = score > threshold
    return pd.DataFrame({"value": values[hits], "expected": median[hits], "score": score[hits]})


# --- helpers ---------------------------------------------------------------------------------


def _extent(series_id: int, start: datetime | None, end: datetime | None):
    query = readings_window(sa.select(sa.func.count(), sa.func.min(Reading.ts), sa.func.max(Reading.ts))
                    .where(Reading.series_id == series_id), start, end)
    with session_scope() as session:
        count, first, last = session.execute(query).one()
    return int(count), _as_utc(first), _as_utc(last)


def _lagged(series_id: int, start: datetime | None, end: datetime | None, *, with_value: bool = False):
    """Each reading's Unix time ``ts_s`` with the previous reading's ``prev_s`` (and values)."""
    ts_s = epoch_seconds(Reading.ts)
    columns = [ts_s.label("ts_s"), sa.func.lag(ts_s).over(order_by=Reading.ts).label("prev_s")]
    if with_value:
        columns += [Reading.value.label("value"),
                    sa.func.lag(Reading.value).over(order_by=Reading.ts).label("prev_value")]
    return readings_window(sa.select(*columns).where(Reading.series_id == series_id), start, end)


def _utc(seconds) -> datetime:
    return pd.Timestamp(int(seconds), unit="s", tz="UTC").to_pydatetime()


def _as_utc(value) -> datetime | None:
    # Aggregates bypass the column type: SQLite hands back Unix seconds, PostgreSQL a datetime.
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return _utc(value)
    return pd.Timestamp(value).tz_convert("UTC").to_pydatetime() if value.tzinfo else \
        pd.Timestamp(value, tz="UTC").to_pydatetime()


def _issues(household_id: int, series: Sequence[SeriesQuality], pv: PVPerformance | None,
            limits: ReadingLimits | None = None) -> tuple[Issue, ...]:
    issues: list[Issue] = []
    for s in series:
        for gap in s.gaps:
            issues.append(Issue(household_id, "gap", s.name, gap.start, gap.end,
                                f"{s.name}: {gap.missing} reading(s) missing ({_duration(gap.hours)}); "
                                "re-send or upload the period to fill it"))
        if s.duplicates:
            issues.append(Issue(household_id, "duplicates", s.name, s.first, s.last,
                                f"{s.name}: {s.duplicates} reading(s) share an interval with another "
                                f"(step {s.step_s // 60} min): the device's clock may drift"))
        for run in s.flat_runs:
            issues.append(Issue(household_id, "stuck", s.name, run.start, run.end,
                                f"{s.name}: stuck at {run.value:g} for {_duration(run.hours)}: "
                                "the meter or sensor may have frozen"))
        if s.spike_count:
            first = s.spikes[0]
            issues.append(Issue(household_id, "spikes", s.name, first.ts, s.spikes[-1].ts,
                                f"{s.name}: {s.spike_count} spike(s), e.g. {first.value:g} at "
                                f"{first.ts:%Y-%m-%d %H:%M} UTC where about {first.expected:g} was usual"))
        if s.implausible_count and limits is not None:
            issues.append(Issue(household_id, "implausible", s.name, s.implausible[0].ts, s.implausible[-1].ts,
                                describe(s.name, s.quantity, list(s.implausible), s.implausible_count, limits)))
    if pv is not None and pv.flagged:
        issues.append(Issue(household_id, "pv", "pv", None, None, pv.message))
    return tuple(issues)


def _duration(hours: float) -> str:
    return f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.1f} days"


def timeline_spans(quality: HouseholdQuality) -> pd.DataFrame:
    """Spans to draw on a timeline, one row each: ``series``, ``kind`` (``data`` from first to last
    reading, then the ``gap`` and ``stuck`` periods on top), ``start``, ``end`` (UTC) and ``label``."""
    rows = []
    for s in quality.series:
        if not s.readings:
            continue
        end = s.last + timedelta(seconds=s.step_s or 0)
        rows.append((s.name, "data", s.first, end, f"{s.readings:,} readings"))
        rows += [(s.name, "gap", g.start, g.end, f"{g.missing} missing ({_duration(g.hours)})") for g in s.gaps]
        rows += [(s.name, "stuck", r.start, r.end, f"stuck at {r.value:g} for {_duration(r.hours)}")
                 for r in s.flat_runs]
    return pd.DataFrame(rows, columns=["series", "kind", "start", "end", "label"])
