"""The What-if page's fleet view called as plain functions, on each backend: the button starts a fleet
run for tomorrow as the signed-in manager, the view lists the organisation's runs and shows the chosen
run's households from the store, polling only while the shown run is running."""

from __future__ import annotations

import contextvars

import pytest
import sqlalchemy as sa
from dash._callback_context import context_value
from dash._utils import AttributeDict

from components import ids
from components.optimize_controls import fleet_card
from components.theme import HIDDEN, SHOWN
from services.access import AccessScope, use_scope
from services.auth import create_organisation
from services.optimization import fleet_runs
from services.optimization.fleet_views import portfolio_tomorrow
from services.store.db import session_scope
from services.store.models import FleetRun, OptimizationRun
from tests.dash_tree import find
from tests.optimize_helpers import add_battery_home, add_flat_tariff

MANAGER = AccessScope(user_id=7, organisation_id=1, role="manager", label="ada@utility.example")
VIEWER = AccessScope(user_id=8, organisation_id=1, role="viewer", label="vic@utility.example")


@pytest.fixture
def page(dash_app):
    import pages.optimize as page

    return page


def _triggered(prop_id: str, fn, *args):
    """Call callback ``fn`` as if ``prop_id`` (``"component.prop"``) had triggered it."""
    def run():
        context_value.set(AttributeDict(triggered_inputs=[{"prop_id": prop_id, "value": None}]))
        return fn(*args)
    return contextvars.copy_context().run(run)


def _homes() -> tuple[int, int]:
    tariff = add_flat_tariff()
    return (add_battery_home(name="Battery Home", days=15, tariff_id=tariff),
            add_battery_home(name="Another Home", readings=False, tariff_id=tariff))


def test_the_button_starts_tomorrows_run_and_the_view_shows_its_households(db_url, page):
    home, unread = _homes()
    with use_scope(MANAGER):
        started, note = page.start_fleet(1)
        assert "Fleet run" in note and "2 households: planned" in note
        (runs, select, shown, rows, summary, percent, label, style, tick_off) = page.show_fleet_runs(
            None, None, None, None)  # the page opens: the newest run
    assert shown == started["run_id"] and select == [{"key": str(shown)}]
    with session_scope() as session:
        run = session.get(FleetRun, shown)
        assert (run.day, run.organisation_id, run.scope["label"]) == (portfolio_tomorrow(), 1, MANAGER.label)
        assert session.scalars(sa.select(OptimizationRun.kind)).all() == ["fleet"]
    assert [r["day"] for r in runs] == [portfolio_tomorrow().isoformat()]
    assert (runs[0]["started_by"], runs[0]["state"], runs[0]["planned"], runs[0]["failed"], runs[0]["pending"],
            runs[0]["households"]) == (MANAGER.label, "done", 1, 1, 0, 2)
    assert runs[0]["started"] and runs[0]["finished"]
    assert [r["household"] for r in rows] == ["Another Home", "Battery Home"]  # by name
    failed, planned = rows
    assert planned["status"] == "planned" and planned["cost"] is not None and planned["cycles"] is not None
    assert 0 <= planned["self_sufficiency"] <= 1 and planned["reason"] == ""
    assert failed["status"] == "failed" and "no load readings" in failed["reason"] and failed["savings"] is None
    assert summary.startswith("1 of 2 households planned, 1 could not be: see “Why not”; together they save ")
    assert summary.endswith(" tomorrow against no battery.")
    assert (percent, label, style, tick_off) == (100, "2 of 2 households", HIDDEN, True)

    columns = find(fleet_card("EUR", 2), ids.OPTIMIZE_FLEET_GRID).columnDefs
    csv = page.download_fleet_csv(1, None, rows, columns)
    assert "Why not" in csv["content"] and "Battery Home" in csv["content"]


