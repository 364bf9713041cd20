"""Set-based reads of what schedule inputs need from the store, for one household or a chunk.

Each function takes household ids explicitly and answers for all of them in one or two queries,
so that a chunk of 500 households costs a few queries rather than a few thousand. The
per-household path (:func:`~.inputs.household_inputs`) calls the same functions with one id:
there is one way of reading each input.

* :func:`latest_soc_readings`: the newest ``battery_soc`` reading at or before an instant [kWh];
* :func:`last_reading_times`: when each household's energy readings stop;
* :func:`forecast_candidates`: stored forecasts issued by a time with values in a window [kWh per
  step], newest first, for the caller to pick the first that covers its horizon.

The readings' primary key (series, ts) serves every query here: the newest reading of a series is
read from the index (a correlated ``max(ts)`` per series), never by scanning its history.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.store.frames import rows_frame
from services.store.models import ENERGY_QUANTITIES, Forecast, ForecastValue, Reading, Series
from services.store.types import epoch_seconds


def latest_soc_readings(session: Session, household_ids: Sequence[int],
                        at: datetime) -> dict[int, tuple[datetime, float]]:
    """Per household, the newest ``battery_soc`` reading at or before ``at`` (UTC): (ts, value [kWh])."""
    newest = _newest_per_series(household_ids, ("battery_soc",), at)
    rows = session.execute(
        sa.select(newest.c.household_id, Reading.ts, Reading.value)
        .join(Reading, sa.and_(Reading.series_id == newest.c.series_id, Reading.ts == newest.c.ts))
    ).all()
    out: dict[int, tuple[datetime, float]] = {}
    for household_id, ts, value in rows:  # a household with two SOC series: the newer reading
        if household_id not in out or ts > out[household_id][0]:
            out[household_id] = (ts, float(value))
    return out


def last_reading_times(session: Session, household_ids: Sequence[int],
                       quantities: Sequence[str] = ENERGY_QUANTITIES) -> dict[int, datetime]:
    """Per household with readings of ``quantities`` (energy meters: load may be derived from the
    others), the time of its newest one (UTC)."""
    newest = _newest_per_series(household_ids, quantities, None)
    rows = session.execute(
        sa.select(newest.c.household_id, sa.func.max(newest.c.ts)).where(newest.c.ts.is_not(None))
        .group_by(newest.c.household_id)
    ).all()
    return {household_id: ts for household_id, ts in rows if ts is not None}


def _newest_per_series(household_ids: Sequence[int], quantities: Sequence[str], at: datetime | None):
    """Subquery (household_id, series_id, ts): each series' newest reading time, at or before ``at``."""
    newest = sa.select(sa.func.max(Reading.ts)).where(Reading.series_id == Series.id)
    if at is not None:
        newest = newest.where(Reading.ts <= at)
    return (
        sa.select(Series.household_id, Series.id.label("series_id"),
                  newest.scalar_subquery().label("ts"))
        .where(Series.household_id.in_(list(household_ids)), Series.quantity.in_(list(quantities)))
        .subquery()
    )


def forecast_candidates(session: Session, household_ids: Sequence[int], targets: Sequence[str], start: datetime,
                        end: datetime, now: datetime, limit: int) -> dict[tuple[int, str], list[pd.Series]]:
    """Stored forecasts of ``targets`` issued by ``now`` with values in ``[start - 1 h, end)``.

    Returns, per (household, target), up to ``limit`` forecasts newest first (by issue time, then
    id), each as a Series of energy per step [kWh] indexed by UTC step start, in time order. The
    hour before ``start`` is read so that an hourly forecast's step covering ``start`` is there.
    """
    if not household_ids or not targets:
        return {}
    lo = start - timedelta(hours=1)
    found = session.execute(
        sa.select(Forecast.id, Forecast.household_id, Forecast.target)
        .join(ForecastValue, ForecastValue.forecast_id == Forecast.id)
        .where(Forecast.household_id.in_(list(household_ids)), Forecast.target.in_(list(targets)),
               Forecast.issued_at <= now, ForecastValue.ts >= lo, ForecastValue.ts < end)
        .group_by(Forecast.id, Forecast.household_id, Forecast.target, Forecast.issued_at)
        .order_by(Forecast.issued_at.desc(), Forecast.id.desc())
    ).all()
    chosen: dict[tuple[int, str], list[int]] = defaultdict(list)
    for forecast_id, household_id, target in found:
        if len(chosen[household_id, target]) < limit:
            chosen[household_id, target].append(forecast_id)
    wanted = [f for ids in chosen.values() for f in ids]
    if not wanted:
        return {}
    rows = session.connection().execute(
        sa.select(ForecastValue.forecast_id, epoch_seconds(ForecastValue.ts), ForecastValue.p50)
        .where(ForecastValue.forecast_id.in_(wanted), ForecastValue.ts >= lo, ForecastValue.ts < end)
        .order_by(ForecastValue.forecast_id, ForecastValue.ts)
    ).all()
    table = rows_frame(rows, ["forecast_id", "ts", "p50"])
    ids = table["forecast_id"].to_numpy(dtype=np.int64)
    stamps = pd.to_datetime(table["ts"].to_numpy(dtype=np.int64), unit="s", utc=True)
    values = table["p50"].to_numpy(dtype=float)
    bounds = np.flatnonzero(np.diff(ids)) + 1
    series = {int(ids[lo_]): pd.Series(values[lo_:hi_], index=stamps[lo_:hi_])
              for lo_, hi_ in zip(np.r_[0, bounds], np.r_[bounds, len(ids)], strict=True) if hi_ > lo_}
    return {key: [series[f] for f in ids_ if f in series] for key, ids_ in chosen.items()}
