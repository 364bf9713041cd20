"""IoT devices and the rollups of their raw data.

Device registry
    A device belongs to a household and has a ``kind`` (:data:`DEVICE_KINDS`), a
    ``name`` unique in the household, the ``external_id`` it uses on the wire (the
    ``<device>`` part of an MQTT topic) and the ``metrics`` (series names) it
    reports. A device first seen on a stream is registered automatically with
    ``needs_review`` set; a person confirms it on the Data page.
Status
    ``online`` when the device reported within :data:`OFFLINE_AFTER_INTERVALS`
    times its reporting interval (the finest step of its series, else
    :data:`DEFAULT_INTERVAL_S`, 15 min), ``offline`` when silent for longer,
    ``never seen`` before its first reading. Time is judged against the store's own
    clock (the newest report of any device) when that is behind the wall clock, so
    a portfolio replayed from history (the demo, a back-fill) is not all offline;
    a silent listener then shows as the whole portfolio's data being old, which
    :func:`data_clock` reports.
Rollups
    Raw readings summed per series into buckets of :data:`ROLLUP_BUCKETS` seconds
    (15 min, hour, UTC day): total, minimum, maximum and count per bucket, computed
    in SQL with :func:`~services.store.types.time_bucket` and rewritten for the
    window a batch touched (:func:`refresh_rollups`). :func:`read_series` answers a
    chart's request from raw rows for short ranges and from rollups for long ones, and
    rebuilds rollups it finds out of step with the raw rows.

Access
    A caller (``scope``, None: the current one) sees its organisation's devices and series only
    (another's device is :class:`DeviceNotFound`); writes need manager; confirmations are audited.

Units are those of each series (kWh per interval for energies, kW, degC ...); times UTC.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from services import access
from services.access import AccessScope
from services.auth import record
from services.store.db import session_scope
from services.store.frames import rows_frame
from services.store.models import DEVICE_KINDS, Device, Household, Reading, ReadingRollup, Series
from services.store.types import epoch_seconds, time_bucket
from services.text_checks import text_problem
from services.validation import FieldProblem, ValidationProblem

#: Reporting interval assumed for a device whose series do not say [s].
DEFAULT_INTERVAL_S = 900
#: A device is offline after this many reporting intervals without a reading.
OFFLINE_AFTER_INTERVALS = 4
#: Rollup bucket lengths [s]: quarter hour, hour, UTC day.
ROLLUP_BUCKETS = (900, 3600, 86400)
#: A chart asks for at most about this many points by default.
DEFAULT_MAX_POINTS = 2000

#: The device kind a metric suggests, for devices registered from a stream (a person confirms).
KIND_OF_METRIC = {
    "pv": "inverter",
    "battery_charge": "battery",
    "battery_discharge": "battery",
    "battery_soc": "battery",
    "temperature": "temperature_sensor",
    "humidity": "temperature_sensor",
    "load": "meter",
    "grid_import": "meter",
    "grid_export": "meter",
}


class DeviceNotFound(LookupError):
    """No device with this id in this household."""

    def __init__(self, household_id: int, device_id: int):
        super().__init__(f"household {household_id} has no device {device_id}")
        self.household_id = household_id
        self.device_id = device_id


@dataclass(frozen=True)
class DeviceInfo:
    """A device with its status.

    ``interval_s`` is its reporting interval [s]; ``status`` is ``online``, ``offline`` or
    ``never seen``; ``silent_for`` how long since its last reading (None if never seen), judged
    at ``checked_at`` (UTC).
    """

    id: int
    household_id: int
    household_name: str
    kind: str
    name: str
    external_id: str | None
    metrics: tuple[str, ...]
    needs_review: bool
    last_seen_at: datetime | None
    interval_s: int
    status: str
    silent_for: timedelta | None
    checked_at: datetime


@dataclass(frozen=True)
class StreamDevice:
    """The device behind a stream's ``external_id``: its id, and whether it was just registered."""

    id: int
    household_id: int
    created: bool


# --- registry ------------------------------------------------------------------------------------


def create_device(household_id: int, *, kind: str, name: str, external_id: str | None = None,
                  metrics: Iterable[str] = (), needs_review: bool = False, scope: AccessScope | None = None) -> int:
    """Register a device of household ``household_id``; returns its id.

    Raises
    ------
    ValidationProblem
        Unknown kind, empty or taken name, unknown household (or another organisation's).
    Forbidden
        The caller's role is below manager.
    """
    scope = access.require_role("manager", scope)
    name = (name or "").strip()
    with session_scope() as session:
        _check(session, household_id, kind, name, None, scope)
        device = Device(household_id=household_id, kind=kind, name=name, external_id=external_id or None,
                        metrics=sorted(set(metrics)), needs_review=needs_review)
        session.add(device)
        session.flush()
        return device.id


