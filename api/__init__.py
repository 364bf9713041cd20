"""REST API (kept from the older gateway): typed routes, JSON errors and a generated OpenAPI document.

``register_api(server)`` mounts every route registered with :func:`api.openapi.api_route`
on the Flask server that Dash owns, plus ``GET /api/openapi.json`` describing them.
Adding an endpoint is a decorated function in a module of ``api/routes/`` listed in
:data:`ROUTE_MODULES`.
"""

from __future__ import annotations

import importlib
from typing import Any

from flask import Blueprint, Flask

from api.errors import install_error_handlers
from api.openapi import ApiRegistry, api_route, registry
from services.config import APP_VERSION

ROUTE_MODULES = ("api.routes.health", "api.routes.households", "api.routes.ingest", "api.routes.optimize",
                 "api.routes.forecast")

API_TITLE = "Energy Dashboard API"
API_DESCRIPTION = (
    "Households with rooftop PV, home batteries and smart meters. Energy in kWh, power in kW, "
    "prices in currency per kWh, times in UTC (ISO 8601). Every error is JSON: "
    '{"error": {"status", "title", "detail", "fields": [{"field", "location", "message"}]}}.'
)


@api_route("GET", "/api/openapi.json", response=dict[str, Any], tags=["meta"])
def openapi_document() -> dict[str, Any]:
    """This API's OpenAPI 3.1 document, generated from the registered routes and their models."""
    return registry.openapi(title=API_TITLE, version=APP_VERSION, description=API_DESCRIPTION)


def register_api(server: Flask, api: ApiRegistry | None = None) -> None:
    """Mount the API on ``server``: its routes, and JSON errors under ``/api`` and ``/health``.

    ``api`` defaults to the app's registry (with every module of :data:`ROUTE_MODULES`
    imported); tests pass a registry of their own.
    """
    if api is None:
        for module in ROUTE_MODULES:
            importlib.import_module(module)
        api = registry
    blueprint = Blueprint("api", __name__)
    api.register(blueprint)
    server.register_blueprint(blueprint)
    install_error_handlers(server, api.url_map())
