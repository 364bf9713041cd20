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
- otherwise an error: the reading is refused, with a reason, and the next one is compared
  with the last good one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

#: A drop to below this share of the previous value (or below RESET_ABSOLUTE_KWH) is a reset.
RESET_SHARE = 0.05
RESET_ABSOLUTE_KWH = 1.0
#: A rollover goes from the top share of the register's range to the bottom share.
ROLLOVER_SHARE = 0.1


@dataclass(frozen=True)
class CounterEvent:
    """A reset or rollover found between the readings at ``before_s`` and ``at_s`` (UTC seconds)."""

    kind: str  # 'reset' | 'rollover'
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
                           counter_max: float | None = None) -> IntervalEnergy:
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

    Returns
    -------
    IntervalEnergy
        One energy per pair of consecutive accepted readings (more where spread over a gap),
        starting at the earlier reading.
    """
    ts_s = np.asarray(ts_s, dtype=np.int64)
    registers = np.asarray(registers, dtype=np.float64)
    n = len(ts_s)
    if n and np.any(np.diff(ts_s) <= 0):
        raise ValueError("register readings must be sorted by time without repeats")
    modulus = register_modulus(counter_max, registers)
    bad = np.zeros(n, dtype=bool)
    reasons: list[str] = []
    events: list[CounterEvent] = []
    starts: list[int] = []
    energies: list[float] = []
    deltas = np.diff(registers)
    # Almost every pair goes up: handle those vectorised; only the drops need a look.
    if n < 2 or np.all(deltas >= 0):
        pairs = [(np.arange(n - 1), np.arange(1, n), deltas)] if n >= 2 else []
    else:
        pairs = [_walk(ts_s, registers, modulus, bad, reasons, events)]
    for before, after, energy in pairs:
        start, kwh = _spread(ts_s[before], ts_s[after], np.asarray(energy, dtype=np.float64), step_s)
        starts.append(start)
        energies.append(kwh)
    start_s = np.concatenate(starts) if starts else np.zeros(0, dtype=np.int64)
    kwh = np.concatenate(energies) if energies else np.zeros(0)
    return IntervalEnergy(start_s=start_s, kwh=kwh, bad=bad, reasons=reasons, events=events)


def _walk(ts_s, registers, modulus, bad, reasons, events):
    """Pairs of accepted readings with their energy, deciding each drop on its own."""
    befores, afters, energy = [], [], []
    last = 0
    for i in range(1, len(ts_s)):
        previous, value = registers[last], registers[i]
        delta = value - previous
        if delta >= 0:
            kwh = delta
        elif modulus and previous >= (1 - ROLLOVER_SHARE) * modulus and value <= ROLLOVER_SHARE * modulus:
            kwh = modulus - previous + value
            events.append(CounterEvent("rollover", int(ts_s[last]), int(ts_s[i]), float(previous), float(value)))
        elif value <= max(RESET_SHARE * previous, RESET_ABSOLUTE_KWH):
            kwh = value
            events.append(CounterEvent("reset", int(ts_s[last]), int(ts_s[i]), float(previous), float(value)))
        else:
            bad[i] = True
            reasons.append(
                f"the meter register went backwards from {previous:g} to {value:g} kWh: that is neither a reset "
                f"to zero nor a rollover at the register's maximum"
                f"{f' ({modulus:g})' if modulus else ''}; check this reading, or set the counter maximum"
            )
            continue
        befores.append(last)
        afters.append(i)
        energy.append(kwh)
        last = i
    return np.asarray(befores, dtype=np.int64), np.asarray(afters, dtype=np.int64), np.asarray(energy)


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
