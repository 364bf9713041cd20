"""End to end on the natively started deployment (deploy/run_native.py): a reading published over
MQTT shows on the Data page, a job runs on the Celery worker with the request id it was sent with,
and Prometheus scrapes all three processes; /metrics wants the compose secret's token."""

from __future__ import annotations

import json
import time

from tests.ops.conftest import publish_reading, run_ping


def test_an_mqtt_reading_shows_on_the_data_page(native_stack, traffic):
    home = traffic["households"][-1]
    publish_reading(home, 1.234, metric="grid_export")
    deadline = time.monotonic() + 60
    while True:
        status, body = native_stack.callback("data-batches-refresh", "n_clicks", 7)
        assert status == 200
        rows = next(iter(body["response"].values()))["rowData"] if "response" in body else []
        mqtt = [r for r in rows if r.get("channel") == "mqtt" and (r.get("inserted") or 0) >= 1]
        if mqtt or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert mqtt, f"no MQTT batch on the Data page: {json.dumps(rows)[:500]}"


def test_a_job_runs_on_the_worker_with_the_request_id(native_stack):
    answer = run_ping("e2e-request-42")
    assert answer["request_id"] == "e2e-request-42"
    assert answer["pid"] != native_stack.stack.processes["worker"].pid  # a pool process, not the main one


def test_prometheus_scrapes_every_process(native_stack, traffic):
    up = {r["metric"]["job"]: r["value"][1] for r in native_stack.promql("up")}
    assert up == {"energy-web": "1", "energy-worker": "1", "energy-mqtt-listener": "1"}
    stored = native_stack.promql('sum(energy_ingested_rows_total{channel="mqtt", outcome="inserted"})')
    assert stored and float(stored[0]["value"][1]) >= 1
    assert native_stack.promql("energy_mqtt_lag_seconds_count >= 2")  # each stored reading timed
    assert native_stack.promql('energy_mqtt_listener_connected{job="energy-mqtt-listener"} == 1')


def test_metrics_want_the_token_from_the_compose_secret(native_stack):
    status, _body, headers = native_stack.get("/metrics", signed_in=False)
    assert status == 401 and headers["WWW-Authenticate"].startswith("Bearer")
    status, body, _headers = native_stack.get("/metrics", {"Authorization": f"Bearer {native_stack.stack.token}"})
    assert status == 200 and b"energy_http_requests_total" in body


def test_no_service_logged_a_traceback(native_stack, traffic):
    """Whatever ran so far against the stack: no unhandled error in any service's log."""
    from pathlib import Path

    for log in sorted(Path(native_stack.stack.log_dir).glob("*.log")):
        text = log.read_text(errors="replace")
        assert "Traceback" not in text, f"{log.name}:\n{text[text.index('Traceback') - 300:][:3000]}"
