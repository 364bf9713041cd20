"""A small route registry: one decorator registers a Flask view with its pydantic models,
and the OpenAPI 3.1 document is generated from what was registered.

::

    @api_route("GET", "/api/households/<int:household_id>", response=HouseholdOut,
               errors=[404], summary="One household with its PV systems and battery")
    def get_household(household_id: int) -> HouseholdOut: ...

The view receives path parameters by name, ``query=`` (an instance of the ``query``
model, parsed from the query string) and ``body=`` (the ``body`` model, parsed from
a JSON body), and returns the response (a model, or anything the response type
validates from attributes: dicts, dataclasses), optionally as ``(value, status)``.
The decorated function itself is returned unchanged, so it stays callable in tests.

Errors the wrapper answers by itself, and documents in the spec: 400 malformed JSON,
415 body not JSON, 422 invalid query/body (also a body nested deeper than
:data:`MAX_JSON_DEPTH`, or a key holding a NUL, a lone surrogate or a control character),
404 for routes with path parameters, 500 for anything unexpected (logged with its trace,
never sent).
"""

from __future__ import annotations

import inspect
import json
import re
import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from flask import Blueprint, Response, request
from pydantic import BaseModel, TypeAdapter, ValidationError
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule

from api.errors import ApiError, internal_error, invalid_fields, problems_error, unprocessable
from api.fields import INT32_MAX
from api.models import ErrorResponse, FieldError
from api.security import is_public
from services.access import AccessDenied
from services.text_checks import printable, text_problem
from services.validation import ValidationProblem

#: Deepest nesting of arrays and objects a body may have; every request model is far shallower.
MAX_JSON_DEPTH = 32
_CONVERTER = re.compile(r"<(?:(?P<conv>\w+)(?:\([^)]*\))?:)?(?P<name>\w+)>")
_PATH_SCHEMAS: dict[str, dict[str, Any]] = {
    "int": {"type": "integer", "minimum": 0, "maximum": INT32_MAX},
    "float": {"type": "number", "minimum": 0},
    "uuid": {"type": "string", "format": "uuid"},
    "path": {"type": "string"},
    "string": {"type": "string", "pattern": "^[^/]+$"},
}


@dataclass(frozen=True)
class Route:
    """What one registration recorded: enough to serve the route and to document it."""

    method: str
    rule: str
    view: Callable[..., Any]
    response: Any
    status: int
    query: type[BaseModel] | None
    body: type[BaseModel] | None
    errors: tuple[int, ...]
    also: Mapping[int, str]
    summary: str
    description: str
    tags: tuple[str, ...]
    adapter: TypeAdapter = field(repr=False, compare=False)

    @property
    def operation_id(self) -> str:
        return self.view.__name__

    @property
    def path_params(self) -> list[tuple[str, str]]:
        """``(name, converter)`` of each ``<converter:name>`` in the Flask rule."""
        return [(m["name"], m["conv"] or "string") for m in _CONVERTER.finditer(self.rule)]

    @property
    def openapi_path(self) -> str:
        return _CONVERTER.sub(lambda m: "{" + m["name"] + "}", self.rule)

    def error_codes(self) -> list[int]:
        """Declared errors plus those the wrapper itself may answer."""
        codes = set(self.errors) | {500}
        if self.path_params:
            codes.add(404)
        if self.query or self.body:
            codes.add(422)
        if self.body:
            codes |= {400, 415}
        return sorted(codes)


