"""The services enforce organisations and roles (issue 10), on both store backends.

Two organisations A and B, each with a household: a scope of B cannot list, read, change or delete
A's household (it is "not found", exactly like a missing one), a viewer of A may read but not write,
names are unique per organisation, writes leave audit entries with what changed, and jobs are seen
only by whoever started them (and the organisation's admins, and the system).
"""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from services import access
from services.access import SYSTEM_SCOPE, AccessScope, Forbidden
from services.auth import create_organisation, list_entries
from services.households import (
    HouseholdNotFound,
    create_household,
    create_tariff,
    delete_household,
    get_household,
    household_ids_by_name,
    list_households,
    list_tariffs,
    tariff_ids_by_name,
    update_household,
)
from services.households.import_csv import import_households_csv
from services.ingestion.history import list_batches, rejections_csv
from services.ingestion.mapping import delete_mapping, load_mapping, mapping_from_dict, mapping_names, save_mapping
from services.iot import DeviceNotFound, confirm_device, create_device, list_devices, read_series
from services.iot.rejections import MessageRejection, recent_mqtt_rejections, record_mqtt_rejections
from services.jobs import cancel_job, get_job, list_jobs, records, start_job
from services.optimization.fleet_runs import start_fleet_run
from services.store.db import session_scope
from services.store.models import FleetRun, IngestionBatch, Job, Series
from services.validation import ValidationProblem
from tests.factories import load_mapping_spec

HOME = {"name": "Sonnenhof", "timezone": "Europe/Berlin", "latitude": 52.52, "longitude": 13.40}


@pytest.fixture
def orgs(db_url) -> dict:
    """Organisations A and B, scopes of their people, and a household of each (same name: allowed)."""
    a, b = create_organisation("Utility A").id, create_organisation("Installer B").id
    scopes = {
        "a_manager": AccessScope(user_id=11, organisation_id=a, role="manager", label="ann@a.example"),
        "a_other": AccessScope(user_id=12, organisation_id=a, role="manager", label="otto@a.example"),
        "a_admin": AccessScope(user_id=13, organisation_id=a, role="admin", label="ada@a.example"),
        "a_viewer": AccessScope(user_id=14, organisation_id=a, role="viewer", label="vic@a.example"),
        "b_manager": AccessScope(user_id=21, organisation_id=b, role="manager", label="ben@b.example"),
    }
    home_a = create_household(HOME, scope=scopes["a_manager"])
    home_b = create_household(HOME, scope=scopes["b_manager"])
    return {"a": a, "b": b, "home_a": home_a, "home_b": home_b, **scopes}


def test_another_organisations_household_is_not_found(orgs):
    b = orgs["b_manager"]
    assert [h.id for h in list_households(scope=b)] == [orgs["home_b"]]
    assert list_households([orgs["home_a"], orgs["home_b"]], scope=b)[0].id == orgs["home_b"]
    assert len(list_households([orgs["home_a"], orgs["home_b"]], scope=b)) == 1  # A's id is dropped
    for call in (lambda: get_household(orgs["home_a"], scope=b),
                 lambda: update_household(orgs["home_a"], {**HOME, "name": "Taken over"}, scope=b),
                 lambda: delete_household(orgs["home_a"], scope=b)):
        with pytest.raises(HouseholdNotFound) as caught:
            call()
        missing = HouseholdNotFound(10**6)
        assert str(caught.value) == str(missing).replace(str(10**6), str(orgs["home_a"]))  # says no more than that
    with pytest.raises(ValidationProblem, match=f"No household has the id\\(s\\) {orgs['home_a']}"):
        start_fleet_run(date(2026, 7, 1), [orgs["home_a"]], scope=b, inline=True)
    run_id = start_fleet_run(date(2026, 7, 1), [], scope=b, inline=True)
    with session_scope() as session:
        assert session.get(FleetRun, run_id).organisation_id == orgs["b"]
    assert get_household(orgs["home_a"]).name == "Sonnenhof"  # untouched; the system sees every organisation
    assert {h.id for h in list_households()} == {orgs["home_a"], orgs["home_b"]}


def test_a_viewer_reads_but_may_not_write(orgs):
    viewer = orgs["a_viewer"]
    assert get_household(orgs["home_a"], scope=viewer).name == "Sonnenhof"
    writes = [
        lambda: create_household({**HOME, "name": "New"}, scope=viewer),
        lambda: update_household(orgs["home_a"], {**HOME, "notes": "x"}, scope=viewer),
        lambda: delete_household(orgs["home_a"], scope=viewer),
        lambda: create_tariff({"name": "Flat", "import_price": 0.3}, scope=viewer),
        lambda: import_households_csv("name,timezone,latitude,longitude\nX,UTC,1,2\n", scope=viewer),
        lambda: save_mapping(mapping_from_dict(load_mapping_spec(orgs["home_a"])), scope=viewer),
        lambda: delete_mapping("upload", scope=viewer),
        lambda: start_job("sweep", {}, viewer),
        lambda: start_fleet_run(date(2026, 7, 1), [orgs["home_a"]], scope=viewer, inline=True),
    ]
    for write in writes:
        with pytest.raises(Forbidden):
            write()
    assert [h.name for h in list_households(scope=viewer)] == ["Sonnenhof"]


