"""Flask CLI commands on ``app.server``: ``flask --app app <command>``.

Every command, also those other modules add to ``server.cli``, answers a database it cannot
reach or loses with one line naming ``DATABASE_URL`` and what to do, and exit code 1
(:func:`explain_database_errors`), instead of a traceback.
"""

from __future__ import annotations

import functools
import time
from datetime import date
from pathlib import Path

import click
from flask import Flask

#: Portfolios larger than this get a week of readings by default instead of a year.
LARGE_PORTFOLIO = 500


def explain_database_errors(group: click.Group) -> None:
    """Make every command of ``group`` (and of its sub-groups, looked up when run) turn a lost or
    unreachable database into a one-line :class:`click.ClickException` (exit code 1)."""
    if getattr(group, "_explains_database_errors", False):
        return
    find = group.get_command

    def get_command(ctx: click.Context, name: str) -> click.Command | None:
        command = find(ctx, name)
        if isinstance(command, click.Group):
            explain_database_errors(command)
        elif command is not None and command.callback is not None and not hasattr(command.callback, "_explained"):
            command.callback = _explained(command.callback)
        return command

    group.get_command = get_command  # type: ignore[method-assign]
    group._explains_database_errors = True  # type: ignore[attr-defined]


def _explained(callback):
    @functools.wraps(callback)
    def run(*args, **kwargs):
        try:
            return callback(*args, **kwargs)
        except (click.ClickException, click.exceptions.Exit, click.Abort, KeyboardInterrupt):
            raise
        except Exception as exc:
            from services.store.connection_errors import connection_problem

            message = connection_problem(exc)
            if message is None:
                raise
            raise click.ClickException(message) from None

    run._explained = True  # type: ignore[attr-defined]
    return run


