"""One handler for every callback that fails: the person sees a message, the log gets the trace.

A callback receives what the browser sends, and a stale page, a browser extension or a crafted
request can send anything: a dict where a number belongs, a string id, null, a list. Without a
handler such a value ends in Dash's bare "500 Internal Server Error" and a chart that silently
stops updating. :func:`handle_callback_error` is the Dash app's ``on_error``: it logs the error
with a short reference, leaves every output as it was, and opens the shell's toast
(:func:`callback_error_toast`) saying what happened and what to do.
"""

from __future__ import annotations

import logging
import uuid

import dash_bootstrap_components as dbc
from dash import set_props

from components import ids
from services.access import AccessDenied, NotSignedIn
from services.validation import ValidationProblem

logger = logging.getLogger("callbacks")


def callback_error_toast() -> dbc.Toast:
    """The shell's message for a callback that failed (hidden until one does)."""
    return dbc.Toast(id=ids.CALLBACK_ERROR, header="This part of the page could not be updated", icon="danger",
                     is_open=False, dismissable=True, duration=20_000,
                     style={"position": "fixed", "top": 72, "right": 16, "zIndex": 1080, "maxWidth": 420})


def error_message(exc: Exception, reference: str) -> str:
    """What the person reads: a service's own words for input it refused, else a way forward."""
    if isinstance(exc, ValidationProblem):
        return f"{exc} (reference {reference})."
    return (f"The page sent values this view did not expect, or something failed on our side "
            f"(reference {reference}). Reload the page and try again; if it persists, quote the reference.")


def handle_callback_error(exc: Exception):
    """``on_error`` of the Dash app: log ``exc`` with a reference, show the toast, update nothing."""
    if isinstance(exc, NotSignedIn):
        raise exc  # the gate's handler answers 401: the session ended, the page cannot go on
    if isinstance(exc, AccessDenied):  # a refusal, not a failure of ours: say what it was, change nothing
        logger.info("callback refused: %s", exc)
        set_props(ids.CALLBACK_ERROR, {"is_open": True, "children": f"{exc}"})
        return None
    reference = uuid.uuid4().hex[:12]
    logger.error("callback failed, reference %s", reference, exc_info=exc)
    set_props(ids.CALLBACK_ERROR, {"is_open": True, "children": error_message(exc, reference)})
    return None  # Dash leaves every output as it was