def update_device(household_id: int, device_id: int, *, kind: str | None = None, name: str | None = None,
                  metrics: Iterable[str] | None = None, needs_review: bool | None = None,
                  scope: AccessScope | None = None) -> None:
    """Change what is given of a device; the rest stays. Raises DeviceNotFound (also another
    organisation's), ValidationProblem, Forbidden (below manager)."""
    _update(household_id, device_id, kind, name, metrics, needs_review, access.require_role("manager", scope))


def confirm_device(household_id: int, device_id: int, *, kind: str | None = None, name: str | None = None,
                   scope: AccessScope | None = None) -> None:
    """A person checked a device registered from a stream: clear ``needs_review`` (and fix kind/name).
    Raises as :func:`update_device`; recorded in the audit log (``device.confirm``)."""
    scope = access.require_role("manager", scope)
    before, after = _update(household_id, device_id, kind, name, None, False, scope)
    record(scope, "device.confirm", f"device:{device_id}", before, after)


def delete_device(household_id: int, device_id: int, *, scope: AccessScope | None = None) -> None:
    """Remove a device; its series stay (they lose the link). Raises DeviceNotFound, Forbidden."""
    scope = access.require_role("manager", scope)
    with session_scope() as session:
        session.delete(_device(session, household_id, device_id, scope))


def _update(household_id: int, device_id: int, kind: str | None, name: str | None, metrics: Iterable[str] | None,
            needs_review: bool | None, scope: AccessScope) -> tuple[dict, dict]:
    """Change a device as :func:`update_device` says; ``(before, after)`` of kind, name, needs_review."""
    with session_scope() as session:
        device = _device(session, household_id, device_id, scope)
        before = {"kind": device.kind, "name": device.name, "needs_review": bool(device.needs_review)}
        new_kind = device.kind if kind is None else kind
        new_name = device.name if name is None else name.strip()
        _check(session, household_id, new_kind, new_name, device_id, scope)
        device.kind, device.name = new_kind, new_name
        if metrics is not None:
            device.metrics = sorted(set(metrics))
        if needs_review is not None:
            device.needs_review = needs_review
        return before, {"kind": device.kind, "name": device.name, "needs_review": bool(device.needs_review)}


def device_for_stream(household_id: int, external_id: str, metric: str | None = None, *,
                      scope: AccessScope | None = None) -> StreamDevice:
    """The device of household ``household_id`` that calls itself ``external_id`` on the wire,
    registered (``needs_review``) when unknown, with ``metric`` added to what it reports.

    Raises
    ------
    ValidationProblem
        The household does not exist (or is another organisation's than the scope's).
    """
    scope = access.resolve(scope)
    with session_scope() as session:
        if not _sees(session.get(Household, household_id), scope):
            raise ValidationProblem([FieldProblem(
                "household_id", f"there is no household {household_id}: check the topic or create the household")])
        device = session.scalar(sa.select(Device).where(Device.household_id == household_id,
                                                        Device.external_id == external_id).order_by(Device.id))
        created = device is None
        if created:
            kind = KIND_OF_METRIC.get((metric or "").rsplit("/", 1)[-1], "meter")
            device = Device(household_id=household_id, kind=kind, name=_free_name(session, household_id, external_id),
                            external_id=external_id, metrics=[], needs_review=True)
            session.add(device)
        if metric and metric not in (device.metrics or []):
            device.metrics = sorted({*(device.metrics or []), metric})
        session.flush()
        return StreamDevice(device.id, household_id, created)


def mark_seen(seen: Mapping[int, datetime]) -> None:
    """Record ``{device_id: time of its newest reading}``; a later time never moves back."""
    if not seen:
        return
    with session_scope() as session:
        for device in session.scalars(sa.select(Device).where(Device.id.in_(list(seen)))):
            when = seen[device.id]
            if device.last_seen_at is None or when > device.last_seen_at:
                device.last_seen_at = when


