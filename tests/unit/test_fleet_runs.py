"""Fleet runs in chunks on each backend, without a broker (chunks planned in this process):
every household planned or failed once with its reason, and a chunk delivered again, or twice
at once, changes nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from services.access import AccessScope
from services.optimization import fleet_runs
from services.optimization.fleet_runs import (
    fleet_run_status,
    plan_fleet_chunk,
    requeue_stale_chunks,
    start_fleet_run,
)
from services.store.db import session_scope
from services.store.models import FleetRun, FleetRunHousehold, OptimizationRun, SchedulePlan, utcnow
from services.validation import ValidationProblem
from tests.optimize_helpers import HORIZON_DAY, add_battery_home, add_flat_tariff

# The default organisation (1), which the factories' households belong to.
SCOPE = AccessScope(user_id=7, organisation_id=1, role="manager", label="Ada at Utility")


def _homes() -> tuple[list[int], list[int]]:
    """Four plannable households and two that cannot be planned (no battery, no readings)."""
    tariff = add_flat_tariff()
    good = [add_battery_home(name=f"Home {i}", tariff_id=tariff) for i in range(4)]
    bad = [add_battery_home(name="No Battery", battery=None, tariff_id=tariff),
           add_battery_home(name="No Readings", readings=False, tariff_id=tariff)]
    return good, bad


def _snapshot() -> tuple:
    with session_scope() as session:
        rows = session.execute(sa.select(FleetRunHousehold.household_id, FleetRunHousehold.status,
                                         FleetRunHousehold.reason, FleetRunHousehold.optimization_run_id,
                                         FleetRunHousehold.updated_at).order_by(FleetRunHousehold.household_id)).all()
        runs = session.scalar(sa.select(sa.func.count()).select_from(OptimizationRun))
        steps = session.scalar(sa.select(sa.func.coalesce(sa.func.sum(SchedulePlan.steps), 0)))
    return [tuple(r) for r in rows], runs, steps


def test_a_fleet_run_plans_each_household_once_and_says_why_others_failed(db_url):
    good, bad = _homes()
    run_id = start_fleet_run(HORIZON_DAY, [*good, *bad], scope=SCOPE, chunk_size=4, inline=True)
    status = fleet_run_status(run_id)
    assert (status.state, status.households, status.planned, status.failed, status.pending) == ("done", 6, 4, 2, 0)
    assert (status.chunks, status.chunks_done, status.progress, status.scope) == (2, 2, 1.0, SCOPE)
    reasons = {f.household: f.reason for f in status.failures}
    assert "has no battery" in reasons["No Battery"] and "no load readings" in reasons["No Readings"]
    with session_scope() as session:
        plans = session.execute(sa.select(OptimizationRun.household_id, OptimizationRun.kind)).all()
        linked = set(session.scalars(sa.select(FleetRunHousehold.optimization_run_id)
                                     .where(FleetRunHousehold.status == "planned")))
        run = session.get(FleetRun, run_id)
        assert (run.planned, run.failed, run.finished_at is not None) == (4, 2, True)
        first_step = session.scalar(sa.select(sa.func.min(SchedulePlan.start)))
    assert sorted(h for h, _ in plans) == sorted(good) and {k for _, k in plans} == {"fleet"}
    assert len(linked) == 4 and None not in linked
    assert first_step.date() == HORIZON_DAY - timedelta(days=1)  # Berlin's midnight is 22:00 UTC the day before

    before = _snapshot()
    assert plan_fleet_chunk(run_id, 0) == {"run_id": run_id, "chunk": 0, "planned": 0, "failed": 0, "skipped": 0}
    assert plan_fleet_chunk(run_id, 1)["planned"] == 0
    assert _snapshot() == before  # delivered again: nothing changed


def test_two_deliveries_of_a_chunk_at_once_store_one_plan_each(db_url, monkeypatch):
    monkeypatch.setattr(fleet_runs, "dispatch_chunks", lambda *a, **k: None)  # a broker that holds the tasks
    monkeypatch.setattr(fleet_runs, "UPSERT_ROWS", 4)  # the 6 rows of the chunk in two statements
    good, bad = _homes()
    run_id = start_fleet_run(HORIZON_DAY, [*good, *bad], chunk_size=10)
    assert fleet_run_status(run_id).pending == 6
    first, second = fleet_runs._plan(run_id, 0, None), fleet_runs._plan(run_id, 0, None)  # both read "pending"
    assert fleet_runs._record(run_id, 0, *first, None) == {"run_id": run_id, "chunk": 0, "planned": 4,
                                                           "failed": 2, "skipped": 0}
    before = _snapshot()
    assert fleet_runs._record(run_id, 0, *second, None)["skipped"] == 6
    assert _snapshot() == before and before[1] == 4


def test_stale_chunks_are_handed_out_again(db_url, monkeypatch):
    good, _ = _homes()
    monkeypatch.setattr(fleet_runs, "dispatch_chunks", lambda *a, **k: None)
    run_id = start_fleet_run(HORIZON_DAY, good, chunk_size=3)
    monkeypatch.undo()
    assert requeue_stale_chunks(older_than_s=60, inline=True) == {}  # still fresh: left to its workers
    with session_scope() as session:
        session.get(FleetRun, run_id).updated_at = utcnow() - timedelta(minutes=5)
    assert requeue_stale_chunks(older_than_s=60, inline=True) == {run_id: [0, 1]}
    assert fleet_run_status(run_id).planned == 4


def test_bad_requests_are_refused_with_a_reason(db_url):
    good, _ = _homes()
    with pytest.raises(ValidationProblem, match="Chunk size must be from 1"):
        start_fleet_run(HORIZON_DAY, good, chunk_size=0)
    with pytest.raises(ValidationProblem, match="No household has the id"):
        start_fleet_run(HORIZON_DAY, [*good, max(good) + 50])
    with pytest.raises(LookupError, match="does not exist"):
        fleet_run_status(12345)
    everyone = fleet_run_status(start_fleet_run(HORIZON_DAY, inline=True))  # default: households with a battery
    assert (everyone.households, everyone.planned) == (5, 4)  # the one without readings fails


def test_the_command_plans_a_fleet_and_lists_the_failures(db_url, dash_app):
    from click.testing import CliRunner

    good, bad = _homes()
    args = ["fleet-run", "--day", HORIZON_DAY.isoformat(), "--chunk-size", "3"]
    for household_id in [*good, *bad]:
        args += ["--household", str(household_id)]
    result = CliRunner().invoke(dash_app.server.cli, args)
    assert result.exit_code == 0, result.output
    assert "done; 4 planned, 2 failed, 0 pending" in result.output
    assert "No Battery (id" in result.output and "has no battery" in result.output
    unknown = CliRunner().invoke(dash_app.server.cli, ["fleet-status", "999"])
    assert unknown.exit_code != 0 and "fleet run 999 does not exist" in unknown.output


def test_the_requeue_schedule_hands_out_a_stale_runs_chunks_and_leaves_a_fresh_one(db_url, monkeypatch):
    from services.tasks.schedules import fire_schedule, last_runs

    good, _ = _homes()
    monkeypatch.setattr(fleet_runs, "dispatch_chunks", lambda *a, **k: None)  # a broker that lost the tasks
    stale = start_fleet_run(HORIZON_DAY, good[:2], chunk_size=3)
    fresh = start_fleet_run(HORIZON_DAY, good[2:], chunk_size=3)
    monkeypatch.undo()
    with session_scope() as session:
        session.get(FleetRun, stale).updated_at = utcnow() - timedelta(seconds=fleet_runs.STALE_CHUNK_S + 60)
    job = fire_schedule("requeue_fleet_chunks")
    assert job.state == "done" and job.result["fleet_chunks_requeued"] == {str(stale): [0]}
    assert fleet_run_status(stale).planned == 2 and fleet_run_status(fresh).pending == 2
    assert last_runs()["requeue_fleet_chunks"][1] == job.id


def test_each_planned_household_keeps_the_figures_of_its_schedule(db_url):
    """The fleet table's columns (savings against the rule, self-sufficiency, cycles) are those of
    the household's own schedule; a failed household has none."""
    from services.optimization.chunk_inputs import chunk_inputs
    from services.optimization.fleet import schedule_each

    good, bad = _homes()
    run_id = start_fleet_run(HORIZON_DAY, [good[0], bad[0]], scope=SCOPE, inline=True)
    with session_scope() as session:
        rows = {r.household_id: r for r in session.scalars(
            sa.select(FleetRunHousehold).where(FleetRunHousehold.run_id == run_id))}
        created = session.get(FleetRun, run_id).created_at
    inputs = chunk_inputs([good[0]], day=HORIZON_DAY, now=created)
    [(_, schedule, _)] = schedule_each([(good[0], inputs.inputs[good[0]].request)])
    planned = rows[good[0]]
    assert planned.savings_vs_rule == pytest.approx(schedule.savings_vs_rule)
    assert planned.self_sufficiency == pytest.approx(schedule.optimized.self_sufficiency)
    assert planned.cycles == pytest.approx(schedule.optimized.equivalent_full_cycles)
    assert planned.self_sufficiency is not None and planned.cost == pytest.approx(schedule.optimized.total_cost)
    failed = rows[bad[0]]
    assert (failed.status, failed.cost, failed.savings_vs_rule, failed.self_sufficiency, failed.cycles) == (
        "failed", None, None, None, None)
