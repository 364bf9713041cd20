"""Engines, sessions and schema migrations for the store.

One engine per database URL per process (engines are connection pools, not
shared mutable data: a second gunicorn worker builds its own and sees the
same database). ``DATABASE_URL`` picks SQLite (default) or PostgreSQL.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from services.config import PROJECT_ROOT, get_settings


def get_engine(url: str | None = None) -> sa.Engine:
    """The engine for ``url`` (default: the configured ``DATABASE_URL``), one per URL per process."""
    url = url or get_settings().database_url
    engine = _ENGINES.get(url)
    if engine is None:
        engine = _ENGINES.setdefault(url, _create_engine(url))
    return engine


#: This process's connection pools by URL (a forked child forgets the parent's: see below).
_ENGINES: dict[str, sa.Engine] = {}


def _create_engine(url: str) -> sa.Engine:
    if url.startswith("sqlite"):
        path = sa.engine.make_url(url).database
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"timeout": 30})
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return sa.create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)


def _forget_inherited_connections() -> None:
    """In a forked child (background callbacks, process pools), drop the parent's pooled
    connections without closing them: they belong to the parent, and a connection used by two
    processes breaks (SQLite then waits on locks that are never released). The child opens its own."""
    for engine in _ENGINES.values():
        engine.dispose(close=False)


os.register_at_fork(after_in_child=_forget_inherited_connections)


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    # Foreign keys are off by default in SQLite; WAL lets readers and one writer overlap.
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


@lru_cache(maxsize=8)
def _session_factory(url: str) -> sessionmaker[Session]:
    return sessionmaker(bind=get_engine(url), expire_on_commit=False)


@contextmanager
def session_scope(url: str | None = None) -> Iterator[Session]:
    """A session in one transaction: committed on success, rolled back on any error."""
    session = _session_factory(url or get_settings().database_url)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def migrate(url: str | None = None) -> None:
    """Bring the schema to the newest Alembic revision (creates it on an empty database)."""
    from alembic import command
    from alembic.config import Config

    cfg = Config(str(PROJECT_ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    engine = get_engine(url)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def backend_name(url: str | None = None) -> str:
    """``sqlite`` or ``postgresql``."""
    return get_engine(url).dialect.name