def list_devices(household_ids: Sequence[int], now: datetime | None = None, *,
                 scope: AccessScope | None = None) -> list[DeviceInfo]:
    """Devices of those of ``household_ids`` the scope sees, with their status, by household name
    then device name. ``now`` defaults to :func:`data_clock` of those households (see the module docstring).
    """
    with session_scope() as session:
        rows = session.execute(
            sa.select(Device, Household.name).join(Household, Household.id == Device.household_id)
            .where(Device.household_id.in_(list(household_ids)),
                   access.organisation_filter(Household.organisation_id, scope))
            .order_by(Household.name, Device.name)
        ).all()
        intervals = _intervals(session, [d.id for d, _ in rows])
    checked = now or data_clock(sorted({d.household_id for d, _ in rows}))
    out = []
    for device, household_name in rows:
        interval = intervals.get(device.id) or DEFAULT_INTERVAL_S
        status, silent = device_status(device.last_seen_at, interval, checked)
        out.append(DeviceInfo(
            id=device.id, household_id=device.household_id, household_name=household_name, kind=device.kind,
            name=device.name, external_id=device.external_id, metrics=tuple(device.metrics or ()),
            needs_review=bool(device.needs_review), last_seen_at=device.last_seen_at, interval_s=interval,
            status=status, silent_for=silent, checked_at=checked,
        ))
    return out


def on_series_touched(touched) -> int:
    """Subscriber of :mod:`services.ingestion.events`: after a committed batch, refresh the rollups
    of the series it changed and move the last-seen time of their devices to the newest reading
    written (``touched``: series id -> (first, last) UTC). Returns rollup rows written."""
    touched = dict(touched or {})
    if not touched:
        return 0
    with session_scope() as session:
        owners = session.execute(sa.select(Series.id, Series.device_id)
                                 .where(Series.id.in_(list(touched)), Series.device_id.is_not(None))).all()
    seen: dict[int, datetime] = {}
    for series_id, device_id in owners:
        last = touched[series_id][1]
        if device_id not in seen or last > seen[device_id]:
            seen[device_id] = last
    mark_seen(seen)
    return refresh_rollups(touched)


def device_status(last_seen: datetime | None, interval_s: int, now: datetime,
                  offline_after: int = OFFLINE_AFTER_INTERVALS) -> tuple[str, timedelta | None]:
    """``(status, silent_for)``: offline once silent for more than ``offline_after`` intervals."""
    if last_seen is None:
        return "never seen", None
    silent = max(now - last_seen, timedelta(0))
    return ("online" if silent <= timedelta(seconds=offline_after * interval_s) else "offline"), silent


def data_clock(household_ids: Sequence[int], wall_clock: datetime | None = None) -> datetime:
    """The instant device status is judged at: the wall clock, or the newest report of any
    device of ``household_ids`` when that is older (a replayed or back-filled portfolio)."""
    wall = wall_clock or datetime.now(timezone.utc)
    with session_scope() as session:
        newest = session.scalar(sa.select(sa.func.max(Device.last_seen_at))
                                .where(Device.household_id.in_(list(household_ids))))
    newest = _as_utc(newest)
    return min(wall, newest) if newest is not None else wall


def _check(session, household_id: int, kind: str, name: str, device_id: int | None, scope: AccessScope) -> None:
    problems = []
    if not _sees(session.get(Household, household_id), scope):
        problems.append(FieldProblem("household_id", f"there is no household {household_id}"))
    if kind not in DEVICE_KINDS:
        problems.append(FieldProblem("kind", f"kind must be one of {', '.join(DEVICE_KINDS)}, got {kind!r}"))
    if not name:
        problems.append(FieldProblem("name", "give the device a name, e.g. 'PV inverter'"))
    elif len(name) > 120:
        problems.append(FieldProblem("name", f"a name has at most 120 characters, got {len(name)}"))
    elif text_problem(name):
        problems.append(FieldProblem("name", f"the name {text_problem(name)}"))
    else:
        clash = session.scalar(sa.select(Device.id).where(Device.household_id == household_id,
                                                          sa.func.lower(Device.name) == name.lower()))
        if clash is not None and clash != device_id:
            problems.append(FieldProblem("name", f"this household already has a device called {name!r}: "
                                                 "choose another name"))
    if problems:
        raise ValidationProblem(problems)


def _device(session, household_id: int, device_id: int, scope: AccessScope) -> Device:
    device = session.get(Device, device_id)
    if device is None or device.household_id != household_id or not _sees(session.get(Household, household_id), scope):
        raise DeviceNotFound(household_id, device_id)
    return device