class ApiRegistry:
    """The routes of one API. The app uses :data:`registry`; tests may build their own."""

    def __init__(self) -> None:
        self.routes: list[Route] = []

    def route(
        self,
        method: str,
        rule: str,
        *,
        response: Any,
        status: int = 200,
        query: type[BaseModel] | None = None,
        body: type[BaseModel] | None = None,
        errors: Iterable[int] = (),
        also: Mapping[int, str] | None = None,
        summary: str = "",
        tags: Iterable[str] = (),
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Register a view (see the module docstring).

        ``errors`` are the error statuses the view itself raises (e.g. 404); ``also`` maps
        further success-shaped statuses to a description (the response model is also
        returned with them, e.g. ``{503: "a service is down"}``).
        """

        def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
            doc = inspect.cleandoc(view.__doc__ or "")
            first, _, rest = doc.partition("\n")
            route = Route(
                method=method.upper(), rule=rule, view=view, response=response, status=status,
                query=query, body=body, errors=tuple(errors), also=dict(also or {}),
                summary=summary or first.strip(), description=rest.strip() if not summary else doc,
                tags=tuple(tags), adapter=TypeAdapter(response),
            )
            if any(r.operation_id == route.operation_id for r in self.routes):
                raise ValueError(f"two API views are named {route.operation_id}: operation ids must be unique")
            self.routes.append(route)
            return view

        return decorate

    def register(self, blueprint: Blueprint) -> None:
        """Add every route to ``blueprint`` (endpoint = the view's name)."""
        for route in self.routes:
            blueprint.add_url_rule(route.rule, endpoint=route.operation_id, view_func=_serve(route),
                                   methods=[route.method])

    def url_map(self) -> Map:
        """The API's rules alone, to tell 404 from 405 without the dashboard's page routes."""
        return Map([Rule(r.rule, endpoint=r.operation_id, methods=[r.method, "OPTIONS"]) for r in self.routes])

    def openapi(self, *, title: str, version: str, description: str = "") -> dict[str, Any]:
        """The OpenAPI 3.1 document of the registered routes."""
        return build_document(self.routes, title=title, version=version, description=description)


registry = ApiRegistry()
api_route = registry.route


def _serve(route: Route) -> Callable[..., Response]:
    def view(**path_params: Any) -> Response:
        try:
            for name, conv in route.path_params:
                if conv == "int" and path_params[name] > INT32_MAX:
                    raise ApiError(404, f"No resource has {name} {path_params[name]}: ids go up to {INT32_MAX}.")
            kwargs = dict(path_params) | _parse_inputs(route)
            result = route.view(**kwargs)
            return _serialise(route, result)
        except (HTTPException, AccessDenied):
            raise  # AccessDenied: the gate's handler answers 401/403/404
        except ValidationProblem as exc:  # a service refused the input: the fix is the caller's
            raise problems_error(exc.problems) from None
        except Exception as exc:  # the client gets a reference, the log gets the trace
            return internal_error(exc)

    view.__name__ = route.operation_id
    view.__doc__ = route.view.__doc__
    return view


def _parse_inputs(route: Route) -> dict[str, BaseModel]:
    """``query=`` and ``body=`` for the view; one 422 lists the invalid fields of both."""
    parsed: dict[str, BaseModel] = {}
    fields = []
    sources = (("query", route.query, _raw_query), ("body", route.body, _raw_body))
    for location, model, read in sources:
        if model is None:
            continue
        try:
            parsed[location] = model.model_validate(read(model))
        except ValidationError as exc:
            fields += invalid_fields(exc, location)
    if fields:
        raise unprocessable(fields)
    return parsed


def _raw_query(model: type[BaseModel]) -> dict[str, Any]:
    raw: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        key = info.alias or name
        if key in request.args:
            many = typing.get_origin(info.annotation) in (list, tuple, set, frozenset)
            raw[key] = request.args.getlist(key) if many else request.args[key]
    return raw


def _raw_body(model: type[BaseModel]) -> Any:
    if not request.is_json:
        raise ApiError(415, f"Send the body as JSON with the header Content-Type: application/json "
                            f"(got {request.mimetype or 'no Content-Type'}).")
    text = request.get_data(as_text=True)
    if not text.strip():
        raise ApiError(400, "The request body is empty: send a JSON object.")
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except RecursionError:  # Python's decoder recurses: thousands of [[[ exhaust the stack
        raise _too_deep() from None
    except ValueError as exc:
        where = f" at line {exc.lineno} column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else ""
        reason = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
        raise ApiError(400, f"The request body is not valid JSON{where}: {reason}.") from None
    deepest, bad_keys = _shape(value)
    if deepest > MAX_JSON_DEPTH:
        raise _too_deep()
    if bad_keys:  # a value's characters are checked by its field; a key has no field to do it
        raise unprocessable([FieldError(field=printable(path), location="body", message=f"the name {problem}")
                             for path, problem in bad_keys])
    return value


def _shape(value: Any) -> tuple[int, list[tuple[str, str]]]:
    """How deeply arrays and objects nest in ``value`` (a scalar is 0), and the object keys that hold
    a NUL, a lone surrogate or a control character (dotted path, problem); without recursion."""
    deepest, bad_keys = 0, []
    stack: list[tuple[Any, int, tuple | None]] = [(value, 1, None)]  # path as (parent path, key): built on need
    while stack:
        item, level, path = stack.pop()
        if isinstance(item, dict):
            pairs = item.items()
            for key in item:
                if (problem := text_problem(key)) is not None:
                    bad_keys.append((_dotted((path, key)), problem))
        elif isinstance(item, list):
            pairs = enumerate(item)
        else:
            continue
        deepest = max(deepest, level)
        if level <= MAX_JSON_DEPTH:
            stack.extend((child, level + 1, (path, key)) for key, child in pairs
                         if isinstance(child, (dict, list)))
    return deepest, bad_keys


def _dotted(path: tuple | None) -> str:
    parts = []
    while path is not None:
        path, key = path
        parts.append(str(key))
    return ".".join(reversed(parts))


def _too_deep() -> ApiError:
    return unprocessable([FieldError(field="(whole body)", location="body",
                                     message=f"nests arrays and objects more than {MAX_JSON_DEPTH} levels deep: "
                                             "no request of this API needs more than a few")])


def _reject_constant(name: str) -> None:
    # Python's json accepts NaN and Infinity; JSON does not, and neither do our numbers.
    raise ValueError(f"{name} is not a JSON number")


def _serialise(route: Route, result: Any) -> Response:
    status = route.status
    if isinstance(result, tuple):
        result, status = result
    if isinstance(result, Response):
        return result
    if status != route.status and status not in route.also:
        raise RuntimeError(f"{route.operation_id} answered {status}, which its registration does not declare")
    value = route.adapter.validate_python(result, from_attributes=True)
    return Response(route.adapter.dump_json(value, by_alias=True), status=status, mimetype="application/json")


def build_document(routes: Iterable[Route], *, title: str, version: str, description: str = "") -> dict[str, Any]:
    """OpenAPI 3.1: paths from the rules, schemas from the models (pydantic's JSON Schema is 2020-12,
    the dialect OpenAPI 3.1 uses), every error answer pointing at ``ErrorResponse``."""
    routes = list(routes)
    inputs: list[tuple[tuple[str, str], str, TypeAdapter]] = [(("_", "error"), "serialization", _ERROR_ADAPTER)]
    for r in routes:
        inputs.append(((r.operation_id, "response"), "serialization", r.adapter))
        for part, model in (("query", r.query), ("body", r.body)):
            if model is not None:
                inputs.append(((r.operation_id, part), "validation", TypeAdapter(model)))
    schemas, defs = TypeAdapter.json_schemas(inputs, ref_template="#/components/schemas/{model}")
    components = defs.get("$defs", {})
    schema = {key: value for (key, _mode), value in schemas.items()}
    error_content = {"application/json": {"schema": schema[("_", "error")]}}

    paths: dict[str, dict[str, Any]] = {}
    for r in routes:
        op: dict[str, Any] = {"operationId": r.operation_id}
        if r.summary:
            op["summary"] = r.summary
        if r.description:
            op["description"] = r.description
        if r.tags:
            op["tags"] = list(r.tags)
        params = [{"name": n, "in": "path", "required": True, "schema": dict(_PATH_SCHEMAS.get(c, {"type": "string"}))}
                  for n, c in r.path_params]
        if r.query is not None:
            params += _query_parameters(schema[(r.operation_id, "query")], components)
        if params:
            op["parameters"] = params
        if r.body is not None:
            op["requestBody"] = {"required": True,
                                 "content": {"application/json": {"schema": schema[(r.operation_id, "body")]}}}
        content = {"application/json": {"schema": schema[(r.operation_id, "response")]}}
        responses = {str(r.status): {"description": _describe(r.response, r.status), "content": content}}
        responses |= {str(code): {"description": text, "content": content} for code, text in r.also.items()}
        responses |= {str(code): {"description": HTTPStatus(code).phrase, "content": error_content}
                      for code in r.error_codes()}
        if is_public(r.rule):
            op["security"] = []  # served without a token
        else:
            responses |= {str(code): {"description": HTTPStatus(code).phrase, "content": error_content}
                          for code in (401, 403, 429)}
        op["responses"] = dict(sorted(responses.items()))
        paths.setdefault(r.openapi_path, {})[r.method.lower()] = op

    tags = sorted({t for r in routes for t in r.tags})
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version, **({"description": description} if description else {})},
        "tags": [{"name": t} for t in tags],
        "paths": dict(sorted(paths.items())),
        "components": {"schemas": components, "securitySchemes": SECURITY_SCHEMES},
        "security": [{"bearerToken": []}],
    }


