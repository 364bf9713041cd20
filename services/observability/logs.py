"""Structured logs and the request id that ties a request, its jobs and its error bodies together.

``LOG_FORMAT=json`` writes one JSON object per line (``ts``, ``level``, ``logger``, ``message``,
``request_id``, ``trace_id``, ``span_id``, ``exc_info``); the default ``text`` is a readable line
with the request id. The request id comes from the caller's ``X-Request-ID`` header when it is a
plausible id, or is made up; it is echoed in the response, written in every log line of the
request, sent with the Celery jobs the request starts and put in API error bodies.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
import uuid
from datetime import UTC, datetime

REQUEST_ID_HEADER = "X-Request-ID"
_VALID_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)


def current_request_id() -> str | None:
    """The id of the request (or job) this code runs for, or None outside one."""
    return _request_id.get()


def set_request_id(value: str | None) -> contextvars.Token:
    """Make ``value`` the current request id; returns the token to :func:`reset_request_id` with."""
    return _request_id.set(value)


def reset_request_id(token: contextvars.Token) -> None:
    _request_id.reset(token)


def accept_request_id(header: str | None) -> str:
    """The caller's id when it is 1-128 characters of ``A-Za-z0-9._:-``, else a new random one
    (a header cannot inject text into log lines)."""
    if header and _VALID_ID.match(header):
        return header
    return uuid.uuid4().hex


class RequestContextFilter(logging.Filter):
    """Adds ``request_id`` (and the OpenTelemetry ``trace_id``/``span_id`` when tracing) to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id() or "-"
        record.trace_id, record.span_id = _trace_ids()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) if getattr(record, "request_id", "-") != "-" else None,
        }
        trace_id = getattr(record, "trace_id", None)
        if trace_id:
            entry["trace_id"], entry["span_id"] = trace_id, getattr(record, "span_id", None)
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"


def configure_logging(log_format: str = "text", level: str = "INFO", stream=None) -> logging.Handler:
    """Install one handler on the root logger (replacing one installed here before); returns it."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_energy_dashboard", False):
            root.removeHandler(handler)
    # sys.__stderr__: Celery replaces sys.stderr by a proxy that logs what is written to it.
    handler = logging.StreamHandler(stream or sys.__stderr__ or sys.stderr)
    handler._energy_dashboard = True
    handler.addFilter(RequestContextFilter())
    handler.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT))
    root.addHandler(handler)
    root.setLevel(level.upper())
    return handler


def _trace_ids() -> tuple[str | None, str | None]:
    try:
        from opentelemetry import trace
    except ImportError:  # tracing is optional at run time
        return None, None
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None, None
    return f"{context.trace_id:032x}", f"{context.span_id:016x}"
