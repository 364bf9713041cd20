"""The store path of a batch: stage its readings, then upsert them in one statement.

Inside the caller's transaction:

- PostgreSQL: each chunk goes by binary COPY (psycopg 3) into a temporary table that is
  dropped at commit or rollback; then one ``INSERT ... ON CONFLICT (series_id, ts) DO UPDATE
  ... WHERE readings.value IS DISTINCT FROM EXCLUDED.value`` moves it into ``readings``.
  ``RETURNING (xmax = 0)`` tells inserted rows from updated ones; rows neither inserted nor
  updated were unchanged.
- SQLite: each chunk goes by ``executemany`` into a temporary table; one query counts which
  staged rows are new or changed, then one ``INSERT ... ON CONFLICT DO UPDATE ... WHERE``
  applies them.

A (series, ts) staged twice keeps the row staged last. Client side, duplicates within a chunk
are dropped before staging; across chunks they are possible only where a series' time ranges
overlap, and only then is the stage de-duplicated in SQL (an extra sort the common, time-ordered
file does not pay for).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone

import numpy as np
import pandas as pd
import sqlalchemy as sa

from services.store.bulk import copy_binary, raw_cursor
from services.store.models import Reading

#: Rows per SQLite executemany call: bounds the Python lists built for one call.
_SQLITE_CHUNK = 50_000


@dataclass
class Applied:
    """Outcome of applying a stage: counts over the distinct (series, ts) staged, the duplicates
    merged across chunks, and per series the (min, max) UTC seconds of rows inserted or updated."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicates: int = 0
    touched: dict[int, tuple[int, int]] = field(default_factory=dict)


