"""GET /health and GET /api/services/health through the Flask test client of the real app."""

from __future__ import annotations

from datetime import datetime

from alembic.script import ScriptDirectory

from api.models import HealthOut, ServicesHealthOut
from services import config
from services.config import APP_VERSION, PROJECT_ROOT
from services.health import check_services

#: The newest migration, which a freshly migrated store is at.
HEAD = ScriptDirectory(str(PROJECT_ROOT / "migrations")).get_current_head()


def test_health_says_the_process_is_up(anonymous_client):
    response = anonymous_client.get("/health")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok" and body["version"] == APP_VERSION
    assert datetime.fromisoformat(body["time"]).utcoffset().total_seconds() == 0
    HealthOut.model_validate(body)


def test_services_health_reports_the_store_ok(client, db_url):
    response = client.get("/api/services/health")
    assert response.status_code == 200
    report = ServicesHealthOut.model_validate(response.get_json())
    by_name = {s.name: s for s in report.services}
    assert set(by_name) == {"store", "solver", "forecaster", "weather_source", "background_workers", "workers",
                            "queues", "beat"}
    backend = db_url.split(":", 1)[0].split("+")[0]
    assert by_name["store"].status == "ok"
    assert by_name["store"].detail.startswith(f"{backend}: schema at revision {HEAD}")
    assert by_name["solver"].status == "ok"
    assert report.status in ("ok", "degraded")
    assert all(s.latency_ms >= 0 for s in report.services)


def test_services_health_is_503_when_the_database_is_unreachable(client, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:1/none")
    config.get_settings.cache_clear()
    try:
        response = client.get("/api/services/health")
        report = check_services()
    finally:
        monkeypatch.undo()
        config.get_settings.cache_clear()
    # The caller's token cannot be checked without the store: the gate says so, as a 503 to retry.
    assert response.status_code == 503 and response.headers["Retry-After"]
    assert response.mimetype == "application/json"
    assert "store cannot be reached" in response.get_json()["error"]["detail"]
    # What the report would say (and does, to a caller the gate lets through): the store alone is down.
    report = ServicesHealthOut.model_validate(report)
    store = next(s for s in report.services if s.name == "store")
    assert (report.status, store.status) == ("down", "down")
    assert "cannot reach the database" in store.detail
    assert next(s for s in report.services if s.name == "solver").status == "ok"


def test_services_health_needs_an_identity_and_health_does_not(anonymous_client, db_url):
    refused = anonymous_client.get("/api/services/health")
    assert refused.status_code == 401 and refused.headers["WWW-Authenticate"].startswith("Bearer")
    assert anonymous_client.get("/health").status_code == 200


def test_health_refuses_other_methods_as_json(anonymous_client):
    response = anonymous_client.post("/health")
    assert response.status_code == 405
    assert response.get_json()["error"]["status"] == 405
    assert "GET" in response.headers["Allow"]
