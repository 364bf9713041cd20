"""A database that cannot be reached, said in one line with what to do.

When PostgreSQL is down, the address is wrong or the connection drops mid-command, the driver's
error arrives wrapped in SQLAlchemy's, often chained under another exception raised while
cleaning up, and a command would print a hundred lines of traceback whose last line may name
that other exception. :func:`connection_problem` finds the connection failure anywhere in the
chain and says which database (``DATABASE_URL``, password hidden) and what to check; it returns
None for every other error, which stays a traceback worth reading.
"""

from __future__ import annotations

import re

import sqlalchemy as sa

from services.config import get_settings

#: Driver messages (psycopg, libpq, sqlite3) that mean the database could not be reached or was lost.
_CONNECTION_WORDS = re.compile(
    r"connection (refused|failed|timed out|reset|is closed|already closed|to server)|server closed the connection|"
    r"terminating connection|could not connect|could not translate host name|name or service not known|"
    r"no route to host|network is unreachable|timeout expired|the connection is lost|consuming input failed|"
    r"password authentication failed|database \"[^\"]+\" does not exist|no pg_hba.conf entry|"
    r"unable to open database file|database is locked|disk i/o error",
    re.IGNORECASE,
)


def connection_problem(exc: BaseException, url: str | None = None) -> str | None:
    """One line saying that the database at ``url`` (default ``DATABASE_URL``) cannot be reached or
    was lost, why, and what to do; None when no error in ``exc``'s chain is such a failure."""
    reason = _connection_reason(exc)
    if reason is None:
        return None
    parsed = sa.engine.make_url(url or get_settings().database_url)
    where = parsed.render_as_string(hide_password=True)
    if parsed.get_backend_name() == "sqlite":
        path = parsed.database or ":memory:"
        if "locked" in reason.lower():
            return (f"The SQLite database {path} (DATABASE_URL={where}) is locked by another process ({reason}): "
                    "wait for it to finish, or stop it, and run the command again.")
        return (f"Cannot open the SQLite database {path} (DATABASE_URL={where}): {reason}. Check that the path is "
                "right and that its folder exists and is writable, then run the command again.")
    server = f"{parsed.host or 'localhost'}:{parsed.port or 5432}"
    return (f"Lost or could not open the connection to the database at {where} (DATABASE_URL): {reason}. "
            f"Is the PostgreSQL server up and accepting connections on {server}, and is DATABASE_URL right? "
            "Start the server or fix DATABASE_URL, then run the command again.")


def _connection_reason(exc: BaseException) -> str | None:
    seen: set[int] = set()
    stack: list[BaseException] = [exc]
    while stack:
        error = stack.pop()
        if id(error) in seen:
            continue
        seen.add(id(error))
        driver = error.orig if isinstance(error, sa.exc.DBAPIError) and error.orig is not None else error
        text = _first_line(str(driver))
        is_dbapi = isinstance(error, sa.exc.DBAPIError) or type(error).__name__ in ("OperationalError",
                                                                                   "InterfaceError")
        if is_dbapi and (getattr(error, "connection_invalidated", False) or _CONNECTION_WORDS.search(text)):
            return text or type(driver).__name__
        stack += [e for e in (error.__cause__, error.__context__) if e is not None]
    return None


def _first_line(text: str) -> str:
    line = next((part.strip() for part in text.splitlines() if part.strip()), "")
    return line.removeprefix("connection failed: ").rstrip(".")
