"""Open-Meteo's free forecast API behind timeouts, retries, a circuit breaker and a cache in the store.

- :class:`OpenMeteoClient` makes one forecast request with a connect/read timeout and
  retries timeouts, connection errors, HTTP 429 and 5xx with exponential backoff. The
  HTTP session and the sleep function are injectable, so tests replay recorded
  responses and never touch the network.
- :func:`forecast_for_site` is what callers use: it answers from the store while the
  last forecast is fresh (the cache), asks the provider otherwise, and when the provider
  fails or the breaker is open it answers with whatever the store knows and says so.
- Retries are tenacity's, the breaker is pybreaker's (:func:`provider_breaker`), with its
  state *recomputed from the store* on every call (:class:`FetchLogStorage`): each attempt is
  logged as an :class:`~services.store.models.IngestionBatch` (channel ``api``, source
  :data:`SOURCE`), and the breaker is open while the last :data:`FAILURES_TO_OPEN`
  attempts failed and the newest failure is younger than :data:`COOLDOWN`. Every
  gunicorn worker therefore sees the same state; nothing lives in module globals.

Open-Meteo conventions (https://open-meteo.com/en/docs): times in the requested zone
(we ask for GMT); radiation is the mean of the *preceding* hour, so the value stamped T
belongs to the interval starting at T - 1 h; temperature, cloud cover and wind are
instants, so an interval's value is the mean of the instants at its two ends.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal
from urllib.parse import urlsplit

import numpy as np
import pandas as pd
import pybreaker
import requests
import sqlalchemy as sa
import tenacity

from services.store.db import session_scope
from services.store.models import IngestionBatch
from services.weather.files import WEATHER_COLUMNS, WeatherFileError, check_weather_frame
from services.weather.store import get_site, latest_issue, save_weather, weather_known_at

SOURCE = "open-meteo"
DEFAULT_URL = "https://api.open-meteo.com/v1/forecast"
HOURLY_VARIABLES = ("shortwave_radiation", "direct_normal_irradiance", "diffuse_radiation",
                    "temperature_2m", "cloud_cover", "wind_speed_10m")
#: (connect, read) timeouts [s]: a forecast page must not hang on a slow provider.
TIMEOUT_S = (3.05, 10.0)
#: Attempts per request (1 + retries) and the first backoff [s], doubled after each failure.
ATTEMPTS = 3
BACKOFF_S = 0.5
#: Consecutive failed fetches that open the breaker, and how long it stays open.
FAILURES_TO_OPEN = 3
COOLDOWN = timedelta(minutes=10)
#: A stored forecast younger than this is served without asking the provider.
CACHE_MAX_AGE = timedelta(hours=1)

logger = logging.getLogger(__name__)

FetchStatus = Literal["fresh", "cached", "degraded"]


class WeatherProviderError(RuntimeError):
    """The provider did not deliver a usable forecast; ``retryable`` says whether trying again may help."""

    def __init__(self, message: str, retryable: bool = False):
        super().__init__(message)
        self.retryable = retryable


@dataclass(frozen=True)
class WeatherForecast:
    """Weather for the next hours of a site and where it came from.

    ``frame``: by UTC interval start, :data:`~services.weather.files.WEATHER_COLUMNS`
    (W/m2, degC, m/s, %), possibly empty. ``status``: ``fresh`` (fetched now), ``cached``
    (a stored forecast young enough), ``degraded`` (provider unavailable: stored data of
    ``issued_at``, or none). ``message`` is a sentence for the page and the health check.
    """

    site_id: int
    frame: pd.DataFrame
    status: FetchStatus
    issued_at: datetime | None
    message: str


@dataclass(frozen=True)
class BreakerState:
    """The breaker as recomputed from the fetch log: ``open`` until ``retry_after``."""

    open: bool
    consecutive_failures: int
    last_failure: str
    last_success_at: datetime | None
    retry_after: datetime | None


class OpenMeteoClient:
    """One Open-Meteo forecast request with timeouts and retries.

    Parameters
    ----------
    session : requests.Session-like, optional
        Anything with ``get(url, params=..., timeout=...)`` returning a response with
        ``status_code``, ``text`` and ``json()``; a recorded-response replayer in tests.
    sleep : callable
        Called with the backoff [s] between attempts (``time.sleep``; a recorder in tests).
    """

    def __init__(self, session=None, base_url: str = DEFAULT_URL, timeout_s=TIMEOUT_S,
                 attempts: int = ATTEMPTS, backoff_s: float = BACKOFF_S,
                 sleep: Callable[[float], None] = time.sleep):
        if attempts < 1:
            raise ValueError(f"attempts must be at least 1, got {attempts}")
        self.session = session if session is not None else requests.Session()
        self.base_url = base_url
        self.timeout_s = timeout_s
        self.attempts = attempts
        self.backoff_s = backoff_s
        self.sleep = sleep

    def fetch(self, latitude: float, longitude: float, hours: int = 48) -> pd.DataFrame:
        """Hourly forecast from now on, at least ``hours`` ahead, as a weather frame by UTC interval start.

        Raises :class:`WeatherProviderError` after the last failed attempt.
        """
        params = {
            "latitude": round(latitude, 4), "longitude": round(longitude, 4),
            "hourly": ",".join(HOURLY_VARIABLES), "timezone": "GMT", "wind_speed_unit": "ms",
            "forecast_days": min(16, math.ceil(hours / 24) + 1),
        }
        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self.attempts),
            wait=tenacity.wait_exponential(multiplier=self.backoff_s, exp_base=2, min=self.backoff_s),
            retry=tenacity.retry_if_exception(lambda exc: isinstance(exc, WeatherProviderError) and exc.retryable),
            sleep=self.sleep, reraise=True, before_sleep=_log_retry,
        )
        return retrying(lambda: parse_forecast(self._get(params)))

    def _get(self, params: dict) -> dict:
        try:
            response = self.session.get(self.base_url, params=params, timeout=self.timeout_s)
        except requests.Timeout as exc:
            raise WeatherProviderError(f"no answer in time ({type(exc).__name__}, limits {_limits(self.timeout_s)})",
                                       retryable=True) from exc
        except requests.ConnectionError as exc:
            raise WeatherProviderError(f"cannot connect to {urlsplit(self.base_url).hostname}: {_connection_failure(exc)}",
                                       retryable=True) from exc
        status = response.status_code
        if status == 429 or status >= 500:
            raise WeatherProviderError(f"HTTP {status} from Open-Meteo", retryable=True)
        if status >= 400:
            raise WeatherProviderError(f"HTTP {status}: {_reason(response)}", retryable=False)
        try:
            return response.json()
        except ValueError as exc:
            raise WeatherProviderError(f"malformed response: not JSON ({str(response.text)[:60]!r})") from exc


def parse_forecast(body: dict) -> pd.DataFrame:
    """A weather frame by UTC interval start from an Open-Meteo ``hourly`` response body.

    Radiation stamped T is the mean of the hour before T; instants (temperature, cloud
    cover, wind) are averaged over each interval's two ends. Raises
    :class:`WeatherProviderError` for a body that is not the documented format.
    """
    if not isinstance(body, dict) or not isinstance(body.get("hourly"), dict):
        raise WeatherProviderError("malformed response: no 'hourly' object")
    if body.get("utc_offset_seconds", 0) != 0:
        raise WeatherProviderError("malformed response: times are not in GMT as requested")
    hourly = body["hourly"]
    missing = [v for v in ("time", *HOURLY_VARIABLES) if v not in hourly]
    if missing:
        raise WeatherProviderError(f"malformed response: hourly lacks {', '.join(missing)}")
    n = len(hourly["time"])
    if n < 2 or any(len(hourly[v]) != n for v in HOURLY_VARIABLES):
        raise WeatherProviderError("malformed response: hourly arrays are empty or of different lengths")
    try:
        stamps = pd.DatetimeIndex(pd.to_datetime(hourly["time"], format="%Y-%m-%dT%H:%M")).tz_localize("UTC")
        raw = pd.DataFrame({v: np.asarray(hourly[v], dtype=float) for v in HOURLY_VARIABLES}, index=stamps)
    except (TypeError, ValueError) as exc:
        raise WeatherProviderError(f"malformed response: {exc}") from exc
    wind_unit = body.get("hourly_units", {}).get("wind_speed_10m", "m/s")
    if wind_unit in ("km/h", "kmh"):
        raw["wind_speed_10m"] = raw["wind_speed_10m"] / 3.6
    hour = pd.Timedelta(hours=1)
    radiation = raw[["shortwave_radiation", "direct_normal_irradiance", "diffuse_radiation"]].shift(-1, freq=hour)
    instants = raw[["temperature_2m", "cloud_cover", "wind_speed_10m"]]
    interval_mean = (instants + instants.shift(-1, freq=hour).reindex(instants.index)) / 2.0
    frame = pd.DataFrame({
        "ghi": radiation["shortwave_radiation"], "dni": radiation["direct_normal_irradiance"],
        "dhi": radiation["diffuse_radiation"], "temp_air": interval_mean["temperature_2m"],
        "wind_speed": interval_mean["wind_speed_10m"], "cloud_cover": interval_mean["cloud_cover"],
    })
    # The last stamp's hour has no radiation yet (it comes with the next stamp): drop rows
    # without GHI. The first hour lacks the instant at its start: its temperature stays unknown.
    frame = frame.reindex(columns=list(WEATHER_COLUMNS)).dropna(subset=["ghi"])
    frame.index.name = "ts"
    try:
        check_weather_frame(frame)
    except WeatherFileError as exc:
        raise WeatherProviderError(f"implausible values in response: {exc}") from exc
    return frame


# --- the cached, breaker-guarded entry point -------------------------------------------------


def forecast_for_site(site_id: int, hours: int = 48, now: datetime | None = None,
                      client: OpenMeteoClient | None = None, max_age: timedelta = CACHE_MAX_AGE,
                      url: str | None = None) -> WeatherForecast:
    """The site's weather for the ``hours`` from ``now``: from the cache, the provider, or the store.

    Never raises for provider trouble: the answer is then ``degraded`` with the stored
    weather (possibly none) and a message saying since when the provider fails.
    """
    now = _utc(now)
    start = pd.Timestamp(now).floor("h").to_pydatetime()
    end = start + timedelta(hours=hours + 1)
    issued = latest_issue(site_id, SOURCE, url)
    if issued is not None and now - issued < max_age:
        frame = _stored(site_id, start, end, now, url)
        return WeatherForecast(site_id, frame, "cached", issued, f"Open-Meteo forecast issued {_fmt(issued)}")
    breaker = provider_breaker(now, url)
    site = get_site(site_id, url)
    client = client or OpenMeteoClient()
    started = datetime.now(UTC)
    try:
        frame = breaker.call(client.fetch, site.latitude, site.longitude, hours)
    except pybreaker.CircuitBreakerError:
        _count_call("rejected")
        state = breaker._state_storage.snapshot  # noqa: SLF001 - the snapshot this call decided on
        return _degraded(site_id, start, end, now, issued, url,
                         f"Open-Meteo skipped after {state.consecutive_failures} failed attempts "
                         f"({state.last_failure}); next try after {_fmt(state.retry_after)}")
    except WeatherProviderError as exc:
        _count_call("failed")
        _log_attempt(url, started, "failed", 0, 0, f"site {site_id}: {exc}")
        return _degraded(site_id, start, end, now, issued, url, f"Open-Meteo unavailable ({exc})")
    _count_call("ok")
    # The issue time is when we learned it (to the minute): a back-test must not see a
    # forecast before it was fetched. Two workers fetching in the same minute update the same rows.
    issued_at = pd.Timestamp(now).floor("min").to_pydatetime()
    written = save_weather(site_id, frame, SOURCE, issued_at=issued_at, url=url)
    _log_attempt(url, started, "done", len(frame), written, f"site {site_id}: forecast issued {_fmt(issued_at)}")
    stored = _stored(site_id, start, end, now, url)
    return WeatherForecast(site_id, stored, "fresh", issued_at, f"Open-Meteo forecast fetched {_fmt(now)}")


def breaker_state(now: datetime | None = None, url: str | None = None) -> BreakerState:
    """Recompute the breaker from the last fetch attempts in the store."""
    now = _utc(now)
    query = (
        sa.select(IngestionBatch.status, IngestionBatch.finished_at, IngestionBatch.message)
        .where(IngestionBatch.source == SOURCE, IngestionBatch.status.in_(("done", "failed")))
        .order_by(IngestionBatch.started_at.desc(), IngestionBatch.id.desc())
        .limit(FAILURES_TO_OPEN)
    )
    success = sa.select(sa.func.max(IngestionBatch.finished_at)).where(
        IngestionBatch.source == SOURCE, IngestionBatch.status == "done"
    )
    with session_scope(url) as session:
        recent = session.execute(query).all()
        last_success = session.execute(success).scalar()
    failures = 0
    for status, _finished, _message in recent:
        if status != "failed":
            break
        failures += 1
    last_failure = recent[0].message if recent and recent[0].status == "failed" else ""
    retry_after = None
    is_open = False
    if failures >= FAILURES_TO_OPEN and recent[0].finished_at is not None:
        retry_after = _utc(recent[0].finished_at) + COOLDOWN
        is_open = now < retry_after  # after the cool-down one trial call goes through (half-open)
    return BreakerState(is_open, failures, last_failure, _utc(last_success) if last_success else None, retry_after)


class FetchLogStorage(pybreaker.CircuitBreakerStorage):
    """pybreaker's state read from the fetch log in the store (:func:`breaker_state`), so that every
    gunicorn worker, Celery worker and CLI run shares one breaker. The log is written by
    :func:`forecast_for_site` for each attempt; pybreaker's own writes are therefore ignored."""

    def __init__(self, now: datetime | None = None, url: str | None = None):
        super().__init__(SOURCE)
        self.snapshot = breaker_state(now, url)

    @property
    def state(self) -> str:
        snap = self.snapshot
        if snap.open:
            return pybreaker.STATE_OPEN
        if snap.consecutive_failures >= FAILURES_TO_OPEN:
            return pybreaker.STATE_HALF_OPEN  # cooled down: one trial call goes through
        return pybreaker.STATE_CLOSED

    @state.setter
    def state(self, state: str) -> None:  # the fetch log is the state
        pass

    def increment_counter(self) -> None:
        pass

    def reset_counter(self) -> None:
        pass

    def increment_success_counter(self) -> None:
        pass

    def reset_success_counter(self) -> None:
        pass

    @property
    def counter(self) -> int:
        return self.snapshot.consecutive_failures

    @property
    def success_counter(self) -> int:
        return 0

    @property
    def opened_at(self) -> datetime | None:
        # Open means "refuse now": pybreaker compares with its own clock, the snapshot with ``now``.
        return datetime.now(UTC) if self.snapshot.open else None

    @opened_at.setter
    def opened_at(self, value: datetime) -> None:
        pass


