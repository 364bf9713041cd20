"""GET /api/forecast/{household_id} on both backends, checked against the OpenAPI document: PV and
load quantiles for the hours asked, physically possible, stored, and 4xx answers a person can act on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from services.demo import load_demo_portfolio
from services.forecasting import registry, train_models
from services.households import list_households
from services.pvmodel import Location, solar_position
from services.weather.open_meteo import OpenMeteoClient
from tests.api.schema import conforms
from tests.unit.test_forecasting import fast_models  # noqa: F401

PV_HOME, NO_PV_HOME = "Müller family, Pankow", "Petersen family, Altona"


@pytest.fixture
def homes(db_url, monkeypatch) -> dict[str, int]:
    """The demo portfolio with readings up to today; the weather provider must never be asked."""
    def no_network(*_args, **_kwargs):
        raise AssertionError("the forecast endpoint asked the weather provider")

    monkeypatch.setattr(OpenMeteoClient, "fetch", no_network)
    load_demo_portfolio(n_households=4, seed=7, end=datetime.now(UTC).date(), days=21, url=db_url)
    return {h.name: h.id for h in list_households()}


def points(body: dict, target: str) -> pd.DataFrame:
    frame = pd.DataFrame(body[target]["points"])
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True)
    return frame.set_index("ts")


def test_pv_and_load_for_48_hours_by_default(client, spec, homes):
    home = homes[PV_HOME]
    before = datetime.now(UTC)
    response = client.get(f"/api/forecast/{home}")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    conforms(spec, body, "ForecastOut")
    assert (body["household_id"], body["hours"], body["timezone"]) == (home, 48, "Europe/Berlin")
    issued = pd.Timestamp(body["issued_at"])
    assert before <= issued <= datetime.now(UTC)
    for target in ("pv", "load"):
        part = body[target]
        assert part["step_minutes"] == 15 and len(part["points"]) == 48 * 4
        frame = points(body, target)
        assert frame.index[0] == issued.ceil("15min") and frame.index.is_monotonic_increasing
        assert (frame.index.to_series().diff().dropna() == pd.Timedelta(minutes=15)).all()
        assert (frame["p10"] <= frame["p50"]).all() and (frame["p50"] <= frame["p90"]).all()
        assert (frame["p10"] >= 0).all()
    # Untrained: the fallbacks, said in words.
    assert (body["pv"]["method"], body["load"]["method"]) == ("physical", "persistence")
    assert body["pv"]["model_id"] is None and any("no model trained yet" in n for n in body["pv"]["notes"])
    assert body["pv"]["weather"] == "none"  # the demo stores observations only: no forecast of tomorrow


def test_pv_is_zero_at_night_and_never_negative(client, homes):
    body = client.get(f"/api/forecast/{homes[PV_HOME]}?hours=168").get_json()
    frame = points(body, "pv")
    assert len(frame) == 168 * 4
    sun = solar_position(frame.index + pd.Timedelta(minutes=7.5), Location(52.5, 13.4))["elevation"].to_numpy()
    night = sun < -2
    assert night.sum() > 300 and (frame[["p10", "p50", "p90"]].to_numpy()[night] == 0).all()
    assert (frame.to_numpy() >= 0).all() and frame["p90"].max() > 0


def test_get_stores_nothing_and_post_stores_the_same_forecast(client, spec, homes):
    home = homes[PV_HOME]
    read = client.get(f"/api/forecast/{home}?hours=6").get_json()
    assert read["pv"]["forecast_id"] is None and read["load"]["forecast_id"] is None
    assert registry.latest_forecast(home, "load") is None and registry.latest_forecast(home, "pv") is None
    response = client.post(f"/api/forecast/{home}?hours=6")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    conforms(spec, body, "ForecastOut")
    assert body["hours"] == 6 and len(body["pv"]["points"]) == len(body["load"]["points"]) == 24
    assert points(body, "load")["p50"].tolist() == points(read, "load")["p50"].tolist()
    stored = registry.latest_forecast(home, "load")
    assert stored.id == body["load"]["forecast_id"] and stored.method == "persistence"
    np.testing.assert_allclose(stored.frame["p50"].to_numpy(), points(body, "load")["p50"].to_numpy())
    assert registry.latest_forecast(home, "pv").id == body["pv"]["forecast_id"]


def test_a_household_without_pv_gets_load_only(client, spec, homes):
    body = client.get(f"/api/forecast/{homes[NO_PV_HOME]}?hours=24").get_json()
    conforms(spec, body, "ForecastOut")
    assert body["pv"] is None and len(body["load"]["points"]) == 96


def test_unknown_household_is_404_with_a_way_forward(client, spec, homes):
    for path in ("/api/forecast/999999", f"/api/forecast/{2**31}"):
        response = client.get(path)
        assert response.status_code == 404
        conforms(spec, response.get_json(), "ErrorResponse")
    assert "GET /api/households" in client.get("/api/forecast/999999").get_json()["error"]["detail"]


@pytest.mark.parametrize("hours", ["0", "169", "-3", "two", "4.5"])
def test_hours_outside_1_to_168_are_422_naming_the_field(client, spec, homes, hours):
    response = client.get(f"/api/forecast/{homes[PV_HOME]}?hours={hours}")
    assert response.status_code == 422
    body = response.get_json()
    conforms(spec, body, "ErrorResponse")
    (field,) = body["error"]["fields"]
    assert (field["field"], field["location"]) == ("hours", "query") and hours in field["message"]


def test_the_endpoint_is_in_the_openapi_document(spec):
    operation = spec["paths"]["/api/forecast/{household_id}"]["get"]
    (hours,) = [p for p in operation["parameters"] if p["name"] == "hours"]
    assert (hours["in"], hours["schema"]["minimum"], hours["schema"]["maximum"], hours["schema"]["default"]) == (
        "query", 1, 168, 48)
    assert {"200", "404", "422"} <= set(operation["responses"])
    quantiles = spec["components"]["schemas"]["ForecastPointOut"]["properties"]
    assert {"ts", "p10", "p50", "p90"} <= set(quantiles)


def test_a_trained_model_answers_as_ml(client, homes, fast_models):  # noqa: F811
    home = homes[PV_HOME]
    report = train_models(home, targets=("pv",))
    body = client.get(f"/api/forecast/{home}?hours=24").get_json()
    assert body["pv"]["method"] == "ml" and body["pv"]["model_id"] == report.trained["pv"]
    frame = points(body, "pv")
    assert (frame["p10"] <= frame["p50"]).all() and (frame["p50"] <= frame["p90"]).all()
    assert frame.index[-1] - frame.index[0] == timedelta(hours=24) - timedelta(minutes=15)


def test_without_readings_the_load_forecast_is_answered_but_not_kept_for_planning(client, homes):
    from services.households import create_household

    home = create_household({"name": "New home", "timezone": "Europe/Berlin", "latitude": 52.5, "longitude": 13.4})
    body = client.post(f"/api/forecast/{home}?hours=12").get_json()
    assert body["pv"] is None and body["load"]["method"] == "persistence"
    assert any(n.startswith("no load readings in the 30 days before") for n in body["load"]["notes"])
    assert body["load"]["forecast_id"] is None and registry.latest_forecast(home, "load") is None
