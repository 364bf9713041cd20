"""Solver programs kept per shape, so that a new request of a known shape only changes numbers.

Two engines solve the same program (:mod:`.formulation`):

* ``pyomo``: the Pyomo model of :mod:`.model` loaded into HiGHS (the default);
* ``highs``: the program built directly as highspy arrays (:mod:`.raw_highs`).

A :class:`ProgramCache` keeps, per process, the most recently used programs
by shape. It is a cache, not shared state: a second worker process builds its
own and computes the same schedules. A program is used by one thread at a time.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING

from services.observability.hooks import observed_solve
from services.optimization.formulation import LPData, Shape

if TYPE_CHECKING:
    # Pyomo, highspy and scipy cost ~100 MB and a second to import; every process that loads
    # the app (the CLI's ingest, the MQTT listener) would pay for them, so they load at the
    # first solve instead.
    from services.optimization.model import PyomoProgram
    from services.optimization.raw_highs import HighsProgram, LPSolution

ENGINES = ("pyomo", "highs")


@dataclass
class _Entry:
    program: PyomoProgram | HighsProgram
    lock: threading.Lock


class ProgramCache:
    """Programs of one engine by shape; beyond ``max_programs`` the least recently used is dropped."""

    def __init__(self, engine: str, max_programs: int = 16):
        if engine not in ENGINES:
            raise ValueError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
        self.engine, self.max_programs = engine, max_programs
        self._entries: OrderedDict[Shape, _Entry] = OrderedDict()
        self._lock = threading.Lock()

    @observed_solve
    def solve(self, lp: LPData, time_limit_s: float | None = None) -> tuple[LPSolution, float]:
        """Solve ``lp`` with the program of its shape; returns the solution and the build time
        [ms] (0 when the program existed)."""
        with self._lock:
            entry = self._entries.get(lp.shape)
            if entry is not None:
                self._entries.move_to_end(lp.shape)
        build_ms = 0.0
        if entry is None:
            t0 = time.perf_counter()
            program = _build_program(self.engine, lp)
            build_ms = (time.perf_counter() - t0) * 1e3
            entry = _Entry(program, threading.Lock())
            with self._lock:
                self._entries[lp.shape] = entry
                while len(self._entries) > self.max_programs:
                    self._entries.popitem(last=False)
        with entry.lock:
            return entry.program.solve(lp, time_limit_s=time_limit_s), build_ms

    def clear(self) -> None:
        """Drop every program (the next solve of each shape builds anew)."""
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


def _build_program(engine: str, lp: LPData) -> PyomoProgram | HighsProgram:
    if engine == "pyomo":
        from services.optimization.model import PyomoProgram

        return PyomoProgram(lp)
    from services.optimization.raw_highs import HighsProgram

    return HighsProgram.from_lp(lp)


_CACHES: dict[str, ProgramCache] = {}
_CACHES_LOCK = threading.Lock()


def program_cache(engine: str = "pyomo") -> ProgramCache:
    """This process's programs for ``engine``."""
    with _CACHES_LOCK:
        if engine not in _CACHES:
            _CACHES[engine] = ProgramCache(engine)
        return _CACHES[engine]
