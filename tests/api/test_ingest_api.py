"""POST /api/ingest/readings on both backends: 200, partial success with 422, every documented 4xx,
503 on a store failure, idempotence, and bodies that match the OpenAPI document."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import OperationalError

from api.models import ErrorResponse
from services.households import create_household
from services.store.db import session_scope
from services.store.models import Device, IngestionBatch, IngestionRejection, Reading, ReadingRollup, Series
from tests.api.schema import conforms

URL = "/api/ingest/readings"


@pytest.fixture
def home(db_url) -> int:
    return create_household({"name": "Streaming Home", "timezone": "Europe/Berlin", "latitude": 52.5,
                             "longitude": 13.4, "pv_systems": [{"kwp": 5.0}]})


def reading(home: int, i: int, **change) -> dict:
    return {"household_id": home, "series": "load", "quantity": "load", "ts": f"2025-05-01T10:{15 * i:02d}:00Z",
            "value": 0.25 + i / 100, "unit": "kWh", **change}


def stored(series: str = "load") -> dict:
    with session_scope() as s:
        rows = s.execute(sa.select(Reading.ts, Reading.value).join(Series).where(Series.name == series)
                         .order_by(Reading.ts)).all()
    return {ts.isoformat(): value for ts, value in rows}


def test_a_valid_batch_is_stored_and_reported(client, spec, home):
    response = client.post(URL, json={"source": "gateway-7", "readings": [reading(home, i) for i in range(4)]})
    assert response.status_code == 200
    body = response.get_json()
    conforms(spec, body, "IngestOut")
    assert (body["received"], body["inserted"], body["rejected"], body["error"]) == (4, 4, 0, None)
    assert body["stored_valid_readings"] and body["rejections"] == []
    assert stored() == {f"2025-05-01T10:{15 * i:02d}:00+00:00": 0.25 + i / 100 for i in range(4)}
    with session_scope() as s:
        batch = s.get(IngestionBatch, body["batch_id"])
        assert (batch.source, batch.channel, batch.status, batch.inserted) == ("gateway-7", "api", "done", 4)
        # The hour the batch touched is rolled up for long-range charts.
        hour = s.execute(sa.select(ReadingRollup.total, ReadingRollup.count)
                         .where(ReadingRollup.bucket_s == 3600)).all()
        assert [(round(t, 6), c) for t, c in hour] == [(round(sum(0.25 + i / 100 for i in range(4)), 6), 4)]


def test_sending_the_same_batch_again_changes_nothing_and_says_so(client, home):
    batch = {"readings": [reading(home, i) for i in range(3)]}
    client.post(URL, json=batch)
    again = client.post(URL, json=batch).get_json()
    assert (again["inserted"], again["updated"], again["unchanged"]) == (0, 0, 3)
    changed = client.post(URL, json={"readings": [reading(home, 0, value=0.9)]}).get_json()
    assert (changed["inserted"], changed["updated"]) == (0, 1)
    assert stored()["2025-05-01T10:00:00+00:00"] == 0.9


def test_bad_rows_are_refused_with_reasons_and_valid_rows_are_stored(client, spec, home):
    rows = [
        reading(home, 0),
        reading(home, 1, value=-3.2),  # negative energy
        {k: v for k, v in reading(home, 2).items() if k != "unit"},  # missing field
        reading(home, 3, quantity="sunshine"),  # not a quantity
        reading(home, 1, ts="2025-03-30T02:30:00", series="naive"),  # local time skipped by DST in Berlin
        reading(home + 999, 1),  # no such household
        "not an object",
        reading(home, 2),
    ]
    response = client.post(URL, json={"readings": rows})
    assert response.status_code == 422
    body = response.get_json()
    conforms(spec, body, "IngestOut")
    ErrorResponse.model_validate(body)  # the API's error shape, as every 4xx
    assert (body["received"], body["inserted"], body["rejected"]) == (8, 2, 6)
    assert "the 2 valid ones are stored" in body["message"]
    by_line = {r["line"]: r for r in body["rejections"]}
    assert set(by_line) == {1, 2, 3, 4, 5, 6}
    assert by_line[1]["field"] == "value" and "negative" in by_line[1]["reason"]
    assert by_line[2]["field"] == "unit" and "required" in by_line[2]["reason"]
    assert by_line[3]["field"] == "quantity" and "'load'" in by_line[3]["reason"]
    assert by_line[4]["field"] == "ts" and "does not exist" in by_line[4]["reason"]
    assert by_line[5]["field"] == "household_id" and "does not exist" in by_line[5]["reason"]
    assert "JSON object" in by_line[6]["reason"]
    assert {f["field"] for f in body["error"]["fields"]} >= {"readings.1.value", "readings.4.ts"}
    assert sorted(stored()) == ["2025-05-01T10:00:00+00:00", "2025-05-01T10:30:00+00:00"]
    with session_scope() as s:
        batch = s.get(IngestionBatch, body["batch_id"])
        assert (batch.received, batch.rejected) == (8, 6)
        kept = s.scalars(sa.select(IngestionRejection.line).where(IngestionRejection.batch_id == batch.id))
        assert sorted(kept) == [1, 2, 3, 4, 5, 6]


def test_dst_policy_of_the_request_is_applied(client, home):
    naive = reading(home, 0, ts="2025-10-26T02:30:00", series="fold")  # happens twice in Berlin
    refused = client.post(URL, json={"readings": [naive]}).get_json()
    assert refused["rejected"] == 1 and "happens twice" in refused["rejections"][0]["reason"]
    taken = client.post(URL, json={"ambiguous": "later", "readings": [naive]})
    assert taken.status_code == 200
    assert list(stored("fold")) == ["2025-10-26T01:30:00+00:00"]  # 02:30 CET, the second one


def test_devices_are_marked_seen(client, home):
    with session_scope() as s:
        device = Device(household_id=home, kind="meter", name="Meter", external_id="m-1", metrics=["load"])
        s.add(device)
        s.flush()
        device_id = device.id
    client.post(URL, json={"readings": [reading(home, i, device_id=device_id) for i in range(2)]})
    with session_scope() as s:
        assert s.get(Device, device_id).last_seen_at.isoformat() == "2025-05-01T10:15:00+00:00"


# --- every documented 4xx (and the 503) ------------------------------------------------------------


def assert_error(response, status: int) -> dict:
    assert response.status_code == status and response.mimetype == "application/json"
    body = response.get_json()
    ErrorResponse.model_validate(body)
    assert body["error"]["status"] == status and body["error"]["detail"]
    return body["error"]


def test_documented_statuses(spec):
    responses = spec["paths"][URL]["post"]["responses"]
    assert set(responses) == {"200", "400", "401", "403", "413", "415", "422", "429", "500", "503"}


def test_400_malformed_json(client, db_url):
    error = assert_error(client.post(URL, data="{readings: [", content_type="application/json"), 400)
    assert "not valid JSON" in error["detail"]
    assert "empty" in assert_error(client.post(URL, data="", content_type="application/json"), 400)["detail"]


def test_413_too_many_readings(client, home):
    rows = [reading(home, 0)] * 10_001
    error = assert_error(client.post(URL, json={"readings": rows}), 413)
    assert "10,000" in error["detail"] and "split" in error["detail"]
    with session_scope() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(IngestionBatch)) == 0


def test_415_not_json(client, db_url):
    error = assert_error(client.post(URL, data="ts,value\n", content_type="text/csv"), 415)
    assert "application/json" in error["detail"]


@pytest.mark.parametrize("body, field, words", [
    ({}, "readings", "required"),
    ({"readings": {"ts": 1}}, "readings", "JSON array"),
    ({"readings": []}, "readings", "empty"),
    ({"readings": [], "colour": "red"}, "colour", "not a field"),
    ({"readings": [], "ambiguous": "maybe"}, "ambiguous", "'earlier'"),
    ([1, 2], "(whole body)", "JSON object"),
])
def test_422_malformed_request_stores_nothing(client, db_url, body, field, words):
    error = assert_error(client.post(URL, json=body), 422)
    problem = next(f for f in error["fields"] if f["field"] == field)
    assert words in problem["message"]
    with session_scope() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(IngestionBatch)) == 0


def test_405_other_methods(client, db_url):
    error = assert_error(client.get(URL), 405)
    assert "POST" in error["detail"]


def test_503_when_the_store_fails_and_a_retry_converges(client, home, monkeypatch):
    import api.routes.ingest as route

    real = route.ingest_frame

    def dropped(*args, **kwargs):
        raise OperationalError("INSERT", {}, Exception("server closed the connection unexpectedly"))

    monkeypatch.setattr(route, "ingest_frame", dropped)
    rows = {"readings": [reading(home, i) for i in range(3)]}
    response = client.post(URL, json=rows)
    error = assert_error(response, 503)
    assert response.headers["Retry-After"] == "5" and "nothing from it was stored" in error["detail"]
    monkeypatch.setattr(route, "ingest_frame", real)
    assert client.post(URL, json=rows).status_code == 200
    assert len(stored()) == 3
