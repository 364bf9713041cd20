"""Set-based reads of what schedule inputs need from the store, for one household or a chunk.

Each function takes household ids explicitly and answers for all of them in one or two queries,
so that a chunk of 500 households costs a few queries rather than a few thousand. The
per-household path (:func:`~.inputs.household_inputs`) calls the same functions with one id:
there is one way of reading each input.

* :func:`latest_soc_readings`: the newest ``battery_soc`` reading at or before an instant [kWh];
* :func:`last_reading_times`: when each household's energy readings stop.

Stored forecasts are read by their owner, :func:`services.forecasting.registry.forecast_candidates`
(also set-based).

The readings' primary key (series, ts) serves every query here: the newest reading of a series is
read from the index (a correlated ``max(ts)`` per series), never by scanning its history.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.store.models import ENERGY_QUANTITIES, Reading, Series


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
