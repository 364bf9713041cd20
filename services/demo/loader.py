"""Write a generated demo portfolio into the store, fast, in one transaction.

Small tables (tariffs, households, PV systems, batteries, devices, series,
weather sites) go through the ORM; readings, weather and dynamic prices go
through :mod:`services.store.bulk` on the same connection. Everything is
committed together or not at all; then ``services.energy.rollups`` fills
``daily_energy`` from the committed readings.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import NamedTuple

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.config import get_settings
from services.demo.generate import DemoHousehold, DemoPortfolio, generate_portfolio
from services.demo.portfolio import SITES
from services.demo.prices import TARIFFS
from services.energy.rollups import store_daily_energy
from services.store.bulk import insert_readings, insert_rows, reading_keys_deferred
from services.store.db import get_engine, session_scope
from services.store.models import (
    Battery,
    Device,
    Household,
    IngestionBatch,
    PVSystem,
    Reading,
    ReadingRollup,
    Series,
    Tariff,
    TariffPeriod,
    TariffPrice,
    WeatherRecord,
    WeatherSite,
)


class StoredSeries(NamedTuple):
    """A series as written: its ids, and the household column its readings come from."""

    household_id: int
    series_id: int
    household: DemoHousehold
    name: str


class DemoDataError(RuntimeError):
    """The demo portfolio cannot be loaded as asked; the message says what to do instead."""


@dataclass
class LoadReport:
    """What a demo load wrote, and how long each phase took [s]."""

    backend: str
    households: int
    series: int
    readings: int
    weather_records: int
    tariff_prices: int
    devices: int
    daily_rows: int
    period_start: datetime
    period_end: datetime
    seconds: dict[str, float] = field(default_factory=dict)
    batch_id: int | None = None
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """A few lines for the command line."""
        phases = ", ".join(f"{k} {v:.1f} s" for k, v in self.seconds.items())
        lines = [
            f"Loaded {self.households} households, {self.series} series and {self.readings:,} readings "
            f"({self.period_start:%Y-%m-%d} to {self.period_end:%Y-%m-%d}) into {self.backend}.",
            f"Also {self.weather_records:,} weather records, {self.tariff_prices:,} dynamic prices, "
            f"{self.devices} devices, {self.daily_rows:,} daily rows.",
            f"Timings: {phases}.",
        ]
        return "\n".join(lines + self.notes)


def database_is_empty(url: str | None = None) -> bool:
    """True when the store has no household yet."""
    with get_engine(url).connect() as conn:
        return conn.execute(sa.select(Household.id).limit(1)).first() is None


def seed_if_empty(url: str | None = None, **options) -> LoadReport | None:
    """Load the demo portfolio when the store has no household; else do nothing and return None.

    ``options`` go to :func:`load_demo_portfolio` (``n_households``, ``seed``, ``end``,
    ``days``); by default the portfolio of the settings (``DEMO_HOUSEHOLDS``, ``DEMO_SEED``).
    """
    if not database_is_empty(url):
        return None
    return load_demo_portfolio(url=url, **options)


#: Households generated and written at a time: a portfolio of 10,000 is written in batches so
#: that memory holds one batch of readings (about 4 M values for a week), not all of them.
BATCH_HOUSEHOLDS = 1000


def load_demo_portfolio(n_households: int | None = None, seed: int | None = None,
                        end: date | None = None, url: str | None = None, days: int = 365,
                        batch_households: int = BATCH_HOUSEHOLDS) -> LoadReport:
    """Generate the demo portfolio and write it into an empty store.

    Parameters
    ----------
    n_households, seed : int, optional
        Default ``DEMO_HOUSEHOLDS`` and ``DEMO_SEED`` from the settings.
    end : date, optional
        The period ends at 00:00 UTC of this day; default today (UTC).
    url : str, optional
        Database URL; default ``DATABASE_URL``.
    days : int
        Length of the period [days]. For a large portfolio a week is plenty (10,000 households
        of a week load in a few minutes on PostgreSQL).
    batch_households : int
        Households generated and written at a time (all in one transaction; at least one per site).

    Raises
    ------
    DemoDataError
        When the store already has households (remove them first with :func:`remove_all_households`).
    """
    settings = get_settings()
    n_households = settings.demo_households if n_households is None else n_households
    seed = settings.demo_seed if seed is None else seed
    end = end or datetime.now(timezone.utc).date()
    started = time.perf_counter()
    # Every batch, the first included, spans all sites: the first writes their weather and prices.
    batch_households = max(batch_households, len(SITES))
    portfolio = generate_portfolio(min(n_households, batch_households), seed, end, days=days)
    generated = time.perf_counter() - started
    more = (generate_portfolio(min(batch_households, n_households - first), seed, end, days=days, first=first)
            for first in range(batch_households, n_households, batch_households))
    report = write_portfolio(portfolio, url, more=more)
    report.seconds = {"generate": generated, **report.seconds}
    report.seconds["total"] = time.perf_counter() - started
    return report


def write_portfolio(portfolio: DemoPortfolio, url: str | None = None,
                    more: Iterable[DemoPortfolio] = ()) -> LoadReport:
    """Write ``portfolio`` into an empty store (one transaction), then refresh daily energy.

    ``more``: further batches of households of the same portfolio (``generate_portfolio(...,
    first=...)``), generated as they are written; their readings and daily energy go into the
    same transaction, their tariffs, sites and weather are the first batch's.
    """
    seconds: dict[str, float] = {}
    clock = time.perf_counter()
    batch_started = datetime.now(timezone.utc)
    with session_scope(url) as session:
        conn = session.connection()
        backend = conn.dialect.name
        existing = session.scalar(sa.select(sa.func.count()).select_from(Household))
        if existing:
            raise DemoDataError(
                f"the database already has {existing} household(s); the demo loads only into an empty "
                "store. Use `flask --app app demo-data --replace` to delete them and load the demo."
            )
        _refuse_name_clashes(session, portfolio)
        tariff_ids = _write_tariffs(session, portfolio)
        site_ids = _write_sites(session, portfolio)
        stored = _write_households(session, portfolio, tariff_ids)
        seconds["households"] = _lap(clock)

        clock = time.perf_counter()
        readings = _readings_frame(portfolio, stored)
        reading_count, household_count, series_count, devices = len(readings), len(portfolio.households), \
            len(stored), sum(len(h.spec.devices) for h in portfolio.households)
        extra_daily, extra_seconds = 0, {"more_batches": 0.0}
        with reading_keys_deferred(conn):
            insert_readings(conn, readings)
            del readings
            for batch in more:
                lap = time.perf_counter()
                batch_stored = _write_households(session, batch, tariff_ids)
                reading_count += insert_readings(conn, _readings_frame(batch, batch_stored))
                ids_of = {s.household.name: s.household_id for s in batch_stored}
                extra_daily += store_daily_energy({ids_of[h.name]: h.readings for h in batch.households},
                                                  session=session)
                household_count += len(batch.households)
                series_count += len(batch_stored)
                devices += sum(len(h.spec.devices) for h in batch.households)
                extra_seconds["more_batches"] += _lap(lap)
        seconds["readings"] = _lap(clock) - extra_seconds["more_batches"]
        seconds.update(extra_seconds if extra_seconds["more_batches"] else {})

        clock = time.perf_counter()
        weather_count = sum(insert_rows(conn, WeatherRecord.__table__, _weather_rows(frame, site_ids[name]))
                            for name, frame in portfolio.weather.items())
        prices = portfolio.dynamic_prices
        price_rows = pd.DataFrame({"tariff_id": tariff_ids["dynamic"], "ts": prices.index,
                                   "import_price": prices.to_numpy()})
        price_count = insert_rows(conn, TariffPrice.__table__, price_rows)
        batch = IngestionBatch(
            source="demo generator", channel="demo", started_at=batch_started,
            finished_at=datetime.now(timezone.utc), status="done", received=reading_count,
            inserted=reading_count,
            message=(f"{household_count} households, seed {portfolio.seed}, "
                     f"{portfolio.index[0]:%Y-%m-%d} to {portfolio.end:%Y-%m-%d}"),
        )
        session.add(batch)
        session.flush()
        batch_id = batch.id
        seconds["weather_prices"] = _lap(clock)
        clock = time.perf_counter()
    if backend == "postgresql":
        # Fresh statistics, so that the rollup queries right after the load get good plans.
        with get_engine(url).begin() as analyze_conn:
            analyze_conn.execute(sa.text("ANALYZE readings"))
    seconds["commit"] = _lap(clock)

    clock = time.perf_counter()
    # The flows are in hand: price them per local day without summing 4 M readings again in SQL.
    ids = {s.household.name: s.household_id for s in stored}
    daily_rows, notes = store_daily_energy({ids[h.name]: h.readings for h in portfolio.households}, url), []
    daily_rows += extra_daily
    seconds["rollups"] = _lap(clock)
    return LoadReport(
        backend=backend, households=household_count, series=series_count,
        readings=reading_count, weather_records=weather_count, tariff_prices=price_count,
        devices=devices, daily_rows=daily_rows,
        period_start=portfolio.index[0].to_pydatetime(),
        period_end=(portfolio.index[-1] + pd.Timedelta(minutes=15)).to_pydatetime(),
        seconds=seconds, batch_id=batch_id, notes=notes,
    )


def remove_all_households(url: str | None = None) -> int:
    """Delete every household with everything it owns, plus the demo's tariffs and weather sites.

    Readings and rollups go first with one statement each (they all belong to
    households being deleted), which is much faster than cascading row by row.
    Returns the number of households deleted.
    """
    with session_scope(url) as session:
        count = session.scalar(sa.select(sa.func.count()).select_from(Household)) or 0
        if session.get_bind().dialect.name == "postgresql":
            session.execute(sa.text("TRUNCATE readings, reading_rollups"))
        else:
            session.execute(sa.delete(Reading))
            session.execute(sa.delete(ReadingRollup))
        session.execute(sa.delete(Household))
        session.execute(sa.delete(Tariff).where(Tariff.name.in_([t.name for t in TARIFFS.values()])))
        session.execute(sa.delete(WeatherSite).where(WeatherSite.name.in_([_site_name(s.name) for s in SITES])))
    return int(count)


def _lap(clock: float) -> float:
    return time.perf_counter() - clock


def _site_name(city: str) -> str:
    return f"{city} (demo)"


def _refuse_name_clashes(session: Session, portfolio: DemoPortfolio) -> None:
    """Tariff and weather-site names are unique: say which ones are in the way, before writing."""
    tariffs = session.scalars(sa.select(Tariff.name).where(Tariff.name.in_([t.name for t in portfolio.tariffs])))
    sites = session.scalars(sa.select(WeatherSite.name).where(
        WeatherSite.name.in_([_site_name(s.name) for s in portfolio.sites])))
    taken = [*tariffs, *sites]
    if taken:
        raise DemoDataError(
            f"the store already has tariff(s) or weather site(s) named {', '.join(map(repr, taken))}, "
            "which the demo needs; rename or delete them, or use `flask --app app demo-data --replace`."
        )


def _write_tariffs(session: Session, portfolio: DemoPortfolio) -> dict[str, int]:
    ids = {}
    for spec in portfolio.tariffs:
        tariff = Tariff(name=spec.name, kind=spec.kind, currency=spec.currency,
                        import_price=spec.import_price, export_price=spec.export_price)
        tariff.periods = [
            TariffPeriod(name=p.name, start_minute=p.start_minute, end_minute=p.end_minute,
                         weekdays=p.weekdays, import_price=p.import_price)
            for p in spec.periods
        ]
        session.add(tariff)
        session.flush()
        ids[spec.key] = tariff.id
    return ids


def _write_sites(session: Session, portfolio: DemoPortfolio) -> dict[str, int]:
    ids = {}
    for site in portfolio.sites:
        row = WeatherSite(name=_site_name(site.name), latitude=site.latitude, longitude=site.longitude,
                          altitude_m=site.altitude_m)
        session.add(row)
        session.flush()
        ids[site.name] = row.id
    return ids


def _write_households(session: Session, portfolio: DemoPortfolio,
                      tariff_ids: dict[str, int]) -> list[StoredSeries]:
    """Households with their PV, battery, devices and series; returns every series, in id order."""
    last_ts = portfolio.index[-1].to_pydatetime()
    series_rows_out = []
    for household in portfolio.households:
        spec = household.spec
        row = Household(
            name=spec.name, timezone=spec.timezone, latitude=spec.latitude, longitude=spec.longitude,
            tariff_id=tariff_ids[spec.tariff_key], notes=_notes(spec),
        )
        row.pv_systems = [
            PVSystem(name=a.name, kwp=a.kwp, tilt_deg=a.tilt_deg, azimuth_deg=a.azimuth_deg,
                     losses_pct=a.losses_pct, inverter_kw=a.inverter_kw)
            for a in spec.pv
        ]
        if spec.battery is not None:
            b = spec.battery
            row.battery = Battery(
                capacity_kwh=b.capacity_kwh, max_charge_kw=b.max_charge_kw, max_discharge_kw=b.max_discharge_kw,
                charge_efficiency=b.charge_efficiency, discharge_efficiency=b.discharge_efficiency,
                soc_min=b.soc_min, soc_max=b.soc_max,
            )
        session.add(row)
        session.flush()
        devices = {}
        for d in spec.devices:
            device = Device(household_id=row.id, kind=d.kind, name=d.name, external_id=d.external_id,
                            metrics=list(d.metrics), needs_review=False,
                            last_seen_at=last_ts - pd.Timedelta(hours=d.offline_hours))
            session.add(device)
            devices[d.name] = device
        session.flush()
        series_rows = [
            Series(household_id=row.id, quantity=s.quantity, unit=s.unit, name=s.name, resolution_s=900,
                   device_id=devices[s.device].id if s.device else None)
            for s in household.series
        ]
        session.add_all(series_rows)
        session.flush()
        series_rows_out += [StoredSeries(row.id, s.id, household, s.name) for s in series_rows]
    return series_rows_out


def _notes(spec) -> str:
    parts = []
    if spec.pv:
        arrays = " + ".join(f"{a.kwp:g} kWp {a.name.lower()}" for a in spec.pv)
        parts.append(f"PV {arrays}")
    if spec.battery is not None:
        parts.append(f"battery {spec.battery.capacity_kwh:g} kWh")
    if spec.has_ev:
        parts.append("EV charger")
    if spec.has_heat_pump:
        parts.append("heat pump")
    return "Demo household: " + (", ".join(parts) if parts else "no PV")


def _readings_frame(portfolio: DemoPortfolio, stored: list[StoredSeries]) -> pd.DataFrame:
    """All readings as (series_id, ts, value), sorted by series then time, missing ones left out."""
    ts_all = portfolio.index.asi8
    ids, stamps, values = [], [], []
    for _, series_id, household, name in stored:
        column = household.readings[name].to_numpy(dtype=float)
        present = ~np.isnan(column)
        ids.append(np.full(int(present.sum()), series_id, dtype=np.int64))
        stamps.append(ts_all[present])
        values.append(column[present])
    return pd.DataFrame({
        "series_id": np.concatenate(ids),
        "ts": pd.DatetimeIndex(np.concatenate(stamps).astype(f"datetime64[{portfolio.index.unit}]"), tz="UTC"),
        "value": np.concatenate(values),
    })


def _weather_rows(frame: pd.DataFrame, site_id: int) -> pd.DataFrame:
    rows = frame.reset_index().rename(columns={"index": "ts"})
    rows.insert(0, "site_id", site_id)
    rows["issued_at"] = rows["ts"]
    rows["is_forecast"] = False
    rows["source"] = "demo"
    return rows
