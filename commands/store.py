"""The store: migrate the schema, load the demo portfolio or the CityLearn data.

Commands: migrate, init-db, demo-data, import-citylearn.
"""

from __future__ import annotations

import time
from datetime import date

import click
from flask import Flask

#: Portfolios larger than this get a week of readings by default instead of a year.
LARGE_PORTFOLIO = 500


def register_store_cli(server: Flask) -> None:
    """Attach the store commands (migrate, init-db, demo-data, import-citylearn)."""

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

    @server.cli.command("import-citylearn")
    @click.option("--data-dir", type=click.Path(exists=True, file_okay=False), default=None,
                  help="The citylearn_2022_fontana_ca folder (default ../shared/data/citylearn_2022_fontana_ca).")
    @click.option("--replace", is_flag=True, help="Update households of the same name instead of refusing.")
    def import_citylearn_command(data_dir: str | None, replace: bool) -> None:
        """Create the 17 CityLearn Fontana homes (PV, batteries, seasonal TOU tariff); readings come separately."""
        from services.households.citylearn import import_citylearn
        from services.store.db import migrate
        from services.validation import ValidationProblem

        migrate()
        try:
            result = import_citylearn(data_dir, replace=replace)
        except (FileNotFoundError, ValidationProblem) as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"CityLearn: {result.created} household(s) created, {result.updated} updated; the tariff "
                   f"reproduces {result.tariff_reproduced_share:.1%} of pricing.csv's hours.")
