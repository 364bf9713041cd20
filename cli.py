"""Flask CLI commands on ``app.server``: ``flask --app app <command>``.

Every command, also those other modules add to ``server.cli``, answers a database it cannot
reach or loses with one line naming ``DATABASE_URL`` and what to do, and exit code 1
(:func:`explain_database_errors`), instead of a traceback.
"""

from __future__ import annotations

import functools

import click
from flask import Flask


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

    from commands.accounts import register_accounts_cli
    from commands.forecast import register_forecast_cli
    from commands.ingest import register_ingest_cli
    from commands.jobs import register_jobs_cli
    from commands.notify import register_notify_cli
    from commands.store import register_store_cli

    register_notify_cli(server)  # notify, notify-rule-add, notify-rules, notify-rule-delete
    register_accounts_cli(server)  # create-org, create-user, reset-password, list-users, token-create/-revoke, tokens
    register_store_cli(server)  # migrate, init-db, demo-data, import-citylearn
    register_ingest_cli(server)  # ingest, mapping-save, mqtt-listen
    register_forecast_cli(server)  # forecast-train, forecast-issue, forecast-backtest, weather-refresh
    register_jobs_cli(server)  # job, fleet-run, fleet-status
