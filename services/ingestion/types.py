"""The ingestion core's typed records: a reading as given, a rejection, options and the report.

Re-exported by :mod:`services.ingestion.core`, the public entry point.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

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


@dataclass
class IngestReport:
    """What one batch did.

    ``received`` = ``inserted + updated + unchanged + rejected`` (+ rows merged as in-batch
    duplicates of a later row, counted in ``duplicates``). ``series_touched`` maps a series id
    to the (min, max) UTC ``ts`` written in this batch (inserted or updated rows only).
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
        return text


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
        Per quantity, the largest plausible value in the stored unit, overriding
        :data:`services.ingestion.validate.DEFAULT_MAX_VALUE`. The household's ratings
        (PV kWp, battery capacity and power) are checked in addition.
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
        Rejections kept in the report and stored with the batch; ``rejected`` still counts all.
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
    before_apply: Callable[[object], None] | None = None
