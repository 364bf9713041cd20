"""GET /health and GET /api/services/health through the Flask test client of the real app."""

from __future__ import annotations

from datetime import datetime

from alembic.script import ScriptDirectory

from api.models import HealthOut, ServicesHealthOut
from services import config
from services.config import APP_VERSION, PROJECT_ROOT

#: The newest migration, which a freshly migrated store is at.
HEAD = ScriptDirectory(str(PROJECT_ROOT / "migrations")).get_current_head()


def test_health_says_the_process_is_up(client):
    response = client.get("/health")
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
    finally:
        monkeypatch.undo()
        config.get_settings.cache_clear()
    assert response.status_code == 503
    assert response.mimetype == "application/json"
    report = ServicesHealthOut.model_validate(response.get_json())
    store = next(s for s in report.services if s.name == "store")
    assert (report.status, store.status) == ("down", "down")
    assert "cannot reach the database" in store.detail
    assert next(s for s in report.services if s.name == "solver").status == "ok"


def test_health_refuses_other_methods_as_json(client):
    response = client.post("/health")
    assert response.status_code == 405
    assert response.get_json()["error"]["status"] == 405
    assert "GET" in response.headers["Allow"]
