"""PV producing far below what its rating and the sun allow: measured energy against a clear sky.

For a household's location and arrays, :func:`services.pvmodel.expected_pv` gives the PVWatts
output under a clear sky (Ineichen, Linke turbidity climatology). Per local day, the measured
PV energy is divided by that clear-sky energy over the hours that have readings; the array's
*clear-day ratio* is the :data:`PV_CLEAR_DAY_QUANTILE` quantile of the daily ratios: what it
delivers on its clearest days, when the weather is no excuse. A healthy array reaches 0.8-1.0;
below :data:`PV_RATIO_FLAG` it is flagged (shading, soiling, a tripped string, a wrong rating).

The verdict looks back :data:`PV_LOOKBACK_DAYS` from the end of the period asked about, whatever
its length: a winter month may hold no clear day at all (low sun, fog for weeks), and its
best days then look like a faulty array. A year always contains clear days.

Energy [kWh], peak power [kWp]; times UTC, days in the household's time zone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import sqlalchemy as sa

from services.households import get_household
from services.store.db import session_scope
from services.store.frames import rows_frame
from services.store.models import Reading, Series
from services.store.types import time_bucket

#: Below this clear-day performance ratio [-] a PV array is flagged as under-performing.
PV_RATIO_FLAG = 0.6
#: Which quantile of the daily measured / clear-sky ratios stands for "clear days".
PV_CLEAR_DAY_QUANTILE = 0.9
#: Days needed before the PV check gives a verdict, and the share of a day's clear-sky
#: energy that must be covered by readings for the day to count.
PV_MIN_DAYS = 5
PV_MIN_DAY_COVERAGE = 0.9
#: Days before the end of the period that the verdict looks at [days], however short the period.
PV_LOOKBACK_DAYS = 365

@dataclass(frozen=True)
class PVPerformance:
    """How a household's PV compares with a clear sky.

    ``ratio`` is measured / clear-sky energy on the clearest days [-] (None without enough
    days); ``days`` the days used; ``measured_kwh`` and ``clearsky_kwh`` the totals over
    those days [kWh]; ``flagged`` when ``ratio`` < :data:`PV_RATIO_FLAG`; ``start`` and
    ``end`` the period looked at (UTC; None: from the first or up to the last reading).
    """

    household_id: int
    kwp: float
    ratio: float | None
    days: int
    measured_kwh: float
    clearsky_kwh: float
    flagged: bool
    message: str
    start: datetime | None = None
    end: datetime | None = None


def pv_performance(household_id: int, start: datetime | None = None, end: datetime | None = None, *,
                   series_ids: Sequence[int] | None = None, detail=None,
                   lookback_days: int | None = PV_LOOKBACK_DAYS) -> PVPerformance | None:
    """Measured PV of household ``household_id`` against its clear-sky PVWatts expectation.

    The readings looked at run up to ``end`` (UTC, exclusive) from ``start`` or from
    ``lookback_days`` before ``end``, whichever is earlier (see :func:`pv_window`), so that a
    short winter period is judged on a year's clear days.
    ``series_ids`` are its PV series (default: every series of quantity ``pv``). Returns None
    when the household has no PV system or no PV readings.
    """
    start = pv_window(start, end, lookback_days)
    # pvlib (via services.pvmodel) costs ~60 MB to import: only the processes that run this
    # check pay for it, not every CLI command that loads the app.
    from services.pvmodel import Location, PVArray, expected_pv

    detail = detail or get_household(household_id)
    arrays = [PVArray.of(p) for p in detail.pv_systems]
    if series_ids is None:
        with session_scope() as session:
            series_ids = list(session.scalars(sa.select(Series.id).where(
                Series.household_id == household_id, Series.quantity == "pv")))
    if not arrays or not series_ids:
        return None
    hourly = _hourly_pv(series_ids, start, end)
    if hourly.empty:
        return None
    kwp = sum(a.kwp for a in arrays)
    location = Location(detail.latitude, detail.longitude)
    clear = expected_pv(hourly.index, arrays, location, step=timedelta(hours=1))["clearsky_kwh"]
    ratio, days, measured, clearsky = clear_day_ratio(hourly["kwh"], clear, hourly["coverage"], detail.timezone)
    if ratio is None:
        message = (f"not enough clear-sky-comparable days yet ({days} of {PV_MIN_DAYS} needed with "
                   f"PV readings covering {PV_MIN_DAY_COVERAGE:.0%} of the day)")
        return PVPerformance(household_id, kwp, None, days, measured, clearsky, False, message, start, end)
    flagged = ratio < PV_RATIO_FLAG
    if flagged:
        message = (f"PV delivers {ratio:.0%} of the clear-sky expectation on its best days "
                   f"(healthy arrays reach 80-100 %): check shading, soiling, a tripped string or "
                   f"the kWp, tilt and azimuth entered for this household")
    else:
        message = f"PV delivers {ratio:.0%} of the clear-sky expectation on its best days"
    return PVPerformance(household_id, kwp, ratio, days, measured, clearsky, flagged, message, start, end)


def pv_window(start: datetime | None, end: datetime | None,
              lookback_days: int | None = PV_LOOKBACK_DAYS) -> datetime | None:
    """Start of the readings the PV verdict uses for the period ``[start, end)`` (UTC).

    ``lookback_days`` before ``end`` when that is earlier than ``start`` or ``start`` is None
    (a verdict on the array as it is now, not on its whole history); ``start`` itself without
    an ``end`` (up to the newest reading) or with ``lookback_days`` None.
    """
    if end is None or lookback_days is None:
        return start
    earliest = end - timedelta(days=lookback_days)
    return earliest if start is None or earliest < start else start


def clear_day_ratio(measured_kwh: pd.Series, clearsky_kwh: pd.Series, coverage: pd.Series,
                    tz: str) -> tuple[float | None, int, float, float]:
    """Clear-day ratio of measured to clear-sky PV energy from hourly values.

    Parameters
    ----------
    measured_kwh, clearsky_kwh : Series
        Per UTC hour start [kWh per hour]; ``clearsky_kwh`` for the whole hour.
    coverage : Series
        Share of each hour that has readings [0-1]; the clear sky is scaled by it, so an
        hour half missing is compared with half an hour of clear sky.
    tz : str
        IANA zone whose calendar days are compared (a solar day is not cut at UTC midnight).

    Returns
    -------
    (ratio, days, measured, clearsky)
        The :data:`PV_CLEAR_DAY_QUANTILE` quantile of the daily ratios (None with fewer than
        :data:`PV_MIN_DAYS` usable days), the usable days, and total measured and clear-sky
        energy over them [kWh].
    """
    frame = pd.DataFrame({"measured": measured_kwh, "clear_full": clearsky_kwh,
                          "clear": clearsky_kwh * coverage.clip(0.0, 1.0)}).fillna(0.0)
    days = frame.groupby(frame.index.tz_convert(tz).date).sum()
    # The day's whole clear-sky energy is not known where hours are absent entirely; a day
    # counts only when the hours with readings carry most of the clear-sky energy seen.
    usable = days[(days["clear"] > 0) & (days["clear"] >= PV_MIN_DAY_COVERAGE * days["clear_full"])]
    if len(usable) < PV_MIN_DAYS:
        return None, len(usable), float(usable["measured"].sum()), float(usable["clear"].sum())
    ratios = usable["measured"] / usable["clear"]
    ratio = float(np.quantile(ratios.to_numpy(), PV_CLEAR_DAY_QUANTILE))
    return ratio, len(usable), float(usable["measured"].sum()), float(usable["clear"].sum())


def _hourly_pv(series_ids: Sequence[int], start: datetime | None, end: datetime | None) -> pd.DataFrame:
    """PV energy per UTC hour [kWh] summed over ``series_ids`` and the share of the hour covered.

    The hour's clear sky must be complete for the days to be compared, so hours are reindexed to
    every hour between the first and last reading (absent hours get coverage 0).
    """
    with session_scope() as session:
        steps = dict(session.execute(sa.select(Series.id, Series.resolution_s)
                                     .where(Series.id.in_(list(series_ids)))).all())
    bucket = time_bucket(Reading.ts, 3600).label("bucket")
    query = readings_window(
        sa.select(Reading.series_id, bucket, sa.func.sum(Reading.value), sa.func.count())
        .where(Reading.series_id.in_(list(series_ids))), start, end,
    ).group_by(Reading.series_id, bucket)
    with session_scope() as session:
        rows = session.execute(query).all()
    if not rows:
        return pd.DataFrame(columns=["kwh", "coverage"])
    frame = rows_frame(rows, ["series_id", "bucket", "kwh", "n"])
    step = frame["series_id"].map(lambda sid: steps.get(sid) or 3600).astype(float)
    # Several PV series (two arrays metered apart) each cover the hour: average their coverage.
    frame["coverage"] = (frame["n"] * step / 3600.0).clip(upper=1.0) / len(series_ids)
    hourly = frame.groupby("bucket")[["kwh", "coverage"]].sum()
    hourly.index = pd.to_datetime(hourly.index.astype("int64"), unit="s", utc=True)
    full = pd.date_range(hourly.index[0], hourly.index[-1], freq="h")
    return hourly.reindex(full, fill_value=0.0).astype(float)



def readings_window(query, start: datetime | None, end: datetime | None):
    """``query`` kept to readings with ``start <= ts < end`` (either bound optional, UTC)."""
    if start is not None:
        query = query.where(Reading.ts >= start)
    if end is not None:
        query = query.where(Reading.ts < end)
    return query
