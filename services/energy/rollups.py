"""Daily energy and money per household, kept in ``daily_energy`` for fast portfolio KPIs.

Readings are summed in SQL to hourly UTC buckets (quarter hours where the time
zone's offset is not whole hours), then assigned to the household's local
calendar day and priced with its tariff. Overview KPIs over any period are then
a SQL sum over a few rows per household and day.

Call :func:`refresh_daily_energy` after anything that changes readings or a
tariff: ingestion, demo loading, editing a household's tariff.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pandas as pd
import sqlalchemy as sa

from services.energy.flows import DAILY_COLUMN_OF, energy_flows_by_household
from services.households.tariffs import TariffSpec, flat_tariff, import_prices, load_tariff_spec
from services.store.db import session_scope
from services.store.models import DailyEnergy, Household

#: daily_energy column for each energy quantity [kWh].
DAILY_COLUMNS = DAILY_COLUMN_OF
#: Used when a household has no tariff: costs then read as zero rather than as a guess.
NO_TARIFF = flat_tariff(0.0, 0.0)


def bucket_seconds_for(tz: str) -> int:
    """3600 when every UTC offset of ``tz`` is a whole hour (most zones), else 900."""
    zone = ZoneInfo(tz)
    probe = pd.date_range("2020-01-01", periods=24, freq="15D", tz="UTC")
    offsets = {int(t.astimezone(zone).utcoffset().total_seconds()) for t in probe}
    return 3600 if all(o % 3600 == 0 for o in offsets) else 900


def daily_energy_from_flows(flows: pd.DataFrame, tz: str, tariff: TariffSpec) -> pd.DataFrame:
    """Daily totals of energy flows in local days, with cost and feed-in revenue.

    Parameters
    ----------
    flows : DataFrame
        Indexed by UTC interval start; columns are energy quantities (``load``, ``pv``,
        ``grid_import``, ...) [kWh per interval]. Missing columns count as zero.
    tz : str
        The household's IANA time zone; days are its calendar days.
    tariff : TariffSpec
        Prices the imports [currency/kWh] and pays the exports.

    Returns
    -------
    DataFrame indexed by local ``day`` (datetime.date) with the columns of ``daily_energy``:
    energies [kWh], ``import_cost`` and ``export_revenue`` [currency].
    """
    columns = list(DAILY_COLUMNS.values()) + ["import_cost", "export_revenue"]
    if flows.empty:
        return pd.DataFrame(columns=columns, index=pd.Index([], name="day"))
    frame = flows.reindex(columns=list(DAILY_COLUMNS))
    frame = frame[frame.notna().any(axis=1)].fillna(0.0)  # a day without any reading gets no row
    frame = frame.rename(columns=DAILY_COLUMNS)
    prices = import_prices(tariff, frame.index, tz)
    frame["import_cost"] = frame["import_kwh"] * prices.to_numpy()
    frame["export_revenue"] = frame["export_kwh"] * tariff.export_price
    # Group on local midnights (datetime64), not on a Python date per interval: 20x faster.
    days = frame.index.tz_convert(tz).tz_localize(None).normalize()
    daily = frame.groupby(days).sum()
    daily.index = pd.Index(daily.index.date, name="day")
    return daily[columns]


def on_series_touched(touched) -> int:
    """Subscriber of :mod:`services.ingestion.events`: recompute daily energy over the window in
    which each household's energy series changed (``touched``: series id -> (first, last) UTC)."""
    from services.store.models import ENERGY_QUANTITIES, Series

    with session_scope() as session:
        rows = session.execute(sa.select(Series.id, Series.household_id).where(
            Series.id.in_(list(touched)), Series.quantity.in_(ENERGY_QUANTITIES))).all()
    windows: dict[int, tuple[datetime, datetime]] = {}
    for series_id, household_id in rows:
        lo, hi = touched[series_id]
        old = windows.get(household_id)
        windows[household_id] = (lo, hi) if old is None else (min(old[0], lo), max(old[1], hi))
    for household_id, (lo, hi) in windows.items():
        # The reading at ``hi`` covers the interval starting there: include it (end is exclusive).
        refresh_daily_energy([household_id], lo, hi + timedelta(seconds=1))
    return len(windows)


