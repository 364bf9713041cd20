"""Errors of the REST API: one JSON shape for every failure under ``/api`` and ``/health``.

::

    {"error": {"status": 422, "title": "Unprocessable Content",
               "detail": "1 field is invalid: see fields.",
               "fields": [{"field": "battery.capacity_kwh", "location": "body",
                           "message": "should be greater than 0, got -5"}]}}

Routing failures (unknown address, wrong method) are decided against the API's own
routes, not Dash's catch-all page route, so ``/api/nope`` is a JSON 404 and never the
dashboard's HTML.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Iterable
from http import HTTPStatus
from typing import Any

from flask import Flask, Response, current_app, request
from pydantic import ValidationError
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map

from api.models import ErrorBody, ErrorResponse, FieldError
from services.observability.logs import current_request_id
from services.text_checks import printable

logger = logging.getLogger("api")

API_MAP_KEY = "energy_api.url_map"


class ApiError(HTTPException):
    """An HTTP error that renders as the API's JSON error body (raise it from a route)."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        title: str | None = None,
        fields: Iterable[FieldError] = (),
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(description=detail)
        self.code = status
        self.title = title or HTTPStatus(status).phrase
        self.fields = list(fields)
        self.extra_headers = headers or {}

    def get_response(self, environ=None, scope=None) -> Response:  # noqa: ARG002 (werkzeug's signature)
        return error_response(self.code, self.description, title=self.title, fields=self.fields,
                              headers=self.extra_headers)


def error_response(
    status: int,
    detail: str,
    *,
    title: str | None = None,
    fields: Iterable[FieldError] = (),
    headers: dict[str, str] | None = None,
) -> Response:
    """The JSON error response with ``status``; ``detail`` says what happened and how to fix it."""
    body = ErrorResponse(
        error=ErrorBody(status=status, title=title or HTTPStatus(status).phrase, detail=detail, fields=list(fields),
                        request_id=current_request_id())
    )
    response = Response(body.model_dump_json(), status=status, mimetype="application/json")
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def invalid_fields(exc: ValidationError, location: str) -> list[FieldError]:
    """Each error of a pydantic validation of the query, path or body, in words a person can act on.

    A value that fits no member of a union (``float | str``) is one field with one reason, the most
    telling: the model's own sentence (a NUL in a string), else a broken bound (a number too large),
    else the first member's type.
    """
    chosen: dict[str, tuple[int, str]] = {}
    for err in exc.errors(include_url=False):
        field = printable(".".join(str(p) for p in err["loc"] if not _is_union_member(p))) or "(whole body)"
        rank = 2 if err["type"] in ("value_error", "assertion_error") else 0 if err["type"].endswith("_type") else 1
        if field not in chosen or rank > chosen[field][0]:
            chosen[field] = (rank, printable(_human_message(err, quote_strings=location == "body")))
    return [FieldError(field=field, location=location, message=message) for field, (_, message) in chosen.items()]


def _is_union_member(part: Any) -> bool:
    # pydantic names the member of a union in the error's location: `float`, `list[float]`,
    # `function-after[_single_line(), str]`, `literal['use_stored']`: not a field of the request.
    return isinstance(part, str) and bool(_UNION_MEMBER.match(part))


_UNION_MEMBER = re.compile(r"^(float|int|str|bool|none|list|dict|literal|function-(after|before|wrap|plain)|"
                           r"constrained-\w+)(\[.*\])?$")


def unprocessable(fields: list[FieldError]) -> ApiError:
    """The 422 listing every invalid field at once, so the caller fixes them in one go."""
    n = len(fields)
    return ApiError(422, f"{n} field{'s are' if n > 1 else ' is'} invalid: see fields.", fields=fields)


def problems_error(problems: Iterable[Any], location: str = "body") -> ApiError:
    """A 422 from a service's :class:`~services.validation.ValidationProblem` problems
    (objects with ``field`` and ``message``): the service already wrote the messages."""
    return unprocessable([FieldError(field=p.field, location=location, message=p.message) for p in problems])


