"""Shared fixtures: a clean database on each backend, and where the real data lives.

``db_url`` is parametrized over SQLite and PostgreSQL, so a test that takes it
runs once per backend. PostgreSQL comes from ``TEST_DATABASE_URL`` (for example
``postgresql+psycopg://postgres@127.0.0.1:5432/test``); each test session works
in a database of its own, created here and dropped afterwards, so parallel runs
never see each other's rows. Without ``TEST_DATABASE_URL`` the PostgreSQL cases
skip with a reason.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from services import config
from services.store import db
from services.store.models import Base

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"


def _pg_admin_url() -> str | None:
    url = os.environ.get("TEST_DATABASE_URL", "")
    if not url:
        return None
    return config.Settings(database_url=url).database_url  # normalises the driver name


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("store") / "test.db"
    url = f"sqlite:///{path}"
    db.migrate(url)
    return url


@pytest.fixture(scope="session")
def postgresql_url() -> Iterator[str]:
    admin = _pg_admin_url()
    if admin is None:
        pytest.skip("PostgreSQL tests need TEST_DATABASE_URL (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)")
    name = f"energy_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin_engine = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
    try:
        with admin_engine.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:
        pytest.skip(f"PostgreSQL at TEST_DATABASE_URL is not reachable: {exc.orig}")
    url = sa.engine.make_url(admin).set(database=name).render_as_string(hide_password=False)
    db.migrate(url)
    yield url
    db.get_engine(url).dispose()
    with admin_engine.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin_engine.dispose()


def _empty_all_tables(url: str) -> None:
    engine = db.get_engine(url)
    tables = [t for t in Base.metadata.sorted_tables]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in tables)
            conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(tables):
                conn.execute(table.delete())
        _restore_default_organisation(conn)


def _restore_default_organisation(conn: sa.Connection) -> None:
    """Put back the default organisation that the migration creates, which rows made without an
    organisation belong to (emptying the tables removed it)."""
    from services.store.models import DEFAULT_ORGANISATION_ID, Organisation, utcnow

    conn.execute(sa.insert(Organisation).values(id=DEFAULT_ORGANISATION_ID, name="Default organisation",
                                                created_at=utcnow()))
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT setval(pg_get_serial_sequence('organisations', 'id'), 1)"))


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, monkeypatch) -> Iterator[str]:
    """A migrated, empty database on each backend, made the process's ``DATABASE_URL``.

    Service functions called inside the test use it without being told.
    """
    yield from _as_the_database(request.getfixturevalue(f"{request.param}_url"), monkeypatch)


def _as_the_database(url: str, monkeypatch) -> Iterator[str]:
    """Empty ``url`` and make it the process's ``DATABASE_URL`` for the test."""
    _empty_all_tables(url)
    monkeypatch.setenv("DATABASE_URL", url)
    config.get_settings.cache_clear()
    yield url
    config.get_settings.cache_clear()


@pytest.fixture
def store_url(request, monkeypatch) -> Iterator[str]:
    """The test's database: ``db_url`` when the test takes it (so it runs on both backends), else a
    clean SQLite one made the process's ``DATABASE_URL`` the same way. For fixtures that need a
    database whether or not the test asked for one (a signed-in client needs its token stored)."""
    if "db_url" in request.fixturenames:
        yield request.getfixturevalue("db_url")
        return
    yield from _as_the_database(request.getfixturevalue("sqlite_url"), monkeypatch)


@pytest.fixture
def admin_token(store_url) -> str:
    """The secret of a new API token of an admin of the default organisation, in the test's database
    (made after the tables were emptied, so per test)."""
    from services.auth import create_token
    from services.store.models import DEFAULT_ORGANISATION_ID

    _view, secret = create_token("tests", DEFAULT_ORGANISATION_ID, "admin")
    return secret


@pytest.fixture
def shared_data() -> Path:
    """``../shared/data``; tests that need the real data skip where it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data not found at {SHARED_DATA}")
    return SHARED_DATA



@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """In CI (``CI=true``) nothing may be skipped: a skip there means a missing part."""
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("CI", "").lower() == "true" and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, where every part must be present: {reason}"


@pytest.fixture(scope="session")
def dash_app():
    """The Dash app, created once; importing pages (to call their callbacks) needs it to exist."""
    from app import app

    return app
