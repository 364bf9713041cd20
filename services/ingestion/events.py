""""Series touched": what a committed batch changed, published to whoever keeps derived data.

Ingestion does not know who derives what from readings. After a batch commits, the core calls
:func:`publish` with the ids of the series it changed and, per series, the first and last reading
time written (UTC); each subscriber refreshes what it owns (daily energy, sensor rollups, devices'
last-seen times). Subscribers are named here as ``"module:function"`` and imported on first use
(:data:`SUBSCRIBERS`), so that ingestion imports none of them; :func:`subscribe` adds more.

A subscriber that fails does not undo the batch (the readings are committed, and derived data can
always be rebuilt from them): the failure is logged and reported back, and the others still run.
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Callable, Mapping
from datetime import datetime

log = logging.getLogger(__name__)

#: ``series id -> (first, last)`` reading times written by one batch (UTC).
SeriesTouched = Mapping[int, tuple[datetime, datetime]]
Subscriber = Callable[[SeriesTouched], object]

#: The refreshers of derived data, in the order they run.
SUBSCRIBERS = ["services.energy.rollups:on_series_touched", "services.iot.devices:on_series_touched"]

_loaded: list[Subscriber] | None = None
_extra: list[Subscriber] = []
_lock = threading.Lock()


def subscribe(subscriber: Subscriber) -> None:
    """Call ``subscriber(touched)`` after every committed batch from now on."""
    with _lock:
        if subscriber not in _extra:
            _extra.append(subscriber)


def unsubscribe(subscriber: Subscriber) -> None:
    with _lock:
        if subscriber in _extra:
            _extra.remove(subscriber)


def publish(touched: SeriesTouched) -> list[str]:
    """Hand ``touched`` to every subscriber; returns the names of those that failed."""
    if not touched:
        return []
    failed = []
    for name, subscriber in _subscribers():
        try:
            if subscriber is None:  # named in SUBSCRIBERS, and it would not import
                subscriber = _load(name)
            subscriber(touched)
        except Exception:  # noqa: BLE001 (derived data: log, tell the caller, let the others run)
            log.exception("after a batch, %s failed to refresh its derived data", name)
            failed.append(name)
    return failed


def _subscribers() -> list[tuple[str, Subscriber | None]]:
    """(name, subscriber) of each, in order; None where a named one failed to import (tried again
    on the next batch, and reported as failed)."""
    global _loaded
    with _lock:
        if _loaded is None:
            loaded = []
            for spec in SUBSCRIBERS:
                try:
                    loaded.append(_load(spec))
                except Exception:  # noqa: BLE001 (reported by publish, which tries it again)
                    loaded.append(None)
            if None not in loaded:
                _loaded = loaded
        else:
            loaded = _loaded
        extra = [(f"{s.__module__}.{getattr(s, '__qualname__', s)}", s) for s in _extra]
        return [*zip(SUBSCRIBERS, loaded, strict=True), *extra]


def _load(spec: str) -> Subscriber:
    module, _, name = spec.partition(":")
    return getattr(importlib.import_module(module), name)
