"""Many rows in one short statement on PostgreSQL: one array parameter per column, unnested in SQL.

A multi-row ``VALUES`` of hundreds of rows has thousands of placeholders, which SQLAlchemy renders
and psycopg parses again for every batch: for a fleet chunk's 500 runs and household rows that
costs more than the database's work. ``INSERT ... SELECT * FROM unnest(:a, :b, ...)`` has one
placeholder per column whatever the number of rows, so it is compiled once and sent with a few
arrays. Values go through the column types' own bind processing (JSON serialised with the
dialect's serializer, as the ORM would store it), so the rows stored are the same.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import sqlalchemy as sa


def unnest_rows(table: sa.Table, rows: Sequence[dict], dialect: sa.Dialect) -> tuple[str, str, dict]:
    """``(column list, SELECT ... FROM unnest(...) AS u(...), parameters)`` of ``rows`` (dicts with
    the same keys, columns of ``table``), to follow ``INSERT INTO table (column list)`` in a
    :func:`sqlalchemy.text` statement. PostgreSQL only."""
    if dialect.name != "postgresql":
        raise ValueError(f"unnest of arrays is PostgreSQL's, not {dialect.name}'s")
    names = list(rows[0])
    params: dict[str, list] = {}
    casts = []
    for i, name in enumerate(names):
        column = table.c[name]
        values = [row[name] for row in rows]
        if isinstance(column.type, sa.JSON):
            dumps = getattr(dialect, "_json_serializer", None) or json.dumps
            values = [dumps(v) for v in values]  # None as JSON null, as the JSON type stores it
        else:
            process = column.type.bind_processor(dialect)
            if process is not None:
                values = [process(v) for v in values]
        params[f"c{i}"] = values
        casts.append(f"CAST(:c{i} AS {column.type.compile(dialect)}[])")
    columns = ", ".join(names)
    return columns, f"SELECT * FROM unnest({', '.join(casts)}) AS u({columns})", params
