"""Organisations in a real browser: each person sees only their organisation's households, switches
organisation in the navbar, signs out; a job (and its file) started by one person cannot be seen,
polled or downloaded by another.

The people and households are made in the scratch server's store from this process; names carry a
random tag, since other tests write to that store too.
"""

from __future__ import annotations

import json
import uuid
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from services import config
from tests.dash_requests import callback_body
from tests.e2e import harness

PASSWORD = "organisations in the browser"


@pytest.fixture
def two_organisations(scratch_server, monkeypatch):
    """Anna: admin of the default organisation and viewer of a second one, each with a household;
    Ben: manager of the second one only. Anna has a finished report job with its file."""
    from services.access import AccessScope, use_scope
    from services.auth import add_membership, create_organisation, create_user
    from services.households import create_household
    from services.jobs import records, save_file
    from services.store.db import session_scope
    from services.store.models import DEFAULT_ORGANISATION_ID, Job

    monkeypatch.setenv("DATABASE_URL", scratch_server.database_url)
    config.get_settings.cache_clear()
    tag = uuid.uuid4().hex[:6]
    second = create_organisation(f"Second {tag}")
    anna = create_user(f"anna-{tag}@example.org", f"Anna {tag}", PASSWORD)
    ben = create_user(f"ben-{tag}@example.org", f"Ben {tag}", PASSWORD)
    add_membership(anna.id, DEFAULT_ORGANISATION_ID, "admin")
    add_membership(anna.id, second.id, "viewer")
    add_membership(ben.id, second.id, "manager")
    place = {"timezone": "Europe/Berlin", "latitude": 52.5, "longitude": 13.4}
    with use_scope(AccessScope(organisation_id=DEFAULT_ORGANISATION_ID, role="admin")):
        first_home = f"First home {tag}"
        create_household({"name": first_home, **place})
    with use_scope(AccessScope(organisation_id=second.id, role="admin")):
        second_home = f"Second home {tag}"
        create_household({"name": second_home, **place})
    anna_scope = AccessScope(user_id=anna.id, organisation_id=DEFAULT_ORGANISATION_ID, role="admin", label=anna.email)
    job = records.create_job("report", {"fmt": "csv", "households": []}, anna_scope)
    file_id = save_file(f"anna-{tag}.csv", b"household,kwh\n", "text/csv", scope=anna_scope)
    with session_scope() as session:
        row = session.get(Job, job.id)
        row.state, row.progress, row.result_file_id = "done", 1.0, file_id
    yield {"anna": anna, "ben": ben, "second": second, "first_home": first_home, "second_home": second_home,
           "job_id": job.id, "tag": tag}
    config.get_settings.cache_clear()


def _sign_in(page, base_url: str, email: str) -> None:
    page.goto(base_url + "/households")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(base_url + "/households")
    harness.wait_for_dash_idle(page)


def _grid_names(page) -> str:
    page.wait_for_selector(".ag-center-cols-container .ag-row")
    return page.locator(".ag-center-cols-container").inner_text()


def test_a_person_sees_their_organisation_switches_and_signs_out(scratch_server, new_page, two_organisations):
    world = two_organisations
    page = new_page(signed_in=False)
    _sign_in(page, scratch_server.url, world["anna"].email)
    names = _grid_names(page)
    assert world["first_home"] in names and world["second_home"] not in names

    switch = page.locator("#shell-organisation")
    offered = [t.strip() for t in switch.locator("option").all_inner_texts() if t.strip()]
    assert offered == sorted([world["second"].name, "Default organisation"])
    with page.expect_navigation():
        switch.select_option(str(world["second"].id))
    harness.wait_for_dash_idle(page)
    names = _grid_names(page)
    assert world["second_home"] in names and world["first_home"] not in names
    assert page.get_by_role("button", name="New household").is_hidden()  # a viewer there

    page.get_by_role("button", name=world["anna"].name).click()
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(scratch_server.url + "/sign-in")
    page.goto(scratch_server.url + "/households")
    assert urlsplit(page.url).path == "/sign-in"  # the session is gone, not only the page


def test_a_job_of_one_person_cannot_be_seen_polled_or_downloaded_by_another(scratch_server, new_page,
                                                                            two_organisations):
    world = two_organisations
    job_id, base = world["job_id"], scratch_server.url
    pages = {}
    for who in ("anna", "ben"):
        pages[who] = new_page(signed_in=False)
        _sign_in(pages[who], base, world[who].email)

    def jobs_listed(page) -> str:
        page.goto(base + "/jobs")
        harness.wait_for_dash_idle(page)
        return page.locator("#page-content").inner_text()

    assert f"anna-{world['tag']}" in jobs_listed(pages["anna"]) or str(job_id) in jobs_listed(pages["anna"])
    assert str(world["anna"].email) not in jobs_listed(pages["ben"])

    def download(page):
        """The Reports page's download callback, asked for the job's file as that page's browser."""
        dependencies = page.request.get(base + "/_dash-dependencies").json()
        body = callback_body(dependencies, "reports-many-file", "data", {"file_id": 1, "job_id": job_id})
        csrf = next(c["value"] for c in page.context.cookies() if c["name"] == "_csrf_token")
        return page.request.post(base + "/_dash-update-component", data=json.dumps(body),
                                 headers={"Content-Type": "application/json", "X-CSRFToken": csrf})

    own = download(pages["anna"])
    assert own.status == 200 and f"anna-{world['tag']}.csv" in own.text()
    stranger = download(pages["ben"])
    assert stranger.status == 204 and f"anna-{world['tag']}" not in stranger.text()  # nothing, as for no job

    from services.access import AccessScope
    from services.jobs import JobNotFound, get_job

    with pytest.raises(JobNotFound):  # and polling it as Ben finds no such job
        get_job(job_id, AccessScope(user_id=world["ben"].id, organisation_id=world["second"].id, role="manager"))
    with sa.create_engine(scratch_server.database_url).connect() as conn:  # Ben's look changed nothing
        assert conn.execute(sa.text("SELECT state FROM jobs WHERE id = :id"), {"id": job_id}).scalar() == "done"