def provider_breaker(now: datetime | None = None, url: str | None = None) -> pybreaker.CircuitBreaker:
    """The provider's circuit breaker as the fetch log says it is at ``now``."""
    return pybreaker.CircuitBreaker(
        fail_max=FAILURES_TO_OPEN, reset_timeout=COOLDOWN.total_seconds(), name=SOURCE,
        state_storage=FetchLogStorage(now, url), throw_new_error_on_trip=False,
        exclude=[lambda exc: not isinstance(exc, WeatherProviderError)],
    )


def breaker_gauges(url: str | None = None) -> dict[str, int]:
    """The breaker for metrics: 0 closed, 1 half-open (cooled down, next call is a trial), 2 open."""
    state = FetchLogStorage(None, url).state
    return {SOURCE: {pybreaker.STATE_CLOSED: 0, pybreaker.STATE_HALF_OPEN: 1, pybreaker.STATE_OPEN: 2}[state]}


def weather_source_status(site_id: int | None = None, now: datetime | None = None,
                          url: str | None = None) -> tuple[str, str]:
    """``("ok" | "degraded", detail)`` for the health check and the forecast page, without any request.

    Degraded when the last fetch failed or the breaker is open; the detail then says which
    stored weather is in use ("degraded: using weather stored at ...").
    """
    now = _utc(now)
    breaker = breaker_state(now, url)
    if breaker.consecutive_failures == 0:
        if breaker.last_success_at is None:
            return "ok", "Open-Meteo not asked yet: forecasts use the weather in the store"
        return "ok", f"Open-Meteo answered at {_fmt(breaker.last_success_at)}"
    stored = latest_issue(site_id, SOURCE, url) if site_id is not None else _latest_any_issue(url)
    using = f"using weather stored at {_fmt(stored)}" if stored else "no stored forecast to fall back on"
    state = "breaker open" if breaker.open else f"{breaker.consecutive_failures} failed attempt(s)"
    return "degraded", f"degraded: {using}; Open-Meteo {state}: {breaker.last_failure}"


