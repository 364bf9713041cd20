"""Keep each optimization run for review and reports: inputs, solver status, timings, costs and steps.

One :class:`~services.store.models.OptimizationRun` row per run and one
:class:`~services.store.models.SchedulePlan` row with its steps as arrays (one value per step and
quantity), written in one transaction (all or nothing). This module is the one owner of the
plans' storage: :func:`run_steps` and :func:`stored_steps` give the steps back as rows (a frame by
step start, UTC), whatever the store keeps them as.
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
from services.store.bulk import copy_binary
from services.store.db import session_scope
from services.store.models import OptimizationRun, SchedulePlan, utcnow
from services.store.models.planning import STEP_COLUMNS

RUN_KINDS = ("day_ahead", "whatif", "backtest", "fleet", "sizing", "api")


def flat_asdict(value) -> dict:
    """``dataclasses.asdict`` of a dataclass of plain values (numbers, strings, None), without its
    recursive deep copy: five of them per stored run, thousands per fleet chunk. Anything nested
    goes through ``asdict`` itself."""
    out = {f.name: getattr(value, f.name) for f in fields(value)}
    if all(type(v) in _PLAIN for v in out.values()):  # the common case, checked cheaply
        return out
    if any(is_dataclass(v) or isinstance(v, list | tuple | dict) for v in out.values()):
        return asdict(value)
    return out


_PLAIN = frozenset({int, float, str, bool, type(None), np.float64, np.int64, np.bool_})  # neither nested nor a container


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
    if result.request.start is None:
        raise ValueError("a stored run needs the request's start time (UTC) to date its steps")
    if session is None:
        with session_scope(url) as own:
            return _write(own, household_id, result, kind)
    return _write(session, household_id, result, kind)


def store_runs(items: Sequence[tuple[int | None, ScheduleResult]], *, kind: str, session: Session) -> list[int]:
    """Write many results in the caller's transaction, in a few statements (runs, then their plans;
    on PostgreSQL the runs as arrays and the plans by binary COPY); returns the run ids in the
    order of ``items``.

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
    plans = [_plan_columns(result) for _, result in items]
    if conn.dialect.name == "postgresql":
        _copy_plans(conn, ids, plans)
    else:
        session.execute(sa.insert(SchedulePlan), [_plan_row(run_id, plan) for run_id, plan in zip(ids, plans,
                                                                                                   strict=True)])
    return ids


def _insert_runs_unnested(conn: sa.Connection, runs: list[dict]) -> list[int]:
    """PostgreSQL: the runs' ids drawn from their sequence in one query (ascending, in the order
    of ``runs``, as a RETURNING in parameter order gives them), then the rows in one statement of
    one array per column (:mod:`services.store.arrays`)."""
    ids = sorted(conn.execute(sa.text("SELECT nextval(pg_get_serial_sequence('optimization_runs', 'id')) "
                                      "FROM generate_series(1, :n)"), {"n": len(runs)}).scalars())
    insert_unnested(conn, OptimizationRun.__table__, [{"id": i, **run} for i, run in zip(ids, runs, strict=True)])
    return ids


def _copy_plans(conn: sa.Connection, ids: list[int], plans: list[dict]) -> None:
    """PostgreSQL: the plans by binary COPY, one per number of steps (a COPY's arrays share a length)."""
    by_steps: dict[int, list[int]] = {}
    for k, plan in enumerate(plans):
        by_steps.setdefault(plan["steps"], []).append(k)
    for members in by_steps.values():
        chosen = [plans[k] for k in members]
        copy_binary(conn, "schedule_plans", [
            ("run_id", "int4", np.array([ids[k] for k in members], dtype=np.int64)),
            *[(name, kind, np.array([p[name] for p in chosen], dtype=np.int64))
              for name, kind in (("start", "timestamptz"), ("step_s", "int4"), ("steps", "int4"))],
            *[(name, "float8[]", np.stack([p[name] for p in chosen])) for name in STEP_COLUMNS]])


def _plan_row(run_id: int, plan: dict) -> dict:
    """A plan as the row SQLAlchemy inserts: the start as a UTC datetime, the arrays as lists."""
    row = {"run_id": run_id, "steps": plan["steps"], "step_s": plan["step_s"],
           "start": pd.Timestamp(plan["start"], unit="s", tz="UTC").to_pydatetime()}
    return row | {name: plan[name].tolist() for name in STEP_COLUMNS}


def _write(session: Session, household_id, result: ScheduleResult, kind: str) -> int:
    run = OptimizationRun(**_run_values(household_id, result, kind))
    session.add(run)
    session.flush()
    session.execute(sa.insert(SchedulePlan), [_plan_row(run.id, _plan_columns(result))])
    return run.id


def run_steps(run_id: int, *, session: Session | None = None, url: str | None = None) -> pd.DataFrame:
    """The steps of stored run ``run_id``: a frame indexed by each step's UTC start (``ts``) with
    the columns of :data:`~services.store.models.planning.STEP_COLUMNS` (powers [kW], SOC at the
    step's end [kWh], prices [currency/kWh]); empty (same columns) for a run without steps."""
    return stored_steps([run_id], session=session, url=url).get(run_id, _steps_frame(None))


def stored_steps(run_ids: Sequence[int], *, session: Session | None = None,
                 url: str | None = None) -> dict[int, pd.DataFrame]:
    """:func:`run_steps` of each of ``run_ids`` that has steps, in one query."""
    if session is None:
        with session_scope(url) as own:
            return stored_steps(run_ids, session=own)
    rows = session.scalars(sa.select(SchedulePlan).where(SchedulePlan.run_id.in_(list(run_ids))))
    return {plan.run_id: _steps_frame(plan) for plan in rows}


def _steps_frame(plan: SchedulePlan | None) -> pd.DataFrame:
    if plan is None:
        return pd.DataFrame({name: np.array([], dtype=float) for name in STEP_COLUMNS},
                            index=pd.DatetimeIndex([], tz="UTC", name="ts"))
    index = pd.date_range(pd.Timestamp(plan.start).tz_convert("UTC"), periods=plan.steps,
                          freq=pd.Timedelta(seconds=plan.step_s), name="ts")
    return pd.DataFrame({name: np.asarray(getattr(plan, name), dtype=float) for name in STEP_COLUMNS}, index=index)


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


def _plan_columns(result: ScheduleResult) -> dict:
    """The schedule's steps: ``start`` [Unix s, UTC] and ``step_s`` [s] of the first step, ``steps``,
    and one array per quantity: powers [kW], SOC [kWh], prices [currency/kWh]."""
    request, flows = result.request, result.flows
    if request.start is None:
        raise ValueError("a stored run needs the request's start time (UTC) to date its steps")
    start = pd.Timestamp(request.start)
    if start.tz is None:
        raise ValueError("the request's start is naive: attach a time zone (UTC)")
    steps = request.steps
    columns = {
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
    plan = {name: _per_step(values, steps) for name, values in columns.items()}
    return plan | {"start": start.tz_convert("UTC").value // 1_000_000_000, "step_s": int(round(request.dt_h * 3600)),
                   "steps": steps}


def _per_step(values, steps: int) -> np.ndarray:
    """One float per step: an array of the steps as it is, a single value repeated."""
    if isinstance(values, np.ndarray) and values.dtype == float and values.shape == (steps,):
        return values
    return np.broadcast_to(np.asarray(values, dtype=float), (steps,))
