"""The generated OpenAPI document and the JSON error contract.

The app's document must be valid OpenAPI 3.1 and list every registered route with its
responses. The wrapper's own answers (400, 415, 422, 500) are exercised on a registry
built here, with a body and a query model, mounted on a plain Flask app through the
same ``register_api``.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

import jsonschema
import pytest
from flask import Flask
from openapi_spec_validator import validate as validate_openapi
from pydantic import BaseModel, Field
from werkzeug.exceptions import Conflict

from api import register_api
from api.models import ErrorResponse
from api.openapi import ApiRegistry, registry
from services.validation import FieldProblem, ValidationProblem


def test_the_document_is_served_as_json(client):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"


def refs(node):
    """Every ``$ref`` value anywhere in ``node``."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from refs(item)


def assert_error(response, status: int) -> dict:
    """The response is the documented JSON error with ``status``; return its ``error`` object."""
    assert response.status_code == status
    assert response.mimetype == "application/json"
    body = response.get_json()
    ErrorResponse.model_validate(body)
    assert body["error"]["status"] == status
    assert body["error"]["detail"]
    return body["error"]


# --- the app's document ------------------------------------------------------------------------------


def test_document_is_valid_openapi_31(spec):
    validate_openapi(spec)  # raises with the first violation
    assert spec["openapi"].startswith("3.1")
    assert spec["info"]["title"] and spec["info"]["version"]


def test_every_registered_route_is_documented_with_its_responses(spec):
    assert len(registry.routes) >= 5
    for route in registry.routes:
        operation = spec["paths"][route.openapi_path][route.method.lower()]
        assert operation["operationId"] == route.operation_id
        assert str(route.status) in operation["responses"]
        for code in route.error_codes():
            schema = operation["responses"][str(code)]["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/ErrorResponse"}


def test_known_routes_and_their_parameters(spec):
    paths = spec["paths"]
    assert {"/health", "/api/services/health", "/api/openapi.json", "/api/households",
            "/api/households/{household_id}"} <= set(paths)
    detail = paths["/api/households/{household_id}"]["get"]
    assert detail["parameters"] == [{"name": "household_id", "in": "path", "required": True,
                                     "schema": {"type": "integer", "minimum": 0, "maximum": 2**31 - 1}}]
    assert "404" in detail["responses"]
    assert set(paths["/api/services/health"]["get"]["responses"]) == {"200", "401", "403", "429", "503", "500"}
    assert paths["/health"]["get"]["security"] == [] and "401" not in paths["/health"]["get"]["responses"]
    assert spec["security"] == [{"bearerToken": []}]
    assert spec["components"]["securitySchemes"]["bearerToken"]["scheme"] == "bearer"


def test_every_reference_resolves(spec):
    schemas = spec["components"]["schemas"]
    found = set(refs(spec))
    assert "#/components/schemas/HouseholdOut" in found
    for ref in found:
        assert ref.startswith("#/components/schemas/")
        assert ref.rsplit("/", 1)[1] in schemas, ref


# --- routing errors on the real app ---------------------------------------------------------------------


@pytest.mark.parametrize("method", ["get", "post", "delete"])
def test_unknown_api_path_is_json_404_for_any_method(client, method):
    error = assert_error(getattr(client, method)("/api/no-such-thing"), 404)
    assert "/api/openapi.json" in error["detail"]


def test_wrong_method_is_json_405_with_allow(client):
    response = client.post("/api/households")
    error = assert_error(response, 405)
    assert "POST is not allowed" in error["detail"]
    assert "GET" in response.headers["Allow"]


def test_pages_outside_the_api_stay_html(client):
    response = client.get("/no-such-page")
    assert response.mimetype == "text/html"


# --- the wrapper, on a registry of its own -----------------------------------------------------------------


class Paging(BaseModel):
    limit: int = Field(10, ge=1, le=100, description="Rows per page.")
    kinds: list[str] = []


class BatteryIn(BaseModel):
    capacity_kwh: float = Field(gt=0)


class HomeIn(BaseModel):
    name: str
    battery: BatteryIn


class HomeOut(BaseModel):
    """The saved home."""

    name: str
    limit: int


@dataclass
class HomeRow:
    name: str
    limit: int


homes_api = ApiRegistry()


@homes_api.route("POST", "/api/homes", response=HomeOut, status=201, query=Paging, body=HomeIn)
def create_home(query: Paging, body: HomeIn) -> HomeRow:
    """Save a home."""
    if body.name == "taken":
        raise ValidationProblem([FieldProblem("name", "A household named taken already exists")])
    return HomeRow(name=body.name, limit=query.limit)  # a dataclass, serialised through HomeOut


