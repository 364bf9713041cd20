"""What each kind of job does: ``run(params, scope, progress) -> JobOutput``.

A runner reads only JSON ``params`` (ids, ISO dates; files by id), calls the services that do
the work and returns a small JSON summary, plus a file id when it makes a file. It calls
``progress(done, total, stage)`` as it goes; that call raises :class:`JobCancelled` once the job
was cancelled, so a runner stops at its next step without a half-written result (every service
below writes in one transaction, or idempotently).

Errors a person can act on (no readings, no tariff, a bad period) are ``ValueError`` or
``LookupError``: the job fails with that message. Anything else is a bug, logged with its trace.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from services.access import AccessScope

Progress = Callable[[int, int, str], None]


class JobCancelled(Exception):
    """Raised inside a runner (from ``progress``) when someone cancelled its job."""


@dataclass(frozen=True)
class JobOutput:
    """A runner's result: a JSON ``summary`` and, for a file, the id of a stored :class:`JobFile`."""

    summary: dict = field(default_factory=dict)
    file_id: int | None = None


Runner = Callable[[dict, AccessScope, Progress], JobOutput]


@dataclass(frozen=True)
class JobKind:
    """A kind of job: its ``label`` for people and its runner."""

    name: str
    label: str
    run: Runner


# --- forecasting ----------------------------------------------------------------------------------


def _forecast_train(params: dict, scope: AccessScope, progress: Progress) -> JobOutput:
    from services.forecasting import train_models

    household_id = int(params["household_id"])
    targets = tuple(params.get("targets") or ("pv", "load"))
    report = train_models(household_id, targets=targets, progress=progress)
    return JobOutput({"household_id": household_id, "trained": report.trained, "skipped": report.skipped,
                      "seconds": report.seconds, "notes": list(report.notes)})


def _forecast_retrain_stale(params: dict, scope: AccessScope, progress: Progress) -> JobOutput:
    """Retrain the missing, old or outdated models of the given (default: every visible) household."""
    from services.access import visible_household_ids
    from services.forecasting import model_status, train_models
    from services.households import HouseholdNotFound

    household_ids = [int(h) for h in params.get("household_ids") or visible_household_ids()]
    trained: dict[str, list[str]] = {}
    skipped: dict[str, str] = {}
    for i, household_id in enumerate(household_ids):
        progress(i, len(household_ids), f"household {household_id}")
        try:
            stale = tuple(t for t, (needed, _why) in model_status(household_id).items() if needed)
            if stale:
                report = train_models(household_id, targets=stale)
                trained[str(household_id)] = sorted(report.trained)
                skipped.update({f"{household_id} {t}": why for t, why in report.skipped.items()})
        except HouseholdNotFound:
            continue  # deleted since the job started
        except ValueError as exc:  # one household's data problem does not stop the others
            skipped[str(household_id)] = str(exc)
    progress(len(household_ids), len(household_ids), "done")
    return JobOutput({"households": len(household_ids), "trained": trained, "skipped": skipped})


def _forecast_issue(params: dict, scope: AccessScope, progress: Progress) -> JobOutput:
    """Issue and store the PV and load forecasts of the given (default: every visible) household,
    for ``hours`` ahead (default 48): what the battery optimizer plans with, since viewing a
    forecast stores nothing."""
    from services.access import visible_household_ids
    from services.forecasting.overview import issue_forecasts
    from services.households import HouseholdNotFound

    household_ids = [int(h) for h in params.get("household_ids") or visible_household_ids()]
    hours = int(params.get("hours", 48))
    stored, not_stored = 0, {}
    for i, household_id in enumerate(household_ids):
        progress(i, len(household_ids), f"household {household_id}")
        try:
            issued = issue_forecasts(household_id, hours, store=True)
        except HouseholdNotFound:
            continue  # deleted since the job started
        except ValueError as exc:  # one household's data problem does not stop the others
            not_stored[str(household_id)] = str(exc)
            continue
        stored += sum(1 for r in (issued.pv, issued.load) if r is not None and r.forecast_id)
    progress(len(household_ids), len(household_ids), "done")
    return JobOutput({"households": len(household_ids), "forecasts_stored": stored, "not_stored": not_stored})


def _forecast_backtest(params: dict, scope: AccessScope, progress: Progress) -> JobOutput:
    from services.forecasting.overview import backtest_last_days

    household_id, days = int(params["household_id"]), int(params["days"])
    results = backtest_last_days(household_id, days, progress=progress)
    overall = {t: {k: v for k, v in m["overall"].items() if isinstance(v, int | float | None)}
               for t, m in results.items()}
    return JobOutput({"household_id": household_id, "days": days, "overall": overall})


# --- battery ----------------------------------------------------------------------------------


def _battery_backtest(params: dict, scope: AccessScope, progress: Progress) -> JobOutput:
    from services.optimization.jobs import backtest_period

    first, days = date.fromisoformat(params["first"]), int(params["days"])
    report = backtest_period(int(params["household_id"]), first, days, progress=progress)
    daily = report.daily.reset_index()
    daily["day"] = daily["day"].astype(str)
    return JobOutput({"name": report.household_name, "currency": report.currency, "first": str(first),
                      "days": days, "no_battery": report.cost_no_battery, "perfect": report.cost_perfect,
                      "forecast": report.cost_forecast, "label": report.forecast_label,
                      "notes": list(report.notes), "daily": daily.to_dict("list")})