def _sees(household: Household | None, scope: AccessScope) -> bool:  # another organisation's: as if missing
    return household is not None and (scope.is_system or household.organisation_id == scope.organisation_id)


def _free_name(session, household_id: int, external_id: str) -> str:
    taken = set(session.scalars(sa.select(sa.func.lower(Device.name)).where(Device.household_id == household_id)))
    base = external_id[:110] or "device"
    name, n = base, 2
    while name.lower() in taken:
        name, n = f"{base} ({n})", n + 1
    return name


def _intervals(session, device_ids: list[int]) -> dict[int, int]:
    """The finest step among each device's series [s]."""
    if not device_ids:
        return {}
    rows = session.execute(sa.select(Series.device_id, sa.func.min(Series.resolution_s))
                           .where(Series.device_id.in_(device_ids)).group_by(Series.device_id)).all()
    return {device_id: int(step) for device_id, step in rows if step}


# --- rollups -------------------------------------------------------------------------------------


class _from_epoch(FunctionElement):
    """SQL: Unix seconds back into the store's time column (integer on SQLite, timestamptz on PG)."""

    inherit_cache = True


@compiles(_from_epoch)
def _from_epoch_default(element, compiler, **kw):
    (value,) = list(element.clauses)
    return compiler.process(value, **kw)


@compiles(_from_epoch, "postgresql")
def _from_epoch_pg(element, compiler, **kw):
    (value,) = list(element.clauses)
    return f"to_timestamp({compiler.process(value, **kw)})"


def refresh_rollups(series_windows: Mapping[int, tuple[datetime, datetime]],
                    buckets: Sequence[int] = ROLLUP_BUCKETS) -> int:
    """Recompute the rollups of each series over its window ``(first, last)`` of changed readings.

    Buckets finer than or equal to a series' own step are skipped (they would copy the raw
    rows). Every bucket overlapping the window is rewritten whole from the raw readings, in
    one transaction per series. Pass an ingestion report's ``series_touched``.

    Returns
    -------
    int
        Rollup rows written.
    """
    written = 0
    for series_id, (first, last) in series_windows.items():
        with session_scope() as session:
            # Rewriting a window is delete + insert: two ingestions refreshing one series at once
            # would both insert the same buckets, so they take turns on the series row (PostgreSQL;
            # SQLite runs one writer at a time anyway).
            step = session.scalar(sa.select(Series.resolution_s).where(Series.id == series_id).with_for_update())
            for bucket_s in buckets:
                if step and bucket_s <= step:
                    continue
                lo = _floor(first, bucket_s)
                hi = _floor(last, bucket_s) + timedelta(seconds=bucket_s)
                session.execute(sa.delete(ReadingRollup).where(
                    ReadingRollup.series_id == series_id, ReadingRollup.bucket_s == bucket_s,
                    ReadingRollup.ts >= lo, ReadingRollup.ts < hi))
                bucket = time_bucket(Reading.ts, bucket_s)
                select = (
                    sa.select(Reading.series_id, sa.literal(bucket_s), _from_epoch(bucket),
                              sa.func.sum(Reading.value), sa.func.min(Reading.value), sa.func.max(Reading.value),
                              sa.func.count())
                    .where(Reading.series_id == series_id, Reading.ts >= lo, Reading.ts < hi)
                    .group_by(Reading.series_id, bucket)
                )
                session.execute(sa.insert(ReadingRollup).from_select(
                    ["series_id", "bucket_s", "ts", "total", "minimum", "maximum", "count"], select))
                # Counted rather than read from rowcount, which drivers report unevenly for INSERT ... SELECT.
                written += session.scalar(sa.select(sa.func.count()).where(
                    ReadingRollup.series_id == series_id, ReadingRollup.bucket_s == bucket_s,
                    ReadingRollup.ts >= lo, ReadingRollup.ts < hi)) or 0
    return written


@dataclass(frozen=True)
class SeriesData:
    """A series over a period at the resolution a chart can draw.

    ``frame`` is indexed by UTC bucket start with ``mean``, ``minimum``, ``maximum``, ``total``
    (in the series' unit; ``total`` is the energy of the bucket for energy series) and ``count``.
    ``bucket_s`` is the bucket length [s] (the series' own step for raw rows); ``source`` says
    where it came from: ``raw``, ``rollup`` (stored) or ``repaired`` (stored rollups were stale or
    missing and were rebuilt from the raw rows first).
    """

    series_id: int
    frame: pd.DataFrame
    bucket_s: int
    source: str


