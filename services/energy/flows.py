"""A household's energy flows over time, summed to the resolution wanted.

Every reader of flows gets them the same way (:func:`metered_flows_by_household`): readings summed
per step (in SQL on SQLite; on PostgreSQL from each series' readings sent as arrays), a meter that
reads less often than the step (30 or 60 min on 15-min steps) spread onto it with its kWh
conserved (:mod:`services.resampling`), and a quantity the household has no meter for derived from
the energy balance (:mod:`services.energy.balance`). :class:`MeteredFlows` says what was spread or
derived, for the notes a result shows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import sqlalchemy as sa

from services.energy.balance import derivable, derive_from_balance, derived_note, metered_quantities
from services.resampling import resampling_note, spread_to_steps
from services.store.bulk import numpy_arrays, raw_cursor
from services.store.db import session_scope
from services.store.models import ENERGY_QUANTITIES, DailyEnergy, Reading, Series
from services.store.types import time_bucket


def energy_flows_by_household(household_ids: list[int], bucket_s: int, start: datetime | None = None,
                               end: datetime | None = None, url: str | None = None) -> dict[int, pd.DataFrame]:
    """Energy flows of several households summed in SQL to ``bucket_s`` UTC buckets, in one query.

    Returns, per household with readings, a DataFrame indexed by UTC bucket start with one
    column per energy quantity present [kWh per bucket], meters coarser than the bucket spread
    onto it and unmetered quantities derived from the balance (see :func:`metered_flows_by_household`).
    """
    return {h: m.frame for h, m in metered_flows_by_household(household_ids, bucket_s, start, end, url).items()}


def quantity_flows(household_id: int, quantities: Sequence[str], bucket_s: int, start: datetime | None = None,
                   end: datetime | None = None) -> pd.DataFrame:
    """Some energy quantities of one household (``("load",)``) summed in SQL to ``bucket_s`` UTC
    buckets [kWh per bucket]: indexed by UTC bucket start, one column per quantity present
    (derived from the balance where the household has no meter for it)."""
    found = _summed_by_bucket([household_id], quantities, bucket_s, start, end, None).get(household_id)
    return pd.DataFrame() if found is None else found.frame


@dataclass(frozen=True, eq=False)
class MeteredFlows:
    """A household's energy flows on steps of ``step_s`` seconds and how they were obtained.

    frame : indexed by UTC step start, one column per energy quantity [kWh per step], NaN = no reading.
    derived : quantities the household has no meter for, computed from the energy balance
        (:func:`derive_from_balance`).
    resampled : per quantity whose meter reads less often than ``step_s``, the meter's step [s]:
        its energy was split evenly over the steps (:func:`services.resampling.spread_to_steps`).
    """

    frame: pd.DataFrame
    step_s: int
    derived: tuple[str, ...] = ()
    resampled: dict[str, int] = field(default_factory=dict)

    def notes(self, used: Sequence[str] | None = None) -> list[str]:
        """Sentences for the person reading a result built on these flows (on the quantities
        ``used`` only, when given: a schedule from PV and load need not hear of derived grid flows)."""
        derived = tuple(d for d in self.derived if used is None or d in used)
        resampled = {k: v for k, v in self.resampled.items() if used is None or k in used}
        out = [derived_note(derived)] if derived else []
        note = resampling_note(resampled, self.step_s)
        return out + ([note] if note else [])


def metered_flows_by_household(household_ids: Sequence[int], bucket_s: int, start: datetime | None = None,
                               end: datetime | None = None, url: str | None = None,
                               quantities: Sequence[str] = ENERGY_QUANTITIES) -> dict[int, MeteredFlows]:
    """Energy flows of several households on ``bucket_s`` steps, in one query, each with how it
    was obtained (:class:`MeteredFlows`): summed in SQL, spread where a meter is coarser than the
    step, and completed from the energy balance where a meter is missing. ``quantities`` narrows
    the columns returned (what they are derived from is read still)."""
    return _summed_by_bucket(household_ids, quantities, bucket_s, start, end, url)


def metered_flows(household_id: int, bucket_s: int, start: datetime | None = None, end: datetime | None = None,
                  url: str | None = None) -> MeteredFlows:
    """:func:`metered_flows_by_household` of one household (an empty frame without readings)."""
    found = _summed_by_bucket([household_id], ENERGY_QUANTITIES, bucket_s, start, end, url).get(household_id)
    return found if found is not None else MeteredFlows(pd.DataFrame(), bucket_s)


def _summed_by_bucket(household_ids: Sequence[int], quantities: Sequence[str], bucket_s: int,
                      start: datetime | None, end: datetime | None, url: str | None) -> dict[int, MeteredFlows]:
    if not household_ids:
        return {}
    wanted = list(quantities)
    with session_scope(url) as session:
        meters = metered_quantities(household_ids, session)
        if any(set(derivable(m)) & set(wanted) for m in meters.values()):
            quantities = ENERGY_QUANTITIES  # what a missing meter is derived from
        series_query = sa.select(Series.id, Series.household_id, Series.quantity).where(
            Series.household_id.in_(list(household_ids)), Series.quantity.in_(list(quantities)))
        conn = session.connection()
        named = conn.execute(series_query).all()
        if not named:
            return {}
        if conn.dialect.name == "postgresql":
            series_ids, buckets, kwh = _series_sums([n[0] for n in named], bucket_s, start, end, conn)
        else:
            series_ids, buckets, kwh = _grouped_sums(series_query, bucket_s, start, end, conn)
    if not len(series_ids):
        return {}
    ids, households, names_of = (np.array(c) for c in zip(*named, strict=True))
    order = np.argsort(ids)
    position = order[np.searchsorted(ids, series_ids, sorter=order)]
    household, quantity = households[position].astype(np.int64), names_of[position]
    out = {}
    # Pivot with numpy: pandas' pivot on string columns costs more than the query for a day's rows.
    # Rows sorted by household once, then each household's rows are a slice (many households in
    # one query stay linear in the rows).
    order = np.argsort(household, kind="stable")
    household, quantity, buckets, kwh = household[order], quantity[order], buckets[order], kwh[order]
    bounds = np.flatnonzero(np.diff(household)) + 1
    indexes: dict[bytes, pd.DatetimeIndex] = {}  # households of a chunk mostly share their steps and
    columns: dict[tuple, pd.Index] = {}  # their meters: each index is built once (immutable, shared)
    for lo, hi in zip(np.r_[0, bounds], np.r_[bounds, len(household)], strict=True):
        household_id, mine_q, mine_kwh = household[lo], quantity[lo:hi], kwh[lo:hi]
        stamps, row = np.unique(buckets[lo:hi], return_inverse=True)
        names = sorted(set(mine_q.tolist()))
        wide = np.zeros((len(stamps), len(names)))
        seen = np.zeros(wide.shape, dtype=bool)
        for j, name in enumerate(names):
            chosen = mine_q == name
            np.add.at(wide[:, j], row[chosen], mine_kwh[chosen])  # two series of one quantity add up
            seen[row[chosen], j] = True
        wide[~seen] = np.nan
        key = stamps.tobytes()
        if key not in indexes:
            indexes[key] = pd.to_datetime(stamps, unit="s", utc=True).rename("bucket")
        if tuple(names) not in columns:
            columns[tuple(names)] = pd.Index(names)
        frame = pd.DataFrame(wide, columns=columns[tuple(names)], index=indexes[key])
        # A meter can be spread only where its readings are further apart than the step somewhere.
        coarse = any(np.diff(stamps[seen[:, j]]).max(initial=0) > bucket_s for j in range(len(names)))
        frame, resampled = spread_to_steps(frame, bucket_s) if coarse else (frame, {})
        frame, derived = derive_from_balance(frame, meters.get(int(household_id), set(names)))
        keep = [c for c in frame.columns if c in wanted]
        frame = frame if keep == list(frame.columns) else frame[keep]
        out[int(household_id)] = MeteredFlows(frame, bucket_s, tuple(d for d in derived if d in wanted),
                                              {k: v for k, v in resampled.items() if k in wanted})
    return out


def _grouped_sums(series_query, bucket_s: int, start: datetime | None, end: datetime | None,
                  conn: sa.Connection) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """SQLite: the readings of the series of ``series_query`` in ``[start, end)`` summed per
    series and bucket in SQL. Returns (series id, bucket start [Unix s], kWh) per (series, bucket)."""
    # Sum per series and bucket over the narrow readings table and name the series afterwards in
    # numpy: a third faster than grouping the joined rows by household and quantity.
    bucket = time_bucket(Reading.ts, bucket_s).label("bucket")
    sums = (
        sa.select(Reading.series_id, bucket, sa.func.sum(Reading.value).label("kwh"))
        .where(Reading.series_id.in_(series_query.with_only_columns(Series.id)))
        .group_by(Reading.series_id, bucket)
    )
    if start is not None:
        sums = sums.where(Reading.ts >= start)
    if end is not None:
        sums = sums.where(Reading.ts < end)
    table = np.array(_plain_rows(conn.execute(sums)), dtype=float).reshape(-1, 3)
    return table[:, 0].astype(np.int64), table[:, 1].astype(np.int64), table[:, 2]


def _series_sums(series_ids: list[int], bucket_s: int, start: datetime | None, end: datetime | None,
                 conn: sa.Connection) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """PostgreSQL: the readings of ``series_ids`` in ``[start, end)`` as one row per series of two
    arrays (bucket of each reading, by the same SQL expression as SQLite's GROUP BY, and value) in
    the order the primary key is scanned (time), summed per series and bucket in numpy in that
    order, as the database's sum adds them (the same sums to the bit). For a fleet chunk (600,000
    readings) a third of the time of a hash aggregate, and no Python object per reading.
    Returns (series id, bucket start [Unix s], kWh) per (series, bucket), by series and time.
    """
    bucket = time_bucket(sa.literal_column("r.ts"), bucket_s).compile(dialect=conn.dialect,
                                                                      compile_kwargs={"literal_binds": True})
    within, params = ["r.series_id = s.id"], [list(series_ids)]
    if start is not None:
        within.append("r.ts >= %s")
        params.insert(-1, start)
    if end is not None:
        within.append("r.ts < %s")
        params.insert(-1, end)
    # In the primary key's (time) order as scanned; sorted below should a plan ever read otherwise.
    query = (f"SELECT s.id, a.buckets, a.kwh FROM series s CROSS JOIN LATERAL (SELECT array_agg({bucket}) AS buckets, "
             f"array_agg(r.value) AS kwh FROM readings r WHERE {' AND '.join(within)}) a "
             "WHERE s.id = ANY(%s::int[]) AND a.buckets IS NOT NULL")
    with raw_cursor(conn, query) as cursor:  # binary: arrays arrive as numpy arrays, not text to parse
        numpy_arrays(cursor)
        rows = cursor.execute(query, params, binary=True).fetchall()
    if not rows:
        return np.array([], dtype=np.int64), np.array([], dtype=np.int64), np.array([])
    series = np.repeat(np.array([r[0] for r in rows], dtype=np.int64), [len(r[1]) for r in rows])
    buckets = np.concatenate([np.asarray(r[1], dtype=np.int64) for r in rows])
    values = np.concatenate([np.asarray(r[2], dtype=float) for r in rows])
    if ((np.diff(buckets) < 0) & (np.diff(series) == 0)).any():
        order = np.lexsort((buckets, series))  # stable: a bucket's readings keep the order read
        series, buckets, values = series[order], buckets[order], values[order]
    new = np.r_[True, (np.diff(series) != 0) | (np.diff(buckets) != 0)]  # a reading in a new bucket
    group = np.cumsum(new) - 1
    return series[new], buckets[new], np.bincount(group, weights=values)  # adds each bucket's in time order


def _plain_rows(result: sa.CursorResult) -> list[tuple]:
    """The DBAPI's own tuples of a result of plain numbers (no type processing needed): skips
    building a SQLAlchemy Row per row, most of the cost for hundreds of thousands of rows."""
    if result.cursor is None:
        return [tuple(r) for r in result]
    rows = result.cursor.fetchall()
    result.close()
    return rows


def energy_flows(household_id: int, bucket_s: int, start: datetime | None = None,
                 end: datetime | None = None, url: str | None = None) -> pd.DataFrame:
    """Energy flows of one household summed in SQL to ``bucket_s`` UTC buckets [kWh per bucket].

    Returns a DataFrame indexed by UTC bucket start with one column per energy quantity present
    (empty without readings).
    """
    return energy_flows_by_household([household_id], bucket_s, start, end, url).get(household_id, pd.DataFrame())


def resolution_for(days: int) -> tuple[int, str]:
    """The step that keeps a chart readable for a period of ``days``: (seconds, label)."""
    if days <= 3:
        return 900, "15 min"
    if days <= 45:
        return 3600, "hour"
    return 86400, "day"


def local_day_bounds(tz: str, start: date, end: date) -> tuple[datetime, datetime]:
    """``[start 00:00, end + 1 day 00:00)`` in time zone ``tz``, as UTC datetimes.

    Where midnight does not exist (a DST change at 00:00), the day starts at the first valid instant.
    """
    zone = ZoneInfo(tz)
    lo = pd.Timestamp(start).tz_localize(zone, nonexistent="shift_forward").tz_convert("UTC")
    hi = pd.Timestamp(end + timedelta(days=1)).tz_localize(zone, nonexistent="shift_forward").tz_convert("UTC")
    return lo.to_pydatetime(), hi.to_pydatetime()


def daily_flows(household_id: int, tz: str, start: date, end: date) -> pd.DataFrame:
    """A household's energy per local day from ``daily_energy`` [kWh per day], ``start``..``end`` included.

    Indexed by the UTC instant of each local midnight, with one column per energy quantity
    (``load``, ``pv``, ``grid_import``, ...); empty when there is no row.
    """
    columns = {v: k for k, v in DAILY_COLUMN_OF.items()}
    query = sa.select(DailyEnergy.day, *[getattr(DailyEnergy, c) for c in columns]).where(
        DailyEnergy.household_id == household_id, DailyEnergy.day >= start, DailyEnergy.day <= end
    ).order_by(DailyEnergy.day)
    with session_scope() as session:
        rows = session.connection().execute(query).all()
    if not rows:
        return pd.DataFrame()
    days, *values = zip(*rows)
    frame = pd.DataFrame({name: values[i] for i, name in enumerate(columns.values())}, dtype=float)
    index = pd.DatetimeIndex(pd.to_datetime(list(days))).tz_localize(ZoneInfo(tz), nonexistent="shift_forward")
    frame.index = index.tz_convert("UTC")
    return frame


#: The flows between PV, grid, battery and home that :func:`split_flows` derives, in that order.
SPLIT_FLOWS = ("pv_to_home", "pv_to_battery", "pv_to_grid", "grid_to_home", "battery_to_home",
               "grid_to_battery", "battery_to_grid")


def split_flows(flows: pd.DataFrame) -> pd.DataFrame:
    """Who supplied whom in each step: the metered quantities split into flows between PV, grid,
    battery and home [kWh per step, all non-negative].

    Parameters
    ----------
    flows : DataFrame
        Columns named after energy quantities (``load``, ``pv``, ``grid_import``, ``grid_export``,
        ``battery_charge``, ``battery_discharge``) [kWh per step, non-negative: the direction is in
        the name]. A missing column or NaN counts as zero, except a missing ``load`` column, which
        is taken from the balance ``pv + grid_import + battery_discharge - grid_export - battery_charge``.

    Returns
    -------
    DataFrame with the same index and the columns of :data:`SPLIT_FLOWS` [kWh per step], such that
    ``pv = pv_to_home + pv_to_battery + pv_to_grid`` and
    ``load = pv_to_home + grid_to_home + battery_to_home`` hold in every step (to 1e-9 kWh).

    Notes
    -----
    Meters measure totals, not paths; the split assumes that exports come from PV first and that
    the battery charges from PV first, which is what a self-consumption battery does. Applied to
    steps of a day or longer, the split is exact for such batteries (every term is then a sum of
    the same terms per quarter hour); a battery that charges from the grid on the same day as
    from PV has part of its grid charge counted as PV there.
    """
    def column(name: str) -> np.ndarray:
        if name in flows:
            return np.clip(np.nan_to_num(flows[name].to_numpy(dtype=float)), 0.0, None)
        return np.zeros(len(flows))

    pv, imp, exp = column("pv"), column("grid_import"), column("grid_export")
    charge, discharge = column("battery_charge"), column("battery_discharge")
    # Without a load column, the balance (as services.energy.balance derives it) with whatever is there.
    load = column("load") if "load" in flows else np.clip(pv + imp + discharge - exp - charge, 0.0, None)
    pv_exported = np.minimum(exp, pv)
    pv_to_battery = np.minimum(charge, pv - pv_exported)
    pv_to_home = np.minimum(pv - pv_exported - pv_to_battery, load)
    pv_to_grid = pv - pv_to_home - pv_to_battery  # what PV the meters leave unexplained goes out too
    battery_to_home = np.minimum(discharge, load - pv_to_home)
    grid_to_home = load - pv_to_home - battery_to_home
    split = np.column_stack([pv_to_home, pv_to_battery, pv_to_grid, grid_to_home, battery_to_home,
                             charge - pv_to_battery, discharge - battery_to_home])
    split[split < 1e-9] = 0.0  # rounding dust (1e-14 kWh) is no flow
    return pd.DataFrame(split, index=flows.index, columns=list(SPLIT_FLOWS))


#: The daily_energy column of each energy quantity [kWh].
DAILY_COLUMN_OF = {
    "load": "load_kwh",
    "pv": "pv_kwh",
    "grid_import": "import_kwh",
    "grid_export": "export_kwh",
    "battery_charge": "charge_kwh",
    "battery_discharge": "discharge_kwh",
}
