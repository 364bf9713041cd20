"""Forecasting: train, issue and back-test PV/load forecasts, and refresh the weather.

Commands: forecast-train, forecast-issue, forecast-backtest, weather-refresh.
"""

from __future__ import annotations

import time

import click
from flask import Flask


def register_forecast_cli(server: Flask) -> None:
    """Attach the forecast commands (forecast-train, forecast-issue, forecast-backtest, weather-refresh)."""

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
