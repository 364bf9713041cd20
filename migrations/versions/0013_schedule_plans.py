"""A stored run keeps its schedule's steps as one row of arrays (``schedule_plans``: the first
step's start, the step length, and one array per quantity: float8[] on PostgreSQL, JSON lists
elsewhere) instead of a row per step (``schedule_steps``): a fleet chunk of 500 households
writes 500 rows instead of 48,000, each with its key and foreign-key check. The steps of every
stored run move across, value for value, and back on downgrade. Steps must be evenly spaced (the
store never wrote others); a run whose steps are not stops the migration and is named.

Revision ID: 0013_schedule_plans
Revises: 0012_fleet_household_figures
Create Date: 2026-12-04
"""
import json

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import services.store.types

revision = "0013_schedule_plans"
down_revision = "0012_fleet_household_figures"
branch_labels = None
depends_on = None

COLUMNS = ("pv_kw", "load_kw", "charge_kw", "discharge_kw", "import_kw", "export_kw", "curtail_kw", "soc_kwh",
           "import_price", "export_price")
VALUES = sa.JSON().with_variant(postgresql.ARRAY(sa.Float()), "postgresql")
_BATCH_RUNS = 2000  # SQLite moves runs in Python, this many at a time


def upgrade() -> None:
    op.create_table(
        "schedule_plans",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("start", services.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("step_s", sa.Integer(), nullable=False),
        sa.Column("steps", sa.Integer(), nullable=False),
        *[sa.Column(name, VALUES, nullable=False) for name in COLUMNS],
        sa.ForeignKeyConstraint(["run_id"], ["optimization_runs.id"],
                                name=op.f("fk_schedule_plans_run_id_optimization_runs"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("run_id", name=op.f("pk_schedule_plans")),
    )
    conn = op.get_bind()
    _refuse_uneven_steps(conn)
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text(
            "INSERT INTO schedule_plans (run_id, start, step_s, steps, " + ", ".join(COLUMNS) + ") "
            "SELECT s.run_id, min(s.ts), CASE WHEN count(*) > 1 THEN "
            "CAST(round(extract(epoch FROM max(s.ts) - min(s.ts)) / (count(*) - 1)) AS integer) "
            "ELSE CAST(round(COALESCE(CAST(r.request ->> 'dt_h' AS float8), 0.25) * 3600) AS integer) END, "
            "count(*), " + ", ".join(f"array_agg(s.{c} ORDER BY s.ts)" for c in COLUMNS) + " "
            "FROM schedule_steps s JOIN optimization_runs r ON r.id = s.run_id GROUP BY s.run_id, r.request ->> 'dt_h'"))
    else:
        _move_up_in_python(conn)
    op.drop_table("schedule_steps")


def downgrade() -> None:
    op.create_table(
        "schedule_steps",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("ts", services.store.types.UTCDateTime(timezone=True), nullable=False),
        *[sa.Column(name, sa.Float(), nullable=False) for name in COLUMNS],
        sa.ForeignKeyConstraint(["run_id"], ["optimization_runs.id"],
                                name=op.f("fk_schedule_steps_run_id_optimization_runs"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("run_id", "ts", name=op.f("pk_schedule_steps")),
        sqlite_with_rowid=False,
    )
    conn = op.get_bind()
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text(
            "INSERT INTO schedule_steps (run_id, ts, " + ", ".join(COLUMNS) + ") "
            "SELECT p.run_id, p.start + (u.k - 1) * make_interval(secs => p.step_s), "
            + ", ".join(f"u.{c}" for c in COLUMNS) + " FROM schedule_plans p CROSS JOIN LATERAL unnest("
            + ", ".join(f"p.{c}" for c in COLUMNS) + ") WITH ORDINALITY AS u(" + ", ".join(COLUMNS) + ", k)"))
    else:
        _move_down_in_python(conn)
    op.drop_table("schedule_plans")


def _epoch(conn) -> str:
    """A step's start in Unix seconds, in SQL (SQLite keeps them so already)."""
    return "extract(epoch FROM ts)" if conn.dialect.name == "postgresql" else "ts"


def _refuse_uneven_steps(conn) -> None:
    """Stop before anything moves when a run's steps are not evenly spaced (a plan row cannot hold them)."""
    e = _epoch(conn)
    uneven = conn.execute(sa.text(
        f"SELECT DISTINCT run_id FROM (SELECT run_id, {e} - first_value({e}) OVER w AS since, "
        f"(row_number() OVER w - 1) AS k, nth_value({e}, 2) OVER whole - first_value({e}) OVER whole AS step "
        "FROM schedule_steps WINDOW w AS (PARTITION BY run_id ORDER BY ts), "
        "whole AS (PARTITION BY run_id ORDER BY ts ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)) AS d "
        "WHERE k > 0 AND since <> k * step ORDER BY run_id LIMIT 20")).scalars().all()
    if uneven:
        raise RuntimeError(f"the steps of stored run(s) {', '.join(map(str, uneven))} are not evenly spaced; "
                           "a plan row keeps a start and a step length only")


def _move_up_in_python(conn) -> None:
    """SQLite: each run's steps read in time order and written as JSON lists (Python's repr of a
    float reads back as the same float; SQLite's own JSON functions print 15 digits only)."""
    run_ids = conn.execute(sa.text("SELECT DISTINCT run_id FROM schedule_steps ORDER BY run_id")).scalars().all()
    dt_of = {}
    for run_id, request in conn.execute(sa.text("SELECT id, request FROM optimization_runs")):
        loaded = json.loads(request) if isinstance(request, str) else (request or {})
        dt_of[run_id] = (loaded or {}).get("dt_h") or 0.25
    insert = sa.text("INSERT INTO schedule_plans (run_id, start, step_s, steps, " + ", ".join(COLUMNS) + ") VALUES "
                     "(:run_id, :start, :step_s, :steps, " + ", ".join(f":{c}" for c in COLUMNS) + ")")
    for lo in range(0, len(run_ids), _BATCH_RUNS):
        batch = run_ids[lo:lo + _BATCH_RUNS]
        rows = conn.execute(sa.text("SELECT run_id, ts, " + ", ".join(COLUMNS) + " FROM schedule_steps WHERE run_id "
                                    "IN (" + ", ".join(map(str, batch)) + ") ORDER BY run_id, ts")).all()
        by_run: dict[int, list] = {}
        for row in rows:
            by_run.setdefault(row[0], []).append(row)
        plans = []
        for run_id, steps in by_run.items():
            stamps = [int(s[1]) for s in steps]
            step_s = stamps[1] - stamps[0] if len(stamps) > 1 else int(round(float(dt_of.get(run_id, 0.25)) * 3600))
            plans.append({"run_id": run_id, "start": stamps[0], "step_s": step_s, "steps": len(steps),
                          **{c: json.dumps([float(s[2 + j]) for s in steps]) for j, c in enumerate(COLUMNS)}})
        if plans:
            conn.execute(insert, plans)


def _move_down_in_python(conn) -> None:
    """SQLite: each plan's arrays as rows of steps again (JSON read back by Python)."""
    insert = sa.text("INSERT INTO schedule_steps (run_id, ts, " + ", ".join(COLUMNS) + ") VALUES "
                     "(:run_id, :ts, " + ", ".join(f":{c}" for c in COLUMNS) + ")")
    plans = conn.execute(sa.text("SELECT run_id, start, step_s, steps, " + ", ".join(COLUMNS) +
                                 " FROM schedule_plans ORDER BY run_id")).all()
    rows = []
    for plan in plans:
        arrays = [json.loads(v) for v in plan[4:]]
        rows += [{"run_id": plan[0], "ts": int(plan[1]) + k * int(plan[2]),
                  **{c: arrays[j][k] for j, c in enumerate(COLUMNS)}} for k in range(int(plan[3]))]
        if len(rows) >= 100_000:
            conn.execute(insert, rows)
            rows = []
    if rows:
        conn.execute(insert, rows)
