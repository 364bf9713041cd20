"""Weather in the store: sites, observations and forecasts with the time they became known.

A :class:`~services.store.models.WeatherRecord` row is the weather of the interval
starting at ``ts``; ``issued_at`` is when that value became known: the issue time of
a forecast, or ``ts`` itself for an observation. That one column lets a back-test
ask "what did we know at that moment?" (:func:`weather_known_at`) without ever
seeing the future.

Units: irradiance [W/m2], air temperature [degC], wind speed [m/s], cloud cover [%].
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from services.store.db import get_engine, session_scope
from services.store.frames import rows_frame
from services.store.models import Household, WeatherRecord, WeatherSite
from services.weather.files import WEATHER_COLUMNS, check_weather_frame

#: A household uses the nearest weather site within this distance [km].
MAX_SITE_DISTANCE_KM = 50.0
_UPSERT_CHUNK = 5000


@dataclass(frozen=True)
class SiteInfo:
    """A weather site: latitude/longitude [deg], altitude [m] (None: unknown), distance [km] from
    the household it was looked up for (0 when looked up directly)."""

    id: int
    name: str
    latitude: float
    longitude: float
    altitude_m: float | None
    distance_km: float = 0.0


def ensure_site(name: str, latitude: float, longitude: float, altitude_m: float | None = None,
                url: str | None = None) -> int:
    """The id of the site called ``name``, created at the given place if it does not exist yet."""
    if not -90 <= latitude <= 90:
        raise ValueError(f"latitude must be between -90 and 90 degrees north, got {latitude}")
    if not -180 <= longitude <= 180:
        raise ValueError(f"longitude must be between -180 and 180 degrees east, got {longitude}")
    with session_scope(url) as session:
        site = session.scalars(sa.select(WeatherSite).where(WeatherSite.name == name)).first()
        if site is None:
            site = WeatherSite(name=name, latitude=latitude, longitude=longitude, altitude_m=altitude_m)
            session.add(site)
            session.flush()
        return site.id


def get_site(site_id: int, url: str | None = None) -> SiteInfo:
    """The site ``site_id``; ``LookupError`` when there is none."""
    with session_scope(url) as session:
        site = session.get(WeatherSite, site_id)
        if site is None:
            raise LookupError(f"weather site {site_id} does not exist")
        return SiteInfo(site.id, site.name, site.latitude, site.longitude, site.altitude_m)


def site_for_household(household_id: int, max_km: float = MAX_SITE_DISTANCE_KM,
                       url: str | None = None) -> SiteInfo | None:
    """The weather site nearest to household ``household_id``, if one lies within ``max_km`` [km]."""
    with session_scope(url) as session:
        household = session.get(Household, household_id)
        if household is None:
            raise LookupError(f"household {household_id} does not exist")
        sites = session.scalars(sa.select(WeatherSite)).all()
        best = None
        for site in sites:
            km = distance_km(household.latitude, household.longitude, site.latitude, site.longitude)
            if km <= max_km and (best is None or km < best.distance_km):
                best = SiteInfo(site.id, site.name, site.latitude, site.longitude, site.altitude_m, km)
        return best


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance [km] between two points given in degrees."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(min(1.0, a)))


def save_weather(site_id: int, frame: pd.DataFrame, source: str, issued_at: datetime | None = None,
                 url: str | None = None) -> int:
    """Store weather for a site; saving the same rows again updates them instead of duplicating.

    Parameters
    ----------
    frame : DataFrame
        UTC (timezone-aware) index of interval starts; any of :data:`WEATHER_COLUMNS`.
    source : str
        Where it came from: ``demo``, ``tmy3``, ``pvgis``, ``psm3``, ``open-meteo``, ``csv``.
    issued_at : datetime, optional
        The issue time of a forecast. Without it the rows are observations, known at their
        own ``ts``.

    Returns
    -------
    int
        Rows written. All or nothing: a bad value rolls the whole frame back.
    """
    if frame.empty:
        return 0
    index = pd.DatetimeIndex(frame.index)
    if index.tz is None:
        raise ValueError("weather time stamps are naive: attach a time zone (UTC) before saving")
    if issued_at is not None and issued_at.tzinfo is None:
        raise ValueError("issued_at is naive: give it a time zone (UTC)")
    unknown = [c for c in frame.columns if c not in WEATHER_COLUMNS]
    if unknown:
        raise ValueError(f"unknown weather column(s) {unknown}: use {', '.join(WEATHER_COLUMNS)}")
    check_weather_frame(frame)
    data = frame.reindex(columns=list(WEATHER_COLUMNS)).astype(float)
    data = data[~index.duplicated(keep="last")]
    stamps = pd.DatetimeIndex(data.index).tz_convert("UTC")
    values = data.to_numpy()
    rows = []
    for i, ts in enumerate(stamps.to_pydatetime()):
        row = {"site_id": site_id, "ts": ts, "issued_at": issued_at or ts, "is_forecast": issued_at is not None,
               "source": source}
        for j, column in enumerate(WEATHER_COLUMNS):
            value = values[i, j]
            row[column] = None if np.isnan(value) else float(value)
        rows.append(row)
    engine = get_engine(url)
    insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
    with session_scope(url) as session:
        for lo in range(0, len(rows), _UPSERT_CHUNK):
            stmt = insert(WeatherRecord)
            stmt = stmt.on_conflict_do_update(
                index_elements=["site_id", "source", "issued_at", "ts"],
                set_={c: getattr(stmt.excluded, c) for c in (*WEATHER_COLUMNS, "is_forecast")},
            )
            session.execute(stmt, rows[lo:lo + _UPSERT_CHUNK])
    return len(rows)


def observed_weather(site_id: int, start: datetime, end: datetime, url: str | None = None) -> pd.DataFrame:
    """Observations of a site for ``start <= ts < end``: a frame of :data:`WEATHER_COLUMNS` by UTC ``ts``.

    Where several sources observed the same interval the latest-written source wins
    (ordering by source name keeps the choice stable).
    """
    query = (
        sa.select(WeatherRecord.ts, *[getattr(WeatherRecord, c) for c in WEATHER_COLUMNS])
        .where(WeatherRecord.site_id == site_id, WeatherRecord.is_forecast.is_(False),
               WeatherRecord.ts >= start, WeatherRecord.ts < end)
        .order_by(WeatherRecord.ts, WeatherRecord.source)
    )
    frame = _frame(query, url, ["ts", *WEATHER_COLUMNS])
    return frame[~frame.index.duplicated(keep="last")]


def weather_known_at(site_id: int, start: datetime, end: datetime, as_of: datetime,
                     url: str | None = None) -> pd.DataFrame:
    """The weather of ``start <= ts < end`` as it was known at ``as_of``.

    Per ``ts``, among the rows issued at or before ``as_of``: the observation if there is
    one (an observation is what happened; a forecast issued after the fact is still a
    model), else the forecast with the latest ``issued_at``. Rows issued after ``as_of``
    are never used, which is what keeps back-tests honest.

    Returns
    -------
    DataFrame
        By UTC ``ts``: :data:`WEATHER_COLUMNS`, plus ``issued_at``, ``is_forecast`` and ``source``
        of the row chosen. Intervals nothing was known about are absent.
    """
    if as_of.tzinfo is None:
        raise ValueError("as_of is naive: give it a time zone (UTC)")
    rank = sa.func.row_number().over(
        partition_by=WeatherRecord.ts,
        order_by=(WeatherRecord.is_forecast.asc(), WeatherRecord.issued_at.desc(), WeatherRecord.source.desc()),
    ).label("rank")
    columns = [WeatherRecord.ts, *[getattr(WeatherRecord, c) for c in WEATHER_COLUMNS],
               WeatherRecord.issued_at, WeatherRecord.is_forecast, WeatherRecord.source]
    inner = (
        sa.select(*columns, rank)
        .where(WeatherRecord.site_id == site_id, WeatherRecord.ts >= start, WeatherRecord.ts < end,
               WeatherRecord.issued_at <= as_of)
        .subquery()
    )
    query = sa.select(*[inner.c[c.key] for c in columns]).where(inner.c.rank == 1).order_by(inner.c.ts)
    names = ["ts", *WEATHER_COLUMNS, "issued_at", "is_forecast", "source"]
    return _frame(query, url, names, time_columns=("ts", "issued_at"))


def latest_issue(site_id: int, source: str, url: str | None = None) -> datetime | None:
    """When the newest forecast of ``source`` for the site was issued (None: never)."""
    query = sa.select(sa.func.max(WeatherRecord.issued_at)).where(
        WeatherRecord.site_id == site_id, WeatherRecord.source == source, WeatherRecord.is_forecast.is_(True)
    )
    with session_scope(url) as session:
        value = session.execute(query).scalar()
    return _as_utc(value)


def weather_coverage(site_id: int, url: str | None = None) -> tuple[datetime, datetime] | None:
    """First and last ``ts`` stored for a site, forecasts included (None: no weather at all)."""
    query = sa.select(sa.func.min(WeatherRecord.ts), sa.func.max(WeatherRecord.ts)).where(
        WeatherRecord.site_id == site_id
    )
    with session_scope(url) as session:
        first, last = session.execute(query).one()
    if first is None:
        return None
    return _as_utc(first), _as_utc(last)


def _frame(query, url: str | None, names: list[str], time_columns: tuple[str, ...] = ("ts",)) -> pd.DataFrame:
    with session_scope(url) as session:
        rows = session.execute(query).all()
    frame = rows_frame(rows, names)
    for column in time_columns:
        frame[column] = pd.to_datetime(frame[column], utc=True)
    frame = frame.set_index("ts")
    for column in WEATHER_COLUMNS:
        frame[column] = frame[column].astype(float)
    return frame


def _as_utc(value) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, (int, float)):  # SQLite aggregates bypass the column type: Unix seconds
        return datetime.fromtimestamp(int(value), tz=UTC)
    stamp = pd.Timestamp(value)
    return (stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")).to_pydatetime()
