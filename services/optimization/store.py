"""Keep each optimization run for review and reports: inputs, solver status, timings, costs and steps.

One :class:`~services.store.models.OptimizationRun` row per run and one
:class:`~services.store.models.ScheduleStep` per step, written in one
transaction (all or nothing).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, fields, is_dataclass

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.optimization.problem import ScheduleRequest
from services.optimization.results import ScheduleResult
from services.store.arrays import insert_unnested
from services.store.bulk import copy_binary, utc_seconds
from services.store.db import session_scope
from services.store.models import OptimizationRun, ScheduleStep, utcnow

RUN_KINDS = ("day_ahead", "whatif", "backtest", "fleet", "sizing", "api")


def flat_asdict(value) -> dict:
    """``dataclasses.asdict`` of a dataclass of plain values (numbers, strings, None), without its
    recursive deep copy: five of them per stored run, thousands per fleet chunk. Anything nested
    goes through ``asdict`` itself."""
    out = {f.name: getattr(value, f.name) for f in fields(value)}
    if any(is_dataclass(v) or isinstance(v, list | tuple | dict) for v in out.values()):
        return asdict(value)
    return out


def request_summary(request: ScheduleRequest) -> dict:
    """The request as JSON-ready data: settings in full, series as totals and ranges."""
    p_imp = request.prices.import_per_kwh
    return {
        "steps": request.steps,
        "dt_h": request.dt_h,
        "start": request.start.isoformat() if request.start is not None else None,
        "timezone": request.timezone,
        "objective": request.objective,
        "terminal": request.terminal,
        "terminal_value_per_kwh": request.terminal_value_per_kwh,
        "battery": flat_asdict(request.battery),
        "grid": flat_asdict(request.grid),
        "currency": request.prices.currency,
        "import_price_min": float(p_imp.min()),
        "import_price_max": float(p_imp.max()),
        "import_price_mean": float(p_imp.mean()),
        "pv_kwh": float(request.pv_kw.sum() * request.dt_h),
        "load_kwh": float(request.load_kw.sum() * request.dt_h),
    }


def store_run(
    household_id: int | None,
    result: ScheduleResult,
    *,
    kind: str = "whatif",
    url: str | None = None,
    session: Session | None = None,
) -> int:
    """Write ``result`` as a run of ``household_id`` and return the run's id.

    The request needs its ``start`` (steps are stored by UTC time). Pass ``session`` to make the
    run part of a larger transaction; otherwise it is committed on its own.
    """
    if kind not in RUN_KINDS:
        raise ValueError(f"kind must be one of {', '.join(RUN_KINDS)}, got {kind!r}")
    times = result.request.times()
    if times is None:
        raise ValueError("a stored run needs the request's start time (UTC) to date its steps")
    if session is None:
        with session_scope(url) as own:
            return _write(own, household_id, result, kind, times)
    return _write(session, household_id, result, kind, times)


def store_runs(items: Sequence[tuple[int | None, ScheduleResult]], *, kind: str, session: Session) -> list[int]:
    """Write many results in the caller's transaction, in a few statements (runs, then all their
    steps; on PostgreSQL the runs as arrays and the steps by binary COPY); returns the run ids in
    the order of ``items``.

    What a fleet chunk of hundreds of households stores at once; one run at a time is
    :func:`store_run`.
    """
    if kind not in RUN_KINDS:
        raise ValueError(f"kind must be one of {', '.join(RUN_KINDS)}, got {kind!r}")
    if not items:
        return []
    runs = [_run_values(household_id, result, kind) for household_id, result in items]
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        ids = _insert_runs_unnested(conn, runs)
    else:
        ids = list(session.execute(sa.insert(OptimizationRun).returning(OptimizationRun.id,
                                                                        sort_by_parameter_order=True), runs).scalars())
    columns = [_step_columns(result) for _, result in items]
    names = list(columns[0])
    stacked = {name: np.concatenate([c[name] for c in columns]) for name in names}
    run_id = np.concatenate([np.full(len(c["ts"]), i, dtype=np.int64) for i, c in zip(ids, columns, strict=True)])
    if conn.dialect.name == "postgresql":
        copy_binary(conn, "schedule_steps", [("run_id", "int4", run_id), ("ts", "timestamptz", stacked["ts"]),
                                             *[(n, "float8", stacked[n]) for n in names if n != "ts"]])
    else:
        stamps = pd.to_datetime(stacked["ts"], unit="s", utc=True).to_pydatetime().tolist()
        lists = {n: stacked[n].tolist() for n in names if n != "ts"}
        session.execute(sa.insert(ScheduleStep), [
            {"run_id": int(r), "ts": stamps[k], **{n: lists[n][k] for n in lists}}
            for k, r in enumerate(run_id.tolist())])
    return ids


def _insert_runs_unnested(conn: sa.Connection, runs: list[dict]) -> list[int]:
    """PostgreSQL: the runs' ids drawn from their sequence in one query (ascending, in the order
    of ``runs``, as a RETURNING in parameter order gives them), then the rows in one statement of
    one array per column (:mod:`services.store.arrays`)."""
    ids = sorted(conn.execute(sa.text("SELECT nextval(pg_get_serial_sequence('optimization_runs', 'id')) "
                                      "FROM generate_series(1, :n)"), {"n": len(runs)}).scalars())
    insert_unnested(conn, OptimizationRun.__table__, [{"id": i, **run} for i, run in zip(ids, runs, strict=True)])
    return ids


def _write(session: Session, household_id, result: ScheduleResult, kind: str, times) -> int:
    run = OptimizationRun(**_run_values(household_id, result, kind))
    session.add(run)
    session.flush()
    columns = _step_columns(result)
    stamps = pd.to_datetime(columns.pop("ts"), unit="s", utc=True).to_pydatetime().tolist()
    lists = {name: values.tolist() for name, values in columns.items()}
    rows = [{"run_id": run.id, "ts": ts, **{name: lists[name][t] for name in lists}} for t, ts in enumerate(stamps)]
    session.execute(sa.insert(ScheduleStep), rows)
    return run.id


def _run_values(household_id, result: ScheduleResult, kind: str) -> dict:
    """The optimization run's row: request summary, status, costs, baselines, timings."""
    return {
        "household_id": household_id,
        "kind": kind,
        "request": request_summary(result.request),
        "status": result.status,
        "message": "; ".join(result.notes),
        "objective": result.objective,
        "cost": result.optimized.total_cost,
        "baselines": {
            "optimized": flat_asdict(result.optimized),
            "no_battery": flat_asdict(result.no_battery),
            "rule_based": flat_asdict(result.rule_based),
            "stored_energy_value_per_kwh": result.stored_energy_value_per_kwh,
            "savings_vs_no_battery": result.savings_vs_no_battery,
            "savings_vs_rule": result.savings_vs_rule,
            "binary_steps": list(result.binary_steps),
        },
        "timings_ms": {key: round(value, 3) for key, value in result.timings_ms.items()},
        "created_at": utcnow(),
    }


def _step_columns(result: ScheduleResult) -> dict[str, np.ndarray]:
    """The schedule's steps as columns: ``ts`` [Unix s, UTC], powers [kW], SOC [kWh], prices."""
    request, flows = result.request, result.flows
    times = request.times()
    if times is None:
        raise ValueError("a stored run needs the request's start time (UTC) to date its steps")
    steps = request.steps
    columns = {
        "ts": utc_seconds(times),
        "pv_kw": request.pv_kw,
        "load_kw": request.load_kw,
        "charge_kw": flows.charge_kw,
        "discharge_kw": flows.discharge_kw,
        "import_kw": flows.import_kw,
        "export_kw": flows.export_kw,
        "curtail_kw": flows.curtail_kw,
        "soc_kwh": flows.soc_kwh,
        "import_price": request.prices.import_per_kwh,
        "export_price": request.prices.export_per_kwh,
    }
    return {name: np.broadcast_to(np.asarray(values, dtype=float if name != "ts" else np.int64), (steps,))
            for name, values in columns.items()}
