"""Fleet runs: a day's battery plans of many households, as chunked, idempotent tasks.

:func:`start_fleet_run` writes a :class:`~services.store.models.FleetRun` row and one
``pending`` row per household (numbered chunks of ``chunk_size``), then hands each chunk to a
worker (Celery, bulk queue) when ``REDIS_URL`` is set, or plans the chunks in this process one
after the other otherwise: the same :func:`plan_fleet_chunk` either way.

A chunk reads its households' inputs in a few set-based queries (:mod:`.chunk_inputs`), plans
them, and writes every result in one transaction: the stored optimization runs (kind ``fleet``)
and an upsert of the households' rows keyed on (run, household) that only changes a ``pending``
row. A chunk delivered again (its worker was killed, the broker retried it) re-plans only what is
still pending and changes nothing else; chunk commits of one run take turns on the run's row, so
two deliveries of a chunk at once cannot both store a plan. Inputs are read as of the run's
``created_at``, so a late delivery reads what the first would have.

:func:`fleet_run_status` gives progress and the failures with their reasons while a run goes;
:func:`requeue_stale_chunks` hands the chunks of a run that stopped moving to workers again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import sqlite
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from services import access
from services.access import AccessScope
from services.config import get_settings
from services.optimization.chunk_inputs import chunk_inputs
from services.optimization.engines import ENGINES
from services.optimization.fleet import schedule_each
from services.optimization.fleet_views import visible_run
from services.optimization.inputs import household_ids_with_battery
from services.optimization.results import ScheduleResult
from services.optimization.store import store_runs
from services.store.arrays import insert_unnested
from services.store.db import session_scope
from services.store.models import FleetRun, FleetRunHousehold, Household, utcnow
from services.validation import FieldProblem, ValidationProblem

#: Households per chunk: set-based reads pay off from a few hundred on (see chunk_inputs).
DEFAULT_CHUNK_SIZE = 500
MAX_CHUNK_SIZE = 5000
#: Household rows per upsert statement on SQLite (10 values each; PostgreSQL sends arrays).
UPSERT_ROWS = 1000


@dataclass(frozen=True)
class FleetFailure:
    """A household the run could not plan, and why, in words a person can act on."""

    household_id: int
    household: str
    reason: str


@dataclass(frozen=True)
class FleetRunStatus:
    """Where a fleet run stands: counts of households planned, failed and pending, and the failures."""

    run_id: int
    day: date
    state: str
    scope: AccessScope
    households: int
    planned: int
    failed: int
    pending: int
    chunks: int
    chunks_done: int
    created_at: datetime
    finished_at: datetime | None
    failures: tuple[FleetFailure, ...] = field(default=())

    @property
    def progress(self) -> float:
        """Share of households planned or failed [0..1]."""
        return (self.planned + self.failed) / self.households if self.households else 1.0


def start_fleet_run(day: date, household_ids: Sequence[int] | None = None, *, scope: AccessScope | None = None,
                    chunk_size: int = DEFAULT_CHUNK_SIZE, engine: str = "highs", inline: bool | None = None,
                    url: str | None = None) -> int:
    """Plan local ``day`` for ``household_ids`` (default: every household with a battery); returns the run id.

    ``inline`` plans the chunks here before returning; by default it does so only without
    ``REDIS_URL`` (with it, the chunks go to the bulk queue and this returns at once).
    Raises ValidationProblem for a chunk size out of range, an unknown engine or unknown households
    (another organisation's are unknown); :class:`~services.access.Forbidden` below manager. The run
    belongs to ``scope``'s organisation (None: the current caller; the system's runs to none).
    """
    scope = access.require_role("manager", scope)
    if not 1 <= chunk_size <= MAX_CHUNK_SIZE:
        raise ValidationProblem([FieldProblem("chunk_size", f"Chunk size must be from 1 to {MAX_CHUNK_SIZE}, "
                                                            f"got {chunk_size}")])
    if engine not in ENGINES:
        raise ValidationProblem([FieldProblem("engine", f"Engine must be one of {', '.join(ENGINES)}, got {engine}")])
    with session_scope(url) as session:
        known = list(session.scalars(sa.select(Household.id).where(
            access.organisation_filter(Household.organisation_id, scope)).order_by(Household.id)))
    if household_ids is None:
        ids = household_ids_with_battery(known, url)
    else:
        ids = list(dict.fromkeys(int(h) for h in household_ids))
        unknown = sorted(set(ids) - set(known))
        if unknown:
            raise ValidationProblem([FieldProblem("household_ids", "No household has the id(s) "
                                                  f"{', '.join(map(str, unknown[:10]))}: choose existing households")])
    chunks = -(-len(ids) // chunk_size)
    with session_scope(url) as session:
        run = FleetRun(organisation_id=scope.organisation_id, scope=scope.as_dict(), day=day, state="running" if ids else "done", engine=engine,
                       households=len(ids), chunks=chunks, chunk_size=chunk_size, planned=0, failed=0)
        if not ids:
            run.finished_at = utcnow()
        session.add(run)
        session.flush()
        run_id = run.id
        now = run.created_at
        if ids:
            _insert_pending(session, run_id, ids, chunk_size, now)
    dispatch_chunks(run_id, range(chunks), inline=inline, url=url)
    return run_id


def _insert_pending(session: Session, run_id: int, ids: list[int], chunk_size: int, now: datetime) -> None:
    """One ``pending`` row per household, numbered into chunks of ``chunk_size`` in the order of
    ``ids``: on PostgreSQL one statement with the ids as one array (10,000 households in a few
    milliseconds), elsewhere one cached statement sent with the rows."""
    if session.connection().dialect.name == "postgresql":
        session.execute(sa.text(
            "INSERT INTO fleet_run_households (run_id, household_id, chunk, status, reason, updated_at) "
            "SELECT :run, h, CAST((k - 1) / :size AS integer), 'pending', '', :now "
            "FROM unnest(CAST(:ids AS integer[])) WITH ORDINALITY AS u(h, k)")
            .bindparams(sa.bindparam("now", type_=FleetRunHousehold.__table__.c.updated_at.type)),
            {"run": run_id, "size": chunk_size, "now": now, "ids": ids})
        return
    session.execute(sa.insert(FleetRunHousehold), [
        {"run_id": run_id, "household_id": h, "chunk": i // chunk_size, "status": "pending", "reason": "",
         "updated_at": now} for i, h in enumerate(ids)])


def dispatch_chunks(run_id: int, chunks, *, inline: bool | None = None, url: str | None = None) -> None:
    """Plan ``chunks`` of run ``run_id``: as tasks on the bulk queue with ``REDIS_URL``, else here."""
    if inline is None:
        inline = not get_settings().redis_url
    if inline:
        for chunk in chunks:
            plan_fleet_chunk(run_id, chunk, url=url)
        return
    from services.tasks.celery_app import BULK_QUEUE
    from services.tasks.fleet import plan_fleet_chunk_task

    for chunk in chunks:
        plan_fleet_chunk_task.apply_async((run_id, chunk), queue=BULK_QUEUE)


def plan_fleet_chunk(run_id: int, chunk: int, *, url: str | None = None) -> dict:
    """Plan the households of ``chunk`` still pending in run ``run_id`` and record them.

    Idempotent: households planned or failed already are left alone, so a chunk delivered
    again changes nothing. Returns counts for the task's result:
    ``{"run_id", "chunk", "planned", "failed", "skipped"}`` (skipped: not pending any more).
    """
    results, errors = _plan(run_id, chunk, url)
    if not results and not errors:
        return {"run_id": run_id, "chunk": chunk, "planned": 0, "failed": 0, "skipped": 0}
    return _record(run_id, chunk, results, errors, url)


def _plan(run_id: int, chunk: int, url: str | None) -> tuple[dict[int, ScheduleResult], dict[int, str]]:
    """Schedules of the chunk's pending households, and the reasons of those without (nothing written)."""
    with session_scope(url) as session:
        run = session.get(FleetRun, run_id)
        if run is None:
            return {}, {}
        day, now, engine = run.day, run.created_at, run.engine
        pending = _pending(session, run_id, chunk)
    if not pending:
        return {}, {}
    inputs = chunk_inputs(pending, day=day, now=now, url=url)
    errors = dict(inputs.errors)
    results: dict[int, ScheduleResult] = {}
    for household_id, result, error in schedule_each([(h, i.request) for h, i in inputs.inputs.items()], engine):
        if result is None:
            errors[household_id] = error
        else:
            results[household_id] = result
    return results, errors


