"""Column types shared by the store's tables.

``UTCDateTime`` keeps time in UTC on both backends: ``timestamptz`` on
PostgreSQL, integer Unix seconds on SQLite (compact, sortable, and cheap to
bucket). Python always sees timezone-aware UTC datetimes.
"""

from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement


class UTCDateTime(sa.types.TypeDecorator):
    """An instant in UTC: ``timestamptz`` on PostgreSQL, Unix seconds (INTEGER) on SQLite.

    Naive datetimes are refused: a time without an offset is ambiguous, and
    local time belongs at the edges (parsing input, drawing charts).
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect):
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.BigInteger())
        return dialect.type_descriptor(sa.DateTime(timezone=True))

    def process_bind_param(self, value, dialect: Dialect):
        if value is None:
            return None
        if isinstance(value, (int, float)) and dialect.name == "sqlite":
            return int(value)
        if not isinstance(value, datetime):  # pandas.Timestamp is a datetime
            raise TypeError(f"expected a datetime, got {type(value).__name__}")
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value.isoformat()} given: attach a time zone")
        value = value.astimezone(timezone.utc)
        if dialect.name == "sqlite":
            return int(value.timestamp())
        return value

    def process_result_value(self, value, dialect: Dialect):
        if value is None:
            return None
        if dialect.name == "sqlite":
            return datetime.fromtimestamp(int(value), tz=timezone.utc)
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class epoch_seconds(FunctionElement):
    """SQL expression: a ``UTCDateTime`` column as Unix seconds (numeric) on either backend."""

    type = sa.BigInteger()
    inherit_cache = True


@compiles(epoch_seconds)
def _epoch_default(element, compiler, **kw):
    (col,) = list(element.clauses)
    return compiler.process(col, **kw)


@compiles(epoch_seconds, "postgresql")
def _epoch_pg(element, compiler, **kw):
    (col,) = list(element.clauses)
    return f"CAST(EXTRACT(EPOCH FROM {compiler.process(col, **kw)}) AS BIGINT)"


def time_bucket(column, seconds: int):
    """SQL expression: the start of the ``seconds``-long UTC bucket holding ``column``, as Unix seconds.

    Buckets are aligned on the Unix epoch, so 900 gives quarter hours and 3600
    hours in UTC. Group by it, then read the value back with
    ``pandas.to_datetime(x, unit="s", utc=True)``.
    """
    if seconds <= 0:
        raise ValueError(f"bucket length must be positive seconds, got {seconds}")
    step = sa.literal(int(seconds), sa.BigInteger())
    return (epoch_seconds(column) // step) * step