def check_weather_source(settings) -> tuple[str, str]:
    """Health check for :data:`services.health.SERVICE_CHECKS` (reads the fetch log; no network)."""
    return weather_source_status(url=settings.database_url)


def _stored(site_id: int, start: datetime, end: datetime, as_of: datetime, url: str | None) -> pd.DataFrame:
    known = weather_known_at(site_id, start, end, as_of, url)
    return known[list(WEATHER_COLUMNS)]


def _degraded(site_id, start, end, now, issued, url, reason: str) -> WeatherForecast:
    frame = _stored(site_id, start, end, now, url)
    using = f"using weather stored at {_fmt(issued)}" if issued else "no stored forecast"
    return WeatherForecast(site_id, frame, "degraded", issued, f"degraded: {using}; {reason}")


def _log_attempt(url: str | None, started: datetime, status: str, received: int, inserted: int,
                 message: str) -> None:
    with session_scope(url) as session:
        session.add(IngestionBatch(
            source=SOURCE, channel="api", started_at=started, finished_at=datetime.now(UTC), status=status,
            received=received, inserted=inserted, message=message[:2000],
        ))


def _latest_any_issue(url: str | None) -> datetime | None:
    from services.store.models import WeatherRecord

    with session_scope(url) as session:
        value = session.execute(sa.select(sa.func.max(WeatherRecord.issued_at)).where(
            WeatherRecord.source == SOURCE)).scalar()
    return _utc(value) if value is not None else None


