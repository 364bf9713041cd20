"""The ingestion core's typed records: a reading as given, a rejection, options and the report.

Re-exported by :mod:`services.ingestion.core`, the public entry point.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Literal

from services.ingestion.rejections import ReasonCount, reason_kind

#: What to do with a naive local time that does not exist (the hour skipped when DST starts).
Nonexistent = Literal["reject", "shift_forward", "shift_backward"]
#: What to do with a naive local time that happens twice (the hour repeated when DST ends).
Ambiguous = Literal["reject", "earlier", "later"]


@dataclass(frozen=True, kw_only=True)
class ReadingIn:
    """One reading as a source gives it.

    Attributes
    ----------
    household_id : int
        The household the reading belongs to.
    series : str
        Series name, unique per household (e.g. ``'load'``, ``'kitchen/temperature'``).
    quantity : str
        One of ``QUANTITY_UNITS`` (``load``, ``pv``, ``grid_import``, ``power``, ``temperature`` ...).
    ts : str | int | float | datetime
        ISO 8601 with an offset (``'2024-03-31T02:15:00+02:00'``), Unix epoch seconds, an aware
        datetime, or a naive local time (string or datetime) read in the household's time zone
        (or ``IngestOptions.timezone``).
    value : float | str
        The number; a string may use a decimal comma (``'3,25'``).
    unit : str
        Unit of ``value``: W/kW/MW for power, Wh/kWh/MWh for energy, degC/K/degF, %, W/m2 ...
        Power given for an energy quantity is read as the average over ``interval_s``.
    line : int | None
        Where the reading came from (file line, index in a JSON batch), echoed in rejections;
        None means its position in the batch, counting from 1.
    device_id : int | None
        The device that measured it; set on the series when the series is created.
    cumulative : bool
        True when ``value`` is a meter register (energy counted since installation); it is turned
        into interval energy, with resets and rollovers detected (see :mod:`.counters`).
    interval_s : int | None
        Interval length [s] for converting an average power into interval energy
        (defaults to ``IngestOptions.interval_s``).
    """

    household_id: int
    series: str
    quantity: str
    ts: str | int | float | datetime
    value: float | str
    unit: str
    line: int | None = None
    device_id: int | None = None
    cumulative: bool = False
    interval_s: int | None = None


@dataclass(frozen=True)
class Rejection:
    """A reading that was not stored: ``line`` as given, the ``field`` at fault
    (``ts``, ``value``, ``unit``, ``quantity``, ``series``, ``household_id``), a plain-language
    ``reason`` saying how to fix it, and the ``raw`` input as text."""

    line: int | None
    field: str
    reason: str
    raw: str = ""


@dataclass(frozen=True)
class MeterEvent:
    """A cumulative register's reset (back to zero: meter replaced, firmware reset), rollover (it
    wrapped at its maximum) or jump (it moved to a new level that the readings after it continue
    from; the energy of that interval is not stored), between the readings at ``before`` and ``at``
    (UTC), with the register values there [kWh]."""

    household_id: int
    series: str
    kind: str  # 'reset' | 'rollover' | 'jump'
    before: datetime
    at: datetime
    value_before: float
    value_after: float

    def describe(self) -> str:
        """One line for a person."""
        what = {"reset": "reset to zero", "rollover": "rolled over at its maximum",
                "jump": "jumped to a new level (that interval's energy is not stored)"}.get(self.kind, self.kind)
        return (f"{self.series} of household {self.household_id}: the meter register {what} between "
                f"{self.before:%Y-%m-%d %H:%M} and {self.at:%Y-%m-%d %H:%M} UTC "
                f"({self.value_before:g} -> {self.value_after:g} kWh)")

    def as_dict(self) -> dict:
        return {"household_id": self.household_id, "series": self.series, "kind": self.kind,
                "before": self.before.isoformat(), "at": self.at.isoformat(), "value_before": self.value_before,
                "value_after": self.value_after}

    @classmethod
    def from_dict(cls, data: dict) -> MeterEvent:
        def instant(text: str) -> datetime:
            value = datetime.fromisoformat(text)
            return value if value.tzinfo else value.replace(tzinfo=timezone.utc)

        return cls(int(data["household_id"]), str(data["series"]), str(data["kind"]), instant(data["before"]),
                   instant(data["at"]), float(data["value_before"]), float(data["value_after"]))


@dataclass
class IngestReport:
    """What one batch did.

    ``received`` = ``inserted + updated + unchanged + rejected`` (+ rows merged as in-batch
    duplicates of a later row, counted in ``duplicates``). ``series_touched`` maps a series id
    to the (min, max) UTC ``ts`` written in this batch (inserted or updated rows only).
    ``rejections`` are examples of every kind of refusal (see :mod:`.rejections`), while
    ``rejected_by_reason`` counts all of them by kind; ``meter_events`` lists the resets,
    rollovers and jumps of cumulative registers found in the batch.
    """

    batch_id: int | None
    received: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    duplicates: int = 0
    rejections: list[Rejection] = field(default_factory=list)
    series_touched: dict[int, tuple[datetime, datetime]] = field(default_factory=dict)
    status: str = "done"  # done | failed
    message: str = ""
    rejected_by_reason: list[ReasonCount] = field(default_factory=list)
    meter_events: list[MeterEvent] = field(default_factory=list)

    @property
    def stored(self) -> int:
        """Readings now in the store from this batch (inserted + updated + unchanged)."""
        return self.inserted + self.updated + self.unchanged

    def summary(self) -> str:
        """One line for a person: ``received 10, inserted 7, updated 1, unchanged 0, rejected 2``."""
        text = (f"received {self.received}, inserted {self.inserted}, updated {self.updated}, "
                f"unchanged {self.unchanged}, rejected {self.rejected}")
        if self.duplicates:
            text += f", {self.duplicates} repeated in the batch (last one kept)"
        events = self.event_counts()
        if events:
            text += ", " + ", ".join(f"{n} meter {kind}{'s' if n > 1 else ''}" for kind, n in events.items())
        return text

    def reason_lines(self) -> list[str]:
        """Per kind of rejection reason, most frequent first: ``'30,000 x value: the value is empty ...
        (first at line 2)'``."""
        first: dict[str, int | None] = {}
        for rejection in self.rejections:
            first.setdefault(reason_kind(rejection.field, rejection.reason), rejection.line)
        lines = []
        for reason in self.rejected_by_reason:
            line = first.get(reason_kind(reason.field, reason.example))
            where = f" (first at line {line})" if line is not None else ""
            lines.append(f"{reason.count:,} x {reason.field or 'row'}: {reason.example}{where}")
        return lines

    def event_counts(self) -> dict[str, int]:
        """Meter events by kind (``{'reset': 2, 'rollover': 1}``), in a fixed order."""
        counts = {kind: sum(e.kind == kind for e in self.meter_events) for kind in ("reset", "rollover", "jump")}
        return {k: n for k, n in counts.items() if n}

    def as_result(self, listed: int = 10) -> dict:
        """The report as plain JSON data (a job's result, what a page shows): counts, the summary,
        reason lines, meter events (the first ``listed`` described) and the first ``listed``
        rejected rows."""
        return {"batch_id": self.batch_id, "summary": self.summary(), "rejected": self.rejected,
                "reason_lines": self.reason_lines(), "event_counts": self.event_counts(),
                "events": [e.describe() for e in self.meter_events[:listed]], "event_total": len(self.meter_events),
                "rejection_total": len(self.rejections),
                "rejections": [{"line": r.line, "field": r.field, "reason": r.reason} for r in self.rejections[:listed]]}


