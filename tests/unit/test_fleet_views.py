"""Fleet runs as pages read them, scoped by organisation on each backend: a caller lists and opens
only its own organisation's runs (another's is not found, as if it did not exist), viewers look but
cannot start one, and the system sees every run."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from services.access import SYSTEM_SCOPE, AccessScope, Forbidden, NotFound
from services.auth import create_organisation
from services.households import create_household
from services.optimization.fleet_runs import fleet_run_status, start_fleet_run
from services.optimization.fleet_views import (
    fleet_run_rows,
    fleet_run_summary,
    portfolio_tomorrow,
    recent_fleet_runs,
)
from tests.optimize_helpers import HORIZON_DAY, add_battery_home, add_flat_tariff

HOME = {"name": "Sonnenhof", "timezone": "Europe/Berlin", "latitude": 52.52, "longitude": 13.40,
        "battery": {"capacity_kwh": 10.0, "max_charge_kw": 5.0, "max_discharge_kw": 5.0}}


@pytest.fixture
def orgs(db_url) -> dict:
    """Organisation A (the default one, with two battery homes) and B (one household), and their people."""
    b = create_organisation("Installer B").id
    a_manager = AccessScope(user_id=11, organisation_id=1, role="manager", label="ann@a.example")
    b_manager = AccessScope(user_id=21, organisation_id=b, role="manager", label="ben@b.example")
    tariff = add_flat_tariff()
    homes = [add_battery_home(name="Zeta Home", tariff_id=tariff), add_battery_home(name="alpha home", tariff_id=tariff)]
    home_b = create_household(HOME, scope=b_manager)
    return {"a_manager": a_manager, "b_manager": b_manager, "homes": homes, "home_b": home_b,
            "a_viewer": AccessScope(user_id=14, organisation_id=1, role="viewer", label="vic@a.example")}


def test_a_run_is_seen_only_by_its_own_organisation(orgs):
    a, b = orgs["a_manager"], orgs["b_manager"]
    older = start_fleet_run(HORIZON_DAY, orgs["homes"][:1], scope=a, inline=True)
    newer = start_fleet_run(HORIZON_DAY, orgs["homes"], scope=a, inline=True)
    b_run = start_fleet_run(HORIZON_DAY, [orgs["home_b"]], scope=b, inline=True)

    mine = recent_fleet_runs(scope=a)
    assert [r.run_id for r in mine] == [newer, older]  # newest first, B's run not among them
    assert (mine[0].started_by, mine[0].state, mine[0].households, mine[0].planned, mine[0].pending) == (
        a.label, "done", 2, 2, 0)
    assert [r.run_id for r in recent_fleet_runs(limit=1, scope=a)] == [newer]
    assert [r.run_id for r in recent_fleet_runs(scope=b)] == [b_run]
    assert {r.run_id for r in recent_fleet_runs(scope=SYSTEM_SCOPE)} == {older, newer, b_run}

    rows = fleet_run_rows(newer, scope=a)
    assert [r.household for r in rows] == ["alpha home", "Zeta Home"]  # by name, whatever the case
    assert all(r.status == "planned" and r.savings is not None and r.reason == "" for r in rows)
    assert fleet_run_summary(newer, scope=a).run_id == newer

    for call in (lambda: fleet_run_rows(newer, scope=b), lambda: fleet_run_summary(newer, scope=b),
                 lambda: fleet_run_status(newer, scope=b), lambda: fleet_run_rows(b_run, scope=a)):
        with pytest.raises(NotFound, match="does not exist") as caught:
            call()
        assert caught.value.status == 404
    with pytest.raises(NotFound) as unknown:
        fleet_run_status(10**6, scope=a)
    assert str(unknown.value) == f"fleet run {10**6} does not exist"  # says no more for a run elsewhere
    assert fleet_run_status(newer, scope=a).planned == 2 and fleet_run_status(b_run).households == 1  # the system


def test_a_viewer_looks_but_cannot_start_a_run(orgs):
    run_id = start_fleet_run(HORIZON_DAY, orgs["homes"], scope=orgs["a_manager"], inline=True)
    viewer = orgs["a_viewer"]
    assert [r.run_id for r in recent_fleet_runs(scope=viewer)] == [run_id]
    assert len(fleet_run_rows(run_id, scope=viewer)) == 2 and fleet_run_status(run_id, scope=viewer).planned == 2
    with pytest.raises(Forbidden):
        start_fleet_run(HORIZON_DAY, orgs["homes"], scope=viewer, inline=True)
    assert len(recent_fleet_runs(scope=viewer)) == 1


@pytest.fixture
def berlin(monkeypatch):
    from services import config

    monkeypatch.setenv("SCHEDULE_TIMEZONE", "Europe/Berlin")
    config.get_settings.cache_clear()
    yield
    config.get_settings.cache_clear()


def test_tomorrow_is_the_portfolios(berlin):
    late = datetime(2026, 12, 4, 23, 30, tzinfo=timezone.utc)  # already the 5th in Berlin
    assert portfolio_tomorrow(late) == date(2026, 12, 6)
    assert portfolio_tomorrow(datetime(2026, 12, 4, 12, 0, tzinfo=timezone.utc)) == date(2026, 12, 5)