def test_the_view_follows_the_chosen_run_and_polls_while_it_runs(db_url, page, monkeypatch):
    home, _ = _homes()
    with use_scope(MANAGER):
        first, _ = page.start_fleet(1)
        monkeypatch.setattr(fleet_runs, "dispatch_chunks", lambda *a, **k: None)  # the workers have it
        second, note = page.start_fleet(2)
        assert "the workers plan it" in note
        out = _triggered(f"{ids.OPTIMIZE_FLEET_STARTED}.data", page.show_fleet_runs, second, None, None,
                         first["run_id"])
        runs, select, shown, rows, summary, percent, label, style, tick_off = out
        assert [r["run_id"] for r in runs] == [second["run_id"], first["run_id"]]  # newest first
        assert (shown, select, runs[0]["state"], runs[0]["pending"]) == (second["run_id"],
                                                                        [{"key": str(second["run_id"])}], "running", 2)
        assert {r["status"] for r in rows} == {"pending"}
        assert summary == "Planning tomorrow: 0 of 2 households planned, 0 could not be, 2 to go."
        assert (percent, label, style, tick_off) == (0, "0 of 2 households", SHOWN, False)  # it polls

        # Choosing the first run in the list: its households, the list left alone, no polling.
        out = _triggered(f"{ids.OPTIMIZE_FLEET_RUNS}.selectedRows", page.show_fleet_runs, second, 3,
                         [{"key": str(first["run_id"]), "run_id": first["run_id"]}], second["run_id"])
        runs, select, shown, rows, summary, *_, tick_off = out
        assert (shown, tick_off, runs is page.no_update, select is page.no_update) == (first["run_id"], True, True,
                                                                                       True)
        assert summary.startswith("1 of 2 households planned")

        # A poll while the shown run is done but a newer one runs (a start under way): the newer one.
        out = _triggered(f"{ids.OPTIMIZE_FLEET_TICK}.n_intervals", page.show_fleet_runs, None, 4, None,
                         first["run_id"])
        assert out[2] == second["run_id"] and out[-1] is False
        # Polled again before a chunk ended: the same households done, so they are not sent again.
        again = _triggered(f"{ids.OPTIMIZE_FLEET_TICK}.n_intervals", page.show_fleet_runs, None, 5, None,
                           second["run_id"], out[6])
        assert (again[2], again[3], again[4], again[-1]) == (second["run_id"], page.no_update, page.no_update, False)
        fleet_runs.plan_fleet_chunk(second["run_id"], 0)
        out = _triggered(f"{ids.OPTIMIZE_FLEET_TICK}.n_intervals", page.show_fleet_runs, None, 5, None,
                         second["run_id"])
        assert out[0][0]["state"] == "done" and out[4].startswith("1 of 2 households planned") and out[-1] is True


def test_another_organisations_run_is_never_shown_and_a_viewer_cannot_start_one(db_url, page):
    _homes()
    with use_scope(MANAGER):
        mine, _ = page.start_fleet(1)
    other = AccessScope(user_id=21, organisation_id=create_organisation("Installer B").id, role="manager",
                        label="ben@b.example")
    with use_scope(other):
        runs, _, shown, rows, summary, *_ = _triggered(f"{ids.OPTIMIZE_FLEET_RUNS}.selectedRows", page.show_fleet_runs,
                                                       None, None, [{"run_id": mine["run_id"]}], None)
        assert (runs, shown, rows, summary) == (page.no_update, None, [], "No fleet run yet.")
        started, note = page.start_fleet(1)  # B has no household with a battery
        assert "error" in started and "no household has one yet" in started["error"]
    with use_scope(VIEWER):
        runs, _, shown, rows, *_ = page.show_fleet_runs(None, None, None, None)  # viewers look
        assert shown == mine["run_id"] and len(rows) == 2
        started, note = page.start_fleet(1)
        assert "error" in started and "Not started" in str(note) and "viewer" in started["error"]
    with session_scope() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(FleetRun)) == 1
