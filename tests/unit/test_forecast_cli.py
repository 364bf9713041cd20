"""The forecasting and weather commands through Flask's CLI runner, on each backend. The weather
provider is played back from recorded responses (tests/fixtures/open_meteo): no network."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pytest
import requests

from services.demo import load_demo_portfolio
from services.forecasting import registry
from services.households import create_household, list_households
from services.weather.open_meteo import OpenMeteoClient
from services.weather.store import ensure_site, site_for_household, weather_known_at
from tests.unit.test_forecasting import fast_models  # noqa: F401
from tests.unit.test_weather_open_meteo import FIXTURES, OK, ReplaySession

PV_HOME, NO_PV_HOME = "Müller family, Pankow", "Petersen family, Altona"


@pytest.fixture
def cli(dash_app):
    """``cli(*args)``: run ``flask --app app <args>``; returns the click result."""
    runner = dash_app.server.test_cli_runner()
    return lambda *args: runner.invoke(args=[str(a) for a in args])


@pytest.fixture
def demo(db_url) -> dict[str, int]:
    load_demo_portfolio(n_households=4, seed=7, end=date(2026, 6, 30), days=60, url=db_url)
    return {h.name: h.id for h in list_households()}


@pytest.fixture
def provider(monkeypatch):
    """``provider(*replies)``: the weather commands' next client plays these replies back."""
    sleeps: list[float] = []

    def install(*replies) -> ReplaySession:
        session = ReplaySession(*replies)
        monkeypatch.setattr("services.weather.refresh.OpenMeteoClient",
                            lambda: OpenMeteoClient(session=session, sleep=sleeps.append))
        return session

    return install


def recorded_from_today() -> requests.Response:
    """The recorded Berlin forecast, its 72 hours moved to start at today's 00:00 UTC."""
    body = json.loads((FIXTURES / OK).read_text())
    start = pd.Timestamp(datetime.now(UTC).date())
    body["hourly"]["time"] = [f"{start + pd.Timedelta(hours=i):%Y-%m-%dT%H:%M}" for i in range(len(body["hourly"]["time"]))]
    response = requests.Response()
    response.status_code = 200
    response._content = json.dumps(body).encode()
    response.encoding = "utf-8"
    return response


OFFLINE = [requests.ConnectionError("Failed to resolve 'api.open-meteo.com'")] * 3  # every attempt of one fetch


# --- forecast-train ---------------------------------------------------------------------------------


def test_train_reports_each_household_and_stores_the_models(cli, demo, fast_models):  # noqa: F811
    result = cli("forecast-train", "--household", demo[PV_HOME], "--household", demo[NO_PV_HOME])
    assert result.exit_code == 0, result.output
    lines = {line.split(":", 1)[0]: line for line in result.output.splitlines()}
    assert "pv trained in" in lines[f"Household {demo[PV_HOME]}"]
    assert "load trained in" in lines[f"Household {demo[PV_HOME]}"] and "s in all" in lines[f"Household {demo[PV_HOME]}"]
    assert "pv skipped: no PV system" in lines[f"Household {demo[NO_PV_HOME]}"]
    assert registry.latest_model(demo[PV_HOME], "pv").estimator is not None
    assert registry.latest_model(demo[NO_PV_HOME], "pv") is None
    assert registry.latest_model(demo[NO_PV_HOME], "load") is not None


def test_train_stale_only_leaves_fresh_models_alone(cli, demo, fast_models):  # noqa: F811
    home = demo[PV_HOME]
    first = cli("forecast-train", "--stale-only", "--household", home)
    assert first.exit_code == 0 and "pv trained in" in first.output, first.output  # none yet: trained
    trained = registry.latest_model(home, "pv").id
    again = cli("forecast-train", "--stale-only", "--household", home)
    assert again.exit_code == 0 and f"Household {home}: models up to date." in again.output, again.output
    assert registry.latest_model(home, "pv").id == trained


def test_train_an_unknown_household_says_so_and_fails(cli, demo):
    result = cli("forecast-train", "--household", 999999)
    assert result.exit_code == 1
    assert "Household 999999: does not exist" in result.output and "No household could be trained" in result.output


# --- forecast-backtest ------------------------------------------------------------------------------


