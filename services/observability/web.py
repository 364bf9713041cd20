"""Request hooks on the Flask server: latency and errors by route, Dash callbacks by output id,
the request id, and the protected ``/metrics`` endpoint.

Dash answers every callback at one address, ``POST /_dash-update-component``; the hooks read the
callback's output id from the request body (Dash parses the same cached JSON), so that each of
the app's callbacks has its own latency histogram and trace span without touching any page.
"""

from __future__ import annotations

import hmac
import re
import time
from collections.abc import Callable, Iterable
from ipaddress import ip_address

from flask import Flask, Response, g, request

from services.observability import metrics
from services.observability.logs import (
    REQUEST_ID_HEADER,
    accept_request_id,
    reset_request_id,
    set_request_id,
)
from services.observability.tracing import rename_current_span

CALLBACK_PATH = "/_dash-update-component"
METRICS_PATH = "/metrics"
#: Rules that match any page address: their label is the page's template instead.
_CATCH_ALL = ("/", "/<path:path>")


def instrument_server(server: Flask, *, page_templates: Iterable[str] = (),
                      metrics_token: str | Callable[[], str | None] | None = None, live: Iterable = ()) -> None:
    """Install the hooks and ``GET /metrics`` on ``server``.

    Parameters
    ----------
    page_templates : iterable of str
        The app's page addresses (``/household/<household_id>``): a page request is labelled
        with its template, an address that is no page with ``(unknown page)``.
    metrics_token : str or callable, optional
        Bearer token ``/metrics`` requires (or a function giving it at each scrape). Without one
        only loopback clients are answered.
    live : iterable of collectors
        Computed at each scrape (see :class:`metrics.LiveCollector`).
    """
    pages = [(template, _template_regex(template)) for template in page_templates]
    live = list(live)

    @server.before_request
    def _start() -> None:
        g.obs_started = time.perf_counter()
        g.request_id = accept_request_id(request.headers.get(REQUEST_ID_HEADER))
        g.obs_token = set_request_id(g.request_id)
        g.obs_output = None
        if request.path == CALLBACK_PATH and request.method == "POST":
            body = request.get_json(silent=True)
            output = body.get("output") if isinstance(body, dict) else None
            if isinstance(output, str) and output:
                g.obs_output = metrics.callback_label(output)
                rename_current_span(f"callback {g.obs_output}")

    @server.after_request
    def _finish(response: Response) -> Response:
        started = g.pop("obs_started", None)
        if started is None:
            return response
        seconds = time.perf_counter() - started
        route = _route_label(pages)
        metrics.HTTP_LATENCY.labels(request.method, route).observe(seconds)
        metrics.HTTP_REQUESTS.labels(request.method, route, str(response.status_code)).inc()
        output = g.get("obs_output")
        if output:
            rename_current_span(f"callback {output}")  # again: tracing may have opened its span after ours
            metrics.CALLBACK_LATENCY.labels(output).observe(seconds)
            if response.status_code >= 500:
                metrics.CALLBACK_ERRORS.labels(output).inc()
        response.headers[REQUEST_ID_HEADER] = g.get("request_id", "")
        return response

    @server.teardown_request
    def _teardown(exc: BaseException | None) -> None:
        if exc is not None:
            metrics.HTTP_EXCEPTIONS.labels(_route_label(pages)).inc()
        token = g.pop("obs_token", None)
        if token is not None:
            reset_request_id(token)

    def metrics_view() -> Response:
        refusal = _refuse_scrape(metrics_token() if callable(metrics_token) else metrics_token)
        if refusal is not None:
            return refusal
        body, content_type = metrics.exposition(live)
        return Response(body, content_type=content_type)

    server.add_url_rule(METRICS_PATH, "metrics", metrics_view, methods=["GET"])


def _refuse_scrape(token: str | None) -> Response | None:
    """None when the scrape may go ahead, else the 401/403 answer saying what is missing."""
    if token:
        given = request.headers.get("Authorization", "")
        scheme, _, value = given.partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(), token.encode()):
            return None
        return Response("metrics need 'Authorization: Bearer <METRICS_TOKEN>'\n", status=401,
                        headers={"WWW-Authenticate": 'Bearer realm="metrics"'}, mimetype="text/plain")
    try:
        loopback = ip_address(request.remote_addr or "").is_loopback
    except ValueError:
        loopback = False
    if loopback:
        return None
    return Response("metrics are served to loopback clients only: set METRICS_TOKEN to scrape from elsewhere\n",
                    status=403, mimetype="text/plain")


def _route_label(pages) -> str:
    rule = request.url_rule
    if rule is None:
        return "(no route)"
    if rule.rule not in _CATCH_ALL:
        return rule.rule
    path = request.path.rstrip("/") or "/"
    for template, pattern in pages:
        if pattern.fullmatch(path):
            return template
    return "(unknown page)"


def _template_regex(template: str) -> re.Pattern:
    """``/household/<household_id>`` as a regex matching one path segment per variable."""
    parts = re.split(r"(<[^>]+>)", template.rstrip("/") or "/")
    return re.compile("".join("[^/]+" if p.startswith("<") else re.escape(p) for p in parts))
