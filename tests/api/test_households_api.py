"""GET /api/households and GET /api/households/{id} on both backends, checked against the OpenAPI document."""

from __future__ import annotations

import pytest

from services.households import create_household
from tests.api.schema import conforms


def add_homes() -> tuple[int, int]:
    west = create_household({
        "name": "West End", "timezone": "Europe/London", "latitude": 51.5, "longitude": -0.2,
        "pv_systems": [{"kwp": 3.0, "azimuth_deg": 90}, {"kwp": 2.5, "azimuth_deg": 270}],
        "battery": {"capacity_kwh": 9.5, "max_charge_kw": 4, "max_discharge_kw": 5,
                    "charge_efficiency": 0.96, "discharge_efficiency": 0.94, "soc_min": 0.1, "soc_max": 0.9},
    })
    alpine = create_household({"name": "Alpine Hut", "timezone": "Europe/Vienna", "latitude": 47.3,
                               "longitude": 11.4})
    return west, alpine


def test_empty_portfolio_lists_nothing(client, db_url, spec):
    response = client.get("/api/households")
    assert response.status_code == 200
    assert response.get_json() == {"count": 0, "households": []}


def test_list_in_name_order_with_pv_and_battery_sizes(client, db_url, spec):
    west, alpine = add_homes()
    body = client.get("/api/households").get_json()
    conforms(spec, body, "HouseholdListOut")
    assert body["count"] == 2
    assert [h["name"] for h in body["households"]] == ["Alpine Hut", "West End"]
    hut, end = body["households"]
    assert (hut["id"], hut["pv_kwp"], hut["battery_kwh"]) == (alpine, 0.0, None)
    assert (end["id"], end["pv_kwp"], end["battery_kwh"], end["timezone"]) == (west, 5.5, 9.5, "Europe/London")


def test_detail_has_pv_systems_and_battery(client, db_url, spec):
    west, alpine = add_homes()
    response = client.get(f"/api/households/{west}")
    assert response.status_code == 200
    body = response.get_json()
    conforms(spec, body, "HouseholdOut")
    assert body["name"] == "West End" and body["pv_kwp"] == 5.5
    assert [(p["kwp"], p["azimuth_deg"]) for p in body["pv_systems"]] == [(3.0, 90.0), (2.5, 270.0)]
    assert body["battery"]["capacity_kwh"] == 9.5
    assert (body["battery"]["charge_efficiency"], body["battery"]["soc_max"]) == (0.96, 0.9)
    assert body["created_at"].endswith("Z")

    hut = client.get(f"/api/households/{alpine}").get_json()
    assert (hut["pv_systems"], hut["battery"], hut["pv_kwp"]) == ([], None, 0.0)


@pytest.mark.parametrize("household_id", ["999999", "2147483648", "99999999999999999999"])
def test_unknown_household_is_a_json_404(client, db_url, spec, household_id):
    response = client.get(f"/api/households/{household_id}")
    assert response.status_code == 404
    assert response.mimetype == "application/json"
    body = response.get_json()
    conforms(spec, body, "ErrorResponse")
    assert body["error"]["status"] == 404 and household_id in body["error"]["detail"]


def test_id_that_is_not_a_number_is_a_json_404(client, db_url):
    response = client.get("/api/households/abc")
    assert response.status_code == 404
    assert response.get_json()["error"]["title"] == "Not Found"
