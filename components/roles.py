"""What the current caller's role shows: write controls are hidden from viewers at layout time.

Hiding is only a courtesy (a viewer is not shown buttons that would be refused); the refusal
itself is the services' (:func:`services.access.require_role`). A hidden control keeps its id in
the layout, so that the callbacks that name it still find it.
"""

from __future__ import annotations

from dash import html
from dash.development.base_component import Component

from services.access import current_scope

#: The role that writes household data and starts jobs.
WRITER_ROLE = "manager"
#: Bootstrap's utility class that hides an element whatever its inline style says.
HIDE_CLASS = "d-none"


def can_write() -> bool:
    """Whether the current caller may write (manager or admin); the system scope may."""
    return current_scope().can(WRITER_ROLE)


def for_writers(component: Component, writable: bool | None = None) -> Component:
    """``component``, with ``d-none`` added to its class when the caller may not write (``writable``
    None: ask :func:`can_write`). A class, not a style, so that a callback that later sets the
    style (a Cancel button shown while a job runs) does not show it to a viewer."""
    if writable is None:
        writable = can_write()
    if not writable:
        classes = (getattr(component, "className", None) or "").split()
        if HIDE_CLASS not in classes:
            component.className = " ".join([*classes, HIDE_CLASS])
    return component


def is_hidden(component: Component) -> bool:
    """Whether :func:`for_writers` hid ``component`` (for tests and callers that ask)."""
    return HIDE_CLASS in (getattr(component, "className", None) or "").split()


def viewer_note(text: str, writable: bool | None = None) -> Component | None:
    """A line that tells a viewer why a page's write controls are missing, or None for a writer."""
    if writable is None:
        writable = can_write()
    if writable:
        return None
    return html.P(f"{text} Ask an admin of your organisation.", className="small text-body-secondary")
