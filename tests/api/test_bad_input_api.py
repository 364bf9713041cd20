"""Hand-made bad input, each once a 500 or 503: now a 4xx whose JSON names the field and says why.

Readings with a bad field are refused one by one (the valid reading sent with them is stored);
a bad field of the request itself refuses the request. Runs on both backends: a NUL byte used to
reach PostgreSQL, which refuses it, and cost the whole batch.
"""

from __future__ import annotations

import json

import pytest

from tests.api.schema import conforms
from tests.optimize_helpers import add_battery_home

GOOD = {"series": "load", "quantity": "load", "ts": "2026-06-01T00:00:00Z", "value": 1.0, "unit": "kWh"}
BATTERY = {"capacity_kwh": 5, "max_charge_kw": 2, "max_discharge_kw": 2}
GIVEN = {"pv_kw": [0.0] * 4, "load_kw": [1.0] * 4, "prices": {"import_per_kwh": 0.3}, "battery": BATTERY}

#: (reading field, bad value, words the reason must contain)
BAD_READINGS = [
    ("series", {"a": 1}, "valid string"),
    ("series", ["load"], "valid string"),
    ("unit", {}, "valid string"),
    ("quantity", [], "load"),
    ("ts", {}, "ts"),
    ("value", [1], "value"),
    ("household_id", 2**63, "less than or equal to 2147483647"),
    ("household_id", 2**31, "less than or equal to 2147483647"),
    ("household_id", True, "valid integer"),
    ("household_id", "1", "valid integer"),
    ("value", True, "value"),
    ("ts", True, "ts"),
    ("ts", 10**16, "less than or equal to 1000000000000000"),
    ("ts", 1e300, "less than or equal to 1000000000000000"),
    ("series", "lo\x00ad", "NUL byte"),
    ("series", "lo\ud800ad", "lone surrogate"),
    ("series", "lo\x1bad", "control character"),
    ("unit", "kWh\x00", "NUL byte"),
    ("value", "1\x00", "NUL byte"),
    ("ts", "2026-06-01T00:00:00Z\x07", "control character"),
]

#: (name, path, body, field, words the reason must contain) of requests refused as a whole
BAD_REQUESTS = [
    ("source an object", "/api/ingest/readings", {"source": {}, "readings": ["GOOD"]}, "source", "string"),
    ("timezone unknown", "/api/ingest/readings", {"timezone": "Mars/Olympus", "readings": ["GOOD"]},
     "timezone", "unknown time zone"),
    ("timezone a list", "/api/ingest/readings", {"timezone": ["UTC"], "readings": ["GOOD"]}, "timezone", "string"),
    ("source with NUL", "/api/ingest/readings", {"source": "gw\x00", "readings": ["GOOD"]}, "source", "NUL"),
    ("nested 5,000 deep", "/api/ingest/readings", "[" * 5000 + "]" * 5000, "(whole body)", "levels deep"),
    ("objects nested 5,000 deep", "/api/optimize", '{"a":' * 5000 + "1" + "}" * 5000, "(whole body)",
     "levels deep"),
    ("nested 40 deep", "/api/optimize", {"battery": json.loads("[" * 40 + "]" * 40)}, "(whole body)", "deep"),
    ("start in year 0001", "/api/optimize", {"household_id": "HOME", "start": "0001-01-01T00:00:00Z"},
     "start", "1970-01-01 to 2199-12-31"),
    ("start in year 9999", "/api/optimize", {"household_id": "HOME", "start": "9999-12-31T23:00:00Z"},
     "start", "1970-01-01 to 2199-12-31"),
    ("start in year 9999 without a household", "/api/optimize", {"start": "9999-12-31T23:00:00Z", **GIVEN},
     "start", "1970-01-01"),
    ("household with an empty price list", "/api/optimize",
     {"household_id": "HOME", "prices": {"import_per_kwh": []}}, "prices.import_per_kwh", "0 prices for 96 steps"),
    ("household with 3 prices for 96 steps", "/api/optimize",
     {"household_id": "HOME", "prices": {"import_per_kwh": [0.1, 0.2, 0.3]}}, "prices.import_per_kwh",
     "3 prices for 96 steps"),
    ("household id true", "/api/optimize", {"household_id": True}, "household_id", "valid integer"),
    ("household id 2^63", "/api/optimize", {"household_id": 2**63, **GIVEN}, "household_id", "2147483647"),
    ("capacity true", "/api/optimize", {**GIVEN, "battery": {**BATTERY, "capacity_kwh": True}},
     "battery.capacity_kwh", "valid number"),
    ("price 1e400 (infinite)", "/api/optimize", '{"prices": {"import_per_kwh": 1e400}}', "prices.import_per_kwh",
     "finite"),
    ("currency an object", "/api/optimize", {**GIVEN, "prices": {"import_per_kwh": 0.3, "currency": {}}},
     "prices.currency", "string"),
    ("currency with a control character", "/api/optimize",
     {**GIVEN, "prices": {"import_per_kwh": 0.3, "currency": "EU\x07"}}, "prices.currency", "control character"),
    ("unknown field with a surrogate", "/api/optimize", {**GIVEN, "x\ud800": 1}, "x\\ud800", "lone surrogate"),
]


