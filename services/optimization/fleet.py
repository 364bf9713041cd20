"""Optimize many households at once, in parallel across CPU cores.

A process pool (``workers`` processes, 2 by default) receives the households in
chunks; each worker keeps its own solver programs by shape (:mod:`.engines`),
so after the first household of a shape every other one only changes numbers
and re-solves. Fleets of stored households at scale go through
:mod:`.fleet_runs` instead (chunks as Celery tasks that read from and write to
the store); both schedule with :func:`schedule_each`.

Fleets default to the ``highs`` engine: the same program as the Pyomo model
(the benchmark compares their objectives, equal to 1e-15), without mirroring
every household's numbers into Pyomo Params that nobody reads; it measured
faster in benchmarks/optimize.py.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field

import sqlalchemy as sa

from services.optimization.baselines import self_consumption_rules
from services.optimization.engines import ENGINES, program_cache
from services.optimization.feasibility import ScheduleInfeasible
from services.optimization.problem import ScheduleRequest
from services.optimization.results import ScheduleResult
from services.optimization.service import schedule_battery
from services.validation import ValidationProblem


@dataclass(frozen=True, eq=False)
class FleetResult:
    """Schedules by household id; ``errors`` says in words why a household has none."""

    results: dict[int, ScheduleResult]
    errors: dict[int, str] = field(default_factory=dict)
    wall_s: float = 0.0
    workers: int = 1

    @property
    def households_per_s(self) -> float:
        n = len(self.results) + len(self.errors)
        return n / self.wall_s if self.wall_s > 0 else float("nan")

    def summary_rows(self) -> list[dict]:
        """One row per household for a results table: cost, savings, cycles, status or error."""
        rows = [
            {
                "household_id": hid,
                "status": r.status,
                "cost": r.optimized.total_cost,
                "savings_vs_no_battery": r.savings_vs_no_battery,
                "savings_vs_rule": r.savings_vs_rule,
                "self_sufficiency": r.optimized.self_sufficiency,
                "equivalent_full_cycles": r.optimized.equivalent_full_cycles,
                "error": "",
            }
            for hid, r in self.results.items()
        ]
        rows += [{"household_id": hid, "status": "error", "error": message} for hid, message in self.errors.items()]
        return sorted(rows, key=lambda row: row["household_id"])


def optimize_chunk(chunk: list[tuple[int, ScheduleRequest]], engine: str = "highs"):
    """Schedule each household of ``chunk``: ``[(id, compact result or None, error or None), ...]``
    (see :meth:`~.results.ScheduleResult.compact`), small enough to return from a process pool."""
    return [(household_id, None if result is None else result.compact(), error)
            for household_id, result, error in schedule_each(chunk, engine)]


def schedule_each(chunk: list[tuple[int, ScheduleRequest]], engine: str = "highs"):
    """Schedule each household of ``chunk`` in this process: ``[(id, result or None, error or None), ...]``;
    an infeasible or invalid request gets its reason in words, and the others are scheduled still.
    The self-consumption rule (a loop over steps) runs once for the whole chunk, on vectors of households."""
    out = []
    rules = self_consumption_rules([request for _, request in chunk])
    for (household_id, request), rule_flows in zip(chunk, rules, strict=True):
        try:
            out.append((household_id, schedule_battery(request, engine=engine, rule_flows=rule_flows), None))
        except (ScheduleInfeasible, ValidationProblem) as exc:
            out.append((household_id, None, str(exc)))
    return out


def optimize_fleet(
    requests: Mapping[int, ScheduleRequest],
    *,
    workers: int = 2,
    engine: str = "highs",
    chunk_size: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    start_method: str | None = None,
) -> FleetResult:
    """Schedule every household in ``requests`` (household id -> request) across ``workers`` processes.

    ``progress(done, total)`` is called as households finish. ``workers=1`` runs in this
    process (no pool). ``start_method`` defaults to ``fork`` where available: workers start in
    milliseconds with the solver modules already imported (each resets the HiGHS thread
    scheduler and its program cache on start, see :func:`_worker_start`); ``forkserver`` or
    ``spawn`` are safer in a heavily threaded parent and start in about a second.
    """
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    items = list(requests.items())
    total = len(items)
    t0 = time.perf_counter()
    results: dict[int, ScheduleResult] = {}
    errors: dict[int, str] = {}

    def collect(done_chunk) -> None:
        for household_id, compact, error in done_chunk:
            if compact is not None:
                results[household_id] = ScheduleResult.from_compact(requests[household_id], compact)
            else:
                errors[household_id] = error
        if progress is not None:
            progress(len(results) + len(errors), total)

    if workers <= 1 or total <= 1:
        for i in range(0, total, chunk_size or 1):
            collect(optimize_chunk(items[i : i + (chunk_size or 1)], engine))
        return FleetResult(results, errors, time.perf_counter() - t0, 1)

    # Chunks big enough to amortise the inter-process traffic, small enough to balance the load
    # and report progress often.
    size = chunk_size or max(1, min(50, total // (workers * 8) or 1))
    chunks = [items[i : i + size] for i in range(0, total, size)]
    context = multiprocessing.get_context(start_method or _default_start_method())
    with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_worker_start) as pool:
        pending = {pool.submit(optimize_chunk, chunk, engine) for chunk in chunks}
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                collect(future.result())
    return FleetResult(results, errors, time.perf_counter() - t0, workers)


def _default_start_method() -> str:
    return "fork" if "fork" in multiprocessing.get_all_start_methods() and os.name == "posix" else "spawn"


def warm_up(url: str | None = None) -> None:
    """Make a fresh worker process ready for its first chunk: the solver loaded and run once on a
    day of 15-minute steps, and one household's inputs read from the store. The program built is dropped
    again, so the first chunk's schedules are the ones a cold process computes (a program starts
    each solve from its previous basis).

    On PostgreSQL the process's connections run without JIT compilation: a chunk's queries are
    short scans of many rows, which PostgreSQL's cost estimate sends to the JIT compiler (about
    40 ms a chunk, more than it saves); the rows read are the same."""
    import numpy as np

    from services.optimization.problem import BatteryParams, Prices
    from services.store.db import get_engine

    store = get_engine(url)
    if store.dialect.name == "postgresql" and not sa.event.contains(store, "connect", _without_jit):
        sa.event.listen(store, "connect", _without_jit)
        store.dispose()  # connections opened before are opened again, without JIT

    steps = 96
    day = np.sin(np.linspace(0.0, np.pi, steps))
    request = ScheduleRequest(3.0 * day, np.full(steps, 0.8), Prices(0.2 + 0.1 * day, 0.05, "EUR"),
                              BatteryParams(10.0, 5.0, 5.0))
    schedule_each([(0, request)], "highs")
    for engine in ENGINES:
        program_cache(engine).clear()
    _read_once(url)


def _read_once(url: str | None) -> None:
    """Read one stored household's inputs for tomorrow, as a chunk does (nothing is written): the
    chunk's queries compiled and a connection open. A store without households only connects."""
    from services.optimization.chunk_inputs import chunk_inputs
    from services.store.db import session_scope
    from services.store.models import Battery

    with session_scope(url) as session:
        first = session.scalar(sa.select(sa.func.min(Battery.household_id)))
    if first is not None:
        chunk_inputs([first], url=url)


def _without_jit(dbapi_connection, _record) -> None:
    with dbapi_connection.cursor() as cursor:
        cursor.execute("SET jit = off")
    dbapi_connection.commit()  # a SET is undone with the transaction it ran in


def _worker_start() -> None:
    """Forget solver state inherited from the parent: HiGHS's thread scheduler does not survive a
    fork, and programs built there belong to it."""
    import highspy

    highspy.Highs.resetGlobalScheduler(True)
    for engine in ENGINES:
        program_cache(engine).clear()
