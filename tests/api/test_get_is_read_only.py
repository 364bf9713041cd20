"""GET only reads: every GET operation of the API, asked about every household, leaves every table of
the store as it was (a forecast or a plan is stored by POST, not by looking at it)."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from services.demo import load_demo_portfolio
from services.households import list_households
from services.store.db import session_scope
from services.store.models import Base
from tests.optimize_helpers import add_battery_home


def table_counts() -> dict[str, int]:
    with session_scope() as session:
        return {t.name: session.scalar(sa.select(sa.func.count()).select_from(t)) for t in Base.metadata.sorted_tables}


def test_no_get_writes_to_the_store(client, spec, db_url):
    load_demo_portfolio(n_households=3, seed=7, end=datetime.now(UTC).date(), days=14, url=db_url)
    add_battery_home()
    homes = [h.id for h in list_households()]
    gets = [path for path, operations in spec["paths"].items() if "get" in operations]
    before = table_counts()
    asked = 0
    for path in gets:
        for home in homes if "{household_id}" in path else [None]:
            response = client.get(path.replace("{household_id}", str(home)))
            assert response.status_code < 500, (path, home, response.get_json())
            asked += response.status_code == 200
    assert asked >= 3 * len(homes)  # households, forecasts and plans were really computed
    assert table_counts() == before
    # What GET answered, POST stores.
    assert client.post(f"/api/forecast/{homes[0]}").status_code == 200
    assert table_counts()["forecasts"] > before["forecasts"]