@homes_api.route("GET", "/api/explode/<int:item_id>", response=HomeOut)
def explode(item_id: int) -> HomeOut:
    """Fails the way a bug would."""
    raise RuntimeError("password=hunter2 leaked in a stack trace")


@homes_api.route("GET", "/api/locked", response=HomeOut, errors=[409])
def locked() -> HomeOut:
    """Refuses with a plain werkzeug exception."""
    raise Conflict("The home is being imported: retry in a minute.")


@pytest.fixture(scope="module")
def plain_client():
    server = Flask("api-under-test")
    register_api(server, homes_api)
    return server.test_client()


GOOD = {"name": "Home A", "battery": {"capacity_kwh": 9.5}}


def test_body_and_query_are_parsed_and_the_response_serialised(plain_client):
    response = plain_client.post("/api/homes?limit=25&kinds=a&kinds=b", json=GOOD)
    assert response.status_code == 201
    assert response.get_json() == {"name": "Home A", "limit": 25}


@pytest.mark.parametrize("data", ['{"name": "x", ', "", '{"name": NaN}'])
def test_malformed_json_is_400_saying_so(plain_client, data):
    error = assert_error(plain_client.post("/api/homes", data=data, content_type="application/json"), 400)
    assert "JSON" in error["detail"] and error["fields"] == []


def test_body_that_is_not_json_is_415(plain_client):
    error = assert_error(plain_client.post("/api/homes", data="name=x", content_type="text/plain"), 415)
    assert "Content-Type: application/json" in error["detail"]


def test_invalid_query_and_body_are_one_422_with_every_field(plain_client):
    bad = {"battery": {"capacity_kwh": -5}}
    error = assert_error(plain_client.post("/api/homes?limit=0", json=bad), 422)
    fields = {(f["location"], f["field"]): f["message"] for f in error["fields"]}
    assert fields == {
        ("query", "limit"): "should be greater than or equal to 1, got 0",
        ("body", "name"): "is required",
        ("body", "battery.capacity_kwh"): "should be greater than 0, got -5",
    }
    assert error["detail"] == "3 fields are invalid: see fields."


def test_body_that_is_not_an_object_is_422_on_the_whole_body(plain_client):
    error = assert_error(plain_client.post("/api/homes", json=[1, 2]), 422)
    assert error["fields"] == [{"field": "(whole body)", "location": "body", "message": "should be a JSON object"}]


def test_werkzeug_exceptions_raised_by_a_view_answer_as_json(plain_client):
    error = assert_error(plain_client.get("/api/locked"), 409)
    assert error["detail"] == "The home is being imported: retry in a minute."


def test_a_service_validation_problem_is_422_with_its_message(plain_client):
    error = assert_error(plain_client.post("/api/homes", json=GOOD | {"name": "taken"}), 422)
    assert error["fields"] == [{"field": "name", "location": "body",
                                "message": "A household named taken already exists"}]


def test_unexpected_exception_is_500_without_trace_but_logged(plain_client, caplog):
    with caplog.at_level(logging.ERROR, logger="api"):
        response = plain_client.get("/api/explode/7")
    error = assert_error(response, 500)
    assert "hunter2" not in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True)
    reference = error["detail"].split("reference ")[1].split(")")[0]
    logged = [r for r in caplog.records if reference in r.getMessage()]
    assert logged and logged[0].exc_info[0] is RuntimeError


def test_path_id_beyond_32_bits_is_404_not_a_database_error(plain_client):
    assert_error(plain_client.get("/api/explode/2147483648"), 404)


def test_routing_errors_on_a_plain_flask_app(plain_client):
    assert_error(plain_client.get("/api/nothing-here"), 404)
    assert "POST" in plain_client.get("/api/homes").headers["Allow"]


def test_document_of_a_registry_with_body_and_query(plain_client):
    doc = homes_api.openapi(title="Test", version="0")
    validate_openapi(doc)
    operation = doc["paths"]["/api/homes"]["post"]
    assert operation["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/HomeIn"}
    limit = next(p for p in operation["parameters"] if p["name"] == "limit")
    assert (limit["in"], limit["required"], limit["description"]) == ("query", False, "Rows per page.")
    assert limit["schema"]["minimum"] == 1
    assert set(operation["responses"]) == {"201", "400", "401", "403", "415", "422", "429", "500"}
    assert operation["responses"]["201"]["description"] == "The saved home."
    # A 422 body the wrapper produced conforms to the schema the document gives for it.
    body = plain_client.post("/api/homes", json={}).get_json()
    schema = {"$ref": "#/components/schemas/ErrorResponse", "components": doc["components"]}
    jsonschema.Draft202012Validator(schema).validate(body)
    assert json.dumps(doc)  # plain JSON, nothing pydantic-specific left in it
