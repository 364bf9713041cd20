"""The Open-Meteo client against recorded responses: no test here touches the network.

Responses under tests/fixtures/open_meteo/ were written by hand from the API's
documented format (hourly arrays, GMT, radiation as the preceding hour's mean).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
import requests

from services.config import get_settings
from services.weather.open_meteo import (
    COOLDOWN,
    OpenMeteoClient,
    WeatherProviderError,
    breaker_state,
    check_weather_source,
    forecast_for_site,
    parse_forecast,
    weather_source_status,
)
from services.weather.store import ensure_site

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "open_meteo"
OK = "forecast_berlin_2024-06-01.json"
NOW = datetime(2024, 6, 1, 0, 20, tzinfo=UTC)


def recorded(status: int, name: str) -> requests.Response:
    """A real ``requests.Response`` carrying a recorded body."""
    response = requests.Response()
    response.status_code = status
    response._content = (FIXTURES / name).read_bytes()
    response.encoding = "utf-8"
    return response


class ReplaySession:
    """Plays back recorded responses (or raises recorded exceptions) in order.

    Running out of recordings fails the test: it means the code made a request the
    test did not expect, which in production would have gone to the network.
    """

    def __init__(self, *replies):
        self.replies = list(replies)
        self.calls: list[dict] = []

    def get(self, url, params=None, timeout=None):
        self.calls.append({"url": url, "params": params, "timeout": timeout})
        if not self.replies:
            raise AssertionError(f"unexpected request to {url}: no recorded response left")
        reply = self.replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        return reply


def client(*replies) -> tuple[OpenMeteoClient, ReplaySession, list[float]]:
    session = ReplaySession(*replies)
    sleeps: list[float] = []
    return OpenMeteoClient(session=session, sleep=sleeps.append), session, sleeps


def test_parse_puts_preceding_hour_radiation_at_its_interval_start():
    body = (FIXTURES / OK).read_text()
    raw = pd.read_json(FIXTURES / OK, typ="series")["hourly"]
    frame = parse_forecast(json.loads(body))
    # Radiation stamped 00:00 is the mean of 23:00-00:00; that hour has no temperature instant
    # at its start, so its temperature stays unknown.
    assert frame.index[0] == pd.Timestamp("2024-05-31 23:00", tz="UTC")
    assert pd.isna(frame["temp_air"].iloc[0])
    assert len(frame) == 72
    noon = pd.Timestamp("2024-06-01 11:00", tz="UTC")
    assert frame.loc[noon, "ghi"] == raw["shortwave_radiation"][12]  # stamped 12:00 = mean of 11:00-12:00
    assert frame.loc[noon, "temp_air"] == pytest.approx((raw["temperature_2m"][11] + raw["temperature_2m"][12]) / 2)
    assert frame["ghi"].max() > 500
    assert (frame.loc[frame.index.hour == 22, "ghi"] == 0).all()  # night in Berlin


def test_success_asks_for_gmt_and_metres_per_second():
    om, session, sleeps = client(recorded(200, OK))
    frame = om.fetch(52.52, 13.41, hours=48)
    assert len(frame) == 72
    params = session.calls[0]["params"]
    assert params["timezone"] == "GMT" and params["wind_speed_unit"] == "ms"
    assert "direct_normal_irradiance" in params["hourly"]
    assert session.calls[0]["timeout"] is not None
    assert sleeps == []


def test_timeouts_are_retried_with_exponential_backoff_then_give_up():
    om, session, sleeps = client(requests.ReadTimeout(), requests.ConnectTimeout(), requests.ReadTimeout())
    with pytest.raises(WeatherProviderError, match="no answer") as err:
        om.fetch(52.52, 13.41)
    assert err.value.retryable
    assert len(session.calls) == 3
    assert sleeps == [0.5, 1.0]


def test_server_error_then_success_recovers():
    om, session, sleeps = client(recorded(500, "error_500.html"), recorded(200, OK))
    assert len(om.fetch(52.52, 13.41)) == 72
    assert sleeps == [0.5]


def test_client_errors_and_malformed_bodies_are_not_retried():
    om, session, _ = client(recorded(400, "error_400.json"))
    with pytest.raises(WeatherProviderError, match="Latitude must be in range"):
        om.fetch(91.0, 13.41)
    assert len(session.calls) == 1
    om, session, _ = client(recorded(200, "malformed_lengths.json"))
    with pytest.raises(WeatherProviderError, match="different lengths"):
        om.fetch(52.52, 13.41)
    assert len(session.calls) == 1
    om, session, _ = client(recorded(200, "error_500.html"))
    with pytest.raises(WeatherProviderError, match="not JSON"):
        om.fetch(52.52, 13.41)


def test_second_call_within_the_hour_is_served_from_the_store(db_url):
    site = ensure_site("Berlin", 52.52, 13.41)
    om, session, _ = client(recorded(200, OK))
    first = forecast_for_site(site, hours=48, now=NOW, client=om)
    assert first.status == "fresh"
    assert first.frame.index[0] == pd.Timestamp("2024-06-01 00:00", tz="UTC")
    assert len(first.frame) == 49
    cached = forecast_for_site(site, hours=48, now=NOW + timedelta(minutes=30), client=om)
    assert cached.status == "cached"
    assert len(session.calls) == 1  # no second request
    pd.testing.assert_frame_equal(cached.frame, first.frame)


def test_failures_fall_back_to_stored_weather_and_open_the_breaker(db_url):
    site = ensure_site("Berlin", 52.52, 13.41)
    om, _, _ = client(recorded(200, OK))
    forecast_for_site(site, now=NOW, client=om)
    later = NOW + timedelta(hours=2)
    timeouts = [requests.ReadTimeout()] * 3
    for attempt in range(3):
        om, session, _ = client(*timeouts)
        answer = forecast_for_site(site, now=later + timedelta(minutes=attempt), client=om)
        assert answer.status == "degraded"
        assert "using weather stored at 2024-06-01 00:20 UTC" in answer.message
        assert not answer.frame.empty  # the page keeps working on the stored forecast
        assert len(session.calls) == 3
    state = breaker_state(later + timedelta(minutes=3))
    assert state.open and state.consecutive_failures == 3
    # Open breaker: no request at all.
    om, session, _ = client()
    answer = forecast_for_site(site, now=later + timedelta(minutes=4), client=om)
    assert answer.status == "degraded" and "skipped" in answer.message
    assert session.calls == []
    status, detail = weather_source_status(site, now=later + timedelta(minutes=4))
    assert status == "degraded"
    assert detail.startswith("degraded: using weather stored at 2024-06-01 00:20 UTC")
    # After the cool-down one trial request goes through, and success closes the breaker.
    # (Fetch log times are wall-clock, so the "now" of the test moves past it.)
    wall = datetime.now(UTC) + COOLDOWN + timedelta(minutes=1)
    om, session, _ = client(recorded(200, OK))
    assert forecast_for_site(site, now=wall, client=om).status == "fresh"
    assert len(session.calls) == 1
    assert not breaker_state(wall).open
    assert check_weather_source(get_settings())[0] == "ok"


def test_no_site_data_and_no_provider_says_so(db_url):
    site = ensure_site("Vienna", 48.21, 16.37)
    om, _, _ = client(recorded(500, "error_500.html"), recorded(500, "error_500.html"),
                      recorded(500, "error_500.html"))
    answer = forecast_for_site(site, now=NOW, client=om)
    assert answer.status == "degraded"
    assert answer.frame.empty
    assert "no stored forecast" in answer.message and "HTTP 500" in answer.message