def _battery_sizing(params: dict, scope: AccessScope, progress: Progress) -> JobOutput:
    from services.optimization.jobs import sizing_for_household

    first, days, price = date.fromisoformat(params["first"]), int(params["days"]), float(params["price"])
    report = sizing_for_household(int(params["household_id"]), first, days, battery_price_per_kwh=price,
                                  progress=progress)
    rows = [{k: (None if v is None else float(v)) for k, v in row.items()} for row in report.rows()]
    return JobOutput({"name": report.household_name, "currency": report.currency, "price": price, "days": days,
                      "rows": rows})


def _fleet_tomorrow(params: dict, scope: AccessScope, progress: Progress) -> JobOutput:
    """Tomorrow's plan of the given (default: every) household with a battery, as a fleet run."""
    from services.jobs.schedule_entries import plan_fleet_tomorrow

    household_ids = [int(h) for h in params["household_ids"]] if params.get("household_ids") else None
    return plan_fleet_tomorrow(household_ids, scope, progress)


# --- weather, upkeep, alerts ----------------------------------------------------------------------


def _weather_refresh(params: dict, scope: AccessScope, progress: Progress) -> JobOutput:
    from services.weather.refresh import refresh_weather

    progress(0, 1, "fetching the weather forecast")
    sites = refresh_weather(hours=int(params.get("hours", 48)), force=bool(params.get("force", False)))
    return JobOutput({"sites": len(sites), "by_status": _count(s.status for s in sites),
                      "problems": {s.name: s.message for s in sites if s.status == "degraded"}})


def _sweep(params: dict, scope: AccessScope, progress: Progress) -> JobOutput:
    """End interrupted batches and jobs (their process died), hand stalled fleet chunks to workers
    again, drop old job files and old ended jobs."""
    from services.ingestion.history import close_interrupted_batches
    from services.jobs.files import delete_old_files
    from services.jobs.records import delete_old_jobs, fail_stale_jobs
    from services.optimization.fleet_runs import requeue_stale_chunks

    requeued = requeue_stale_chunks()
    return JobOutput({"batches_closed": close_interrupted_batches(), "jobs_failed": fail_stale_jobs(),
                      "fleet_chunks_requeued": {str(run): chunks for run, chunks in requeued.items()},
                      "files_removed": delete_old_files(), "jobs_removed": delete_old_jobs()})


def _fleet_requeue(params: dict, scope: AccessScope, progress: Progress) -> JobOutput:
    """Hand again to workers the pending chunks of fleet runs that have not moved for
    ``older_than_s`` [s] (default STALE_CHUNK_S)."""
    from services.optimization.fleet_runs import STALE_CHUNK_S, requeue_stale_chunks

    progress(0, 1, "looking for stalled fleet chunks")
    requeued = requeue_stale_chunks(float(params.get("older_than_s", STALE_CHUNK_S)))
    return JobOutput({"fleet_chunks_requeued": {str(run): chunks for run, chunks in requeued.items()}})


def _alerts(params: dict, scope: AccessScope, progress: Progress) -> JobOutput:
    from services.jobs.schedule_entries import evaluate_alerts

    return JobOutput(evaluate_alerts(scope))


def _alerts_digest(params: dict, scope: AccessScope, progress: Progress) -> JobOutput:
    from services.jobs.schedule_entries import evaluate_alerts

    return JobOutput(evaluate_alerts(scope, digest=True))


def _count(values) -> dict[str, int]:
    out: dict[str, int] = {}
    for v in values:
        out[v] = out.get(v, 0) + 1
    return out


def _file_kinds() -> dict[str, JobKind]:
    from services.jobs.file_kinds import FILE_KINDS

    return FILE_KINDS


KINDS: dict[str, JobKind] = {k.name: k for k in (
    JobKind("forecast_train", "Retrain forecast models", _forecast_train),
    JobKind("forecast_retrain_stale", "Retrain stale forecast models", _forecast_retrain_stale),
    JobKind("forecast_issue", "Issue and store forecasts", _forecast_issue),
    JobKind("forecast_backtest", "Forecast back-test", _forecast_backtest),
    JobKind("battery_backtest", "Battery back-test", _battery_backtest),
    JobKind("battery_sizing", "Battery sizing", _battery_sizing),
    JobKind("fleet_tomorrow", "Tomorrow's fleet plan", _fleet_tomorrow),
    JobKind("weather_refresh", "Weather refresh", _weather_refresh),
    JobKind("sweep", "Sweep of interrupted work", _sweep),
    JobKind("fleet_requeue", "Requeue stalled fleet chunks", _fleet_requeue),
    JobKind("alerts", "Alert evaluation", _alerts),
    JobKind("alerts_digest", "Daily alert digest", _alerts_digest),
)}


def job_kind(name: str) -> JobKind:
    """The kind ``name``; ValueError naming the known kinds otherwise."""
    kinds = {**KINDS, **_file_kinds()}
    if name not in kinds:
        raise ValueError(f"unknown job kind {name!r}: one of {', '.join(sorted(kinds))}")
    return kinds[name]


def kind_label(name: str) -> str:
    try:
        return job_kind(name).label
    except ValueError:
        return name
