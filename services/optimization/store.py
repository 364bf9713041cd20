"""Keep each optimization run for review and reports: inputs, solver status, timings, costs and steps.

One :class:`~services.store.models.OptimizationRun` row per run and one
:class:`~services.store.models.ScheduleStep` per step, written in one
transaction (all or nothing).
"""

from __future__ import annotations

from dataclasses import asdict

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.optimization.problem import ScheduleRequest
from services.optimization.results import ScheduleResult
from services.store.db import session_scope
from services.store.models import OptimizationRun, ScheduleStep

RUN_KINDS = ("day_ahead", "whatif", "backtest", "fleet", "sizing", "api")


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
        "battery": asdict(request.battery),
        "grid": asdict(request.grid),
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


def _write(session: Session, household_id, result: ScheduleResult, kind: str, times) -> int:
    request, flows = result.request, result.flows
    run = OptimizationRun(
        household_id=household_id,
        kind=kind,
        request=request_summary(request),
        status=result.status,
        message="; ".join(result.notes),
        objective=result.objective,
        cost=result.optimized.total_cost,
        baselines={
            "optimized": asdict(result.optimized),
            "no_battery": asdict(result.no_battery),
            "rule_based": asdict(result.rule_based),
            "stored_energy_value_per_kwh": result.stored_energy_value_per_kwh,
            "savings_vs_no_battery": result.savings_vs_no_battery,
            "savings_vs_rule": result.savings_vs_rule,
            "binary_steps": list(result.binary_steps),
        },
        timings_ms={key: round(value, 3) for key, value in result.timings_ms.items()},
    )
    session.add(run)
    session.flush()
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
    lists = {name: values.tolist() for name, values in columns.items()}
    rows = [
        {"run_id": run.id, "ts": ts.to_pydatetime(), **{name: lists[name][t] for name in lists}}
        for t, ts in enumerate(times)
    ]
    session.execute(sa.insert(ScheduleStep), rows)
    return run.id
