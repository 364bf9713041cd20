"""Forecasts for a stored household, on SQLite and PostgreSQL: fallbacks, training, stored forecasts."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest

from services.forecasting import registry, service
from services.forecasting.features import pv_physics
from services.pvmodel import CLEARSKY_MARGIN, Location
from services.store.db import session_scope
from services.store.models import Household, PVSystem
from services.weather.store import ensure_site, save_weather
from tests.factories import add_series
from tests.unit.test_forecasting import (  # noqa: F401
    SETUP,
    START,
    fast_models,
    synthetic_load,
    synthetic_pv,
    synthetic_weather,
)

DAYS = 40
NOW = START + pd.Timedelta(days=DAYS, hours=2, minutes=10)


@pytest.fixture
def household(db_url, fast_models):  # noqa: F811
    """A Berlin household with 40 days of hourly PV and load readings and observed weather."""
    weather = synthetic_weather(DAYS + 3)
    pv = synthetic_pv(weather)
    load = synthetic_load(DAYS + 3)
    known = pv.index < NOW.floor("h")
    with session_scope() as session:
        home = Household(name="Müller, Pankow", timezone="Europe/Berlin", latitude=52.53, longitude=13.41)
        session.add(home)
        session.flush()
        array = SETUP.arrays[0]
        session.add(PVSystem(household_id=home.id, kwp=array.kwp, tilt_deg=array.tilt_deg,
                             azimuth_deg=array.azimuth_deg, losses_pct=array.losses_pct,
                             inverter_kw=array.inverter_kw))
        add_series(session, home.id, "pv", START.to_pydatetime(), pv[known].round(4).tolist(), step_min=60)
        add_series(session, home.id, "load", START.to_pydatetime(), load[known].round(4).tolist(), step_min=60)
        home_id = home.id
    site = ensure_site("Berlin", 52.52, 13.40, 34.0)
    save_weather(site, weather[weather.index < NOW.floor("h")], "demo")
    return home_id, site, weather


def test_without_models_the_forecasts_fall_back_and_say_so(household):
    home_id, _, _ = household
    pv = service.forecast_pv(home_id, 48, NOW.to_pydatetime(), fetch_weather=False)
    assert pv.method == "physical" and pv.model_id is None
    assert any(n.startswith("physical model only: no model trained yet") for n in pv.notes)
    assert pv.frame.index[0] == NOW.ceil("h") and len(pv.frame) == 48
    load = service.forecast_load(home_id, 48, NOW.to_pydatetime(), fetch_weather=False)
    assert load.method == "persistence" and "no model trained yet" in load.notes[0]
    stored = service.stored_forecast(home_id, "load")
    assert stored.id == load.forecast_id and stored.method == "persistence"
    pd.testing.assert_series_equal(stored.frame["p50"], load.frame["p50"], check_freq=False, check_names=False)


def test_trained_models_forecast_within_physical_bounds(household):
    home_id, site, weather = household
    report = service.train_models(home_id, NOW.to_pydatetime())
    assert set(report.trained) == {"pv", "load"} and report.skipped == {}
    assert service.model_status(home_id, NOW.to_pydatetime()) == {"pv": (False, ""), "load": (False, "")}
    # A weather forecast issued an hour ago covers the next two days.
    future = weather[weather.index >= NOW.floor("h")]
    save_weather(site, future, "open-meteo", issued_at=(NOW - pd.Timedelta(hours=1)).to_pydatetime())
    pv = service.forecast_pv(home_id, 48, NOW.to_pydatetime(), fetch_weather=False)
    assert pv.method == "ml" and pv.model_id == report.trained["pv"] and pv.weather == "stored"
    assert not any("no weather forecast" in n for n in pv.notes)
    where = Location(52.53, 13.41, 34.0)  # the household, at the weather site's altitude
    # The bound of the forecasts: clear-sky energy integrated over each hour (see pv_physics).
    bound = pv_physics(pv.frame.index, SETUP.arrays, where, future, SETUP.step)["clearsky_bound_kwh"]
    assert (pv.frame["p90"] <= bound * (1 + CLEARSKY_MARGIN) + 1e-9).all()
    assert (pv.frame[bound == 0] == 0).all().all()
    assert (pv.frame >= 0).all().all()
    load = service.forecast_load(home_id, 24, NOW.to_pydatetime(), fetch_weather=False)
    assert load.method == "ml" and len(load.frame) == 24
    assert registry.latest_forecast(home_id, "pv").id == pv.forecast_id


def test_backtest_uses_only_weather_known_at_each_origin_and_stores_scores(household):
    home_id, _, _ = household
    end = NOW.floor("D")
    metrics = service.backtest_household(home_id, "pv", (end - timedelta(days=3)).to_pydatetime(),
                                         end.to_pydatetime(), retrain_every=7)
    overall = metrics["overall"]
    assert overall["n"] > 20 and 0 < overall["nmae"] < 1
    assert "skill_persistence" in overall and "skill_physical" in overall
    assert metrics["methods"] == {"ml": 2}  # local midnights whose next 24 h end by `end`
    assert registry.latest_backtest(home_id, "pv")["metrics"]["overall"] == overall


def test_a_household_without_pv_gets_a_clear_message(db_url):
    with session_scope() as session:
        home = Household(name="Flat, Mitte", timezone="Europe/Berlin", latitude=52.52, longitude=13.40)
        session.add(home)
        session.flush()
        home_id = home.id
    with pytest.raises(ValueError, match="has no PV system: add one"):
        service.forecast_pv(home_id, now=NOW.to_pydatetime(), fetch_weather=False)
    report = service.train_models(home_id, NOW.to_pydatetime())
    assert report.skipped["pv"] == "no PV system"
    assert report.skipped["load"].startswith("0 days of load readings")
