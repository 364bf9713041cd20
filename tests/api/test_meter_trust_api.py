"""The REST side of issue 11's meter points, on each backend: ``GET /api/forecast/{id}`` answers a stale
home and a home without a consumption meter with the page's forecast and says its basis; households
carry ``export_curtailable``."""

from __future__ import annotations

import pytest

from services.forecasting.overview import issue_forecasts
from tests.optimize_helpers import add_battery_home
from tests.unit.test_forecast_stale import grid_metered_home, stale_home


def test_a_stale_home_gets_the_pages_forecast_not_zeros(db_url, client):
    home = stale_home("API Stale Home")
    response = client.get(f"/api/forecast/{home}?hours=48")
    assert response.status_code == 200
    body = response.get_json()
    assert body["basis"] == "readings_end" and body["readings_end"] is not None
    assert body["notes"] and "stop at" in body["notes"][0]
    api_total = sum(p["p50"] for p in body["load"]["points"])
    assert api_total > 20  # was 0.0 on every step
    assert api_total == pytest.approx(float(issue_forecasts(home, 48).load.frame["p50"].sum()))
    assert body["load"]["readings"] == "metered"


def test_a_home_without_a_consumption_meter_gets_a_load_forecast(db_url, client):
    home = grid_metered_home("API Grid Only Home")
    body = client.get(f"/api/forecast/{home}?hours=24").get_json()
    assert body["basis"] == "live"
    assert body["load"]["readings"] == "derived"
    assert sum(p["p50"] for p in body["load"]["points"]) == pytest.approx(24.0, rel=0.05)


def test_the_openapi_document_shows_the_basis_and_the_curtailment_setting(spec):
    schemas = spec["components"]["schemas"]
    forecast = next(s for name, s in schemas.items() if name.startswith("ForecastOut"))
    assert {"basis", "readings_end"} <= set(forecast["properties"])
    household = next(s for name, s in schemas.items() if name.startswith("HouseholdOut"))
    assert "export_curtailable" in household["properties"]


def test_a_household_shows_whether_its_export_is_curtailable(db_url, client):
    home = add_battery_home(readings=False)
    assert client.get(f"/api/households/{home}").get_json()["export_curtailable"] is True
