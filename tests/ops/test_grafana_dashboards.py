"""Grafana provisioning without Grafana: every dashboard file is a dashboard model whose panels use
provisioned datasources, every PromQL query returns series from a real Prometheus that scraped
the running app, and every SQL query runs on PostgreSQL."""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

GRAFANA = Path(__file__).resolve().parents[2] / "deploy" / "grafana"
DASHBOARDS = sorted((GRAFANA / "dashboards").glob("*.json"))
PANEL_TYPES = {"timeseries", "stat", "table", "gauge", "bargauge", "text", "row", "barchart", "piechart"}


def provisioned_datasources() -> dict[str, str]:
    """uid -> type of the provisioned datasources."""
    config = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "datasources.yaml").read_text())
    return {ds["uid"]: ds["type"] for ds in config["datasources"]}


def panels(dashboard: dict):
    for panel in dashboard["panels"]:
        yield panel
        yield from panel.get("panels", [])  # collapsed rows


def queries(kind: str):
    """(dashboard file, panel title, query text) of every target of a datasource type."""
    types = provisioned_datasources()
    for path in DASHBOARDS:
        for panel in panels(json.loads(path.read_text())):
            for target in panel.get("targets", []):
                ds = target.get("datasource") or panel["datasource"]
                if types[ds["uid"]] == kind:
                    yield path.name, panel["title"], target["expr" if kind == "prometheus" else "rawSql"]


def test_there_are_an_operations_and_an_energy_dashboard():
    assert {p.name for p in DASHBOARDS} == {"operations.json", "energy.json"}
    provider = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "dashboards.yaml").read_text())
    assert provider["providers"][0]["options"]["path"] == "/etc/grafana/dashboards"
    compose = yaml.safe_load((GRAFANA.parent / "compose.yaml").read_text())
    mounts = compose["services"]["grafana"]["volumes"]
    assert "./grafana/dashboards:/etc/grafana/dashboards:ro" in mounts
    assert "./grafana/provisioning:/etc/grafana/provisioning:ro" in mounts


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_each_file_is_a_grafana_dashboard_model(path):
    board = json.loads(path.read_text())
    for key, kind in (("uid", str), ("title", str), ("schemaVersion", int), ("panels", list), ("time", dict),
                      ("templating", dict), ("annotations", dict), ("tags", list)):
        assert isinstance(board.get(key), kind), f"{path.name}: {key} should be a {kind.__name__}"
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,40}", board["uid"])
    assert board["schemaVersion"] >= 36 and "id" not in board  # provisioned boards get their id from Grafana
    types = provisioned_datasources()
    ids = [panel["id"] for panel in panels(board)]
    assert len(ids) == len(set(ids)), f"{path.name}: panel ids repeat"
    for panel in panels(board):
        where = f"{path.name} / {panel.get('title')}"
        assert panel["type"] in PANEL_TYPES, where
        assert isinstance(panel["id"], int) and panel["title"], where
        grid = panel["gridPos"]
        assert set(grid) == {"h", "w", "x", "y"} and 0 <= grid["x"] and grid["x"] + grid["w"] <= 24, where
        assert panel["targets"], where
        for target in panel["targets"]:
            ds = target.get("datasource") or panel["datasource"]
            assert ds["uid"] in types, f"{where}: datasource {ds['uid']} is not provisioned"
            assert ds["type"] == types[ds["uid"]], f"{where}: datasource type {ds['type']} != {types[ds['uid']]}"
            assert re.fullmatch(r"[A-Z]", target["refId"]), where
    cells = [(p["gridPos"]["x"] + dx, p["gridPos"]["y"] + dy) for p in panels(board)
             for dx in range(p["gridPos"]["w"]) for dy in range(p["gridPos"]["h"])]
    assert len(cells) == len(set(cells)), f"{path.name}: panels overlap"


def test_both_datasources_have_fixed_uids():
    assert provisioned_datasources() == {"energy-prometheus": "prometheus",
                                         "energy-postgres": "grafana-postgresql-datasource"}


# --- PromQL against a real Prometheus that scraped the running stack ----------------------------------------

GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$__interval": "15s", "$__range": "1h", "${__range}": "1h"}


def promql(expr: str) -> str:
    for name, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(name, value)
    assert "$" not in expr, f"unsubstituted Grafana variable in {expr}"
    return expr