def read_series(household_id: int, series_id: int, start: datetime, end: datetime,
                max_points: int = DEFAULT_MAX_POINTS, *, scope: AccessScope | None = None) -> SeriesData:
    """Readings of series ``series_id`` of household ``household_id`` in ``[start, end)``, at most
    about ``max_points`` buckets: raw rows when they fit, else the finest rollup that does
    (whole buckets: the first and last may reach outside the period).

    Stored rollups are used when they account for every raw reading of the period (their counts
    add up). When they do not (not refreshed yet, or a listener stopped between committing a
    batch and refreshing its rollups), the period's rollups are rebuilt from the raw rows first,
    so the answer is always the raw data's. Raises LookupError for a series that is not the
    household's, or of a household the scope does not see.
    """
    with session_scope() as session:
        step = session.execute(sa.select(Series.resolution_s).join(Household, Household.id == Series.household_id)
                               .where(Series.id == series_id, Series.household_id == household_id,
                                      access.organisation_filter(Household.organisation_id, scope))).first()
    if step is None:
        raise LookupError(f"household {household_id} has no series {series_id}")
    step_s = step[0] or DEFAULT_INTERVAL_S
    needed = (end - start).total_seconds() / max(max_points, 1)
    if needed <= step_s:
        return SeriesData(series_id, _raw(series_id, start, end), step_s, "raw")
    bucket_s = next((b for b in ROLLUP_BUCKETS if b >= needed and b > step_s), ROLLUP_BUCKETS[-1])
    lo = _floor(start, bucket_s)
    hi = _floor(end - timedelta(seconds=1), bucket_s) + timedelta(seconds=bucket_s)
    with session_scope() as session:
        raw_count = session.scalar(sa.select(sa.func.count()).where(
            Reading.series_id == series_id, Reading.ts >= lo, Reading.ts < hi)) or 0
        rolled = session.scalar(sa.select(sa.func.coalesce(sa.func.sum(ReadingRollup.count), 0)).where(
            ReadingRollup.series_id == series_id, ReadingRollup.bucket_s == bucket_s,
            ReadingRollup.ts >= lo, ReadingRollup.ts < hi)) or 0
    source = "rollup"
    if rolled != raw_count:
        try:
            refresh_rollups({series_id: (lo, hi - timedelta(seconds=1))}, buckets=(bucket_s,))
            source = "repaired"
        except sa.exc.IntegrityError:  # another reader repaired the same buckets at the same moment
            source = "rollup"
    query = (sa.select(epoch_seconds(ReadingRollup.ts), ReadingRollup.total, ReadingRollup.minimum,
                       ReadingRollup.maximum, ReadingRollup.count)
             .where(ReadingRollup.series_id == series_id, ReadingRollup.bucket_s == bucket_s,
                    ReadingRollup.ts >= lo, ReadingRollup.ts < hi).order_by(ReadingRollup.ts))
    with session_scope() as session:
        rows = session.execute(query).all()
    return SeriesData(series_id, _frame(rows), bucket_s, source)


def _raw(series_id: int, start: datetime, end: datetime) -> pd.DataFrame:
    query = (sa.select(epoch_seconds(Reading.ts), Reading.value, Reading.value, Reading.value, sa.literal(1))
             .where(Reading.series_id == series_id, Reading.ts >= start, Reading.ts < end).order_by(Reading.ts))
    with session_scope() as session:
        return _frame(session.execute(query).all())


def _frame(rows) -> pd.DataFrame:
    frame = rows_frame(rows, ["ts", "total", "minimum", "maximum", "count"])
    index = pd.to_datetime(frame.pop("ts").astype("int64"), unit="s", utc=True)
    frame = frame.set_index(pd.DatetimeIndex(index, name="ts")).astype(float)
    frame["count"] = frame["count"].astype(int)
    frame.insert(0, "mean", frame["total"] / frame["count"].where(frame["count"] > 0))
    return frame


def _floor(instant: datetime, bucket_s: int) -> datetime:
    seconds = int(pd.Timestamp(instant).timestamp())
    return datetime.fromtimestamp(seconds - seconds % bucket_s, tz=timezone.utc)


def _as_utc(value) -> datetime | None:
    # max() over the column bypasses its type: SQLite hands back Unix seconds.
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(int(value), tz=timezone.utc)
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
