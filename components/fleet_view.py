"""What the Optimize page's fleet view shows: which run, the list's rows and the shown run's summary
line. Plain functions (no callbacks); the runs come from :mod:`services.optimization.fleet_views`."""

from __future__ import annotations

import pandas as pd

from components import ids
from components.format import format_money
from services.access import NotFound, browser_id
from services.config import get_settings
from services.optimization.fleet_views import FleetRunSummary, fleet_run_summary, portfolio_tomorrow


def shown_run(trigger, started, selected, shown: int | None, runs: list) -> FleetRunSummary | None:
    """Which run the view shows (None: the organisation has none); ids from the browser are
    checked, another organisation's run is never shown."""
    newest = runs[0] if runs else None
    wanted = shown
    if trigger == ids.OPTIMIZE_FLEET_STARTED and isinstance(started, dict) and started.get("run_id"):
        wanted = browser_id(started["run_id"])
    elif trigger == ids.OPTIMIZE_FLEET_RUNS and selected:
        row = selected[0] if isinstance(selected[0], dict) else {}
        wanted = browser_id(row.get("run_id") or row.get("key")) or shown
    elif trigger is None:
        wanted = None
    by_id = {r.run_id: r for r in runs}
    if wanted is None:
        return newest
    run = by_id.get(wanted)
    if run is None:
        try:
            run = fleet_run_summary(wanted)
        except NotFound:
            return newest
    if trigger == ids.OPTIMIZE_FLEET_TICK and not run.running and newest is not None and newest.running:
        return newest  # polled while a start was under way: the run it made
    return run


def local_time(ts) -> str:
    if ts is None:
        return ""
    return pd.Timestamp(ts).tz_convert(get_settings().schedule_timezone).strftime("%Y-%m-%d %H:%M")


def run_row(run: FleetRunSummary) -> dict:
    return {"key": str(run.run_id), "run_id": run.run_id, "day": run.day.isoformat(), "started_by": run.started_by,
            "state": run.state, "planned": run.planned, "failed": run.failed, "pending": run.pending,
            "households": run.households, "started": local_time(run.created_at),
            "finished": local_time(run.finished_at)}


def fleet_summary(run: FleetRunSummary, rows: list[dict]) -> str:
    """The shown run in one line: how many households are planned, how many could not be, and what
    the planned ones save together against no battery [currency] on the run's day."""
    if not run.households:
        return f"The run for {run.day:%a %Y-%m-%d} had no household with a battery."
    when = "tomorrow" if run.day == portfolio_tomorrow() else f"on {run.day:%a %Y-%m-%d}"
    counts = f"{run.planned} of {run.households} households planned"
    if run.running:
        return f"Planning {when}: {counts}, {run.failed} could not be, {run.pending} to go."
    text = counts + (f", {run.failed} could not be: see “Why not”" if run.failed else "")
    if not run.planned:
        return text + "."
    saved = sum(r["savings"] or 0.0 for r in rows if r["status"] == "planned")
    return f"{text}; together they save {format_money(saved, get_settings().currency)} {when} against no battery."
