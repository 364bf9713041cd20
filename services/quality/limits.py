"""Readings the household's equipment cannot have produced: PV at night, PV above the array's
rating, grid import or export above the connection.

A spike filter (:func:`services.quality.hampel`) judges a reading against its neighbours; these
checks judge it against physics and the household's ratings, so they also catch what a filter
lets through: a register glitch that puts 50 kWh of "PV" into a night hour, a unit slip that
makes one import hour 804 kWh, a whole upload shifted by a wrong time zone (PV at night every
evening). Limits scale with each series' interval: 15-min energy is a quarter of an hour's.

pv at night
    PV energy above :data:`PV_NIGHT_KWH_PER_KWP_H` per kWp and hour while the sun stays below
    :data:`NIGHT_ELEVATION_DEG` from one interval before the reading to one after it (so a meter
    that labels intervals by their end is not caught at dawn).
pv above rating
    PV energy above ``kWp * hours * PV_MARGIN`` (the ingestion's margin: cold, clear air and
    cloud edges lift output above the STC rating for a while, never by 30 % over an interval).
grid above the connection
    Grid import (export) energy above the household's import (export) limit [kW] times the
    interval's hours times :data:`GRID_MARGIN`; without a limit set, above
    :data:`HOUSEHOLD_CONNECTION_KW`, the largest usual household connection.

Energies [kWh per interval starting at ts], ratings [kWp, kW]; times UTC. Every function takes
its series (and the household's limits) explicitly.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd
import sqlalchemy as sa

from services.ingestion.validate import PV_MARGIN
from services.pvmodel import Location, solar_position
from services.quality.pv import readings_window
from services.store.db import session_scope
from services.store.frames import rows_array
from services.store.models import Reading
from services.store.types import epoch_seconds

#: The sun below this elevation [deg] gives a PV array nothing (civil twilight is -6 deg).
NIGHT_ELEVATION_DEG = -3.0
#: PV energy per kWp and hour [kWh/kWp/h] tolerated at night: inverter noise, not generation.
PV_NIGHT_KWH_PER_KWP_H = 0.01
#: Headroom over a grid connection's limit for an interval's mean: fuses ride through a short overload.
GRID_MARGIN = 1.1
#: Without a limit set [kW]: 3 x 63 A at 230 V, the largest usual household connection.
HOUSEHOLD_CONNECTION_KW = 43.5
#: Quantities checked here.
LIMIT_QUANTITIES = frozenset({"pv", "grid_import", "grid_export"})
#: A reading above this many times its limit is high severity in the alerts (a unit slip or a
#: register glitch that distorts every total it enters), else medium.
FAR_ABOVE = 2.0


@dataclass(frozen=True)
class ReadingLimits:
    """What bounds a household's readings: where it is (for night) and its ratings.

    ``pv_kwp`` [kWp] (0: no PV system declared, PV is not judged); ``grid_import_kw`` /
    ``grid_export_kw`` [kW] (None: no limit set, :data:`HOUSEHOLD_CONNECTION_KW` applies).
    """

    location: Location
    pv_kwp: float = 0.0
    grid_import_kw: float | None = None
    grid_export_kw: float | None = None


@dataclass(frozen=True)
class Implausible:
    """A reading ``value`` [kWh] at ``ts`` that its equipment cannot have produced: ``reason`` is
    ``night`` (PV with the sun down), ``rating`` (PV above its kWp) or ``connection`` (grid above
    its limit); ``limit`` [kWh per interval] is the most that was possible."""

    series_id: int
    ts: datetime
    value: float
    limit: float
    reason: str


def find_implausible(series_id: int, quantity: str, step_s: int, limits: ReadingLimits,
                     start: datetime | None = None, end: datetime | None = None) -> list[Implausible]:
    """Readings of one series over ``[start, end)`` beyond what ``limits`` allow, in time order."""
    if quantity not in LIMIT_QUANTITIES or not step_s:
        return []
    hours = step_s / 3600.0
    if quantity == "pv":
        if not limits.pv_kwp > 0:
            return []
        rating = limits.pv_kwp * hours * PV_MARGIN
        night = _pv_at_night(series_id, step_s, limits, start, end)
        found = night + [Implausible(series_id, ts, v, rating, "rating")
                         for ts, v in _above(series_id, rating, start, end) if ts not in {n.ts for n in night}]
        return sorted(found, key=lambda item: item.ts)
    limit_kw = limits.grid_import_kw if quantity == "grid_import" else limits.grid_export_kw
    limit = (limit_kw * GRID_MARGIN if limit_kw else HOUSEHOLD_CONNECTION_KW) * hours
    return [Implausible(series_id, ts, v, limit, "connection") for ts, v in _above(series_id, limit, start, end)]


def describe(name: str, quantity: str, found: list[Implausible], count: int, limits: ReadingLimits) -> str:
    """One sentence on a series' implausible readings (``count`` of them, ``found`` listed), for the
    Data page and the alerts."""
    first = found[0]
    reasons = {item.reason for item in found}
    parts = []
    if "night" in reasons:
        parts.append("PV output with the sun down (if it happens every evening or morning, the time stamps "
                     "are in the wrong time zone)")
    if "rating" in reasons:
        parts.append(f"more PV than {limits.pv_kwp:g} kWp can deliver")
    if "connection" in reasons:
        limit_kw = limits.grid_import_kw if quantity == "grid_import" else limits.grid_export_kw
        parts.append(f"more than the grid connection carries ({limit_kw:g} kW set on the Households page)"
                     if limit_kw else f"more than a household connection carries ({HOUSEHOLD_CONNECTION_KW:g} kW, "
                     "3 x 63 A; set the household's grid limit if it differs)")
    return (f"{name}: {count} impossible reading(s), {'; '.join(parts)}; e.g. {first.value:g} kWh at "
            f"{first.ts:%Y-%m-%d %H:%M} UTC where at most {first.limit:.3g} kWh was possible")


# --- internals -------------------------------------------------------------------------------


def _above(series_id: int, limit: float, start: datetime | None, end: datetime | None) -> list[tuple[datetime, float]]:
    """(ts, value) of the readings above ``limit``: only those travel from the store."""
    query = readings_window(sa.select(epoch_seconds(Reading.ts), Reading.value)
                            .where(Reading.series_id == series_id, Reading.value > limit), start, end)
    with session_scope() as session:
        rows = session.execute(query.order_by(Reading.ts)).all()
    return [(_utc(ts), float(v)) for ts, v in rows]


def _pv_at_night(series_id: int, step_s: int, limits: ReadingLimits, start: datetime | None,
                 end: datetime | None) -> list[Implausible]:
    tolerance = limits.pv_kwp * PV_NIGHT_KWH_PER_KWP_H * step_s / 3600.0
    query = readings_window(sa.select(epoch_seconds(Reading.ts), Reading.value)
                            .where(Reading.series_id == series_id, Reading.value > tolerance), start, end)
    with session_scope() as session:
        rows = session.execute(query.order_by(Reading.ts)).all()
    if not rows:
        return []
    table = rows_array(rows)
    stamps = table[:, 0].astype("int64")
    # The sun's elevation from one interval before the reading to one after it: night all along.
    offsets = np.array([-1.0, 0.0, 0.5, 1.0, 2.0]) * step_s
    times = pd.to_datetime((stamps[:, None] + offsets[None, :]).ravel().astype("int64"), unit="s", utc=True)
    elevation = solar_position(pd.DatetimeIndex(times), limits.location)["elevation"].to_numpy()
    dark = elevation.reshape(len(stamps), len(offsets)).max(axis=1) < NIGHT_ELEVATION_DEG
    return [Implausible(series_id, _utc(ts), float(v), tolerance, "night")
            for ts, v in zip(stamps[dark], table[dark, 1], strict=True)]


def _utc(seconds) -> datetime:
    return pd.Timestamp(int(seconds), unit="s", tz="UTC").to_pydatetime()