@dataclass(frozen=True)
class IngestOptions:
    """How to read a batch.

    Attributes
    ----------
    timezone : str | None
        Zone for naive local times: IANA (``'Europe/Berlin'``) or a fixed offset
        (``'UTC-08:00'``, ``'+01:00'``); None uses each household's own time zone.
    nonexistent : {'reject', 'shift_forward', 'shift_backward'}
        A naive time in the spring-forward gap: rejected with a reason (default), or moved to
        the first instant after / the last before the gap.
    ambiguous : {'reject', 'earlier', 'later'}
        A naive time in the fall-back hour: rejected (default), or read as its first
        (daylight-saving time) or second (standard time) occurrence.
    ts_format : str | None
        How timestamps are written when not ISO 8601 or Unix seconds: a ``strptime`` format
        (``'%d.%m.%Y %H:%M'``) or ``'epoch_ms'``.
    interval_s : int | None
        Interval length [s] for an average power given for an energy quantity (e.g. W for
        ``pv``); also the step assumed for rating checks when a batch has one reading per series.
    max_value : dict[str, float]
        Per quantity, the largest plausible value in the stored unit (for energies an average
        power [kW] over the interval, so the limit in kWh scales with its length), overriding
        :data:`services.ingestion.validate.DEFAULT_MAX_VALUE`. The household's ratings (PV kWp
        and night, battery capacity and power, grid limits) are checked in addition, on
        interval readings and on the energy derived from meter registers alike.
    counter_max : float | None
        Register maximum of cumulative meters [kWh] (e.g. 99999.9) for rollover detection;
        None infers it from the register's digits.
    mapping_name : str | None
        Recorded on the batch (files).
    refresh_rollups : bool
        Refresh ``daily_energy`` after committing (default True).
    dry_run : bool
        Validate and report without writing anything (no batch row either).
    max_rejections : int
        Examples of rejections kept in the report and stored with the batch, beyond the first
        ones of every kind of reason, which are always kept; ``rejected`` and
        ``rejected_by_reason`` still count all.
    max_rejections_per_reason : int
        Examples kept of one kind of reason at most (by default as many as ``max_rejections``: a
        batch of up to that many refused rows keeps every one of them).
    now : datetime, optional
        The current time (aware) that readings may not be more than a day ahead of; None: the clock.
    before_apply : callable, optional
        Test hook, called with the SQLAlchemy connection inside the store transaction once the
        batch is staged and before it is applied (the fault test kills the connection there).
    """

    timezone: str | None = None
    nonexistent: Nonexistent = "reject"
    ambiguous: Ambiguous = "reject"
    ts_format: str | None = None
    interval_s: int | None = None
    max_value: dict[str, float] = field(default_factory=dict)
    counter_max: float | None = None
    mapping_name: str | None = None
    refresh_rollups: bool = True
    dry_run: bool = False
    max_rejections: int = 10_000
    max_rejections_per_reason: int = 10_000
    now: datetime | None = None
    before_apply: Callable[[object], None] | None = None
