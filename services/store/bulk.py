"""Fast bulk inserts for long, narrow tables (readings, weather, tariff prices).

The ORM costs a few microseconds per row, which is minutes for a year of
quarter hours over a portfolio. These helpers write through the DBAPI
connection inside the caller's SQLAlchemy transaction, so a failure rolls
everything back with the rest of the caller's work:

- PostgreSQL: ``COPY ... FROM STDIN``. Readings go as one binary COPY built
  with numpy (no per-row Python); other tables through psycopg's ``write_row``.
- SQLite: ``executemany`` on the same connection, with times as integer Unix
  seconds (what :class:`~services.store.types.UTCDateTime` stores there).

One reader belongs here too, as the mirror of the binary COPY: :func:`numpy_arrays` makes a
psycopg cursor load ``float8[]`` and ``int8[]`` columns as numpy arrays.

These are plain inserts for an empty key range (the demo loader, a first
import): a row whose key already exists raises ``IntegrityError`` and the
transaction rolls back. Re-ingesting data that may overlap goes through an
upsert (COPY into a temporary table, then ``INSERT ... ON CONFLICT``), which
belongs next to these helpers, not in them.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.schema import AddConstraint, DropConstraint

from services.store.models import Reading

#: Microseconds between the Unix epoch and PostgreSQL's epoch (2000-01-01 UTC).
PG_EPOCH_US = 946_684_800 * 1_000_000
PGCOPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
PGCOPY_TRAILER = struct.pack(">h", -1)
#: Rows per COPY write: large enough to amortise the call, small enough to bound memory.
_CHUNK_ROWS = 500_000

READING_COLUMNS = ("series_id", "ts", "value")


def insert_readings(conn: sa.Connection, frame: pd.DataFrame) -> int:
    """Insert readings as fast as the backend allows, in the caller's transaction.

    Parameters
    ----------
    conn : sqlalchemy.Connection
        An open connection in a transaction (``engine.begin()``); the caller commits.
    frame : DataFrame
        Columns ``series_id`` (int), ``ts`` (timezone-aware UTC datetime64) and ``value``
        (float, in the unit of the series: kWh per interval for energies, kWh for SOC, degC ...).
        Rows with a missing value are refused rather than silently dropped.

    Returns
    -------
    int
        Rows written.

    Notes
    -----
    No ``ON CONFLICT``: a (series_id, ts) already in the table makes the whole
    transaction fail. Sorting by (series_id, ts) first, as the demo loader does,
    keeps the primary-key index appends sequential on both backends. For a first load
    into an empty table on PostgreSQL, wrap the call in :func:`reading_keys_deferred`
    (per-row foreign-key checks make COPY about four times slower).
    """
    missing = [c for c in READING_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"readings frame lacks column(s) {missing}; it needs series_id, ts and value")
    if frame.empty:
        return 0
    series_id = frame["series_id"].to_numpy(dtype=np.int64)
    seconds = utc_seconds(frame["ts"])
    value = frame["value"].to_numpy(dtype=np.float64)
    if np.isnan(value).any():
        raise ValueError("readings contain missing values (NaN); drop those rows before inserting")
    dialect = conn.dialect.name
    if dialect == "postgresql":
        _copy_readings_binary(conn, series_id, seconds, value)
    elif dialect == "sqlite":
        statement = "INSERT INTO readings (series_id, ts, value) VALUES (?, ?, ?)"
        with raw_cursor(conn, statement) as cursor:
            # In chunks: Python lists of all rows at once would cost ~100 bytes per row.
            for lo in range(0, len(series_id), _CHUNK_ROWS):
                hi = lo + _CHUNK_ROWS
                cursor.executemany(
                    statement, zip(series_id[lo:hi].tolist(), seconds[lo:hi].tolist(), value[lo:hi].tolist())
                )
    else:
        raise NotImplementedError(f"bulk insert is not implemented for {dialect!r}")
    return len(frame)


@contextmanager
def reading_keys_deferred(conn: sa.Connection) -> Iterator[None]:
    """On PostgreSQL, build the readings' primary and foreign keys once after a bulk load
    into an EMPTY ``readings`` table, instead of checking them row by row.

    Per-row foreign-key triggers make COPY about four times slower; building the
    primary-key index from sorted data and validating the foreign key in one query
    is much cheaper. The constraints are dropped and re-created inside the
    caller's transaction (DDL is transactional on PostgreSQL), so other sessions
    never see the table without them, and duplicates or unknown series still
    fail the load when the constraints come back. The caller must roll back on
    error (``session_scope`` and ``engine.begin()`` do).

    Elsewhere (SQLite, or a table that already holds rows) this does nothing.
    """
    if conn.dialect.name != "postgresql" or conn.execute(sa.text("SELECT 1 FROM readings LIMIT 1")).first():
        yield
        return
    table = Reading.__table__
    foreign_keys = list(table.foreign_key_constraints)
    for fk in foreign_keys:
        conn.execute(DropConstraint(fk))
    conn.execute(DropConstraint(table.primary_key))
    yield
    # Sorting 4-5 million keys fits in memory with a bit more than the default 64 MB.
    conn.execute(sa.text("SET LOCAL maintenance_work_mem = '256MB'"))
    conn.execute(AddConstraint(table.primary_key))
    for fk in foreign_keys:
        conn.execute(AddConstraint(fk))


def insert_rows(conn: sa.Connection, table: sa.Table | str, frame: pd.DataFrame) -> int:
    """Insert a DataFrame into any narrow table, in the caller's transaction.

    Column names of ``frame`` must be column names of ``table``. Datetime columns
    must be timezone-aware (UTC is assumed after conversion); NaN becomes NULL.
    Meant for thousands to a few hundred thousand rows (weather, tariff prices);
    readings have the faster :func:`insert_readings`.
    """
    name = table if isinstance(table, str) else table.name
    if frame.empty:
        return 0
    columns = list(frame.columns)
    dialect = conn.dialect.name
    data = []
    for column in columns:
        series = frame[column]
        if isinstance(series.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_any_dtype(series):
            if dialect == "sqlite":
                data.append(utc_seconds(series).tolist())
            else:
                data.append(_as_utc(series).dt.to_pydatetime().tolist())
        else:
            data.append(series.astype(object).where(series.notna(), None).tolist())
    rows = zip(*data)
    quoted = ", ".join(f'"{c}"' for c in columns)
    if dialect == "postgresql":
        statement = f'COPY "{name}" ({quoted}) FROM STDIN'
        with raw_cursor(conn, statement) as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)
    elif dialect == "sqlite":
        marks = ", ".join("?" for _ in columns)
        statement = f'INSERT INTO "{name}" ({quoted}) VALUES ({marks})'
        with raw_cursor(conn, statement) as cursor:
            cursor.executemany(statement, rows)
    else:
        raise NotImplementedError(f"bulk insert is not implemented for {dialect!r}")
    return len(frame)


def utc_seconds(values: pd.Series | pd.DatetimeIndex | Sequence) -> np.ndarray:
    """Unix seconds (int64) of timezone-aware instants; naive times are refused as in the store."""
    index = pd.DatetimeIndex(values)
    if index.tz is None:
        raise ValueError("timestamps are naive: attach a time zone (UTC) before inserting")
    return index.tz_convert("UTC").as_unit("s").asi8.astype(np.int64, copy=False)


def _as_utc(series: pd.Series) -> pd.Series:
    if series.dt.tz is None:
        raise ValueError(f"column {series.name!r} holds naive datetimes: attach a time zone (UTC)")
    return series.dt.tz_convert("UTC")


def _copy_readings_binary(conn: sa.Connection, series_id: np.ndarray, seconds: np.ndarray,
                          value: np.ndarray) -> None:
    copy_binary(conn, "readings", [("series_id", "int4", series_id), ("ts", "timestamptz", seconds),
                                   ("value", "float8", value)])


#: numpy layouts of the PostgreSQL types that binary COPY writes here (big-endian).
_PG_BINARY_TYPES = {"int4": ">i4", "int8": ">i8", "float8": ">f8", "timestamptz": ">i8"}
_FLOAT8_OID = 701


def copy_binary(conn: sa.Connection, table: str, columns: Sequence[tuple[str, str, np.ndarray]],
                chunk_rows: int = _CHUNK_ROWS) -> int:
    """``COPY table (...) FROM STDIN (FORMAT BINARY)`` of numpy columns, with no Python per row.

    ``columns`` are ``(name, type, values)`` with type ``int4``, ``int8``, ``float8`` or
    ``timestamptz`` (values in Unix seconds), all of the same length and without NaN, or
    ``float8[]`` with values of shape (rows, n): one array of n numbers per row.
    Each binary row is an int16 field count, then per field an int32 length and the
    big-endian value (an array: its header, then an int32 length and the value of each element);
    a numpy record array with that layout serialises a chunk at once.
    Returns the rows written.
    """
    layout = [("fields", ">i2")]
    sizes = []
    for i, (_, kind, values) in enumerate(columns):
        if kind == "float8[]":  # header: dimensions, has nulls, element type (float8), length, lower bound
            element = np.dtype([("len", ">i4"), ("value", ">f8")])
            layout += [(f"len{i}", ">i4"), (f"head{i}", ">i4", (5,)), (f"v{i}", element, (values.shape[1],))]
            sizes.append(20 + element.itemsize * values.shape[1])
        else:
            layout += [(f"len{i}", ">i4"), (f"v{i}", _PG_BINARY_TYPES[kind])]
            sizes.append(np.dtype(_PG_BINARY_TYPES[kind]).itemsize)
    row = np.dtype(layout)
    n = len(columns[0][2]) if columns else 0
    statement = f"COPY {table} ({', '.join(name for name, _, _ in columns)}) FROM STDIN (FORMAT BINARY)"
    with raw_cursor(conn, statement) as cursor, cursor.copy(statement) as copy:
        copy.write(PGCOPY_HEADER)
        for lo in range(0, n, chunk_rows):
            hi = min(lo + chunk_rows, n)
            rec = np.empty(hi - lo, dtype=row)
            rec["fields"] = len(columns)
            for i, (_, kind, values) in enumerate(columns):
                rec[f"len{i}"] = sizes[i]
                chunk = values[lo:hi]
                if kind == "float8[]":
                    rec[f"head{i}"] = (1, 0, _FLOAT8_OID, values.shape[1], 1)
                    rec[f"v{i}"]["len"] = 8
                    rec[f"v{i}"]["value"] = chunk
                else:
                    rec[f"v{i}"] = chunk * 1_000_000 - PG_EPOCH_US if kind == "timestamptz" else chunk
            copy.write(rec.tobytes())
        copy.write(PGCOPY_TRAILER)
    return n


def numpy_arrays(cursor) -> None:
    """Make ``cursor`` (psycopg) load one-dimensional ``float8[]`` and ``int8[]`` values read in
    binary as numpy arrays (float64, int64), parsed in one step instead of one Python number per
    element; an array with NULLs is a float64 array with NaN there. For reads of many long arrays
    (a fleet chunk's forecasts: 100,000 values)."""
    from psycopg import postgres
    from psycopg.adapt import Loader
    from psycopg.pq import Format

    class _Array(Loader):
        format = Format.BINARY
        element = ">f8"

        def load(self, data) -> np.ndarray:
            return _binary_array(bytes(data), self.element)

    class _Int8Array(_Array):
        element = ">i8"

    cursor.adapters.register_loader(postgres.types["float8"].array_oid, _Array)
    cursor.adapters.register_loader(postgres.types["int8"].array_oid, _Int8Array)


def _binary_array(data: bytes, element: str) -> np.ndarray:
    """A PostgreSQL binary array of 8-byte elements (big-endian ``element``): dimensions, a NULL flag,
    the element type, per dimension its length and lower bound, then per element its length (-1:
    NULL) and value."""
    ndim, has_null = struct.unpack_from(">ii", data)
    kind = np.float64 if element == ">f8" else np.int64
    if ndim == 0:
        return np.empty(0, dtype=kind)
    if ndim != 1:
        raise ValueError(f"expected a one-dimensional array, got {ndim} dimensions")
    (n,) = struct.unpack_from(">i", data, 12)
    if not has_null:
        cells = np.frombuffer(data, dtype=np.dtype([("len", ">i4"), ("value", element)]), count=n, offset=20)
        return cells["value"].astype(kind)
    out, at = np.full(n, np.nan), 20  # NULLs: step through the elements
    for k in range(n):
        (size,) = struct.unpack_from(">i", data, at)
        at += 4
        if size >= 0:
            out[k] = np.frombuffer(data, dtype=element, count=1, offset=at)[0]
            at += size
    return out


@contextmanager
def raw_cursor(conn: sa.Connection, statement: str) -> Iterator:
    """A DBAPI cursor on the connection's transaction. Driver errors come out as SQLAlchemy's
    (``IntegrityError`` for a duplicate key), as from ``conn.execute``, so callers catch one kind."""
    dbapi_conn = conn.connection.driver_connection
    cursor = dbapi_conn.cursor()
    try:
        yield cursor
    except conn.dialect.loaded_dbapi.Error as exc:
        raise sa.exc.DBAPIError.instance(statement, None, exc, conn.dialect.loaded_dbapi.Error,
                                         dialect=conn.dialect) from exc
    finally:
        cursor.close()
