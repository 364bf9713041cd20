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

from services.flows import DAILY_COLUMN_OF, energy_flows
from services.store.db import session_scope
from services.store.models import DailyEnergy, Household
from services.tariffs import TariffSpec, flat_tariff, import_prices, load_tariff_spec

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
    frame = flows.reindex(columns=list(DAILY_COLUMNS), fill_value=0.0).fillna(0.0)
    frame = frame.rename(columns=DAILY_COLUMNS)
    prices = import_prices(tariff, frame.index, tz)
    frame["import_cost"] = frame["import_kwh"] * prices.to_numpy()
    frame["export_revenue"] = frame["export_kwh"] * tariff.export_price
    days = frame.index.tz_convert(tz).date
    daily = frame.groupby(days).sum()
    daily.index.name = "day"
    return daily[columns]


def refresh_daily_energy(household_ids: list[int], start: datetime | None = None,
                         end: datetime | None = None) -> int:
    """Recompute ``daily_energy`` for the given households, optionally only for readings in ``[start, end)``.

    Days touched by the window are recomputed whole (the window is widened to local
    day boundaries), so a partial refresh never leaves a half-counted day.
    Returns the number of daily rows written.
    """
    written = 0
    for household_id in household_ids:
        with session_scope() as session:
            household = session.get(Household, household_id)
            if household is None:
                continue
            tz = household.timezone
            tariff_id = household.tariff_id
        zone = ZoneInfo(tz)
        lo = _local_midnight_before(start, zone) if start else None
        hi = _local_midnight_after(end, zone) if end else None
        flows = energy_flows(household_id, bucket_seconds_for(tz), lo, hi)
        with session_scope() as session:
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
                for day, row in daily.iterrows()
            ]
            if records:
                session.execute(sa.insert(DailyEnergy), records)
            written += len(records)
    return written


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
