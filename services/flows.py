"""A household's energy flows over time, aggregated in SQL to the resolution wanted."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pandas as pd
import sqlalchemy as sa

from services.store.db import session_scope
from services.store.models import ENERGY_QUANTITIES, DailyEnergy, Reading, Series
from services.store.types import time_bucket


def energy_flows_by_household(household_ids: list[int], bucket_s: int, start: datetime | None = None,
                               end: datetime | None = None, url: str | None = None) -> dict[int, pd.DataFrame]:
    """Energy flows of several households summed in SQL to ``bucket_s`` UTC buckets, in one query.

    Returns, per household with readings, a DataFrame indexed by UTC bucket start with one
    column per energy quantity present [kWh per bucket].
    """
    if not household_ids:
        return {}
    bucket = time_bucket(Reading.ts, bucket_s).label("bucket")
    query = (
        sa.select(Series.household_id, Series.quantity, bucket, sa.func.sum(Reading.value))
        .join(Series, Series.id == Reading.series_id)
        .where(Series.household_id.in_(list(household_ids)), Series.quantity.in_(ENERGY_QUANTITIES))
        .group_by(Series.household_id, Series.quantity, bucket)
    )
    if start is not None:
        query = query.where(Reading.ts >= start)
    if end is not None:
        query = query.where(Reading.ts < end)
    with session_scope(url) as session:
        rows = session.execute(query).all()
    if not rows:
        return {}
    household, quantity, buckets, kwh = zip(*rows)  # column-wise: much faster than a frame of row tuples
    long = pd.DataFrame({"household_id": household, "quantity": quantity, "bucket": buckets, "kwh": kwh})
    out = {}
    for household_id, part in long.groupby("household_id"):
        wide = part.pivot(index="bucket", columns="quantity", values="kwh").sort_index()
        wide.index = pd.to_datetime(wide.index.astype("int64"), unit="s", utc=True)
        wide.columns.name = None
        out[int(household_id)] = wide
    return out


def energy_flows(household_id: int, bucket_s: int, start: datetime | None = None,
                 end: datetime | None = None, url: str | None = None) -> pd.DataFrame:
    """Energy flows of one household summed in SQL to ``bucket_s`` UTC buckets [kWh per bucket].

    Returns a DataFrame indexed by UTC bucket start with one column per energy quantity present
    (empty without readings).
    """
    return energy_flows_by_household([household_id], bucket_s, start, end, url).get(household_id, pd.DataFrame())


@dataclass(frozen=True)
class PeriodFlows:
    """A household's flows over local days ``start``..``end``: kWh per step, indexed by UTC step start."""

    flows: pd.DataFrame
    step_s: int
    step_label: str


def resolution_for(days: int) -> tuple[int, str]:
    """The step that keeps a chart readable for a period of ``days``: (seconds, label)."""
    if days <= 3:
        return 900, "15 min"
    if days <= 45:
        return 3600, "hour"
    return 86400, "day"


def flows_for_period(household_id: int, tz: str, start: date, end: date) -> PeriodFlows:
    """Energy flows of a household from local day ``start`` to ``end`` (both included).

    Up to three days come at 15 minutes, up to 45 days hourly, longer periods per
    local day (from ``daily_energy``, so days follow the household's calendar).
    """
    zone = ZoneInfo(tz)
    lo = pd.Timestamp(start).tz_localize(zone, nonexistent="shift_forward").tz_convert("UTC")
    hi = pd.Timestamp(end + timedelta(days=1)).tz_localize(zone, nonexistent="shift_forward").tz_convert("UTC")
    step_s, label = resolution_for((end - start).days + 1)
    if step_s < 86400:
        return PeriodFlows(energy_flows(household_id, step_s, lo.to_pydatetime(), hi.to_pydatetime()), step_s, label)
    columns = {v: k for k, v in DAILY_COLUMN_OF.items()}
    query = sa.select(DailyEnergy.day, *[getattr(DailyEnergy, c) for c in columns]).where(
        DailyEnergy.household_id == household_id, DailyEnergy.day >= start, DailyEnergy.day <= end
    ).order_by(DailyEnergy.day)
    with session_scope() as session:
        frame = pd.DataFrame(session.execute(query).mappings().all())
    if frame.empty:
        return PeriodFlows(pd.DataFrame(), step_s, label)
    index = pd.DatetimeIndex(pd.to_datetime(frame.pop("day"))).tz_localize(zone, nonexistent="shift_forward")
    frame.index = index.tz_convert("UTC")
    return PeriodFlows(frame.rename(columns=columns), step_s, label)


#: The daily_energy column of each energy quantity [kWh].
DAILY_COLUMN_OF = {
    "load": "load_kwh",
    "pv": "pv_kwh",
    "grid_import": "import_kwh",
    "grid_export": "export_kwh",
    "battery_charge": "charge_kwh",
    "battery_discharge": "discharge_kwh",
}