def test_backtest_prints_the_scores_and_stores_them(cli, demo, fast_models):  # noqa: F811
    home = demo[PV_HOME]
    result = cli("forecast-backtest", "--household", home, "--start", "2026-06-26", "--end", "2026-06-29")
    assert result.exit_code == 0, result.output
    assert "Back-test of household" in result.output and "2026-06-26 to 2026-06-29" in result.output
    pv_line = next(line for line in result.output.splitlines() if line.strip().startswith("pv:"))
    assert "MAE" in pv_line and "persistence nMAE" in pv_line and "physical nMAE" in pv_line
    stored = registry.latest_backtest(home, "load")
    # Four local days in Berlin: 2026-06-26 00:00 (22:00 UTC the day before) to 2026-06-30 00:00.
    assert pd.Timestamp(stored["period_start"]) == pd.Timestamp("2026-06-25 22:00", tz="UTC")
    assert pd.Timestamp(stored["period_end"]) == pd.Timestamp("2026-06-29 22:00", tz="UTC")
    assert stored["metrics"]["methods"] == {"ml": 4}  # one forecast from each local midnight


@pytest.mark.parametrize(("args", "message"), [
    (("--start", "2026-06-29", "--end", "2026-06-26"), "ends (2026-06-26) before it starts (2026-06-29)"),
    (("--start", "2026-06-26", "--end", "2026-06-29", "--target", "pv"), "has no PV system"),
])
def test_backtest_refuses_what_cannot_be_done_with_a_reason(cli, demo, args, message):
    result = cli("forecast-backtest", "--household", demo[NO_PV_HOME], *args)
    assert result.exit_code == 1 and message in result.output


def test_backtest_of_an_unknown_household_or_a_bad_date(cli, demo):
    unknown = cli("forecast-backtest", "--household", 999999, "--start", "2026-06-26", "--end", "2026-06-29")
    assert unknown.exit_code == 1 and "Household 999999 does not exist" in unknown.output
    bad = cli("forecast-backtest", "--household", demo[PV_HOME], "--start", "26.06.2026", "--end", "2026-06-29")
    assert bad.exit_code == 2 and "does not match the format" in bad.output


# --- weather-refresh --------------------------------------------------------------------------------


def test_refresh_stores_a_forecast_then_serves_the_cache_then_survives_going_offline(cli, db_url, provider):
    site = ensure_site("Berlin", 52.52, 13.40, 34.0)
    session = provider(recorded_from_today())
    fetched = cli("weather-refresh")
    assert fetched.exit_code == 0, fetched.output
    assert fetched.output.startswith("Berlin: fresh, ") and "h ahead stored" in fetched.output
    assert len(session.calls) == 1 and session.calls[0]["params"]["latitude"] == 52.52
    now = datetime.now(UTC)
    known = weather_known_at(site, now - timedelta(hours=1), now + timedelta(hours=24), now)
    assert known["is_forecast"].all() and len(known) == 25  # the next day, as fetched

    cached = cli("weather-refresh")  # within the hour: no request (the replay has none left)
    assert cached.exit_code == 0 and "Berlin: cached" in cached.output

    provider(*OFFLINE)
    offline = cli("weather-refresh", "--force")
    assert offline.exit_code == 0, offline.output  # a forecast is stored: pages keep working on it
    assert "Berlin: degraded" in offline.output and "cannot connect" in offline.output
    assert "forecasts keep using the weather stored before" in offline.output


def test_refresh_offline_with_nothing_stored_fails_with_what_to_do(cli, db_url, provider):
    ensure_site("Berlin", 52.52, 13.40, 34.0)
    provider(*OFFLINE)
    result = cli("weather-refresh")
    assert result.exit_code == 1
    assert "Open-Meteo could not be reached and no weather forecast is stored" in result.output
    assert "Check the internet connection" in result.output


def test_refresh_without_sites_says_so_and_can_add_one_per_household(cli, db_url, provider):
    home = create_household({"name": "Alpha", "timezone": "Europe/Berlin", "latitude": 52.52, "longitude": 13.40})
    nothing = cli("weather-refresh")
    assert nothing.exit_code == 0 and "There are no weather sites" in nothing.output and "--add-sites" in nothing.output
    provider(recorded_from_today())
    added = cli("weather-refresh", "--add-sites")
    assert added.exit_code == 0, added.output
    assert f"Created weather site Alpha (household {home})." in added.output
    assert f"Alpha (household {home}): fresh" in added.output
    assert site_for_household(home).name == f"Alpha (household {home})"


def test_forecast_issue_stores_what_the_optimizer_plans_with_and_says_what_it_did_not(cli, demo):
    home = demo[PV_HOME]
    result = cli("forecast-issue", "--household", home, "--hours", 6)
    assert result.exit_code == 0, result.output
    pv = registry.latest_forecast(home, "pv")
    assert pv is not None and f"pv {pv.method}, stored as forecast {pv.id}" in result.output
    # The demo's readings end months before now: a load forecast from them would plan nothing.
    assert registry.latest_forecast(home, "load") is None and "load persistence, not stored: " in result.output
    assert "does not exist" in cli("forecast-issue", "--household", 999999).output