def _human_message(err: dict[str, Any], *, quote_strings: bool) -> str:
    kind, msg = err["type"], err["msg"]
    if kind == "missing":
        return "is required"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return "should be a JSON object"
    if kind == "string_unicode":  # a lone surrogate such as \ud800, which JSON can carry
        return ("contains a lone surrogate (a \\ud800-\\udfff escape without its pair), which is not a "
                "character: remove it")
    if kind == "extra_forbidden":
        return "is not a field of this request: remove it or check its spelling"
    if kind in ("value_error", "assertion_error"):
        # The model's own validator already wrote a sentence for a person.
        return msg.split(", ", 1)[1] if msg.startswith(("Value error, ", "Assertion failed, ")) else msg
    prefix = "Input should be "
    text = "should be " + msg[len(prefix):] if msg.startswith(prefix) else msg[:1].lower() + msg[1:]
    value = err.get("input")
    if isinstance(value, (str, int, float, bool)) or value is None:
        # Query and path values are always text: quoting them would suggest a JSON string was sent.
        shown = value if isinstance(value, str) and not quote_strings else json.dumps(value)
        text += f", got {shown if len(shown) <= 60 else shown[:57] + '...'}"
    return text


def is_api_path(path: str) -> bool:
    """Whether errors at ``path`` answer as JSON (the REST API and the ``/health`` probe)."""
    return path in ("/api", "/health") or path.startswith("/api/")


def install_error_handlers(server: Flask, api_map: Map) -> None:
    """JSON errors for API paths; every other path keeps Flask's and Dash's behaviour.

    ``api_map`` holds only the API's rules: it tells a 404 (no such address) from a
    405 (address exists, method does not) without Dash's ``/<path:path>`` page route,
    which would otherwise claim every GET.
    """
    server.extensions[API_MAP_KEY] = api_map
    server.before_request(_claim_api_paths)
    server.register_error_handler(HTTPException, _http_error)


def _claim_api_paths() -> None:
    # GET /api/unknown matches Dash's page catch-all; answer it as the API would.
    if is_api_path(request.path) and request.blueprint != "api":
        raise _routing_error()


def _http_error(exc: HTTPException):
    if not is_api_path(request.path):
        return exc  # Flask's default for non-API pages
    if isinstance(exc, ApiError):
        return exc.get_response()
    if isinstance(exc, (NotFound, MethodNotAllowed)) and request.blueprint != "api":
        return _routing_error().get_response()  # decided by the API's routes alone
    code = exc.code or 500
    headers = {k: v for k, v in exc.get_headers() if k.lower() != "content-type"}  # keeps Allow, Retry-After
    return error_response(code, exc.description or HTTPStatus(code).phrase, headers=headers)


def _routing_error() -> ApiError:
    adapter = current_app.extensions[API_MAP_KEY].bind("")
    try:
        adapter.match(request.path, method=request.method)
    except MethodNotAllowed as exc:
        allowed = sorted(exc.valid_methods or [])
        return ApiError(
            405,
            f"{request.method} is not allowed on {request.path}: use {', '.join(allowed)}.",
            headers={"Allow": ", ".join(allowed)},
        )
    except NotFound:
        pass
    return ApiError(
        404, f"There is no API endpoint at {request.path}: GET /api/openapi.json lists them all."
    )


def internal_error(exc: BaseException) -> Response:
    """Log ``exc`` with its stack trace and answer 500 with a reference, never the trace itself."""
    reference = uuid.uuid4().hex[:12]
    logger.error("unhandled error %s in %s %s", reference, request.method, request.path, exc_info=exc)
    return error_response(
        500,
        f"Something went wrong on our side (reference {reference}). It has been logged; "
        "please retry, and quote the reference if it persists.",
    )