def register_cli(server: Flask) -> None:
    """Attach the project's commands to the Flask server."""
    explain_database_errors(server.cli)

    from cli_notify import register_notify_cli
    from commands.accounts import register_accounts_cli

    register_notify_cli(server)  # notify, notify-rule-add, notify-rules, notify-rule-delete
    register_accounts_cli(server)  # create-org, create-user, reset-password, list-users, token-create/-revoke, tokens

    @server.cli.command("migrate")
    def migrate_command() -> None:
        """Create or upgrade the database schema (DATABASE_URL)."""
        from services.store.db import migrate

        migrate()
        click.echo("Schema is up to date.")

    @server.cli.command("init-db")
    def init_db_command() -> None:
        """Create or upgrade the schema, and load the demo portfolio if the store is empty."""
        from services.demo import seed_if_empty
        from services.demo.accounts import seed_demo_accounts, sign_ins_text
        from services.store.db import migrate

        migrate()
        click.echo("Schema is up to date.")
        report = seed_if_empty()
        if report is None:
            click.echo("The store already has households: demo data not loaded.")
        else:
            click.echo(report.summary())
            seed_demo_accounts()
        if sign_ins_text():
            click.echo(sign_ins_text())

    @server.cli.command("demo-data")
    @click.option("--households", type=click.IntRange(1, 100_000), default=None,
                  help="Households to generate (default DEMO_HOUSEHOLDS, 24). Above 500 the default period "
                       "is a week: 10,000 households load in a few minutes on PostgreSQL.")
    @click.option("--seed", type=int, default=None, help="Seed of the generator (default DEMO_SEED).")
    @click.option("--end", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
                  help="Last day + 1 of the year of data, YYYY-MM-DD (default: today, UTC).")
    @click.option("--days", type=click.IntRange(1, 3660), default=None,
                  help="Length of the period in days (default 365, or 7 above 500 households).")
    @click.option("--replace", is_flag=True,
                  help="Delete every household (and its data) first, then load the demo.")
    def demo_data_command(households: int | None, seed: int | None, end, days: int | None, replace: bool) -> None:
        """Load the demo portfolio into the store (DATABASE_URL), printing timings."""
        from services.demo import database_is_empty, load_demo_portfolio, remove_all_households
        from services.store.db import migrate

        migrate()
        if not database_is_empty():
            if not replace:
                raise click.ClickException(
                    "The store already has households. Run again with --replace to delete them "
                    "(with all their readings) and load the demo portfolio."
                )
            started = time.perf_counter()
            removed = remove_all_households()
            click.echo(f"Removed {removed} household(s) and their data in {time.perf_counter() - started:.1f} s.")
        end_day: date | None = end.date() if end is not None else None
        if days is None:
            days = 365 if (households or 0) <= LARGE_PORTFOLIO else 7
            if days == 7:
                click.echo(f"{households} households: a week of readings each (choose --days for more).")
        report = load_demo_portfolio(n_households=households, seed=seed, end=end_day, days=days)
        click.echo(report.summary())

    @server.cli.command("ingest")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False))
    @click.option("--mapping", "mapping_name", required=True, help="Name of a saved mapping (see mapping-save).")
    @click.option("--household", "household_id", type=int, default=None,
                  help="Household id; overrides the mapping's (one mapping reused for many homes).")
    @click.option("--chunk-rows", type=click.IntRange(1000, 2_000_000), default=50_000, show_default=True,
                  help="Rows read at a time: memory stays bounded by one chunk.")
    def ingest_command(file: str, mapping_name: str, household_id: int | None, chunk_rows: int) -> None:
        """Ingest a CSV, Excel or Parquet FILE through a saved mapping, as one batch, streaming it in chunks."""
        from services.ingestion.files import ingest_file

        started = time.perf_counter()
        try:
            report = ingest_file(file, mapping_name, household_id=household_id, channel="cli", chunk_rows=chunk_rows)
        except (LookupError, ValueError) as exc:
            raise click.ClickException(str(exc)) from None
        elapsed = time.perf_counter() - started
        click.echo(f"Batch {report.batch_id}: {report.summary()} in {elapsed:.1f} s "
                   f"({report.received / max(elapsed, 1e-9):,.0f} rows/s).")
        for event in report.meter_events[:20]:
            click.echo(f"  {event.describe()}")
        if len(report.meter_events) > 20:
            click.echo(f"  ... and {len(report.meter_events) - 20} more meter events (Data page, batch {report.batch_id}).")
        if report.rejected:
            click.echo(f"Rejected rows by reason ({report.rejected:,} in all; {len(report.rejections):,} of them, "
                       f"with examples of every reason, are kept with batch {report.batch_id}: Data page, Batch "
                       "history, Download rejected rows):")
            for line in report.reason_lines():
                click.echo(f"  {line}")
            click.echo("First rejected rows:")
            for rejection in report.rejections[:10]:
                click.echo(f"  line {rejection.line}, {rejection.field}: {rejection.reason}")

    @server.cli.command("mapping-save")
    @click.argument("name")
    @click.argument("spec_file", type=click.Path(exists=True, dir_okay=False))
    def mapping_save_command(name: str, spec_file: str) -> None:
        """Save (or replace) the ingestion mapping NAME from a JSON file (its "name" field is set to NAME)."""
        import json

        from services.ingestion.mapping import mapping_from_dict, save_mapping

        try:
            spec = json.loads(Path(spec_file).read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise click.ClickException(f"{spec_file} is not valid JSON: {exc}") from None
        if not isinstance(spec, dict):
            raise click.ClickException(f"{spec_file} must hold a JSON object describing the mapping")
        try:
            mapping = mapping_from_dict({**spec, "name": name})
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
        save_mapping(mapping)
        click.echo(f"Mapping {name!r} saved ({mapping.layout}, {len(mapping.columns)} series).")

    @server.cli.command("import-citylearn")
    @click.option("--data-dir", type=click.Path(exists=True, file_okay=False), default=None,
                  help="The citylearn_2022_fontana_ca folder (default ../shared/data/citylearn_2022_fontana_ca).")
    @click.option("--replace", is_flag=True, help="Update households of the same name instead of refusing.")
    def import_citylearn_command(data_dir: str | None, replace: bool) -> None:
        """Create the 17 CityLearn Fontana homes (PV, batteries, seasonal TOU tariff); readings come separately."""
        from services.citylearn import import_citylearn
        from services.store.db import migrate
        from services.validation import ValidationProblem

        migrate()
        try:
            result = import_citylearn(data_dir, replace=replace)
        except (FileNotFoundError, ValidationProblem) as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"CityLearn: {result.created} household(s) created, {result.updated} updated; the tariff "
                   f"reproduces {result.tariff_reproduced_share:.1%} of pricing.csv's hours.")

    @server.cli.command("mqtt-listen")
    @click.option("--host", default="127.0.0.1", show_default=True, envvar="MQTT_HOST", help="MQTT broker host.")
    @click.option("--port", type=click.IntRange(1, 65535), default=1883, show_default=True, envvar="MQTT_PORT")
    @click.option("--topic", "topics", multiple=True, envvar="MQTT_TOPICS",
                  help="Topic filter, repeatable (default energy/+/+/+ = energy/<household>/<device>/<metric>).")
    @click.option("--client-id", default="energy-dashboard-ingest", show_default=True, envvar="MQTT_CLIENT_ID",
                  help="Keep it stable: the broker holds messages for this id while the listener is down.")
    @click.option("--username", default=None, envvar="MQTT_USERNAME")
    @click.option("--password", default=None, envvar="MQTT_PASSWORD")
    @click.option("--batch-size", type=click.IntRange(1, 65535), default=500, show_default=True,
                  help="Messages per batch at most.")
    @click.option("--batch-seconds", type=click.FloatRange(0.01, 3600), default=2.0, show_default=True,
                  help="Longest wait before a batch is written [s].")
    def mqtt_listen_command(host, port, topics, client_id, username, password, batch_size, batch_seconds) -> None:
        """Listen to MQTT readings (QoS 1, persistent session) and ingest them in batches until stopped."""
        import logging

        from services.mqtt_listener import DEFAULT_TOPICS, ListenerConfig, listen

        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        config = ListenerConfig(host=host, port=port, topics=tuple(topics) or DEFAULT_TOPICS, client_id=client_id,
                                username=username, password=password, batch_size=batch_size,
                                batch_seconds=batch_seconds)
        click.echo(f"Listening to {', '.join(config.topics)} on {host}:{port} as {client_id} (Ctrl+C stops).")
        listen(config)

    # --- forecasting and weather (pages and the API never train or fetch: these commands do) ---

    @server.cli.command("forecast-train")
    @click.option("--household", "household_ids", type=int, multiple=True,
                  help="Household id, repeatable (default: every household).")
    @click.option("--stale-only", is_flag=True,
                  help="Train only models that are missing, older than 7 days or of an older version (for cron).")
    def forecast_train_command(household_ids: tuple[int, ...], stale_only: bool) -> None:
        """Train and store the PV and load forecast models of each household on its last year of readings
        (PV: two years)."""
        from services.access import visible_household_ids
        from services.forecasting import model_status, train_models
        from services.households import HouseholdNotFound

        targets = list(household_ids) or visible_household_ids()
        if not targets:
            raise click.ClickException("There are no households to train models for: create one or load the demo.")
        failed = 0
        for household_id in targets:
            started = time.perf_counter()
            try:
                stale = tuple(t for t, (needed, _why) in model_status(household_id).items() if needed)
                if stale_only and not stale:
                    click.echo(f"Household {household_id}: models up to date.")
                    continue
                report = train_models(household_id, targets=stale if stale_only else ("pv", "load"))
            except HouseholdNotFound:
                click.echo(f"Household {household_id}: does not exist (flask --app app forecast-train without "
                           "--household trains every household).")
                failed += 1
                continue
            parts = [f"{t} trained in {s:.1f} s" for t, s in report.seconds.items()]
            parts += [f"{t} skipped: {why}" for t, why in report.skipped.items()]
            click.echo(f"Household {household_id}: {'; '.join(parts) or 'nothing to train'} "
                       f"({time.perf_counter() - started:.1f} s in all).")
            for note in report.notes:
                click.echo(f"  note: {note}")
        if failed == len(targets):
            raise click.ClickException("No household could be trained.")

    @server.cli.command("forecast-issue")
    @click.option("--household", "household_ids", type=int, multiple=True,
                  help="Household id, repeatable (default: every household).")
    @click.option("--hours", type=click.IntRange(1, 168), default=48, show_default=True, help="Hours ahead.")
    def forecast_issue_command(household_ids: tuple[int, ...], hours: int) -> None:
        """Issue and store PV and load forecasts, which the battery optimizer plans with (for cron).

        Viewing a forecast (the Forecast page, GET /api/forecast) stores nothing; this command and
        POST /api/forecast/{household_id} do."""
        from services.access import visible_household_ids
        from services.forecasting.overview import issue_forecasts
        from services.households import HouseholdNotFound

        targets = list(household_ids) or visible_household_ids()
        if not targets:
            raise click.ClickException("There are no households to forecast: create one or load the demo.")
        failed = 0
        for household_id in targets:
            try:
                issued = issue_forecasts(household_id, hours, store=True)  # as POST /api/forecast/{id}
            except HouseholdNotFound:
                click.echo(f"Household {household_id}: does not exist.")
                failed += 1
                continue
            parts = [f"{target} {r.method}, " + (f"stored as forecast {r.forecast_id}" if r.forecast_id
                                                  else "not stored: " + "; ".join([*issued.notes, *r.notes]))
                     for target, r in (("pv", issued.pv), ("load", issued.load)) if r is not None]
            click.echo(f"Household {household_id}: {', '.join(parts)}.")
        if failed == len(targets):
            raise click.ClickException("No household could be forecast.")

    @server.cli.command("forecast-backtest")
    @click.option("--household", "household_id", type=int, required=True, help="Household id.")
    @click.option("--start", type=click.DateTime(formats=["%Y-%m-%d"]), required=True,
                  help="First local day forecast, YYYY-MM-DD.")
    @click.option("--end", type=click.DateTime(formats=["%Y-%m-%d"]), required=True,
                  help="Last local day forecast (included), YYYY-MM-DD.")
    @click.option("--target", type=click.Choice(["pv", "load", "both"]), default="both", show_default=True)
    def forecast_backtest_command(household_id: int, start, end, target: str) -> None:
        """Back-test day-ahead forecasts of local days START..END (models trained only on earlier readings)."""
        from services.forecasting.overview import backtest_days
        from services.households import HouseholdNotFound

        targets = ("pv", "load") if target == "both" else (target,)
        started = time.perf_counter()
        try:
            results = backtest_days(household_id, start.date(), end.date(), targets)
        except HouseholdNotFound:
            raise click.ClickException(f"Household {household_id} does not exist.") from None
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"Back-test of household {household_id}, {start:%Y-%m-%d} to {end:%Y-%m-%d} "
                   f"({time.perf_counter() - started:.1f} s); MAE in kWh per step, stored for the Forecast page:")
        for name, metrics in results.items():
            o = metrics["overall"]
            if o.get("mae") is None:
                click.echo(f"  {name}: nothing to score ({o.get('n', 0)} steps with readings)")
                continue

            def num(key: str, spec: str = ".3f", o=o) -> str:
                return "n/a" if o.get(key) is None else format(o[key], spec)

            line = (f"  {name}: {o['n']} steps, MAE {num('mae')}, RMSE {num('rmse')}, nMAE {num('nmae')}, "
                    f"bias {num('bias', '+.3f')}; persistence nMAE {num('nmae_persistence')} "
                    f"(skill {num('skill_persistence', '+.2f')})")
            if "nmae_physical" in o:
                line += f"; physical nMAE {num('nmae_physical')} (skill {num('skill_physical', '+.2f')})"
            click.echo(line)

    @server.cli.command("weather-refresh")
    @click.option("--hours", type=click.IntRange(1, 384), default=48, show_default=True, help="Hours ahead.")
    @click.option("--force", is_flag=True, help="Ask the provider even where a forecast younger than an hour is stored.")
    @click.option("--add-sites", is_flag=True,
                  help="First create a weather site at each household that has none within 50 km.")
    def weather_refresh_command(hours: int, force: bool, add_sites: bool) -> None:
        """Fetch Open-Meteo weather forecasts for every weather site and store them (needs internet)."""
        from services.weather.refresh import add_household_sites, households_without_site, refresh_weather

        if add_sites:
            for name in add_household_sites():
                click.echo(f"Created weather site {name}.")
        results = refresh_weather(hours, force=force)
        if not results:
            click.echo("There are no weather sites: nothing to refresh. --add-sites creates one per household.")
            return
        for r in results:
            issued = f"issued {r.issued_at:%Y-%m-%d %H:%M} UTC" if r.issued_at else "none stored"
            click.echo(f"{r.name}: {r.status}, {r.hours_stored} h ahead stored ({issued}). {r.message}")
        missing = households_without_site()
        if missing:
            click.echo(f"{missing} household(s) have no weather site within 50 km: --add-sites creates them.")
        if all(r.status == "degraded" for r in results):
            if not any(r.hours_stored for r in results):
                raise click.ClickException(
                    "Open-Meteo could not be reached and no weather forecast is stored: forecasts go without "
                    "weather. Check the internet connection (or a proxy) and run weather-refresh again.")
            click.echo("Open-Meteo could not be reached: forecasts keep using the weather stored before.")

    # --- jobs and schedules (services.jobs) ---

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
