"""Typed application settings, read once from the environment and validated at the edge.

Every setting has a default that works on a fresh machine: the embedded SQLite
file under ``data/`` and the app on http://127.0.0.1:8050.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, ValidationError, field_validator

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = f"sqlite:///{PROJECT_ROOT / 'data' / 'energy.db'}"
#: Where Dash's Diskcache background-callback manager keeps jobs and results.
CACHE_DIR = PROJECT_ROOT / "data" / "cache"
APP_VERSION = "0.1.0"


class SettingsError(ValueError):
    """A setting in the environment is wrong; the message names the variable and the fix."""


class Settings(BaseModel):
    """Application settings.

    Environment variables (all optional):

    - ``DATABASE_URL``: SQLAlchemy URL of the store, ``sqlite:///path`` or
      ``postgresql+psycopg://user@host:port/db``. Default: ``data/energy.db``.
    - ``HOST`` / ``PORT``: where ``python app.py`` serves. Default 127.0.0.1:8050.
    - ``DEMO_HOUSEHOLDS``: households in the generated demo portfolio. Default 24.
    - ``DEMO_SEED``: seed of the demo generator, so that the portfolio is reproducible.
    - ``CURRENCY``: the portfolio's currency code shown next to costs. Default EUR.
    - ``REDIS_URL``: when set, background callbacks run on Celery + Redis (later).
    - ``DEBUG``: ``1`` turns on Dash's dev tools.
    - ``METRICS_TOKEN``: bearer token that ``GET /metrics`` requires; unset, only loopback clients get it
      (``METRICS_TOKEN_FILE``: read it from that file, e.g. a compose secret).
    - ``METRICS_PORT``: the Celery worker and the MQTT listener serve their metrics on this port.
    - ``LOG_FORMAT``: ``text`` (default) or ``json`` (one object per line); ``LOG_LEVEL``: INFO by default.
    """

    database_url: str = DEFAULT_DATABASE_URL
    host: str = "127.0.0.1"
    port: int = Field(8050, ge=1, le=65535)
    demo_households: int = Field(24, ge=1, le=2000)
    demo_seed: int = 42
    currency: str = Field("EUR", min_length=3, max_length=3)
    redis_url: str | None = None
    debug: bool = False
    metrics_token: str | None = Field(None, min_length=16)
    metrics_port: int | None = Field(None, ge=1, le=65535)
    log_format: Literal["text", "json"] = "text"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @field_validator("database_url")
    @classmethod
    def _known_backend(cls, url: str) -> str:
        if not url.startswith(("sqlite", "postgresql")):
            raise ValueError(
                "must start with 'sqlite:///' or 'postgresql+psycopg://', "
                f"got {url.split(':', 1)[0]!r}"
            )
        if url.startswith("postgresql://") or url.startswith("postgres://"):
            # psycopg 3 is the driver we ship; the bare scheme would ask for psycopg2.
            return "postgresql+psycopg://" + url.split("://", 1)[1]
        return url


_ENV_NAMES = {
    "database_url": "DATABASE_URL",
    "host": "HOST",
    "port": "PORT",
    "demo_households": "DEMO_HOUSEHOLDS",
    "demo_seed": "DEMO_SEED",
    "currency": "CURRENCY",
    "redis_url": "REDIS_URL",
    "debug": "DEBUG",
    "metrics_token": "METRICS_TOKEN",
    "metrics_port": "METRICS_PORT",
    "log_format": "LOG_FORMAT",
    "log_level": "LOG_LEVEL",
}


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Build :class:`Settings` from environment variables; raise :class:`SettingsError` on bad values."""
    env = os.environ if environ is None else environ
    raw = {field: env[name] for field, name in _ENV_NAMES.items() if env.get(name, "") != ""}
    if "metrics_token" not in raw and env.get("METRICS_TOKEN_FILE"):
        raw["metrics_token"] = _read_secret(env["METRICS_TOKEN_FILE"], "METRICS_TOKEN_FILE")
    try:
        return Settings(**raw)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            field = str(err["loc"][0]) if err["loc"] else "?"
            problems.append(f"{_ENV_NAMES.get(field, field)}: {err['msg']}")
        raise SettingsError("Invalid configuration: " + "; ".join(problems)) from None


def _read_secret(path: str, name: str) -> str:
    """A secret from a file (compose and Kubernetes mount them so), without its trailing newline."""
    try:
        return Path(path).read_text().strip()
    except OSError as exc:
        raise SettingsError(f"Invalid configuration: {name}: cannot read {path} ({exc.strerror})") from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings (read once; immutable afterwards)."""
    return load_settings()