def test_names_are_unique_per_organisation(orgs):
    a, b = orgs["a_manager"], orgs["b_manager"]
    with pytest.raises(ValidationProblem, match="already exists"):
        create_household({**HOME, "name": "sonnenhof"}, scope=a)
    flat_a = create_tariff({"name": "Flat", "import_price": 0.30}, scope=a)
    flat_b = create_tariff({"name": "Flat", "import_price": 0.25}, scope=b)
    assert tariff_ids_by_name(scope=a) == {"Flat": flat_a} and tariff_ids_by_name(scope=b) == {"Flat": flat_b}
    assert [t.id for t in list_tariffs(scope=b)] == [flat_b]
    assert household_ids_by_name(["Sonnenhof"], scope=b) == {"Sonnenhof": orgs["home_b"]}
    with pytest.raises(ValidationProblem, match="Tariff"):  # another organisation's tariff is unknown here
        update_household(orgs["home_b"], {**HOME, "tariff_id": flat_a}, scope=b)
    result = import_households_csv("name,timezone,latitude,longitude,tariff\nHof 2,UTC,1,2,Flat\n", scope=b)
    (imported,) = result.household_ids
    assert get_household(imported, scope=b).tariff_id == flat_b
    entry = next(e for e in list_entries(orgs["b"]) if e.action == "household.import")
    assert entry.after == {"count": 1, "ids": [imported]}
    with pytest.raises(HouseholdNotFound):
        get_household(imported, scope=a)


def test_writes_are_audited_with_what_changed(orgs):
    a = orgs["a_manager"]
    update_household(orgs["home_a"], {**HOME, "notes": "roof south", "latitude": 52.5}, scope=a)
    delete_household(orgs["home_a"], scope=a)
    entries = {e.action: e for e in list_entries(orgs["a"])}
    assert set(entries) == {"household.create", "household.update", "household.delete"}
    update = entries["household.update"]
    assert (update.user_id, update.actor, update.target) == (11, "ann@a.example", f"household:{orgs['home_a']}")
    assert update.before == {"notes": "", "latitude": 52.52} and update.after == {"notes": "roof south",
                                                                                  "latitude": 52.5}
    assert entries["household.create"].after["name"] == "Sonnenhof"
    assert entries["household.delete"].before == {"name": "Sonnenhof"}
    assert [e.action for e in list_entries(orgs["b"])] == ["household.create"]


def test_saved_mappings_belong_to_an_organisation(orgs):
    a, b = orgs["a_manager"], orgs["b_manager"]
    save_mapping(mapping_from_dict(load_mapping_spec(orgs["home_a"])), scope=a)
    save_mapping(mapping_from_dict(load_mapping_spec(orgs["home_b"])), scope=b)  # the same name in B
    assert mapping_names(scope=a) == ["upload"] == mapping_names(scope=b)
    assert load_mapping("upload", scope=b).household_id == orgs["home_b"]
    assert delete_mapping("upload", scope=b) and mapping_names(scope=b) == []
    with pytest.raises(LookupError):
        load_mapping("upload", scope=b)
    assert load_mapping("upload", scope=a).household_id == orgs["home_a"]
    assert [e.action for e in list_entries(orgs["b"])][:2] == ["mapping.delete", "mapping.save"]


def test_batches_rejections_and_devices_follow_the_household(orgs):
    a, b = orgs["a_manager"], orgs["b_manager"]
    with access.use_scope(a):
        with session_scope() as session:
            batch = IngestionBatch(organisation_id=access.owner_id(), source="a.csv", channel="file")
            session.add(batch)
            session.flush()
            batch_id = batch.id
    assert [x.id for x in list_batches(scope=a)] == [batch_id] and list_batches(scope=b) == []
    with pytest.raises(LookupError):
        rejections_csv(batch_id, scope=b)
    assert rejections_csv(batch_id, scope=a).startswith("line,field,reason,raw")

    record_mqtt_rejections([MessageRejection(f"energy/{orgs['home_a']}/m/load", b"x", "payload", "not JSON"),
                            MessageRejection("energy/999999/m/load", b"x", "household_id", "no such household")])
    assert [r.household_id for r in recent_mqtt_rejections(None, scope=a)] == [orgs["home_a"]]
    assert recent_mqtt_rejections(None, scope=b) == []
    assert len(recent_mqtt_rejections(None, scope=SYSTEM_SCOPE)) == 2  # the topic of no household: system only

    device = create_device(orgs["home_a"], kind="meter", name="Meter", external_id="m", needs_review=True, scope=a)
    assert list_devices([orgs["home_a"], orgs["home_b"]], scope=b) == []
    assert [d.id for d in list_devices([orgs["home_a"]], scope=a)] == [device]
    with pytest.raises(DeviceNotFound):
        confirm_device(orgs["home_a"], device, scope=b)
    with pytest.raises(Forbidden):
        confirm_device(orgs["home_a"], device, scope=orgs["a_viewer"])
    confirm_device(orgs["home_a"], device, name="Main meter", scope=a)
    (info,) = list_devices([orgs["home_a"]], scope=a)
    assert (info.name, info.needs_review) == ("Main meter", False)
    confirmed = next(e for e in list_entries(orgs["a"]) if e.action == "device.confirm")
    assert confirmed.before == {"name": "Meter", "needs_review": True}
    assert confirmed.after == {"name": "Main meter", "needs_review": False}
    with session_scope() as session:
        session.add(Series(household_id=orgs["home_a"], name="load", quantity="load", unit="kWh", resolution_s=900))
        session.flush()
        series_id = session.scalar(sa.select(Series.id))
    from datetime import UTC, datetime

    with pytest.raises(LookupError):
        read_series(orgs["home_a"], series_id, datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 2, tzinfo=UTC),
                    scope=b)


