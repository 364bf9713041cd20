"""What the schedules call where another part of the system owns the work.

Each is one call, so that the integrator can switch it when that part lands:

- :func:`plan_fleet_tomorrow`: tomorrow's fleet plan. Today the one-process
  ``services.optimization.jobs.fleet_tomorrow``; the chunked fleet runs replace it.
- :func:`evaluate_alerts`: ``services.notifications.evaluate_and_notify`` when that module is
  installed, else a log line saying it is not.
"""

from __future__ import annotations

import importlib
import logging
from datetime import datetime

from services.access import LOCAL_SCOPE, AccessScope
from services.jobs.kinds import JobOutput, Progress

log = logging.getLogger(__name__)


def plan_fleet_tomorrow(household_ids: list[int], scope: AccessScope, progress: Progress) -> JobOutput:
    """Tomorrow's battery plan of ``household_ids`` (households with a battery), stored as runs."""
    from services.optimization.jobs import fleet_tomorrow

    # One process: a Celery prefork child may not start a process pool of its own.
    report = fleet_tomorrow(household_ids, workers=1, progress=progress)
    return JobOutput({"households": len(household_ids), "scheduled": len(report.result.results),
                      "errors": {str(h): why for h, why in report.errors.items()}})


def evaluate_alerts(scope: AccessScope = LOCAL_SCOPE, now: datetime | None = None) -> dict:
    """Evaluate the alert rules and send what is due; a summary for the job's result."""
    try:
        notifications = importlib.import_module("services.notifications")
    except ModuleNotFoundError as exc:
        if exc.name not in ("services.notifications",):
            raise
        log.info("alert notifications are not installed (no services.notifications): nothing evaluated")
        return {"installed": False, "note": "alert notifications are not installed"}
    outcome = notifications.evaluate_and_notify(now=now, scope=scope)
    summary = {"installed": True}
    if isinstance(outcome, dict):
        summary.update(outcome)
    elif outcome is not None:
        summary["outcome"] = str(outcome)
    return summary