class Stage:
    """Readings of one batch, staged in a temporary table of the caller's transaction.

    Parameters
    ----------
    conn : sqlalchemy.Connection
        In a transaction (``engine.begin()``); the caller commits or rolls back.
    name : str
        Name of the temporary table (two stages can live in one transaction).
    """

    def __init__(self, conn: sa.Connection, name: str = "ingest_stage") -> None:
        self.conn = conn
        self.name = name
        self.dialect = conn.dialect.name
        self.rows = 0
        self._ranges: dict[int, list[tuple[int, int]]] = {}
        self._span: dict[int, tuple[int, int]] = {}
        self._may_repeat = False
        if self.dialect == "postgresql":
            conn.exec_driver_sql(
                f"CREATE TEMP TABLE {name} (series_id integer, ts timestamptz, value double precision, "
                "seq bigint) ON COMMIT DROP"
            )
        elif self.dialect == "sqlite":
            # pysqlite runs DDL outside the transaction, so a table left by a failed batch on this
            # pooled connection may still be there.
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS temp.{name}")
            conn.exec_driver_sql(f"CREATE TEMP TABLE {name} (series_id INTEGER, ts INTEGER, value REAL, seq INTEGER)")
        else:
            raise NotImplementedError(f"ingestion is not implemented for {self.dialect!r}")

    def add(self, series_id: np.ndarray, ts_s: np.ndarray, value: np.ndarray) -> None:
        """Stage rows: ``series_id`` (int), ``ts_s`` (UTC Unix seconds), ``value`` (stored unit).

        Rows must not repeat a (series_id, ts) within one call (callers de-duplicate a chunk first).
        """
        n = len(series_id)
        if n == 0:
            return
        series_id = np.asarray(series_id, dtype=np.int64)
        ts_s = np.asarray(ts_s, dtype=np.int64)
        value = np.asarray(value, dtype=np.float64)
        seq = np.arange(self.rows, self.rows + n, dtype=np.int64)
        self._note_ranges(series_id, ts_s)
        if self.dialect == "postgresql":
            self._copy(series_id, ts_s, value, seq)
        else:
            statement = f"INSERT INTO temp.{self.name} (series_id, ts, value, seq) VALUES (?, ?, ?, ?)"
            with raw_cursor(self.conn, statement) as cursor:
                for lo in range(0, n, _SQLITE_CHUNK):
                    hi = lo + _SQLITE_CHUNK
                    cursor.executemany(statement, zip(series_id[lo:hi].tolist(), ts_s[lo:hi].tolist(),
                                                      value[lo:hi].tolist(), seq[lo:hi].tolist()))
        self.rows += n

    def apply(self, count: bool = True) -> Applied:
        """Upsert the stage into ``readings`` in one statement and say what changed.

        ``count=False`` skips the inserted/updated split (rows derived from others, such as interval
        energy from meter registers) but still reports the touched windows.
        """
        if self.rows == 0:
            if self.dialect == "sqlite":
                self.conn.exec_driver_sql(f"DROP TABLE temp.{self.name}")
            return Applied()
        source, distinct = self._source()
        if not self._overlaps_store():
            # Nothing stored in the staged ranges: every row is new, so the statement need not
            # say which rows it inserted (that RETURNING costs a fifth of the statement).
            self._upsert(source)
            applied = Applied(inserted=distinct, touched=dict(self._span))
        elif self.dialect == "postgresql":
            applied = self._apply_postgresql(source)
        else:
            applied = self._apply_sqlite(source)
        if self.dialect == "sqlite":
            # Temporary tables live as long as the pooled connection: free the staged rows now.
            self.conn.exec_driver_sql(f"DROP TABLE temp.{self.name}")
        applied.duplicates = self.rows - distinct
        applied.unchanged = distinct - applied.inserted - applied.updated
        if not count:
            applied.inserted = applied.updated = applied.unchanged = 0
        return applied

    # -- internals -------------------------------------------------------------------------

    def _note_ranges(self, series_id: np.ndarray, ts_s: np.ndarray) -> None:
        """Remember each series' time range per call (overlapping ranges may hide a repeat) and overall."""
        frame = pd.DataFrame({"sid": series_id, "ts": ts_s}).groupby("sid")["ts"].agg(["min", "max"])
        for sid, lo, hi in zip(frame.index.tolist(), frame["min"].tolist(), frame["max"].tolist()):
            span = self._span.get(sid)
            self._span[sid] = (lo, hi) if span is None else (min(span[0], lo), max(span[1], hi))
            if self._may_repeat:
                continue
            earlier = self._ranges.setdefault(sid, [])
            if any(a <= hi and lo <= b for a, b in earlier):
                self._may_repeat = True
            earlier.append((lo, hi))

    def _overlaps_store(self) -> bool:
        """Whether ``readings`` holds any row in a staged series' time range (one index probe per series)."""
        probe = sa.select(sa.literal(1)).where(
            Reading.series_id == sa.bindparam("sid"), Reading.ts >= sa.bindparam("lo", type_=Reading.ts.type),
            Reading.ts <= sa.bindparam("hi", type_=Reading.ts.type)).limit(1)
        for sid, (lo, hi) in self._span.items():
            found = self.conn.execute(probe, {"sid": sid, "lo": _utc(lo), "hi": _utc(hi)}).first()
            if found is not None:
                return True
        return False

    def _upsert(self, source: str) -> None:
        """The upsert without counting (see :meth:`apply`)."""
        if self.dialect == "postgresql":
            with self._foreign_key_checked_once():
                self.conn.exec_driver_sql(f"""
                    INSERT INTO readings AS r (series_id, ts, value) SELECT series_id, ts, value FROM ({source}) AS src
                    ON CONFLICT (series_id, ts) DO UPDATE SET value = EXCLUDED.value
                    WHERE r.value IS DISTINCT FROM EXCLUDED.value""")
        else:
            self.conn.exec_driver_sql(f"""
                INSERT INTO readings (series_id, ts, value) SELECT series_id, ts, value FROM ({source}) AS src WHERE true
                ON CONFLICT (series_id, ts) DO UPDATE SET value = excluded.value
                WHERE readings.value IS NOT excluded.value""")

    @contextmanager
    def _foreign_key_checked_once(self) -> Iterator[None]:
        """On PostgreSQL, check ``readings.series_id`` once per series instead of once per row.

        The foreign key's trigger runs a lookup per inserted row, which triples the cost of a
        million-row upsert. Instead, the staged series are locked ``FOR KEY SHARE`` (what each
        per-row check would do, so they cannot be deleted before commit), and the statement runs
        with ``session_replication_role = replica``, which skips the per-row triggers; the
        setting is local to this transaction and reset right after. Where the role may not set
        it (it needs superuser or, from PostgreSQL 15, a grant), the per-row checks just run.
        """
        sids = sorted(self._span)
        locked = self.conn.exec_driver_sql(
            "SELECT count(*) FROM (SELECT id FROM series WHERE id = ANY(%(ids)s) FOR KEY SHARE) AS s",
            {"ids": sids}).scalar_one()
        if locked != len(sids):
            raise LookupError("a series of this batch was deleted while it was being ingested; send it again")
        try:
            with self.conn.begin_nested():
                self.conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
        except sa.exc.DBAPIError:
            yield
            return
        try:
            yield
        finally:
            self.conn.exec_driver_sql("SET LOCAL session_replication_role = DEFAULT")

    def _source(self) -> tuple[str, int]:
        """SQL of the rows to apply (the last staged per key) and how many distinct keys they are."""
        table = self.name if self.dialect == "postgresql" else f"temp.{self.name}"
        if not self._may_repeat:
            return f"SELECT series_id, ts, value FROM {table}", self.rows
        if self.dialect == "postgresql":
            source = (f"SELECT DISTINCT ON (series_id, ts) series_id, ts, value FROM {table} "
                      "ORDER BY series_id, ts, seq DESC")
        else:
            source = (f"SELECT series_id, ts, value FROM {table} WHERE seq IN "
                      f"(SELECT max(seq) FROM {table} GROUP BY series_id, ts)")
        distinct = self.conn.exec_driver_sql(f"SELECT count(*) FROM ({source}) AS d").scalar_one()
        return source, int(distinct)

    def _copy(self, series_id, ts_s, value, seq) -> None:
        copy_binary(self.conn, self.name, [("series_id", "int4", series_id), ("ts", "timestamptz", ts_s),
                                           ("value", "float8", value), ("seq", "int8", seq)])

    def _apply_postgresql(self, source: str) -> Applied:
        statement = f"""
            WITH written AS (
                INSERT INTO readings AS r (series_id, ts, value)
                SELECT series_id, ts, value FROM ({source}) AS src
                ON CONFLICT (series_id, ts) DO UPDATE SET value = EXCLUDED.value
                WHERE r.value IS DISTINCT FROM EXCLUDED.value
                RETURNING r.series_id, r.ts, (r.xmax = 0) AS inserted
            )
            SELECT series_id, count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted),
                   CAST(EXTRACT(EPOCH FROM min(ts)) AS BIGINT), CAST(EXTRACT(EPOCH FROM max(ts)) AS BIGINT)
            FROM written GROUP BY series_id
        """
        with self._foreign_key_checked_once():
            rows = self.conn.exec_driver_sql(statement).all()
        return _applied(rows)

    def _apply_sqlite(self, source: str) -> Applied:
        # SQLite has no RETURNING flag for "inserted or updated", so count first, in the same transaction.
        counts = self.conn.exec_driver_sql(f"""
            SELECT s.series_id, sum(r.value IS NULL), sum(r.value IS NOT NULL AND r.value IS NOT s.value),
                   min(CASE WHEN r.value IS NULL OR r.value IS NOT s.value THEN s.ts END),
                   max(CASE WHEN r.value IS NULL OR r.value IS NOT s.value THEN s.ts END)
            FROM ({source}) AS s LEFT JOIN readings AS r ON r.series_id = s.series_id AND r.ts = s.ts
            GROUP BY s.series_id
        """).all()
        self.conn.exec_driver_sql(f"""
            INSERT INTO readings (series_id, ts, value)
            SELECT series_id, ts, value FROM ({source}) AS src WHERE true
            ON CONFLICT (series_id, ts) DO UPDATE SET value = excluded.value
            WHERE readings.value IS NOT excluded.value
        """)
        return _applied(counts)


def _applied(rows) -> Applied:
    applied = Applied()
    for series_id, inserted, updated, lo, hi in rows:
        applied.inserted += int(inserted or 0)
        applied.updated += int(updated or 0)
        if lo is not None:
            applied.touched[int(series_id)] = (int(lo), int(hi))
    return applied


def _utc(seconds: int) -> datetime:
    return datetime.fromtimestamp(int(seconds), tz=timezone.utc)
