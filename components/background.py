"""Background callbacks act as the person whose browser started them.

A Dash background callback (``background=True``) runs in a worker process (Diskcache's or
Celery's) with no request of its own, so the gate's scope is not there. :func:`as_caller` wraps
such a callback: it resolves the scope from the request's cookies (or its API token) that Dash
hands to the job as ``callback_context.cookies`` / ``headers``, and makes it current for the body.
Every background callback must be wrapped; ``tests/unit/test_background_scope.py`` checks that.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from dash import callback_context

from api import sessions
from services.access import NotSignedIn, current_scope, use_scope


def caller_scope():
    """The scope of the request behind the running callback: its session cookie or Bearer token;
    outside a Dash callback (a test calling the function), the current scope."""
    try:
        cookies, headers = callback_context.cookies, callback_context.headers
    except Exception:  # noqa: BLE001 (dash raises MissingCallbackContextException outside a callback)
        return current_scope()
    header = (headers or {}).get("Authorization") or (headers or {}).get("authorization") or ""
    if header.lower().startswith("bearer "):
        scope = sessions.scope_from_token(header[7:].strip())
    else:
        scope = sessions.scope_from_cookies(cookies or {})
    if scope is None:
        raise NotSignedIn("Your session has ended: sign in again.")
    return scope


def as_caller(func: Callable) -> Callable:
    """Run the background callback ``func`` under its caller's scope (see module docstring)."""

    @functools.wraps(func)
    def run_as_caller(*args, **kwargs):
        with use_scope(caller_scope()):
            return func(*args, **kwargs)

    run_as_caller.runs_as_caller = True
    return run_as_caller
