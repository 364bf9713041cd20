"""The Jobs page in a real browser: the list shows who started each job and how it went, a failed
job's details give the reason, and Cancel ends a queued job."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from components import ids
from services.store.db import session_scope
from services.store.models import Job
from tests.e2e.harness import goto, screenshot, wait_for_dash_idle

REASON = "E2E Home has no tariff: choose one on the Households page"


def _add_jobs(url: str) -> tuple[int, int]:
    now = datetime.now(UTC)
    # Jobs of another member of the e2e admin's organisation: an admin sees and may cancel them.
    who = {"user_id": 7, "organisation_id": 1, "role": "manager", "label": "anna@utility.example"}
    with session_scope(url) as session:
        failed = Job(kind="battery_backtest", params={"household_id": 1, "first": "2026-06-09", "days": 7},
                     started_by=who, organisation_id=1, state="failed", progress=0.1, message="failed", error=REASON, runner="embedded",
                     cancel_requested=False, created_at=now - timedelta(minutes=3),
                     started_at=now - timedelta(minutes=3), finished_at=now - timedelta(minutes=2))
        queued = Job(kind="forecast_train", params={"household_id": 1}, started_by=who, organisation_id=1, state="queued", progress=0.0,
                     message="waiting for a worker", runner="celery", cancel_requested=False, created_at=now)
        session.add_all([failed, queued])
        session.flush()
        return failed.id, queued.id


def test_jobs_list_details_and_cancel(scratch_server, page):
    failed_id, queued_id = _add_jobs(scratch_server.database_url)
    goto(page, scratch_server.url + "/jobs")
    grid = page.locator(f"#{ids.JOBS_GRID}")
    failed_row = grid.locator(f".ag-row[row-id='{failed_id}']").first
    failed_row.wait_for()
    assert "anna@utility.example" in failed_row.inner_text() and "Battery back-test" in failed_row.inner_text()

    failed_row.click()
    reason = page.locator("#jobs-failure-reason")
    reason.wait_for()
    assert REASON in reason.inner_text()
    assert page.locator(f"#{ids.JOBS_CANCEL}").is_disabled()  # an ended job cannot be cancelled
    screenshot(page, "light-jobs")

    grid.locator(f".ag-row[row-id='{queued_id}']").first.click()
    cancel = page.locator(f"#{ids.JOBS_CANCEL}")
    page.wait_for_function(f"() => !document.getElementById('{ids.JOBS_CANCEL}').disabled")
    cancel.click()
    alert = page.locator(f"#{ids.JOBS_ALERT}")
    alert.wait_for(state="visible")
    assert alert.inner_text() == f"Job {queued_id} cancelled."
    wait_for_dash_idle(page)
    assert "cancelled" in grid.locator(f".ag-row[row-id='{queued_id}']").first.inner_text()
