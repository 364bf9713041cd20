"""OpenTelemetry: one trace from a Dash callback (its span named by output id) through a service
span to the service's SQL statements; and spans exported over OTLP/HTTP when configured.

Each case runs in a fresh interpreter: a tracer provider is installed once per process, and the
rest of the suite should not run traced.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = r'''
import json, os, sys
sys.path.insert(0, os.getcwd())
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from app import app
from services.auth import create_token
from services.observability.tracing import setup_tracing
from services.store.models import DEFAULT_ORGANISATION_ID
from tests.dash_requests import callback_body

exporter = InMemorySpanExporter() if sys.argv[1] == "memory" else None
assert setup_tracing("probe", exporter=exporter, server=app.server)
client = app.server.test_client()
_token, secret = create_token("tracing probe", DEFAULT_ORGANISATION_ID, "admin")  # the gate wants a caller
client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {secret}"
body = callback_body(client.get("/_dash-dependencies").get_json(), "data-batches-refresh", "n_clicks", 1)
response = client.post("/_dash-update-component", json=body)
assert response.status_code == 200, response.data[:300]
if exporter is None:
    from opentelemetry import trace
    trace.get_tracer_provider().force_flush()
    print(json.dumps([]))
else:
    print(json.dumps([{"name": s.name, "trace": s.context.trace_id, "id": s.context.span_id,
                       "parent": s.parent.span_id if s.parent else None,
                       "statement": s.attributes.get("db.statement") or s.attributes.get("db.query.text")}
                      for s in exporter.get_finished_spans()]))
'''


def run_probe(mode: str, database_url: str, extra_env: dict | None = None) -> list[dict]:
    import os

    env = {**os.environ, "DATABASE_URL": database_url, **(extra_env or {})}
    env.pop("OTEL_EXPORTER_OTLP_ENDPOINT", None) if mode == "memory" else None
    result = subprocess.run([sys.executable, "-c", PROBE, mode], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_one_trace_from_a_callback_through_a_service_to_its_sql(db_url):
    spans = run_probe("memory", db_url)
    (callback,) = [s for s in spans if s["name"].startswith("callback data-batches-grid.rowData")]
    assert not any(s["name"] == "POST /_dash-update-component" for s in spans)
    (service,) = [s for s in spans if s["name"] == "batches.list_batches"]
    assert service["parent"] == callback["id"] and service["trace"] == callback["trace"]
    sql = [s for s in spans if s["parent"] == service["id"] and s["statement"]]
    assert sql and any("ingestion_batches" in s["statement"] for s in sql)
    assert {s["trace"] for s in sql} == {callback["trace"]}


def test_spans_go_out_over_otlp_http_when_an_endpoint_is_set(sqlite_url):
    received: list[tuple[str, bytes]] = []

    class Collector(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server's name)
            received.append((self.path, self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.end_headers()

        def log_message(self, *_args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Collector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        run_probe("otlp", sqlite_url, {"OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{server.server_port}",
                                        "OTEL_SERVICE_NAME": "energy-probe"})
    finally:
        server.shutdown()
    paths = {path for path, _ in received}
    assert paths == {"/v1/traces"}
    payload = b"".join(body for _, body in received)
    assert b"energy-probe" in payload and b"batches.list_batches" in payload