def refresh_daily_energy(household_ids: list[int], start: datetime | None = None,
                         end: datetime | None = None, url: str | None = None) -> int:
    """Recompute ``daily_energy`` for the given households, optionally only for readings in ``[start, end)``.

    Days touched by the window are recomputed whole (the window is widened to each
    household's local day boundaries), so a partial refresh never leaves a half-counted day.
    Readings are summed in SQL, one query per bucket size for all households at once.
    Returns the number of daily rows written.
    """
    with session_scope(url) as session:
        homes = {h.id: (h.timezone, h.tariff_id) for h in
                 session.scalars(sa.select(Household).where(Household.id.in_(list(household_ids))))}
    windows = {hid: _day_window(ZoneInfo(tz), start, end) for hid, (tz, _) in homes.items()}
    by_bucket: dict[int, list[int]] = {}
    for hid, (tz, _) in homes.items():
        by_bucket.setdefault(bucket_seconds_for(tz), []).append(hid)
    written = 0
    for bucket_s, ids in by_bucket.items():
        lows = [windows[h][0] for h in ids]
        highs = [windows[h][1] for h in ids]
        lo = None if any(x is None for x in lows) else min(lows)
        hi = None if any(x is None for x in highs) else max(highs)
        flows = energy_flows_by_household(ids, bucket_s, lo, hi, url)
        with session_scope(url) as session:
            for hid in ids:
                tz, tariff_id = homes[hid]
                written += _write_days(session, hid, tz, tariff_id, flows.get(hid, pd.DataFrame()), *windows[hid])
    return written


def store_daily_energy(flows_by_household: dict[int, pd.DataFrame], url: str | None = None,
                       session=None) -> int:
    """Replace all ``daily_energy`` rows of these households with the days of flows already in hand.

    For callers that hold a household's complete energy flows (the demo loader), so the
    readings they just wrote need not be summed again in SQL. ``flows_by_household`` maps a
    household id to a frame indexed by UTC interval start with energy-quantity columns [kWh]
    (NaN = no reading). Returns the number of daily rows written. ``session``: write in the
    caller's transaction (households not committed yet) instead of one of its own.
    """
    if session is not None:
        return _store_daily(session, flows_by_household)
    with session_scope(url) as own:
        return _store_daily(own, flows_by_household)


def _store_daily(session, flows_by_household: dict[int, pd.DataFrame]) -> int:
    homes = {h.id: (h.timezone, h.tariff_id) for h in
             session.scalars(sa.select(Household).where(Household.id.in_(list(flows_by_household))))}
    tariffs = {t: load_tariff_spec(session, t) for t in {t for _, t in homes.values() if t}}  # each read once
    return sum(_write_days(session, hid, tz, tariff_id, flows_by_household[hid], None, None, tariffs.get(tariff_id))
               for hid, (tz, tariff_id) in homes.items())


def _write_days(session, household_id: int, tz: str, tariff_id: int | None, flows: pd.DataFrame,
                lo: datetime | None, hi: datetime | None, tariff: TariffSpec | None = None) -> int:
    """Replace the household's daily rows for the local days in ``[lo, hi)`` with those of ``flows``."""
    zone = ZoneInfo(tz)
    if lo is not None and not flows.empty:
        flows = flows[(flows.index >= lo) & (flows.index < hi)] if hi is not None else flows[flows.index >= lo]
    if tariff is None:
        tariff = load_tariff_spec(session, tariff_id, lo, hi) if tariff_id else NO_TARIFF
    daily = daily_energy_from_flows(flows, tz, tariff)
    delete = sa.delete(DailyEnergy).where(DailyEnergy.household_id == household_id)
    if lo is not None:
        delete = delete.where(DailyEnergy.day >= lo.astimezone(zone).date())
    if hi is not None:
        delete = delete.where(DailyEnergy.day < hi.astimezone(zone).date())
    session.execute(delete)
    records = [
        {"household_id": household_id, "day": day, **{k: float(v) for k, v in row.items()}}
        for day, row in zip(daily.index, daily.to_dict("records"))
    ]
    if records:
        session.execute(sa.insert(DailyEnergy), records)
    return len(records)


def _day_window(zone: ZoneInfo, start: datetime | None, end: datetime | None):
    """``[start, end)`` widened to local midnights (None stays open)."""
    lo = _local_midnight_before(start, zone) if start else None
    hi = _local_midnight_after(end, zone) if end else None
    return lo, hi


def _local_midnight_before(instant: datetime, zone: ZoneInfo) -> datetime:
    """The local midnight at or before ``instant``, as a UTC datetime."""
    return _local_midnight(pd.Timestamp(instant).tz_convert(zone).date(), zone)


def _local_midnight_after(instant: datetime, zone: ZoneInfo) -> datetime:
    """The local midnight at or after ``instant``, as a UTC datetime."""
    local = pd.Timestamp(instant).tz_convert(zone)
    midnight = _local_midnight(local.date(), zone)
    if midnight < local:
        midnight = _local_midnight(local.date() + timedelta(days=1), zone)
    return midnight


def _local_midnight(day: date, zone: ZoneInfo) -> datetime:
    # Where midnight does not exist (DST starting at 00:00), the day starts at the first valid instant.
    local = pd.Timestamp(day).tz_localize(zone, nonexistent="shift_forward", ambiguous=True)
    return local.tz_convert(timezone.utc).to_pydatetime()
