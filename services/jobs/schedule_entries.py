"""What the schedules call where another part of the system owns the work.

Each is one call, so that the integrator can switch it when that part lands:

- :func:`plan_fleet_tomorrow`: tomorrow's fleet plan, a chunked fleet run
  (``services.optimization.fleet_runs.start_fleet_run``).
- :func:`evaluate_alerts`: ``services.notifications.evaluate_and_notify`` (or ``send_daily_digest``)
  when that module is installed, else a log line saying it is not.
"""

from __future__ import annotations

import importlib
import logging
from datetime import datetime

from services.access import AccessScope
from services.jobs.kinds import JobOutput, Progress

log = logging.getLogger(__name__)


def plan_fleet_tomorrow(household_ids: list[int] | None, scope: AccessScope, progress: Progress) -> JobOutput:
    """Tomorrow's battery plan (tomorrow in SCHEDULE_TIMEZONE) of ``household_ids`` (default: every
    household with a battery) as a fleet run: its chunks go to the bulk queue with ``REDIS_URL``
    (this job ends once they are queued; the run's own row shows their progress) and are planned
    here without."""
    from services.optimization.fleet_runs import fleet_run_status, start_fleet_run
    from services.optimization.fleet_views import portfolio_tomorrow

    tomorrow = portfolio_tomorrow()
    progress(0, 1, f"starting the fleet run for {tomorrow}")
    run_id = start_fleet_run(tomorrow, household_ids, scope=scope)
    status = fleet_run_status(run_id, max_failures=0, scope=scope)
    return JobOutput({"fleet_run_id": run_id, "day": tomorrow.isoformat(), "households": status.households,
                      "chunks": status.chunks, "state": status.state, "planned": status.planned,
                      "failed": status.failed})


def evaluate_alerts(scope: AccessScope | None = None, now: datetime | None = None, digest: bool = False) -> dict:
    """Evaluate the alert rules and send what is due (``digest``: today's digest of the digest rules);
    a summary for the job's result."""
    try:
        notifications = importlib.import_module("services.notifications")
    except ModuleNotFoundError as exc:
        if exc.name not in ("services.notifications",):
            raise
        log.info("alert notifications are not installed (no services.notifications): nothing evaluated")
        return {"installed": False, "note": "alert notifications are not installed"}
    send = notifications.send_daily_digest if digest else notifications.evaluate_and_notify
    outcome = send(now=now, scope=scope)
    summary = {"installed": True}
    if hasattr(outcome, "as_dict"):
        summary.update(outcome.as_dict())
    elif outcome is not None:
        summary["outcome"] = str(outcome)
    return summary