def _post(client, path: str, body):
    text = body if isinstance(body, str) else json.dumps(body)  # json.dumps escapes surrogates as \ud800
    return client.post(path, data=text, content_type="application/json")


def _fill(body, home: int):
    """``body`` with "HOME" as the seeded household's id and "GOOD" as a valid reading of it."""
    if isinstance(body, str):
        return body
    text = json.dumps(body).replace('"HOME"', str(home)).replace('"GOOD"', json.dumps({**GOOD, "household_id": home}))
    return json.loads(text)


@pytest.fixture
def home(db_url) -> int:
    return add_battery_home()


@pytest.mark.parametrize(("field", "value", "words"), BAD_READINGS,
                         ids=[f"{f}={v!r}"[:40] for f, v, _ in BAD_READINGS])
def test_a_reading_with_a_bad_field_is_refused_alone_and_the_valid_one_is_stored(client, spec, home, field,
                                                                                  value, words):
    bad = {**GOOD, "household_id": home, field: value}
    good = {**GOOD, "household_id": home, "ts": "2026-06-01T00:15:00Z"}
    response = _post(client, "/api/ingest/readings", {"readings": [bad, good]})
    assert response.status_code == 422, response.get_data(as_text=True)
    body = response.get_json()
    conforms(spec, body, "IngestOut")
    assert (body["received"], body["rejected"], body["inserted"]) == (2, 1, 1)
    (rejection,) = body["rejections"]
    assert (rejection["line"], rejection["field"]) == (0, field)
    assert words in rejection["reason"], rejection["reason"]
    assert body["error"]["fields"][0]["field"] == f"readings.0.{field}"


@pytest.mark.parametrize(("name", "path", "body", "field", "words"), BAD_REQUESTS, ids=[b[0] for b in BAD_REQUESTS])
def test_a_bad_request_is_a_422_naming_the_field(client, spec, home, name, path, body, field, words):
    response = _post(client, path, _fill(body, home))
    assert response.status_code == 422, response.get_data(as_text=True)
    error = response.get_json()
    conforms(spec, error, "ErrorResponse")
    fields = {f["field"]: f["message"] for f in error["error"]["fields"]}
    assert field in fields, fields
    assert words in fields[field], fields[field]


def test_a_value_the_store_refuses_is_a_422_not_a_retry(client, spec, home, monkeypatch):
    from sqlalchemy.exc import DataError

    import api.routes.ingest as route

    def refuse(*_args, **_kwargs):
        raise DataError("COPY", {}, Exception("invalid byte sequence for encoding \"UTF8\": 0x00\nCONTEXT: COPY"))

    monkeypatch.setattr(route, "ingest_frame", refuse)
    response = _post(client, "/api/ingest/readings", {"readings": [{**GOOD, "household_id": home}]})
    assert response.status_code == 422 and "Retry-After" not in response.headers
    conforms(spec, response.get_json(), "ErrorResponse")
    detail = response.get_json()["error"]["detail"]
    assert "nothing from it was stored" in detail and "0x00" in detail and "CONTEXT" not in detail
