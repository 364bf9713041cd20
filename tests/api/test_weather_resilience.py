"""Retries (tenacity) and the circuit breaker (pybreaker) of the weather provider: over real HTTP to a
local server replaying recorded responses, and their state in metrics and the health endpoint."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer

import requests
from prometheus_client import REGISTRY

from services.weather.open_meteo import OpenMeteoClient, breaker_gauges, forecast_for_site
from services.weather.store import ensure_site
from tests.unit.test_weather_open_meteo import FIXTURES, OK


def calls(outcome: str) -> float:
    return REGISTRY.get_sample_value("energy_outside_calls_total", {"target": "open-meteo", "outcome": outcome}) or 0.0


class Provider:
    """A local HTTP server answering with the given (status, body file) in order."""

    def __init__(self, *replies: tuple[int, str]):
        self.replies = list(replies)
        self.requests: list[str] = []
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                provider.requests.append(self.path)
                status, name = provider.replies.pop(0) if provider.replies else (500, "error_500.html")
                body = (FIXTURES / name).read_bytes()
                self.send_response(status)
                self.send_header("Content-Type", "application/json" if name.endswith(".json") else "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/v1/forecast"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


def test_server_errors_are_retried_over_http_then_succeed():
    provider = Provider((503, "error_500.html"), (502, "error_500.html"), (200, OK))
    sleeps: list[float] = []
    try:
        before = calls("retry")
        frame = OpenMeteoClient(session=requests.Session(), base_url=provider.url, sleep=sleeps.append).fetch(52.52, 13.41)
    finally:
        provider.close()
    assert len(provider.requests) == 3 and sleeps == [0.5, 1.0] and not frame.empty
    assert calls("retry") == before + 2


def test_the_breaker_opens_and_shows_in_metrics_and_health(db_url, client):
    site = ensure_site("Berlin", 52.52, 13.41)
    provider = Provider()  # every request a 500
    try:
        failed, rejected = calls("failed"), calls("rejected")
        for _ in range(3):
            om = OpenMeteoClient(session=requests.Session(), base_url=provider.url, sleep=lambda _s: None)
            assert forecast_for_site(site, client=om).status == "degraded"
        assert len(provider.requests) == 9  # 3 fetches of 3 attempts each
        om = OpenMeteoClient(session=requests.Session(), base_url=provider.url, sleep=lambda _s: None)
        answer = forecast_for_site(site, now=datetime.now(UTC), client=om)
    finally:
        provider.close()
    assert "skipped after 3 failed attempts" in answer.message and len(provider.requests) == 9
    assert (calls("failed"), calls("rejected")) == (failed + 3, rejected + 1)
    assert breaker_gauges() == {"open-meteo": 2}
    scraped = client.get("/metrics").get_data(as_text=True)
    assert 'energy_circuit_breaker_open{breaker="open-meteo"} 2.0' in scraped
    health = client.get("/api/services/health").get_json()
    (weather,) = [s for s in health["services"] if s["name"] == "weather_source"]
    assert weather["status"] == "degraded" and "breaker open" in weather["detail"]
