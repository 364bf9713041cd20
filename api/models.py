"""Response models shared by every route: the error body and the health reports.

These pydantic models are the contract: the OpenAPI document's ``components/schemas``
are generated from them, and responses are serialised through them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

ServiceStatus = Literal["ok", "degraded", "down"]


class FieldError(BaseModel):
    """Why one field of the request was refused."""

    field: str = Field(description="Dotted path of the field, e.g. `battery.capacity_kwh`.")
    location: Literal["body", "query", "path"] = Field(description="Where the field was sent.")
    message: str = Field(description="What is wrong and how to fix it.")


class ErrorBody(BaseModel):
    status: int = Field(description="The HTTP status code, repeated for clients that only keep the body.")
    title: str = Field(description="The HTTP status phrase, e.g. `Not Found`.")
    detail: str = Field(description="What happened, in words a person can act on.")
    fields: list[FieldError] = Field(default_factory=list, description="Field-level reasons (422), else empty.")
    request_id: str | None = Field(None, description="The request's X-Request-ID: quote it when reporting a problem.")


class ErrorResponse(BaseModel):
    """Every 4xx/5xx answer of the API has this body."""

    error: ErrorBody


class HealthOut(BaseModel):
    """The process is up (it does not look at the database: see `/api/services/health`)."""

    status: Literal["ok"] = "ok"
    version: str = Field(description="Version of the Energy Dashboard.")
    time: datetime = Field(description="Server time, UTC, ISO 8601.")


class ServiceHealthOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    name: str = Field(description="`store`, `solver`, `background_workers`, ...")
    status: ServiceStatus = Field(description="`ok` works; `degraded` works but needs attention; `down` does not work.")
    latency_ms: float = Field(ge=0, description="How long the check took [ms].")
    detail: str = Field(description="What was checked and, when not ok, what to do.")


class ServicesHealthOut(BaseModel):
    """Each service the app depends on; `status` is the worst of them."""

    model_config = ConfigDict(from_attributes=True)

    status: ServiceStatus
    checked_at: datetime = Field(description="When the checks ran, UTC.")
    services: list[ServiceHealthOut]
