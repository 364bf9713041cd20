"""Fixed-window rate limits for sign-in failures and API-token use (never Dash's callback route).

Counts live in Redis when ``REDIS_URL`` is set, so that every web process shares them; otherwise in
this process (one process per ``make run``). A window is one minute. A Redis that cannot be reached
falls back to the process's own counts, with a warning: refusing every sign-in would be worse.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from functools import lru_cache

from services.config import get_settings

logger = logging.getLogger("security")
_MAX_KEYS = 50_000  # bounded memory whatever a client sends as an email address


def _now() -> float:
    """Unix time [s] (a function of its own, so that a test can hold the clock inside one window)."""
    return time.time()


@lru_cache(maxsize=4)
def _client(url: str):
    import redis

    return redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)


class RateLimiter:
    """At most ``limit`` events per ``window_s`` seconds per key (an address, an email, a token id)."""

    def __init__(self, name: str, limit: int | None = None, window_s: int = 60) -> None:
        self.name = name
        self._limit = limit
        self.window_s = window_s
        self._counts: OrderedDict[tuple[str, int], int] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def limit(self) -> int:
        return self._limit if self._limit is not None else get_settings().sign_in_attempts_per_minute

    def allowed(self, key: str, *, peek: bool = False) -> bool:
        """Count one event for ``key`` (unless ``peek``) and say whether it is within the limit."""
        window = int(_now() // self.window_s)
        count = self._redis_count(key, window, peek)
        if count is None:
            count = self._local_count(key, window, peek)
        return count <= self.limit if not peek else count < self.limit

    def reset(self) -> None:
        """Forget every count of this process (tests, and an admin unlocking after an attack)."""
        with self._lock:
            self._counts.clear()

    def _local_count(self, key: str, window: int, peek: bool) -> int:
        with self._lock:
            slot = (key, window)
            count = self._counts.get(slot, 0) + (0 if peek else 1)
            if not peek:
                self._counts[slot] = count
                self._counts.move_to_end(slot)
                while len(self._counts) > _MAX_KEYS:
                    self._counts.popitem(last=False)
            return count

    def _redis_count(self, key: str, window: int, peek: bool) -> int | None:
        url = get_settings().redis_url
        if not url:
            return None
        try:
            client = _client(url)
            name = f"ed:ratelimit:{self.name}:{window}:{key}"
            if peek:
                return int(client.get(name) or 0)
            pipe = client.pipeline()
            pipe.incr(name)
            pipe.expire(name, self.window_s * 2)
            return int(pipe.execute()[0])
        except Exception as exc:  # noqa: BLE001 (any Redis failure: count here instead)
            logger.warning("rate limit %s counts in-process: Redis unavailable (%s)", self.name, exc)
            return None