def test_jobs_are_seen_by_their_starter_the_organisations_admins_and_the_system(orgs):
    ann = orgs["a_manager"]
    job = start_job("sweep", {}, ann)
    assert job.state == "done"
    with session_scope() as session:
        assert session.get(Job, job.id).organisation_id == orgs["a"]
    assert [j.id for j in list_jobs(scope=ann)] == [job.id] == [j.id for j in list_jobs(scope=orgs["a_admin"])]
    assert get_job(job.id, ann).id == job.id and get_job(job.id, SYSTEM_SCOPE).id == job.id
    for stranger in (orgs["b_manager"], orgs["a_other"]):
        assert list_jobs(scope=stranger) == []
        with pytest.raises(records.JobNotFound, match=f"job {job.id} does not exist"):
            get_job(job.id, stranger)
        with pytest.raises(records.JobNotFound):
            records.result_file(job.id, stranger)

    queued = records.create_job("sweep", {}, ann)
    for stranger in (orgs["b_manager"], orgs["a_other"]):
        with pytest.raises(records.JobNotFound):
            cancel_job(queued.id, stranger)
    assert get_job(queued.id, ann).state == "queued"
    assert cancel_job(queued.id, orgs["a_admin"]).state == "cancelled"
    cancelled = next(e for e in list_entries(orgs["a"]) if e.action == "job.cancel")
    assert (cancelled.user_id, cancelled.before, cancelled.after) == (13, {"state": "queued"},
                                                                      {"cancel_requested": True})
    system_job = records.create_job("sweep", {})
    assert system_job.id not in [j.id for j in list_jobs(scope=orgs["a_admin"])]
    assert {j.id for j in list_jobs(scope=SYSTEM_SCOPE)} == {job.id, queued.id, system_job.id}


def test_a_job_runs_as_whoever_started_it(orgs):
    """The runner's service calls see the starter's organisation: B's job cannot ingest into A's household."""
    from services.jobs import save_file
    from tests.factories import wide_load_csv

    params = {"file_id": save_file("m.csv", wide_load_csv(8), "text/csv", scope=orgs["b_manager"]), "file_kind": "csv", "filename": "m.csv"}
    own = start_job("ingest_upload", {**params, "mapping": load_mapping_spec(orgs["home_b"])}, orgs["b_manager"])
    assert own.state == "done", own.error
    assert own.result["summary"].startswith("received 8, inserted 8")
    foreign = start_job("ingest_upload", {**params, "mapping": load_mapping_spec(orgs["home_a"])}, orgs["b_manager"])
    assert foreign.state == "done", foreign.error
    assert foreign.result["summary"].startswith("received 8, inserted 0") and foreign.result["rejected"] == 8
    assert f"household {orgs['home_a']} does not exist" in foreign.result["rejections"][0]["reason"]
    assert {b.id for b in list_batches(scope=orgs["b_manager"])} == {own.result["batch_id"], foreign.result["batch_id"]}
    assert list_batches(scope=orgs["a_manager"]) == []


def test_a_kept_file_is_read_back_only_by_whoever_saved_it_their_admins_and_the_system(db_url):
    from services.jobs import read_file, save_file

    other = create_organisation("Files B")
    anna = AccessScope(user_id=7, organisation_id=1, role="manager", label="anna")
    file_id = save_file("meter.csv", b"ts,value\n", "text/csv", scope=anna)
    assert read_file(file_id, anna).content == b"ts,value\n"
    assert read_file(file_id, AccessScope(user_id=9, organisation_id=1, role="admin")).filename == "meter.csv"
    assert read_file(file_id, SYSTEM_SCOPE).id == file_id
    for stranger in (AccessScope(user_id=8, organisation_id=1, role="manager"),
                     AccessScope(user_id=7, organisation_id=other.id, role="admin")):
        with pytest.raises(LookupError, match="no longer kept"):  # the same words as a file that is gone
            read_file(file_id, stranger)
