"""Every CLI command answers a database it cannot reach, or loses, with one line naming DATABASE_URL
and what to do, and a non-zero exit code; other errors are left alone."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from services import config
from services.store.connection_errors import connection_problem

DOWN = "postgresql+psycopg://postgres:secret@127.0.0.1:1/energy"  # nothing listens on port 1
MAPPING = str(Path(__file__).resolve().parents[1] / "fixtures" / "cli_mapping.json")


@pytest.fixture
def cli(dash_app, monkeypatch):
    """``cli(*args)``: ``flask --app app <args>`` with DATABASE_URL pointing at a server that is down."""
    monkeypatch.setenv("DATABASE_URL", DOWN)
    config.get_settings.cache_clear()
    runner = dash_app.server.test_cli_runner()
    yield lambda *args: runner.invoke(args=list(args))
    config.get_settings.cache_clear()


@pytest.mark.parametrize("args", [
    ["migrate"], ["init-db"], ["demo-data", "--households", "1"], ["forecast-train"], ["forecast-issue"],
    ["forecast-backtest", "--household", "1", "--start", "2026-06-01", "--end", "2026-06-02"],
    ["weather-refresh"], ["mapping-save", "m", MAPPING], ["ingest", "README.md", "--mapping", "m"],
])
def test_a_server_that_is_down_is_one_line_with_what_to_do(cli, args):
    result = cli(*args)
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    (line,) = lines
    assert "127.0.0.1:1" in line and "DATABASE_URL" in line and "Is the PostgreSQL server up" in line
    assert "secret" not in line and "Traceback" not in result.output


def test_every_command_is_covered(dash_app):
    import click

    group = dash_app.server.cli
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert getattr(command.callback, "_explained", False), name


def test_a_connection_lost_mid_command_is_named_and_other_errors_are_not(db_url):
    if not db_url.startswith("postgresql"):
        assert connection_problem(sa.exc.OperationalError("SELECT 1", {}, Exception("database is locked")),
                                  db_url).startswith("The SQLite database")
        return
    engine = sa.create_engine(db_url, poolclass=sa.pool.NullPool)
    with engine.connect() as victim, engine.connect() as admin:
        pid = victim.execute(sa.text("SELECT pg_backend_pid()")).scalar()
        admin.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        with pytest.raises(sa.exc.DBAPIError) as lost:
            victim.execute(sa.text("SELECT 1"))
        with pytest.raises(sa.exc.ProgrammingError) as typo:
            admin.execute(sa.text("SELECT * FROM no_such_table"))
    try:
        raise RuntimeError("cleaning up failed") from lost.value  # chained under another error
    except RuntimeError as outer:
        message = connection_problem(outer, db_url)
    assert message is not None and "Is the PostgreSQL server up" in message, message
    assert connection_problem(typo.value, db_url) is None
    assert connection_problem(ValueError("household 7 does not exist"), db_url) is None