#: Every operation but the public ones needs an API token (made on the Account page or with
#: ``flask token-create``), scoped to one organisation and role.
SECURITY_SCHEMES = {
    "bearerToken": {
        "type": "http",
        "scheme": "bearer",
        "description": "An API token (ed_...), sent as `Authorization: Bearer <token>`. A token acts in one "
                       "organisation with one role: viewer (read), manager (also write), admin.",
    }
}


def _describe(response: Any, status: int) -> str:
    # The response model's docstring says what comes back; a bare type gets the status phrase.
    doc = response.__dict__.get("__doc__") if isinstance(response, type) else None  # not BaseModel's own
    return inspect.cleandoc(doc).partition("\n")[0] if doc else HTTPStatus(status).phrase


def _query_parameters(model_schema: dict[str, Any], components: dict[str, Any]) -> list[dict[str, Any]]:
    if "$ref" in model_schema:
        model_schema = components[model_schema["$ref"].rsplit("/", 1)[-1]]
    required = set(model_schema.get("required", []))
    params = []
    for name, prop in model_schema.get("properties", {}).items():
        prop = dict(prop)
        param = {"name": name, "in": "query", "required": name in required, "schema": prop}
        if "description" in prop:
            param["description"] = prop.pop("description")
        params.append(param)
    return params


_ERROR_ADAPTER = TypeAdapter(ErrorResponse)
