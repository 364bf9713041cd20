"""Many rows in one short statement on PostgreSQL: one array parameter per column, unnested in SQL.

A multi-row ``VALUES`` of hundreds of rows has thousands of placeholders, which SQLAlchemy renders
and psycopg parses again for every batch: for a fleet chunk's 500 runs and household rows that
costs more than the database's work. ``INSERT ... SELECT * FROM unnest(%b, %b, ...)`` has one
placeholder per column whatever the number of rows, and is sent with a few arrays. Values go through the column types' own bind processing (JSON serialised with the
dialect's serializer, as the ORM would store it), so the rows stored are the same.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import sqlalchemy as sa

from services.store.bulk import raw_cursor


def insert_unnested(conn: sa.Connection, table: sa.Table, rows: Sequence[dict], suffix: str = "") -> list[tuple]:
    """``INSERT INTO table (...) SELECT * FROM unnest(...) <suffix>`` of ``rows`` (dicts with the
    same keys, columns of ``table``) in the caller's transaction; returns the rows fetched when
    ``suffix`` ends with a RETURNING clause, else []. PostgreSQL only.

    The arrays go in psycopg's binary format (``%b``: no quoting of every JSON text); a column
    that is NULL in every row goes as an array literal of NULLs, which has no element type to send.
    """
    if conn.dialect.name != "postgresql":
        raise ValueError(f"unnest of arrays is PostgreSQL's, not {conn.dialect.name}'s")
    names = list(rows[0])
    params: dict[str, object] = {}
    casts = []
    for i, name in enumerate(names):
        column = table.c[name]
        values = [row[name] for row in rows]
        if isinstance(column.type, sa.JSON):
            dumps = getattr(conn.dialect, "_json_serializer", None) or json.dumps
            values = [dumps(v) for v in values]  # None as JSON null, as the JSON type stores it
        else:
            process = column.type.bind_processor(conn.dialect)
            if process is not None:
                values = [process(v) for v in values]
        params[f"c{i}"] = values if any(v is not None for v in values) else "{" + ",".join(["NULL"] * len(values)) + "}"
        casts.append(f"CAST(%(c{i})b AS {column.type.compile(conn.dialect)}[])")
    columns = ", ".join(names)
    statement = (f"INSERT INTO {table.name} ({columns}) SELECT * FROM unnest({', '.join(casts)}) AS u({columns}) "
                 f"{suffix}")
    with raw_cursor(conn, statement) as cursor:
        cursor.execute(statement, params)
        return cursor.fetchall() if cursor.description is not None else []
