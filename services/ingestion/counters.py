"""Cumulative meter registers (energy counted since installation) to interval energy.

A register read at ``t0`` and again at ``t1`` gives the energy of the interval [t0, t1),
stored at ``t0`` (readings hold the energy of the interval starting at ``ts``). When the
readings are further apart than the series' step, the energy is spread evenly over the
steps in between, so a missed reading does not pile a day's energy onto one quarter hour.

A register that goes down is one of:

- a *rollover*: it wrapped at its maximum (``99999.9`` -> ``0.3``), detected when it was near
  the top of its range and is now near the bottom; the energy is what was left to the top
  plus the new value;
- a *reset*: it restarted from zero (meter replaced, firmware reset), detected when it drops to
  near zero; the energy is the new value (counted since the reset);
- a *glitch* of one reading, when the readings after it go on from the one before it (see
  :func:`registers_to_intervals`): that reading alone is refused;
- otherwise an error: the reading is refused, with a reason, and the next one is compared
  with the last good one.

The energy of each interval gets the checks interval readings get (generic limit, PV rating and
night, grid limit), passed in as ``implausible``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

#: A drop to below this share of the previous value (or below RESET_ABSOLUTE_KWH) is a reset.
RESET_SHARE = 0.05
RESET_ABSOLUTE_KWH = 1.0
#: A rollover goes from the top share of the register's range to the bottom share.
ROLLOVER_SHARE = 0.1

#: ``implausible(t0_s, t1_s, kwh)``: per interval a reason why its energy cannot be, or None.
Plausibility = Callable[[np.ndarray, np.ndarray, np.ndarray], "list[str | None]"]


@dataclass(frozen=True)
class CounterEvent:
    """A reset or rollover found between the readings at ``before_s`` and ``at_s`` (UTC seconds)."""

    kind: str  # 'reset' | 'rollover' | 'jump'
    before_s: int
    at_s: int
    before: float
    after: float


@dataclass
class IntervalEnergy:
    """Interval energies derived from registers: ``start_s`` (UTC seconds) and ``kwh``; the register
    readings refused (``bad``, aligned with the input) with ``reasons`` in order; events found."""

    start_s: np.ndarray
    kwh: np.ndarray
    bad: np.ndarray
    reasons: list[str] = field(default_factory=list)
    events: list[CounterEvent] = field(default_factory=list)


def register_modulus(counter_max: float | None, registers: np.ndarray) -> float | None:
    """The value at which the register wraps to zero [kWh].

    ``counter_max`` is the largest value it shows (``99999.9``): the modulus is one smallest
    step above (``100000``). Without it, the next power of ten above the largest reading is
    assumed (a 5-digit display wraps at 100000).
    """
    if counter_max is not None:
        text = f"{counter_max:.6f}".rstrip("0")
        decimals = len(text.split(".")[1]) if "." in text else 0
        return round(counter_max + 10.0 ** -decimals, decimals)
    finite = registers[np.isfinite(registers)]
    if finite.size == 0 or finite.max() <= 0:
        return None
    return 10.0 ** math.ceil(math.log10(finite.max() * (1 + 1e-12)))


def registers_to_intervals(ts_s: np.ndarray, registers: np.ndarray, *, step_s: int | None = None,
                           counter_max: float | None = None, implausible: Plausibility | None = None) -> IntervalEnergy:
    """Interval energy [kWh] from register readings [kWh].

    Parameters
    ----------
    ts_s : ndarray of int
        UTC Unix seconds, strictly increasing.
    registers : ndarray of float
        Register values [kWh], aligned with ``ts_s``.
    step_s : int, optional
        The series' nominal step [s]; gaps of whole multiples are spread evenly over the steps.
    counter_max : float, optional
        The largest value the register shows (rollover detection); inferred when None.
    implausible : callable, optional
        ``implausible(t0_s, t1_s, kwh)`` -> per interval a reason (str) where ``kwh`` from ``t0_s``
        to ``t1_s`` is more than the series can measure, else None: the checks interval readings
        get (:func:`services.ingestion.validate.check_values`).

    Returns
    -------
    IntervalEnergy
        One energy per pair of consecutive accepted readings (more where spread over a gap),
        starting at the earlier reading.

    Notes
    -----
    A reading the readings after it do not continue from is a glitch: it alone is refused. That
    is a jump up that the next readings fall back from, a drop that the next reading climbs back
    from, or a jump whose energy is implausible. When the next readings do continue from a jump
    the register moved to a new level (a replaced meter that did not start at zero): the reading
    is kept as the new baseline, the energy of that interval is not stored, and a ``jump`` event
    says so.
    """
    ts_s = np.asarray(ts_s, dtype=np.int64)
    registers = np.asarray(registers, dtype=np.float64)
    n = len(ts_s)
    if n and np.any(np.diff(ts_s) <= 0):
        raise ValueError("register readings must be sorted by time without repeats")
    modulus = register_modulus(counter_max, registers)
    deltas = np.diff(registers)
    consecutive = _reasons(implausible, ts_s[:-1], ts_s[1:], np.maximum(deltas, 0.0)) if n >= 2 else []
    # Almost every pair goes up by a plausible amount: handle those vectorised; the rest need a look.
    if n < 2 or (np.all(deltas >= 0) and all(r is None for r in consecutive)):
        pairs = [(np.arange(n - 1), np.arange(1, n), deltas)] if n >= 2 else []
        bad, reasons, events = np.zeros(n, dtype=bool), [], []
    else:
        walk = _Walk(ts_s, registers, modulus, implausible, consecutive)
        pairs, bad, reasons, events = [walk.pairs()], walk.bad, walk.reason_list(), walk.event_list()
    starts: list[np.ndarray] = []
    energies: list[np.ndarray] = []
    for before, after, energy in pairs:
        start, kwh = _spread(ts_s[before], ts_s[after], np.asarray(energy, dtype=np.float64), step_s)
        starts.append(start)
        energies.append(kwh)
    start_s = np.concatenate(starts) if starts else np.zeros(0, dtype=np.int64)
    kwh = np.concatenate(energies) if energies else np.zeros(0)
    return IntervalEnergy(start_s=start_s, kwh=kwh, bad=bad, reasons=reasons, events=events)


def _reasons(implausible, t0, t1, kwh) -> list:
    if implausible is None or len(t0) == 0:
        return [None] * len(t0)
    return list(implausible(np.asarray(t0), np.asarray(t1), np.asarray(kwh, dtype=np.float64)))


class _Walk:
    """Readings one by one, deciding each drop and each implausible jump with the readings around it."""

    def __init__(self, ts_s, registers, modulus, implausible, consecutive) -> None:
        self.ts, self.r, self.modulus = ts_s, registers, modulus
        self.implausible, self.consecutive = implausible, consecutive
        n = len(ts_s)
        self.bad = np.zeros(n, dtype=bool)
        self.reasons: dict[int, str] = {}
        self.accepted = [0]
        self.energy: dict[int, tuple[int, float]] = {}  # accepted index -> (accepted index before, kWh)
        self.events: dict[int, CounterEvent] = {}
        i = 1
        while i < n:
            i = self._step(i)

    def _why(self, a: int, b: int, kwh: float) -> str | None:
        if self.implausible is None:
            return None
        if b == a + 1 and kwh == max(self.r[b] - self.r[a], 0.0):
            return self.consecutive[a]
        return _reasons(self.implausible, self.ts[a:a + 1], self.ts[b:b + 1], [kwh])[0]

    def _refuse(self, i: int, reason: str) -> None:
        self.bad[i] = True
        self.reasons[i] = reason

    def _accept(self, i: int, last: int, kwh: float | None, event: str | None = None) -> None:
        self.accepted.append(i)
        if kwh is not None:
            self.energy[i] = (last, kwh)
        if event:
            self.events[i] = CounterEvent(event, int(self.ts[last]), int(self.ts[i]), float(self.r[last]),
                                          float(self.r[i]))

    def _step(self, i: int) -> int:
        """Decide reading ``i``; returns the next reading to decide."""
        r = self.r
        last = self.accepted[-1]
        prev = self.accepted[-2] if len(self.accepted) > 1 else None
        nxt = i + 1 if i + 1 < len(r) else None
        value, previous = r[i], r[last]
        if value >= previous:
            reason = self._why(last, i, value - previous)
            if reason is None:
                self._accept(i, last, value - previous)
            elif nxt is not None and previous <= r[nxt] < value:
                self._refuse(i, f"{reason}. The next reading ({r[nxt]:g} kWh) continues from before this one: "
                                "it is a glitch of this reading alone, left out; the readings around it are kept")
            elif nxt is not None and r[nxt] >= value and self._why(i, nxt, r[nxt] - value) is None:
                self._accept(i, last, None, "jump")
            else:
                self._refuse(i, reason)
            return i + 1
        rollover = bool(self.modulus) and previous >= (1 - ROLLOVER_SHARE) * self.modulus \
            and value <= ROLLOVER_SHARE * self.modulus
        back = nxt is not None and r[nxt] >= previous
        if rollover and not back:
            self._decide(i, last, self.modulus - previous + value, "rollover")
        elif back:
            self._refuse(i, f"the meter register went backwards from {previous:g} to {value:g} kWh and the next reading "
                            f"is back at {r[nxt]:g} kWh: a glitch of this reading alone, left out; the readings "
                            "around it are kept")
        elif nxt is not None and (prev is None or r[prev] <= value) and value <= r[nxt] < previous:
            # Two readings agree that the one before them was off: that one was the glitch.
            self._refuse(last, f"the meter register jumped to {previous:g} kWh and the readings after it continue "
                               f"from {value:g} kWh: a glitch of this reading alone, left out; the readings around "
                               "it are kept")
            self.accepted.pop()
            self.energy.pop(last, None)
            self.events.pop(last, None)
            if not self.accepted:
                self.accepted.append(i)
                return i + 1
            return i  # decide it again against the reading before the glitch
        elif value <= max(RESET_SHARE * previous, RESET_ABSOLUTE_KWH):
            self._decide(i, last, value, "reset")
        else:
            self._refuse(i, f"the meter register went backwards from {previous:g} to {value:g} kWh: that is neither "
                            "a reset to zero nor a rollover at the register's maximum"
                            f"{f' ({self.modulus:g})' if self.modulus else ''}; check this reading, or set the "
                            "counter maximum")
        return i + 1

    def _decide(self, i: int, last: int, kwh: float, event: str) -> None:
        reason = self._why(last, i, kwh)
        if reason is None:
            self._accept(i, last, kwh, event)
        else:
            self._refuse(i, f"{reason} (counting the register's {event} from {self.r[last]:g} to {self.r[i]:g} kWh)")

    def pairs(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        afters = [i for i in self.accepted if i in self.energy]
        return (np.asarray([self.energy[i][0] for i in afters], dtype=np.int64), np.asarray(afters, dtype=np.int64),
                np.asarray([self.energy[i][1] for i in afters], dtype=np.float64))

    def reason_list(self) -> list[str]:
        return [self.reasons[i] for i in sorted(self.reasons)]

    def event_list(self) -> list[CounterEvent]:
        return [self.events[i] for i in self.accepted if i in self.events]


def _spread(t0: np.ndarray, t1: np.ndarray, kwh: np.ndarray, step_s: int | None):
    """Split each interval [t0, t1) that spans several whole steps into equal parts per step."""
    if not step_s or len(t0) == 0:
        return t0.astype(np.int64), kwh
    span = t1 - t0
    parts = np.where(span % step_s == 0, np.maximum(span // step_s, 1), 1).astype(np.int64)
    if np.all(parts == 1):
        return t0.astype(np.int64), kwh
    offsets = np.arange(parts.sum()) - np.repeat(np.cumsum(parts) - parts, parts)
    start = np.repeat(t0, parts) + offsets * step_s
    return start.astype(np.int64), np.repeat(kwh / parts, parts)
