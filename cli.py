"""Flask CLI commands on ``app.server``: ``flask --app app <command>``."""

from __future__ import annotations

import time
from datetime import date

import click
from flask import Flask


def register_cli(server: Flask) -> None:
    """Attach the project's commands to the Flask server."""

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
        from services.store.db import migrate

        migrate()
        click.echo("Schema is up to date.")
        report = seed_if_empty()
        if report is None:
            click.echo("The store already has households: demo data not loaded.")
        else:
            click.echo(report.summary())

    @server.cli.command("demo-data")
    @click.option("--households", type=click.IntRange(1, 2000), default=None,
                  help="Households to generate (default DEMO_HOUSEHOLDS, 24).")
    @click.option("--seed", type=int, default=None, help="Seed of the generator (default DEMO_SEED).")
    @click.option("--end", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
                  help="Last day + 1 of the year of data, YYYY-MM-DD (default: today, UTC).")
    @click.option("--days", type=click.IntRange(1, 3660), default=365, show_default=True,
                  help="Length of the period in days.")
    @click.option("--replace", is_flag=True,
                  help="Delete every household (and its data) first, then load the demo.")
    def demo_data_command(households: int | None, seed: int | None, end, days: int, replace: bool) -> None:
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
        report = load_demo_portfolio(n_households=households, seed=seed, end=end_day, days=days)
        click.echo(report.summary())