PROMQL = list(queries("prometheus"))


@pytest.mark.parametrize(("board", "title", "expr"), PROMQL, ids=[f"{b}:{t}" for b, t, _ in PROMQL])
def test_every_promql_panel_returns_series(native_stack, traffic, board, title, expr):
    """Over the last minutes, as Grafana queries a panel's range: some series with a number in it."""
    deadline = time.monotonic() + 30  # a scrape may time out on a loaded machine: give it a few more
    while True:
        result = native_stack.promql_range(promql(expr))
        numbers = [float(v) for series in result for _t, v in series["values"] if v not in ("NaN", "+Inf", "-Inf")]
        if numbers or time.monotonic() > deadline:
            break
        time.sleep(2)
    assert numbers, f"{board} / {title}: no series with data for {promql(expr)}"


def test_the_scrape_counts_what_the_traffic_did(native_stack, traffic):
    """Labels as documented: the route template, never the household id."""
    home = traffic["households"][0]
    routes = {r["metric"]["route"] for r in native_stack.promql("energy_http_requests_total")}
    assert {"/household/<household_id>", "/api/optimize/<int:household_id>", "/api/ingest/readings"} <= routes
    assert not any(str(home) in route for route in routes)
    refused = native_stack.promql('energy_ingest_rejections_total{channel="api", reason="value"}')
    assert refused and float(refused[0]["value"][1]) >= 1
    up = {r["metric"]["job"]: r["value"][1] for r in native_stack.promql("up")}
    assert up == {"energy-web": "1", "energy-worker": "1", "energy-mqtt-listener": "1"}


# --- SQL against PostgreSQL ---------------------------------------------------------------------------------


def grafana_sql(sql: str, start: date, end: date) -> str:
    """Grafana's PostgreSQL macros as Grafana expands them for a dashboard range."""
    lo, hi = datetime.combine(start, datetime.min.time(), UTC), datetime.combine(end, datetime.min.time(), UTC)
    sql = re.sub(r"\$__timeFilter\(([^)]+)\)", lambda m: f"{m.group(1)} BETWEEN '{lo.isoformat()}' AND '{hi.isoformat()}'",
                 sql)
    sql = sql.replace("$__timeFrom()", f"'{lo.isoformat()}'").replace("$__timeTo()", f"'{hi.isoformat()}'")
    assert "$" not in sql, f"unsubstituted Grafana macro in {sql}"
    return sql


SQL = list(queries("grafana-postgresql-datasource"))


@pytest.fixture
def energy_rows(postgresql_url):
    """Two households with a week of daily rollups in a migrated PostgreSQL store."""
    from services.store.db import session_scope
    from services.store.models import DailyEnergy
    from tests.conftest import _empty_all_tables
    from tests.factories import add_household

    _empty_all_tables(postgresql_url)
    start = date(2026, 5, 1)
    with session_scope(postgresql_url) as session:
        for name in ("North", "South"):
            home = add_household(session, name)
            session.add_all(DailyEnergy(household_id=home.id, day=start + timedelta(days=d), load_kwh=10.0, pv_kwh=6.0,
                                        import_kwh=5.0, export_kwh=1.0) for d in range(7))
    engine = sa.create_engine(postgresql_url)
    yield engine, start
    engine.dispose()


@pytest.mark.parametrize(("board", "title", "sql"), SQL, ids=[f"{b}:{t}" for b, t, _ in SQL])
def test_every_sql_panel_runs_on_postgresql(energy_rows, board, title, sql):
    engine, start = energy_rows
    with engine.connect() as conn:
        rows = conn.execute(sa.text(grafana_sql(sql, start, start + timedelta(days=7)))).mappings().all()
    assert rows, f"{board} / {title}: no rows"
    values = [v for row in rows for v in row.values() if isinstance(v, (int, float))]
    assert values and all(v == v for v in values), f"{board} / {title}: no numbers"


def test_the_energy_sums_are_the_rollups(energy_rows):
    engine, start = energy_rows
    (sql,) = [s for _b, t, s in SQL if t == "Portfolio consumption"]
    with engine.connect() as conn:
        total = conn.execute(sa.text(grafana_sql(sql, start, start + timedelta(days=2)))).scalar_one()
    assert total == pytest.approx(2 * 3 * 10.0)  # two homes, days 1-3 inclusive (BETWEEN), 10 kWh each