def _pending(session: Session, run_id: int, chunk: int | None = None,
             household_ids: Sequence[int] | None = None) -> list[int]:
    query = sa.select(FleetRunHousehold.household_id).where(FleetRunHousehold.run_id == run_id,
                                                            FleetRunHousehold.status == "pending")
    if chunk is not None:
        query = query.where(FleetRunHousehold.chunk == chunk)
    if household_ids is not None:  # on PostgreSQL one array, not a placeholder per household
        ids = [int(h) for h in household_ids]
        query = query.where(FleetRunHousehold.household_id == sa.any_(sa.cast(ids, ARRAY(sa.Integer)))
                            if session.get_bind().dialect.name == "postgresql"
                            else FleetRunHousehold.household_id.in_(ids))
    return list(session.scalars(query.order_by(FleetRunHousehold.household_id)))


def _record(run_id: int, chunk: int, results: dict[int, ScheduleResult], errors: dict[int, str],
            url: str | None) -> dict:
    """Store the plans and upsert the households' rows in one transaction, then update the run."""
    with session_scope(url) as session:
        now = utcnow()
        # Take the run's row first: chunk commits of a run go one at a time (a row lock on
        # PostgreSQL, the write lock on SQLite), so what is pending below stays pending until commit.
        session.execute(sa.update(FleetRun).where(FleetRun.id == run_id).values(updated_at=now))
        still = set(_pending(session, run_id, chunk, [*results, *errors]))
        planned = [(h, r) for h, r in sorted(results.items()) if h in still]
        run_ids = store_runs(planned, kind="fleet", session=session)
        rows = [{"run_id": run_id, "household_id": h, "chunk": chunk, "status": "planned", "reason": "",
                 "optimization_run_id": rid, **_figures(r), "updated_at": now}
                for (h, r), rid in zip(planned, run_ids, strict=True)]
        rows += [{"run_id": run_id, "household_id": h, "chunk": chunk, "status": "failed", "reason": reason,
                  "optimization_run_id": None, **dict.fromkeys(FIGURES), "updated_at": now}
                 for h, reason in sorted(errors.items()) if h in still]
        changed = _upsert_pending(session, rows)
        _update_counts(session, run_id, now)
    failed = sum(1 for r in rows if r["status"] == "failed" and r["household_id"] in changed)
    return {"run_id": run_id, "chunk": chunk, "planned": len(changed) - failed, "failed": failed,
            "skipped": len(results) + len(errors) - len(changed)}


