"""Whether the app may serve where it was asked to: checked before ``python app.py`` or gunicorn
(``deploy/gunicorn.conf.py``) listens.

- Debug mode (``DEBUG=1``) only on a loopback host, and never Werkzeug's interactive debugger
  (``app.py`` turns on Dash's dev tools alone).
- Not on a non-loopback host while an active demo account exists: their passwords were printed
  on a console and are in the README (change them with ``flask reset-password`` or deactivate them).
"""

from __future__ import annotations

import ipaddress

import sqlalchemy as sa

from services.config import Settings
from services.store.db import session_scope
from services.store.models import User


class ServingRefused(SystemExit):
    """The app must not start as configured; the message says what to change."""


def is_loopback(host: str) -> bool:
    """Whether ``host`` is reachable from this machine only (127.0.0.0/8, ::1, localhost)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def reachable_host(settings: Settings, listen_host: str | None = None) -> str:
    """Where people reach this server: ``PUBLISHED_ADDRESS``'s host when set, else the host it
    listens on (``listen_host``, default ``HOST``)."""
    if settings.published_address:
        host = settings.published_address.strip()
        if host.startswith("["):  # [::1]:8050
            return host[1:host.index("]")] if "]" in host else host
        return host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    return listen_host or settings.host


def check_serving(settings: Settings, listen_host: str | None = None) -> None:
    """Raise :class:`ServingRefused` when serving where people reach it (:func:`reachable_host`)
    would expose debug mode or demo passwords."""
    host = reachable_host(settings, listen_host)
    if is_loopback(host):
        return
    if settings.debug:
        raise ServingRefused(f"DEBUG=1 serves only on a loopback host (HOST=127.0.0.1), not on {host}: "
                             "debug pages show internals. Unset DEBUG to serve on a network.")
    with session_scope() as session:
        demo = list(session.scalars(sa.select(User.email).where(User.demo.is_(True), User.active.is_(True))))
    if demo:
        raise ServingRefused(
            f"Refusing to serve on {host}: demo accounts with published passwords exist "
            f"({', '.join(demo)}). Give each a new password (`flask reset-password EMAIL`) or remove the "
            "demo data, then start again; or serve on HOST=127.0.0.1.")