def _limits(timeout_s) -> str:
    if isinstance(timeout_s, tuple):
        return f"{timeout_s[0]:g} s to connect, {timeout_s[1]:g} s to answer"
    return f"{timeout_s:g} s"


def _reason(response) -> str:
    try:
        body = response.json()
        if isinstance(body, dict) and body.get("reason"):
            return str(body["reason"])
    except ValueError:
        pass
    return str(getattr(response, "text", ""))[:120] or "no reason given"


def _utc(value) -> datetime:
    if value is None:
        return datetime.now(UTC)
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(int(value), tz=UTC)
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value.isoformat()} given: attach a time zone")
    return value.astimezone(UTC)


def _fmt(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "never"


def _connection_failure(exc: Exception) -> str:
    """The root cause of a connection error in a few words (requests nests it several levels deep)."""
    text = str(exc)
    if "NameResolutionError" in text or "Name or service not known" in text:
        return "the name does not resolve (no DNS or no internet)"
    if "Connection refused" in text:
        return "connection refused"
    if "timed out" in text:
        return "timed out"
    return type(exc).__name__


def _log_retry(retry_state: tenacity.RetryCallState) -> None:
    _count_call("retry")
    logger.info("Open-Meteo attempt %d failed: %s; retrying", retry_state.attempt_number,
                retry_state.outcome.exception() if retry_state.outcome else "?")


def _count_call(outcome: str) -> None:
    from services.observability.metrics import OUTSIDE_CALLS

    OUTSIDE_CALLS.labels(SOURCE, outcome).inc()