#: What a planned household's row keeps of its schedule (columns of FleetRunHousehold).
FIGURES = ("cost", "savings", "savings_vs_rule", "self_sufficiency", "cycles")


def _figures(result: ScheduleResult) -> dict[str, float | None]:
    """The day's cost and savings [currency], self-sufficiency [0..1] and equivalent full cycles."""
    optimized = result.optimized
    return {"cost": optimized.total_cost, "savings": result.savings_vs_no_battery,
            "savings_vs_rule": result.savings_vs_rule, "self_sufficiency": optimized.self_sufficiency,
            "cycles": optimized.equivalent_full_cycles}


def _upsert_pending(session: Session, rows: list[dict]) -> set[int]:
    """Insert or update the households' rows keyed on (run, household), changing only pending
    ones; returns the households whose row changed. On PostgreSQL one statement of one array per
    column (:mod:`services.store.arrays`), elsewhere one cached statement sent with the rows."""
    if not rows:
        return set()
    conn = session.connection()
    updated = ("status", "reason", "optimization_run_id", *FIGURES, "updated_at")
    if conn.dialect.name == "postgresql":
        table = FleetRunHousehold.__tablename__
        return {h for (h,) in insert_unnested(
            conn, FleetRunHousehold.__table__, rows,
            f"ON CONFLICT (run_id, household_id) DO UPDATE SET {', '.join(f'{c} = excluded.{c}' for c in updated)} "
            f"WHERE {table}.status = 'pending' RETURNING household_id")}
    statement = sqlite.insert(FleetRunHousehold)
    statement = statement.on_conflict_do_update(
        index_elements=["run_id", "household_id"], set_={c: statement.excluded[c] for c in updated},
        where=FleetRunHousehold.status == "pending",
    ).returning(FleetRunHousehold.household_id)
    changed: set[int] = set()
    for lo in range(0, len(rows), UPSERT_ROWS):  # SQLite takes at most 32,766 values per statement
        changed |= set(conn.execute(statement, rows[lo:lo + UPSERT_ROWS]).scalars())
    return changed


