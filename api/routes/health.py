"""Liveness of the process and health of the services behind it."""

from __future__ import annotations

from datetime import UTC, datetime

from api.models import HealthOut, ServicesHealthOut
from api.openapi import api_route
from services.config import APP_VERSION
from services.health import check_services


@api_route("GET", "/health", response=HealthOut, tags=["health"])
def health() -> HealthOut:
    """The process is up.

    Answers without touching the database or the solver, so a load balancer can poll it cheaply.
    """
    return HealthOut(version=APP_VERSION, time=datetime.now(UTC))


@api_route(
    "GET",
    "/api/services/health",
    response=ServicesHealthOut,
    also={503: "At least one service is down (the body says which and why)"},
    tags=["health"],
)
def services_health() -> tuple[ServicesHealthOut, int]:
    """Each service with its status, latency and a detail message; 503 when any is down.

    Services: the store (reachable, schema revision, whether it has data), the solver
    (HiGHS solves a tiny LP) and the background workers (Diskcache folder writable, or a
    Redis PING when `REDIS_URL` is set). `degraded` still answers 200: the app works.
    """
    report = check_services()
    return ServicesHealthOut.model_validate(report), 503 if report.status == "down" else 200
