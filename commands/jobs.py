"""Jobs and fleet runs: start any job kind, plan a fleet day, follow a run.

Commands: job, fleet-run, fleet-status.
"""

from __future__ import annotations

import time

import click
from flask import Flask


def register_jobs_cli(server: Flask) -> None:
    """Attach the jobs commands (job, fleet-run, fleet-status)."""

    @server.cli.command("job")
    @click.argument("kind")
    @click.option("--param", "params", multiple=True, metavar="KEY=VALUE",
                  help="A job parameter (repeatable); values are read as JSON where they parse (7, [1, 2], true).")
    def job_command(kind: str, params: tuple[str, ...]) -> None:
        """Start a job of KIND (weather_refresh, forecast_retrain_stale, sweep, fleet_tomorrow, alerts, ...):
        queued for the workers with REDIS_URL, run here otherwise. It shows on the Jobs page."""
        import json

        from services.access import AccessScope
        from services.jobs import start_job

        values = {}
        for item in params:
            key, sep, raw = item.partition("=")
            if not sep or not key:
                raise click.BadParameter(f"{item!r} is not KEY=VALUE", param_hint="--param")
            try:
                values[key] = json.loads(raw)
            except ValueError:
                values[key] = raw
        try:
            job = start_job(kind, values, AccessScope(label="command line"))
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
        if not job.finished:
            click.echo(f"Job {job.id} ({kind}) queued for the workers (task {job.celery_task_id}).")
            return
        click.echo(f"Job {job.id} ({kind}) {job.state}: {json.dumps(job.result) if job.result else job.error or ''}")
        if job.state != "done":
            raise click.exceptions.Exit(1)

    @server.cli.command("fleet-run")
    @click.option("--day", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
                  help="Local day to plan, YYYY-MM-DD (default: tomorrow, by today's UTC date).")
    @click.option("--household", "household_ids", type=int, multiple=True,
                  help="Household id to plan (repeat; default: every household with a battery).")
    @click.option("--chunk-size", type=click.IntRange(1, 5000), default=500, show_default=True,
                  help="Households per task.")
    @click.option("--wait/--no-wait", default=True, show_default=True,
                  help="Follow the run until it is done (with REDIS_URL the chunks run on the workers).")
    def fleet_run_command(day, household_ids: tuple[int, ...], chunk_size: int, wait: bool) -> None:
        """Plan a day's battery schedules of many households as chunked tasks (fleet run)."""
        from datetime import datetime, timedelta, timezone

        from services.optimization.fleet_runs import start_fleet_run
        from services.validation import ValidationProblem

        plan_day = day.date() if day is not None else datetime.now(timezone.utc).date() + timedelta(days=1)
        try:
            run_id = start_fleet_run(plan_day, list(household_ids) or None, chunk_size=chunk_size)
        except ValidationProblem as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"Fleet run {run_id} for {plan_day}: started.")
        _echo_fleet_status(run_id, wait)

    @server.cli.command("fleet-status")
    @click.argument("run_id", type=int)
    @click.option("--wait", is_flag=True, help="Follow the run until it is done.")
    def fleet_status_command(run_id: int, wait: bool) -> None:
        """Progress of a fleet run, and why its failed households failed."""
        _echo_fleet_status(run_id, wait)


def _echo_fleet_status(run_id: int, wait: bool) -> None:
    from services.optimization.fleet_runs import fleet_run_status

    try:
        status = fleet_run_status(run_id)
    except LookupError as exc:
        raise click.ClickException(f"{exc}: `fleet-run` starts one") from None
    while wait and status.state != "done":
        time.sleep(2)
        status = fleet_run_status(run_id)
        click.echo(f"  {status.planned + status.failed} of {status.households} households, "
                   f"{status.chunks_done} of {status.chunks} chunks")
    click.echo(f"Fleet run {run_id} ({status.day}, started by {status.scope.label}): {status.state}; "
               f"{status.planned} planned, {status.failed} failed, {status.pending} pending.")
    for failure in status.failures:
        click.echo(f"  {failure.household} (id {failure.household_id}): {failure.reason}")
