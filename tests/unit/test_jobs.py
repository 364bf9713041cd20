"""services.jobs without Redis (the embedded path) on both store backends, and the Jobs page's
callbacks called as plain functions: records, progress, failure reasons, cancel, files, schedules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from services.access import AccessScope
from services.auth import list_entries
from services.ingestion.history import close_interrupted_batches, list_batches
from services.jobs import cancel_job, execute_job, get_job, list_jobs, read_file, records, save_file, start_job
from services.store.db import session_scope
from services.store.models import IngestionBatch, Job, JobFile, Reading
from tests.factories import add_household, load_mapping_spec, wide_load_csv

# The default organisation (1), which the factories' households belong to.
ANNA = AccessScope(user_id=7, organisation_id=1, role="manager", label="anna@utility.example")


@pytest.fixture
def home(db_url) -> int:
    with session_scope() as session:
        return add_household(session, "Home A").id


def test_a_job_records_who_started_it_its_progress_and_result(home):
    file_id = save_file("meter.csv", wide_load_csv(50), "text/csv", scope=ANNA)
    seen = []
    job = start_job("ingest_upload", {"file_id": file_id, "mapping": load_mapping_spec(home), "file_kind": "csv",
                                      "filename": "meter.csv"}, ANNA, on_progress=lambda d, t, s: seen.append(s))
    assert (job.state, job.runner, job.progress) == ("done", "embedded", 1.0)
    assert job.started_by == ANNA
    assert job.result["summary"].startswith("received 50, inserted 50")
    assert job.started_at <= job.finished_at and job.duration_s >= 0
    assert seen[0] == "reading" and seen[-1] == "50 rows read"
    with session_scope() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Reading)) == 50
    assert [j.id for j in list_jobs()] == [job.id]


def test_a_failure_keeps_the_reason_a_person_can_act_on(db_url):
    job = start_job("forecast_train", {"household_id": 999}, ANNA)
    assert job.state == "failed"
    assert "999" in job.error and "Unexpected" not in job.error


def test_bad_kinds_and_parameters_are_refused_before_anything_is_recorded(db_url):
    with pytest.raises(ValueError, match="unknown job kind 'nope'"):
        start_job("nope", {})
    with pytest.raises(ValueError, match="must be JSON"):
        start_job("sweep", {"when": datetime.now(UTC)})
    assert list_jobs() == []


def test_cancel_while_running_stops_the_batch_without_storing_half_of_it(home):
    file_id = save_file("big.csv", wide_load_csv(60_000), "text/csv")
    job = records.create_job("ingest_upload", {"file_id": file_id, "mapping": load_mapping_spec(home), "file_kind": "csv"})

    seen = []

    def cancel_after_first_chunk(done, total, stage):
        if done >= 20_000:
            seen.append(get_job(job.id).progress)  # what the Jobs page sees mid-batch, on either backend
            cancel_job(job.id)

    ended = execute_job(job.id, on_progress=cancel_after_first_chunk)
    assert ended.state == "cancelled"
    assert ended.message == "cancelled while running"
    assert 0 < seen[0] < 1
    with session_scope() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Reading)) == 0
        assert session.scalar(sa.select(IngestionBatch.status)) == "failed"
    # Audited once, also when SQLite's lock (the batch's) made the entry wait for the job to end.
    (entry,) = list_entries(None)
    assert (entry.action, entry.target, entry.before) == ("job.cancel", f"job:{job.id}", {"state": "running"})


def test_a_cancelled_queued_job_never_runs(home):
    job = records.create_job("sweep", {}, ANNA)
    assert cancel_job(job.id).state == "cancelled"
    assert execute_job(job.id).state == "cancelled"  # a late delivery of its task does nothing
    assert get_job(job.id).started_at is None


def test_cancelling_a_job_that_does_not_exist_leaves_no_flag_for_the_next_job_of_that_id(db_url):
    """A browser can send back any job id: cancelling one that is not there (or has ended) must not
    cancel the job that later gets that id (SQLite hands out a deleted row's id again)."""
    with session_scope() as session:
        next_id = (session.scalar(sa.select(sa.func.max(Job.id))) or 0) + 1
    with pytest.raises(records.JobNotFound):
        cancel_job(next_id)
    job = start_job("sweep", {})
    assert job.id == next_id and job.state == "done"


def test_a_job_cancelled_while_queued_leaves_no_flag_for_the_next_job_of_that_id(db_url, home):
    params = {"file_id": save_file("m.csv", wide_load_csv(5), "text/csv", scope=ANNA), "mapping": load_mapping_spec(home),
              "file_kind": "csv"}
    queued = records.create_job("ingest_upload", params, ANNA)
    assert cancel_job(queued.id).state == "cancelled"
    with session_scope() as session:  # the sweep removes old jobs, and SQLite gives their ids out again
        session.execute(sa.delete(Job).where(Job.id == queued.id))
    job = start_job("ingest_upload", params, ANNA)  # asks for a cancel at every step
    assert job.state == "done"
    assert job.id == queued.id or not db_url.startswith("sqlite")  # PostgreSQL's sequence never reuses one


def test_an_ended_job_is_not_run_again(db_url):
    job = start_job("sweep", {})
    assert job.state == "done"
    again = execute_job(job.id)
    assert (again.state, again.finished_at) == ("done", job.finished_at)


def test_sweep_ends_jobs_and_batches_whose_process_died(home):
    long_ago = datetime.now(UTC) - timedelta(days=1)
    with session_scope() as session:
        session.add(Job(kind="forecast_train", params={}, started_by={}, state="running", progress=0.3, message="",
                        runner="celery", cancel_requested=False, created_at=long_ago, started_at=long_ago,
                        heartbeat_at=long_ago))
        session.add(IngestionBatch(source="x.csv", channel="file", started_at=long_ago, status="running",
                                   received=0, inserted=0, updated=0, unchanged=0, rejected=0))
        ancient = datetime.now(UTC) - timedelta(days=100)
        session.add(Job(kind="sweep", params={}, started_by={}, state="done", progress=1.0, message="done",
                        runner="embedded", cancel_requested=False, created_at=ancient, started_at=ancient,
                        finished_at=ancient))
    job = start_job("sweep", {})
    assert job.result["batches_closed"] == 1 and len(job.result["jobs_failed"]) == 1
    assert job.result["jobs_removed"] == 1 and len(list_jobs()) == 2  # the dead one and this sweep are kept
    dead = get_job(job.result["jobs_failed"][0])
    assert dead.state == "failed" and "Start the job again" in dead.error
    assert list_batches()[0].status == "failed"
    assert close_interrupted_batches() == 0


def test_files_travel_by_id(db_url):
    file_id = save_file("report.xlsx", b"\x00\x01binary", "application/vnd.ms-excel")
    stored = read_file(file_id)
    assert (stored.filename, stored.content) == ("report.xlsx", b"\x00\x01binary")
    with pytest.raises(LookupError, match="upload or build it again"):
        read_file(file_id + 1)


def test_a_schedule_fired_at_a_frozen_time_records_its_run_and_job(db_url):
    from services.tasks.schedules import fire_schedule, last_runs

    frozen = datetime(2026, 12, 2, 3, 0, tzinfo=UTC)
    job = fire_schedule("sweep_interrupted", now=frozen)
    assert job.state == "done" and job.started_by.label == "schedule sweep_interrupted"
    at, job_id, detail = last_runs()["sweep_interrupted"]
    assert (at, job_id, detail) == (frozen, job.id, f"job {job.id} done")


def test_alert_schedule_says_when_notifications_are_not_installed(db_url):
    import importlib.util

    job = start_job("alerts", {})
    assert job.state == "done"
    installed = importlib.util.find_spec("services.notifications") is not None
    assert job.result["installed"] is installed
    digest = start_job("alerts_digest", {})
    assert digest.state == "done" and digest.result["installed"] is installed
    if installed:  # no rules in an empty store: nothing evaluated is sent
        assert (job.result["rules"], job.result["sent"], digest.result["rules"]) == (0, 0, 0)


# --- the Jobs page's callbacks ----------------------------------------------------------------------


def test_jobs_page_lists_shows_failure_reason_and_cancels(dash_app, db_url):
    from pages import jobs as page

    failed = start_job("forecast_train", {"household_id": 999}, ANNA)
    queued = records.create_job("forecast_backtest", {"household_id": 1, "days": 7}, ANNA)
    listing = page.refresh_jobs(1, None)
    assert [r["id"] for r in listing["rows"]] == [queued.id, failed.id]
    assert listing["tick_disabled"] is False  # a queued job: keep refreshing
    row = listing["rows"][1]
    assert (row["who"], row["state"]) == ("anna@utility.example", "failed")
    assert row["what"] == "Retrain forecast models, household 999"

    detail, cancel_disabled, download_disabled = page.show_job([row], listing["rows"])
    assert (cancel_disabled, download_disabled) == (True, True)
    assert "999" in str(detail) and "Why it failed" in str(detail)

    _, cancel_disabled, _ = page.show_job([listing["rows"][0]], listing["rows"])
    assert cancel_disabled is False
    out = page.cancel_selected(1, [listing["rows"][0]])
    assert out["alert"] == f"Job {queued.id} cancelled."
    assert out["list"]["rows"][0]["state"] == "cancelled" and out["list"]["tick_disabled"] is True


def test_jobs_page_downloads_the_file_a_job_made(dash_app, db_url):
    from pages import jobs as page

    file_id = save_file("reports.zip", b"PK zip", "application/zip")
    job = records.create_job("report", {"fmt": "csv", "households": [1, 2]})
    records.mark_running(job.id)
    records.finish_job(job.id, "done", result={"filename": "reports.zip", "households": 2}, result_file_id=file_id)
    rows = page.refresh_jobs(None, 1)["rows"]
    assert rows[0]["result"] == "reports.zip (2 households)"
    assert page.show_job(rows, rows)[2] is False
    sent, alert_open, _, _ = page.download_job_file(1, rows)
    assert sent["filename"] == "reports.zip" and sent["base64"] is True and alert_open is False

    with session_scope() as session:  # a week later the sweep has removed the file
        session.execute(sa.delete(JobFile))
    sent, alert_open, text, color = page.download_job_file(1, rows)
    assert (sent, alert_open, color) == (page.no_update, True, "warning") and "build it again" in text


def test_beat_schedule_follows_the_typed_settings():
    from celery.schedules import crontab

    from services.config import load_settings
    from services.tasks.schedules import beat_schedule

    settings = load_settings({"FLEET_PLAN_AT": "6:30", "RETRAIN_AT": "01:15", "WEATHER_REFRESH_MINUTES": "30",
                              "SCHEDULE_TIMEZONE": "Europe/Berlin"})
    entries = beat_schedule(settings)
    assert set(entries) == {"weather_refresh", "issue_forecasts", "retrain_stale_models", "sweep_interrupted", "requeue_fleet_chunks", "fleet_plan_tomorrow",
                            "evaluate_alerts", "alert_digest"}
    assert entries["fleet_plan_tomorrow"]["schedule"] == crontab(hour=6, minute=30)
    assert entries["retrain_stale_models"]["schedule"] == crontab(hour=1, minute=15)
    assert entries["alert_digest"]["schedule"] == crontab(hour=7, minute=0)
    assert entries["weather_refresh"]["schedule"] == timedelta(minutes=30)
    assert entries["sweep_interrupted"]["schedule"] == timedelta(minutes=15)
    assert entries["requeue_fleet_chunks"]["schedule"] == timedelta(minutes=5)
    assert all(e["task"] == "schedules.fire" and e["options"] == {"queue": "bulk"} for e in entries.values())


def test_the_job_command_starts_a_job_through_start_job(dash_app, db_url):
    runner = dash_app.server.test_cli_runner()
    done = runner.invoke(args=["job", "sweep"])
    assert done.exit_code == 0 and done.output.startswith("Job 1 (sweep) done:")
    failed = runner.invoke(args=["job", "forecast_train", "--param", "household_id=5"])
    assert failed.exit_code == 1 and "Household 5 does not exist" in failed.output
    assert [(j.kind, j.started_by.label, j.params) for j in list_jobs()] == [
        ("forecast_train", "command line", {"household_id": 5}), ("sweep", "command line", {})]
    unknown = runner.invoke(args=["job", "nope"])
    assert unknown.exit_code != 0 and "unknown job kind 'nope'" in unknown.output


def test_a_page_cancel_that_stopped_the_process_records_the_job_cancelled(dash_app, home):
    import pages.data as data_page
    import pages.reports as reports_page

    started = []
    job = start_job("sweep", {}, on_start=started.append)
    assert [j.id for j in started] == [job.id] and started[0].state == "queued"  # told before it ran

    for cancel in (data_page.cancel_ingestion, reports_page.cancel_reports):
        running = records.create_job("ingest_upload", {"file_id": 1})
        records.mark_running(running.id)
        assert cancel(1, running.id) is None  # the store of the job's id is emptied
        ended = get_job(running.id)
        assert (ended.state, ended.message) == ("cancelled", "cancelled from its page")
    assert data_page.cancel_ingestion(1, None) is None  # nothing running: nothing to do


def test_the_scheduled_kinds_end_done_with_what_they_found(home):
    stale = start_job("forecast_retrain_stale", {})
    assert stale.state == "done", stale.error
    assert stale.result["households"] == 1 and stale.result["trained"] == {str(home): []}
    assert all(key.startswith(f"{home} ") for key in stale.result["skipped"])  # no readings: reasons kept
    fleet = start_job("fleet_tomorrow", {})  # a fleet run of every household with a battery: none here
    assert fleet.state == "done", fleet.error
    assert (fleet.result["households"], fleet.result["state"]) == (0, "done") and fleet.result["fleet_run_id"]
    weather = start_job("weather_refresh", {"hours": 48})
    assert (weather.state, weather.result["sites"]) == ("done", 0)  # no weather site: nothing to fetch


def test_without_workers_the_jobs_page_says_how_to_start_a_scheduled_job(dash_app, db_url):
    from components import ids
    from pages import jobs as page
    from tests.dash_tree import find

    layout = page.layout()
    assert find(layout, ids.JOBS_START).disabled is True and "REDIS_URL" in str(layout)
    out = page.start_now(1, "weather_refresh")
    assert out["alert_color"] == "warning" and "flask --app app job weather_refresh" in out["alert"]
    assert list_jobs() == []  # a web request never runs a scheduled job itself


def test_a_job_that_cannot_be_queued_fails_with_what_to_check(db_url, monkeypatch):
    import socket

    from services import config
    from services.tasks.celery_app import celery_app
    from tests.workers.conftest import _point_at

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    closed = f"redis://127.0.0.1:{sock.getsockname()[1]}/0"
    sock.close()  # nothing listens there: connections are refused
    original = celery_app.conf.broker_url, celery_app.conf.result_backend
    monkeypatch.setenv("REDIS_URL", closed)
    config.get_settings.cache_clear()
    _point_at(celery_app, closed)
    try:
        job = start_job("sweep", {})
    finally:
        _point_at(celery_app, original[0])
        celery_app.conf.result_backend = original[1]
        config.get_settings.cache_clear()
    assert (job.state, job.message) == ("failed", "not queued")
    assert "Could not reach Redis to queue the job" in job.error and job.started_at is None


def test_a_job_whose_process_is_gone_shows_interrupted_and_cancel_ends_it(dash_app, db_url):
    from pages import jobs as page

    long_ago = datetime.now(UTC) - timedelta(hours=2)
    with session_scope() as session:
        session.add(Job(kind="report", params={}, started_by={}, state="running", progress=0.4, message="drawing",
                        runner="embedded", cancel_requested=False, created_at=long_ago, started_at=long_ago,
                        heartbeat_at=long_ago))
    listing = page.refresh_jobs(1, None)
    [row] = listing["rows"]
    assert row["state"] == "interrupted" and "Cancel it and start it again" in row["result"]
    assert listing["tick_disabled"] is True  # nothing will move: no need to keep refreshing
    detail, cancel_disabled, _ = page.show_job([row], [row])
    assert cancel_disabled is False and "the process running it stopped" in str(detail)
    assert page.cancel_selected(1, [row])["alert"] == f"Job {row['id']} cancelled."
    assert get_job(row["id"]).state == "cancelled"
