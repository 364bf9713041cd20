"""PostgreSQL compresses the stored plans' arrays and the runs' JSON with LZ4 instead of pglz.

A plan's row of ten 96-step arrays is about 8 kB, above the size at which PostgreSQL compresses
(TOAST, 2 kB): with its default method (pglz) compressing a fleet chunk's 500 plans cost the
database more CPU than inserting them (measured with benchmarks/fleet_scale.py: 0.18 ms of
PostgreSQL CPU per household written with pglz, 0.12 with LZ4; rows about the same size). The
method applies to values written from now on; values already stored stay as they are and read
the same. A server built without LZ4 keeps pglz (nothing changes); SQLite has no such setting.

Revision ID: 0014_plan_compression
Revises: 0013_schedule_plans
Create Date: 2026-12-04
"""
import sqlalchemy as sa
from alembic import op

revision = "0014_plan_compression"
down_revision = "0013_schedule_plans"
branch_labels = None
depends_on = None

COLUMNS = {
    "schedule_plans": ("pv_kw", "load_kw", "charge_kw", "discharge_kw", "import_kw", "export_kw", "curtail_kw",
                       "soc_kwh", "import_price", "export_price"),
    "optimization_runs": ("request", "baselines", "timings_ms"),
}


def _set(method: str) -> None:
    conn = op.get_bind()
    if conn.dialect.name != "postgresql" or not _has_lz4(conn):
        return
    for table, columns in COLUMNS.items():
        op.execute(f"ALTER TABLE {table} " + ", ".join(f"ALTER COLUMN {c} SET COMPRESSION {method}" for c in columns))


def _has_lz4(conn) -> bool:
    """Whether this server was built with LZ4 (the setting lists the methods it knows)."""
    return bool(conn.execute(sa.text(
        "SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'")).scalar())


def upgrade() -> None:
    _set("lz4")


def downgrade() -> None:
    _set("pglz")
