"""A worker process's warm-up: the solver run once and its program dropped (the first chunk's
schedules are a cold process's), and on PostgreSQL its connections without JIT compilation."""

from __future__ import annotations

import sqlalchemy as sa

from services.optimization import fleet
from services.optimization.engines import ENGINES, program_cache
from services.store.db import get_engine, session_scope


def test_warm_up_leaves_no_program_and_turns_jit_off_on_postgresql(db_url):
    store = get_engine(db_url)
    try:
        fleet.warm_up(db_url)
        fleet.warm_up(db_url)  # twice: one listener
        assert all(len(program_cache(engine)._entries) == 0 for engine in ENGINES)
        if store.dialect.name == "postgresql":
            for _ in range(2):  # every connection, after its transactions end
                with session_scope(db_url) as session:
                    assert session.execute(sa.text("SHOW jit")).scalar() == "off"
    finally:
        if sa.event.contains(store, "connect", fleet._without_jit):
            sa.event.remove(store, "connect", fleet._without_jit)
            store.dispose()