def _update_counts(session: Session, run_id: int, now: datetime) -> None:
    counts = dict(session.execute(
        sa.select(FleetRunHousehold.status, sa.func.count()).where(FleetRunHousehold.run_id == run_id)
        .group_by(FleetRunHousehold.status)).all())
    values = {"planned": counts.get("planned", 0), "failed": counts.get("failed", 0)}
    if not counts.get("pending"):
        values |= {"state": "done", "finished_at": now}
    session.execute(sa.update(FleetRun).where(FleetRun.id == run_id).values(**values))


def fleet_run_status(run_id: int, *, max_failures: int = 200, scope: AccessScope | None = None,
                     url: str | None = None) -> FleetRunStatus:
    """Progress of run ``run_id`` and its failures (up to ``max_failures``, by household name).
    Raises :class:`~services.access.NotFound` (a LookupError) for an unknown run or another
    organisation's (``scope`` None: the current caller)."""
    with session_scope(url) as session:
        run = visible_run(session, run_id, scope)
        counts = dict(session.execute(
            sa.select(FleetRunHousehold.status, sa.func.count()).where(FleetRunHousehold.run_id == run_id)
            .group_by(FleetRunHousehold.status)).all())
        open_chunks = session.scalar(
            sa.select(sa.func.count(sa.distinct(FleetRunHousehold.chunk)))
            .where(FleetRunHousehold.run_id == run_id, FleetRunHousehold.status == "pending")) or 0
        failures = session.execute(
            sa.select(FleetRunHousehold.household_id, Household.name, FleetRunHousehold.reason)
            .join(Household, Household.id == FleetRunHousehold.household_id)
            .where(FleetRunHousehold.run_id == run_id, FleetRunHousehold.status == "failed")
            .order_by(Household.name).limit(max_failures)).all()
        return FleetRunStatus(
            run_id=run.id, day=run.day, state=run.state, scope=AccessScope.from_dict(run.scope),
            households=run.households, planned=counts.get("planned", 0), failed=counts.get("failed", 0),
            pending=counts.get("pending", 0), chunks=run.chunks, chunks_done=run.chunks - open_chunks,
            created_at=run.created_at, finished_at=run.finished_at,
            failures=tuple(FleetFailure(h, name, reason) for h, name, reason in failures),
        )


#: A running fleet run whose row has not moved for this long [s] has lost its chunks' workers (or the
#: broker lost the tasks): the ``requeue_fleet_chunks`` schedule hands its pending chunks out again.
#: Longer than one chunk takes to plan, so that a slow but living worker is left alone.
STALE_CHUNK_S = 600.0


def requeue_stale_chunks(older_than_s: float = STALE_CHUNK_S, *, inline: bool | None = None,
                         url: str | None = None) -> dict[int, list[int]]:
    """Hand again to workers the pending chunks of every running run whose row has not moved for
    ``older_than_s`` seconds (no chunk finished: its workers died, or the broker lost the tasks).
    Safe whenever it runs: a chunk still being planned elsewhere changes nothing twice.
    Returns the chunks requeued by run id."""
    cutoff = utcnow() - timedelta(seconds=older_than_s)
    with session_scope(url) as session:
        stale = list(session.scalars(sa.select(FleetRun.id).where(FleetRun.state == "running",
                                                                  FleetRun.updated_at < cutoff)))
        chunks = {run_id: sorted(set(session.scalars(
            sa.select(FleetRunHousehold.chunk).where(FleetRunHousehold.run_id == run_id,
                                                     FleetRunHousehold.status == "pending"))))
            for run_id in stale}
        if stale:
            session.execute(sa.update(FleetRun).where(FleetRun.id.in_(stale)).values(updated_at=utcnow()))
    for run_id, numbers in chunks.items():
        dispatch_chunks(run_id, numbers, inline=inline, url=url)
    return {run_id: numbers for run_id, numbers in chunks.items() if numbers}
