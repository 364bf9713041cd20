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
    - ``CELERY_VISIBILITY_TIMEOUT``: seconds after which Redis hands a task whose worker died
      (unacknowledged) to another worker. Default 3600; keep it above the longest task.
    - ``REDIS_URL``: when set (``redis://127.0.0.1:6379/0``), background callbacks and jobs run on
      Celery workers (``celery -A worker worker``) and beat runs the schedules; without it they
      run in processes of the web server and nothing is scheduled.
    - ``SCHEDULE_TIMEZONE``: IANA zone of the schedules' clock times. Default UTC.
    - ``FLEET_PLAN_AT`` / ``RETRAIN_AT``: local ``HH:MM`` of tomorrow's fleet plan (default 14:00,
      after day-ahead prices are out) and of the nightly retraining of stale models (default 02:30);
      ``DIGEST_AT``: when the daily alert digest goes out (default 07:00).
    - ``WEATHER_REFRESH_MINUTES`` / ``SWEEP_MINUTES`` / ``ALERTS_MINUTES``: how often the weather is
      refreshed (60), interrupted batches and jobs are swept (15) and alerts are evaluated (15) [min].
    - ``DEBUG``: ``1`` turns on Dash's dev tools (never Werkzeug's debugger, and only on a loopback host).
    - ``SECRET_KEY``: signs session cookies (at least 32 characters; ``SECRET_KEY_FILE``: read it from
      that file). Unset, a random key is kept in ``data/secret_key`` so that sessions survive restarts.
    - ``SESSION_HOURS``: how long a sign-in lasts [h]. Default 12.
    - ``PUBLISHED_ADDRESS``: ``host[:port]`` where people reach this server when that is not ``HOST``
      (a container listens on 0.0.0.0 and its port is published on 127.0.0.1); the demo-password
      and debug checks look at it instead of ``HOST``.
    - ``MAX_REQUEST_MB``: the largest request body accepted [MB]; larger ones get a 413. Default 32 (the Data page takes 20 MB files, which travel base64-encoded).
    - ``SIGN_IN_ATTEMPTS_PER_MINUTE``: failed sign-ins allowed per address and per email. Default 10.
    - ``METRICS_TOKEN``: bearer token that ``GET /metrics`` requires; unset, only loopback clients get it
      (``METRICS_TOKEN_FILE``: read it from that file, e.g. a compose secret).
    - ``METRICS_PORT``: the Celery worker and the MQTT listener serve their metrics on this port.
    - ``LOG_FORMAT``: ``text`` (default) or ``json`` (one object per line); ``LOG_LEVEL``: INFO by default.
    - Alert notifications (:mod:`services.notifications`): ``SMTP_HOST`` (unset: no email is
      sent, and each attempt is recorded as failed with that reason), ``SMTP_PORT`` (25),
      ``SMTP_FROM``, ``SMTP_USER`` / ``SMTP_PASSWORD`` (login when set), ``SMTP_STARTTLS`` (``1``),
      ``SMTP_TIMEOUT_S`` [s]; ``WEBHOOK_TIMEOUT_S`` [s] per request, ``WEBHOOK_ATTEMPTS`` (tries
      per delivery, also for email), ``WEBHOOK_BACKOFF_S`` [s] (first wait between tries, doubling);
      ``NOTIFY_WINDOW_DAYS``: the days before now whose data the alerts are evaluated on.
    """

    database_url: str = DEFAULT_DATABASE_URL
    host: str = "127.0.0.1"
    port: int = Field(8050, ge=1, le=65535)
    demo_households: int = Field(24, ge=1, le=2000)
    demo_seed: int = 42
    currency: str = Field("EUR", min_length=3, max_length=3)
    redis_url: str | None = None
    celery_visibility_timeout_s: int = Field(3600, ge=5, le=7 * 86400)
    schedule_timezone: str = "UTC"
    fleet_plan_at: str = "14:00"
    retrain_at: str = "02:30"
    digest_at: str = "07:00"
    weather_refresh_minutes: int = Field(60, ge=1, le=24 * 60)
    sweep_minutes: int = Field(15, ge=1, le=24 * 60)
    alerts_minutes: int = Field(15, ge=1, le=24 * 60)
    debug: bool = False
    secret_key: str | None = Field(None, min_length=32)
    session_hours: float = Field(12.0, gt=0, le=24 * 30)
    published_address: str | None = None
    max_request_mb: float = Field(32.0, gt=0, le=1024)
    sign_in_attempts_per_minute: int = Field(10, ge=1, le=10_000)
    metrics_token: str | None = Field(None, min_length=16)
    metrics_port: int | None = Field(None, ge=1, le=65535)
    log_format: Literal["text", "json"] = "text"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    smtp_host: str | None = None
    smtp_port: int = Field(25, ge=1, le=65535)
    smtp_from: str = "energy-dashboard@localhost"
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    smtp_timeout_s: float = Field(10.0, gt=0, le=300)
    webhook_timeout_s: float = Field(10.0, gt=0, le=300)
    webhook_attempts: int = Field(4, ge=1, le=10)
    webhook_backoff_s: float = Field(1.0, ge=0, le=60)
    notify_window_days: int = Field(7, ge=1, le=366)

    @field_validator("schedule_timezone")
    @classmethod
    def _known_zone(cls, zone: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{zone!r} is not an IANA time zone (for example Europe/Berlin)") from None
        return zone

    @field_validator("fleet_plan_at", "retrain_at", "digest_at")
    @classmethod
    def _clock_time(cls, value: str) -> str:
        hour, _, minute = value.strip().partition(":")
        if not (hour.isdigit() and minute.isdigit() and int(hour) < 24 and int(minute) < 60):
            raise ValueError(f"must be a time of day as HH:MM (for example 14:00), got {value!r}")
        return f"{int(hour):02d}:{int(minute):02d}"

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


    @field_validator("smtp_from")
    @classmethod
    def _an_address(cls, address: str) -> str:
        local, at, domain = address.strip().partition("@")
        if not (local and at and domain) or any(c.isspace() for c in address.strip()):
            raise ValueError(f"must be an email address like alerts@example.org, got {address!r}")
        return address.strip()


_ENV_NAMES = {
    "database_url": "DATABASE_URL",
    "host": "HOST",
    "port": "PORT",
    "demo_households": "DEMO_HOUSEHOLDS",
    "demo_seed": "DEMO_SEED",
    "currency": "CURRENCY",
    "redis_url": "REDIS_URL",
    "celery_visibility_timeout_s": "CELERY_VISIBILITY_TIMEOUT",
    "schedule_timezone": "SCHEDULE_TIMEZONE",
    "fleet_plan_at": "FLEET_PLAN_AT",
    "retrain_at": "RETRAIN_AT",
    "digest_at": "DIGEST_AT",
    "weather_refresh_minutes": "WEATHER_REFRESH_MINUTES",
    "sweep_minutes": "SWEEP_MINUTES",
    "alerts_minutes": "ALERTS_MINUTES",
    "debug": "DEBUG",
    "secret_key": "SECRET_KEY",
    "session_hours": "SESSION_HOURS",
    "published_address": "PUBLISHED_ADDRESS",
    "max_request_mb": "MAX_REQUEST_MB",
    "sign_in_attempts_per_minute": "SIGN_IN_ATTEMPTS_PER_MINUTE",
    "metrics_token": "METRICS_TOKEN",
    "metrics_port": "METRICS_PORT",
    "log_format": "LOG_FORMAT",
    "log_level": "LOG_LEVEL",
    "smtp_host": "SMTP_HOST",
    "smtp_port": "SMTP_PORT",
    "smtp_from": "SMTP_FROM",
    "smtp_user": "SMTP_USER",
    "smtp_password": "SMTP_PASSWORD",
    "smtp_starttls": "SMTP_STARTTLS",
    "smtp_timeout_s": "SMTP_TIMEOUT_S",
    "webhook_timeout_s": "WEBHOOK_TIMEOUT_S",
    "webhook_attempts": "WEBHOOK_ATTEMPTS",
    "webhook_backoff_s": "WEBHOOK_BACKOFF_S",
    "notify_window_days": "NOTIFY_WINDOW_DAYS",
}


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Build :class:`Settings` from environment variables; raise :class:`SettingsError` on bad values."""
    env = os.environ if environ is None else environ
    raw = {field: env[name] for field, name in _ENV_NAMES.items() if env.get(name, "") != ""}
    if "metrics_token" not in raw and env.get("METRICS_TOKEN_FILE"):
        raw["metrics_token"] = _read_secret(env["METRICS_TOKEN_FILE"], "METRICS_TOKEN_FILE")
    if "secret_key" not in raw and env.get("SECRET_KEY_FILE"):
        raw["secret_key"] = _read_secret(env["SECRET_KEY_FILE"], "SECRET_KEY_FILE")
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
