"""What a batch needs to know from the store: households (time zone, ratings) and series ids.

Series are created on first sight inside the batch's transaction, so a batch that fails
leaves no empty series behind. Creation is ``INSERT ... ON CONFLICT DO NOTHING`` on the
(household, name) key, so two batches creating the same series at once both end up with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from services import access
from services.store.models import Battery, Device, Household, PVSystem, Reading, Series


@dataclass(frozen=True)
class HouseholdFacts:
    """Per household: IANA ``timezone``, PV peak power [kWp] (NaN without PV), battery capacity [kWh]
    and charge/discharge power [kW] (NaN without a battery), the site [deg N, deg E] and the grid
    connection's import and export limits [kW] (NaN without)."""

    timezone: str
    pv_kwp: float
    capacity_kwh: float
    charge_kw: float
    discharge_kw: float
    latitude: float = float("nan")
    longitude: float = float("nan")
    import_kw: float = float("nan")
    export_kw: float = float("nan")


def household_facts(conn: sa.Connection, household_ids: list[int]) -> dict[int, HouseholdFacts]:
    """Facts of the households that exist among ``household_ids`` and the current caller sees
    (:mod:`services.access`): rows naming another organisation's household are refused as naming
    one that does not exist."""
    if not household_ids:
        return {}
    pv = (sa.select(PVSystem.household_id, sa.func.sum(PVSystem.kwp).label("kwp"))
          .where(PVSystem.household_id.in_(household_ids)).group_by(PVSystem.household_id).subquery())
    rows = conn.execute(
        sa.select(Household.id, Household.timezone, pv.c.kwp, Battery.capacity_kwh, Battery.max_charge_kw,
                  Battery.max_discharge_kw, Household.latitude, Household.longitude, Household.grid_import_limit_kw,
                  Household.grid_export_limit_kw)
        .outerjoin(pv, pv.c.household_id == Household.id)
        .outerjoin(Battery, Battery.household_id == Household.id)
        .where(Household.id.in_(household_ids), access.organisation_filter(Household.organisation_id))
    ).all()
    def number(value) -> float:
        return float("nan") if value is None else float(value)

    return {int(r[0]): HouseholdFacts(r[1], *(number(v) for v in r[2:])) for r in rows}


@dataclass(frozen=True)
class KnownSeries:
    """A series in the store: id, quantity, stored unit and nominal step [s] (None if unknown)."""

    id: int
    quantity: str
    unit: str
    resolution_s: int | None


class SeriesResolver:
    """Series ids by (household id, name), created on first sight; remembers what it has seen.

    In a dry run nothing is created: unknown series get negative placeholder ids.
    """

    def __init__(self, conn: sa.Connection | None, create: bool = True) -> None:
        self.conn = conn
        self.create = create
        self.known: dict[tuple[int, str], KnownSeries] = {}
        self._placeholder = 0

    def resolve(self, wanted: pd.DataFrame) -> None:
        """Look up (and create) the series in ``wanted``: columns household_id, series, quantity,
        unit (stored), device_id, resolution_s; one row per (household_id, series)."""
        missing = [(int(h), str(n)) for h, n in zip(wanted["household_id"], wanted["series"])
                   if (int(h), str(n)) not in self.known]
        if not missing:
            return
        self._load(missing)
        to_create = wanted[[(int(h), str(n)) not in self.known for h, n in zip(wanted["household_id"], wanted["series"])]]
        if to_create.empty:
            return
        if not self.create or self.conn is None:
            for row in to_create.itertuples(index=False):
                self._placeholder -= 1
                self.known[(int(row.household_id), str(row.series))] = KnownSeries(
                    self._placeholder, row.quantity, row.unit, _int_or_none(row.resolution_s))
            return
        records = [
            {"household_id": int(r.household_id), "name": str(r.series), "quantity": r.quantity, "unit": r.unit,
             "device_id": _int_or_none(r.device_id), "resolution_s": _int_or_none(r.resolution_s)}
            for r in to_create.itertuples(index=False)
        ]
        insert = postgresql.insert if self.conn.dialect.name == "postgresql" else sqlite.insert
        self.conn.execute(insert(Series).values(records).on_conflict_do_nothing(index_elements=["household_id", "name"]))
        self._load([(r["household_id"], r["name"]) for r in records])

    def get(self, household_id: int, name: str) -> KnownSeries:
        return self.known[(household_id, name)]

    def lookup(self, keys: list[tuple[int, str]]) -> None:
        """Load the series among ``keys`` that exist (nothing is created)."""
        missing = [k for k in keys if k not in self.known]
        if missing:
            self._load(missing)

    def spacing_near(self, series_id: int, ts_s: int) -> float:
        """Seconds from ``ts_s`` to the series' nearest stored reading before or after it (NaN if none):
        the interval of a reading that comes alone, as its neighbours in the store tell it."""
        if self.conn is None or series_id < 0:
            return float("nan")
        at = _utc(ts_s)
        before = self.conn.execute(sa.select(sa.func.max(Reading.ts)).where(
            Reading.series_id == series_id, Reading.ts < at)).scalar()
        after = self.conn.execute(sa.select(sa.func.min(Reading.ts)).where(
            Reading.series_id == series_id, Reading.ts > at)).scalar()
        gaps = [abs((t - at).total_seconds()) for t in (before, after) if t is not None]
        return float(min(gaps)) if gaps else float("nan")

    def device_households(self, device_ids: list[int]) -> dict[int, int]:
        """The household of each existing device among ``device_ids``."""
        if self.conn is None or not device_ids:
            return {}
        rows = self.conn.execute(sa.select(Device.id, Device.household_id).where(Device.id.in_(device_ids))).all()
        return {int(r[0]): int(r[1]) for r in rows}

    def household_step(self, household_id: int) -> float:
        """The most common nominal step [s] of a household's stored series (NaN without any)."""
        if self.conn is None:
            return float("nan")
        row = self.conn.execute(
            sa.select(Series.resolution_s).where(Series.household_id == household_id,
                                                 Series.resolution_s.is_not(None))
            .group_by(Series.resolution_s).order_by(sa.func.count().desc(), Series.resolution_s).limit(1)).first()
        return float(row[0]) if row else float("nan")

    def _load(self, keys: list[tuple[int, str]]) -> None:
        by_household: dict[int, list[str]] = {}
        for household_id, name in keys:
            by_household.setdefault(household_id, []).append(name)
        if self.conn is None:
            return
        for household_id, names in by_household.items():
            rows = self.conn.execute(
                sa.select(Series.id, Series.name, Series.quantity, Series.unit, Series.resolution_s)
                .where(Series.household_id == household_id, Series.name.in_(names))
            ).all()
            for r in rows:
                self.known[(household_id, r.name)] = KnownSeries(int(r.id), r.quantity, r.unit, r.resolution_s)


def _utc(seconds: int) -> datetime:
    return datetime.fromtimestamp(int(seconds), tz=timezone.utc)


def _int_or_none(value) -> int | None:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return None
    return int(value)
