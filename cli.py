"""Flask CLI commands on ``app.server``: ``flask --app app <command>``."""

from __future__ import annotations

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
