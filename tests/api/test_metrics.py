"""/metrics: who may scrape it, and what the hooks count (routes by template, callbacks by output id,
ingestion by channel/outcome/reason), plus the request id in headers, logs and API error bodies."""

from __future__ import annotations

import io
import json
import logging

import pytest
from prometheus_client import REGISTRY

from services import config
from services.households import create_household
from services.observability.logs import configure_logging, set_request_id
from services.observability.metrics import callback_label
from tests.dash_requests import callback_body

TOKEN = "s3cret-metrics-token-0123"


def sample(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.fixture
def home(db_url) -> int:
    return create_household({"name": "Metered Home", "timezone": "Europe/Berlin", "latitude": 52.5,
                             "longitude": 13.4})


@pytest.fixture
def token(monkeypatch):
    monkeypatch.setenv("METRICS_TOKEN", TOKEN)
    config.get_settings.cache_clear()
    yield TOKEN
    config.get_settings.cache_clear()


def test_without_a_token_only_loopback_clients_may_scrape(anonymous_client, db_url):
    assert anonymous_client.get("/metrics").status_code == 200
    far = anonymous_client.get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert far.status_code == 403 and "METRICS_TOKEN" in far.get_data(as_text=True)


def test_with_a_token_every_client_needs_it(anonymous_client, client, db_url, token):
    for headers in ({}, {"Authorization": "Bearer wrong-token-wrong-token"}, {"Authorization": f"Basic {token}"}):
        refused = anonymous_client.get("/metrics", headers=headers)
        assert refused.status_code == 401
        assert refused.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/metrics").status_code == 401  # an API token is not the metrics token
    ok = anonymous_client.get("/metrics", headers={"Authorization": f"Bearer {token}"},
                    environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert ok.status_code == 200
    text = ok.get_data(as_text=True)
    assert "energy_http_requests_total" in text and 'energy_scrape_part_ok{part="store"} 1.0' in text


def test_a_short_token_is_refused_at_start(monkeypatch):
    with pytest.raises(config.SettingsError, match="METRICS_TOKEN"):
        config.load_settings({"METRICS_TOKEN": "short"})


def test_routes_are_labelled_by_template_never_by_household(client, home):
    before = sample("energy_http_requests_total", method="GET", route="/api/households/<int:household_id>",
                    status="200")
    assert client.get(f"/api/households/{home}").status_code == 200
    assert client.get("/api/households/987654").status_code == 404
    after = sample("energy_http_requests_total", method="GET", route="/api/households/<int:household_id>",
                   status="200")
    assert after == before + 1
    assert sample("energy_http_requests_total", method="GET", route="/api/households/<int:household_id>",
                  status="404") >= 1
    client.get(f"/household/{home}")
    assert sample("energy_http_request_duration_seconds_count", method="GET", route="/household/<household_id>") >= 1
    scraped = client.get("/metrics").get_data(as_text=True)
    assert "987654" not in scraped and f"/household/{home}\"" not in scraped


def test_a_callback_is_timed_by_its_output_id(client, db_url):
    body = callback_body(client.get("/_dash-dependencies").get_json(), "data-batches-refresh", "n_clicks", 1)
    output = callback_label(body["output"])
    assert output.startswith("data-batches-grid.rowData...") and "@" not in output
    before = sample("energy_dash_callback_duration_seconds_count", output=output)
    response = client.post("/_dash-update-component", json=body)
    assert response.status_code == 200
    assert sample("energy_dash_callback_duration_seconds_count", output=output) == before + 1
    assert sample("energy_dash_callback_errors_total", output=output) == 0


def test_callback_labels_drop_pattern_values_and_stay_short():
    assert callback_label('{"index":17,"type":"row"}.children') == '{"index":"*","type":"row"}.children'
    assert callback_label("a.children@0a1b2c") == "a.children"
    many = "..".join(f"out-{i}.children" for i in range(40))
    label, other = callback_label(f"..{many}.."), callback_label(f"..{many}...x.value..")
    assert len(label) <= 120 and label != other


def test_ingestion_counts_rows_by_outcome_and_rejections_by_reason(client, home):
    good = {"household_id": home, "series": "load", "quantity": "load", "ts": "2025-05-01T10:00:00Z",
            "value": 0.5, "unit": "kWh"}
    bad = {**good, "ts": "2025-05-01T10:15:00Z", "value": "lots"}
    inserted = sample("energy_ingested_rows_total", channel="api", outcome="inserted")
    rejected = sample("energy_ingest_rejections_total", channel="api", reason="value")
    response = client.post("/api/ingest/readings", json={"readings": [good, bad]})
    assert response.status_code == 422
    assert sample("energy_ingested_rows_total", channel="api", outcome="inserted") == inserted + 1
    assert sample("energy_ingest_rejections_total", channel="api", reason="value") == rejected + 1
    client.post("/api/ingest/readings", json={"readings": [good]})
    assert sample("energy_ingested_rows_total", channel="api", outcome="unchanged") >= 1


def test_the_request_id_goes_in_and_out_and_into_error_bodies(client, db_url):
    echoed = client.get("/api/households/424242", headers={"X-Request-ID": "trace-me-42"})
    assert echoed.headers["X-Request-ID"] == "trace-me-42"
    assert echoed.get_json()["error"]["request_id"] == "trace-me-42"
    made_up = client.get("/health", headers={"X-Request-ID": "bad id; DROP \"x\""})
    assert made_up.headers["X-Request-ID"] != "bad id; DROP \"x\"" and len(made_up.headers["X-Request-ID"]) == 32


def test_json_logs_carry_the_request_id():
    stream = io.StringIO()
    handler = configure_logging("json", "INFO", stream=stream)
    try:
        token = set_request_id("req-7")
        logging.getLogger("energy.test").warning("stored %d readings", 3)
        set_request_id(None)
        del token
    finally:
        logging.getLogger().removeHandler(handler)
    entry = json.loads(stream.getvalue().strip().splitlines()[-1])
    assert (entry["message"], entry["level"], entry["request_id"]) == ("stored 3 readings", "WARNING", "req-7")


def test_the_token_can_come_from_a_secret_file(tmp_path):
    secret = tmp_path / "metrics_token"
    secret.write_text(TOKEN + "\n")
    assert config.load_settings({"METRICS_TOKEN_FILE": str(secret)}).metrics_token == TOKEN
    with pytest.raises(config.SettingsError, match="METRICS_TOKEN_FILE: cannot read"):
        config.load_settings({"METRICS_TOKEN_FILE": str(tmp_path / "missing")})
