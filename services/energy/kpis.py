"""Portfolio and household KPIs over a period of local calendar days, summed in SQL.

Definitions (energies in kWh over the period, money in the portfolio's currency):

- consumption: energy used by the household (``load``); where a household has no consumption
  meter, derived from the balance PV + grid import − grid export (± battery), and grid import and
  export from consumption − PV where it has no grid meter (:mod:`services.energy.balance`, labelled
  "derived" by :func:`derived_of` and the ``derived`` column of :func:`household_table`);
- PV generation: AC energy from the PV system;
- grid import / export: energy bought from / fed into the grid;
- self-consumption ratio = (PV generation - grid export) / PV generation:
  the share of PV used on site (directly or through the battery);
- self-sufficiency ratio = (consumption - grid import) / consumption:
  the share of consumption not bought from the grid;
- energy cost = import cost - feed-in revenue (negative: the household earned money).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta

import pandas as pd
import sqlalchemy as sa

from services.energy.balance import derived_label, derived_quantities
from services.energy.kpi_definitions import EnergyTotals
from services.store.db import session_scope
from services.store.models import Battery, DailyEnergy, Household, PVSystem, Tariff


def derived_of(household_ids: Sequence[int]) -> dict[int, tuple[str, ...]]:
    """Per household whose meters lack one, the quantities derived from the energy balance
    (``("load",)`` or ``("grid_import", "grid_export")``); households with every meter are absent."""
    if not household_ids:
        return {}
    with session_scope() as session:
        return derived_quantities(household_ids, session)


_SUMS = {
    "load_kwh": DailyEnergy.load_kwh,
    "pv_kwh": DailyEnergy.pv_kwh,
    "import_kwh": DailyEnergy.import_kwh,
    "export_kwh": DailyEnergy.export_kwh,
    "charge_kwh": DailyEnergy.charge_kwh,
    "discharge_kwh": DailyEnergy.discharge_kwh,
    "import_cost": DailyEnergy.import_cost,
    "export_revenue": DailyEnergy.export_revenue,
}


def _in_period(household_ids: Sequence[int], start: date, end: date):
    return sa.and_(
        DailyEnergy.household_id.in_(list(household_ids)), DailyEnergy.day >= start, DailyEnergy.day <= end
    )


def data_period(household_ids: Sequence[int], today: date | None = None) -> tuple[date, date] | None:
    """First and last local day with data for these households, or None when there is none.

    Days after ``today`` (default: the UTC date) plus one, the most any time zone is ahead, do not
    count: a reading stamped in the future (a device's wrong clock, stored before ingestion refused
    such readings) must not move every "latest data" view to an empty window.
    """
    if not household_ids:
        return None
    latest = (today or datetime.now(UTC).date()) + timedelta(days=1)
    query = sa.select(sa.func.min(DailyEnergy.day), sa.func.max(DailyEnergy.day)).where(
        DailyEnergy.household_id.in_(list(household_ids)), DailyEnergy.day <= latest
    )
    with session_scope() as session:
        first, last = session.execute(query).one()
    return (first, last) if first is not None else None


def portfolio_totals(household_ids: Sequence[int], start: date, end: date) -> EnergyTotals:
    """Sum of the households' daily figures from ``start`` to ``end`` (local days, both included)."""
    if not household_ids:
        return EnergyTotals()
    columns = [sa.func.coalesce(sa.func.sum(col), 0.0).label(name) for name, col in _SUMS.items()]
    days = sa.func.count(sa.distinct(DailyEnergy.day)).label("days")
    query = sa.select(*columns, days).where(_in_period(household_ids, start, end))
    with session_scope() as session:
        row = session.execute(query).one()._asdict()
    return EnergyTotals(**{k: float(v) for k, v in row.items() if k != "days"}, days=int(row["days"]))


def household_table(household_ids: Sequence[int], start: date, end: date) -> pd.DataFrame:
    """One row per household: name, PV kWp, battery kWh, period totals and ratios.

    Columns: household_id, name, pv_kwp, battery_kwh, tariff, the energy and money
    columns of :class:`EnergyTotals`, self_consumption and self_sufficiency (fractions,
    NaN where undefined), energy_cost and derived (``derived: consumption`` where a quantity comes
    from the energy balance rather than a meter, else empty). Households without data in the period are
    included with zero energy.
    """
    if not household_ids:
        return pd.DataFrame()
    ids = list(household_ids)
    sums = (
        sa.select(DailyEnergy.household_id, *[sa.func.sum(col).label(name) for name, col in _SUMS.items()])
        .where(_in_period(ids, start, end))
        .group_by(DailyEnergy.household_id)
        .subquery()
    )
    kwp = (
        sa.select(PVSystem.household_id, sa.func.sum(PVSystem.kwp).label("pv_kwp"))
        .where(PVSystem.household_id.in_(ids))
        .group_by(PVSystem.household_id)
        .subquery()
    )
    query = (
        sa.select(
            Household.id.label("household_id"),
            Household.name,
            kwp.c.pv_kwp,
            Battery.capacity_kwh.label("battery_kwh"),
            Tariff.name.label("tariff"),
            *[sa.func.coalesce(sums.c[name], 0.0).label(name) for name in _SUMS],
        )
        .outerjoin(sums, sums.c.household_id == Household.id)
        .outerjoin(kwp, kwp.c.household_id == Household.id)
        .outerjoin(Battery, Battery.household_id == Household.id)
        .outerjoin(Tariff, Tariff.id == Household.tariff_id)
        .where(Household.id.in_(ids))
        .order_by(Household.name)
    )
    with session_scope() as session:
        frame = pd.DataFrame(session.execute(query).mappings().all())
    frame["pv_kwp"] = frame["pv_kwp"].fillna(0.0)
    pv, export = frame["pv_kwh"], frame["export_kwh"]
    load, imp = frame["load_kwh"], frame["import_kwh"]
    frame["self_consumption"] = ((pv - export) / pv.where(pv > 1e-9)).clip(0, 1)
    frame["self_sufficiency"] = ((load - imp) / load.where(load > 1e-9)).clip(0, 1)
    frame["energy_cost"] = frame["import_cost"] - frame["export_revenue"]
    derived = derived_of(ids)
    frame["derived"] = [derived_label(derived.get(h, ())) for h in frame["household_id"]]
    return frame


def daily_totals(household_ids: Sequence[int], start: date, end: date) -> pd.DataFrame:
    """Portfolio energy per local day [kWh] and cost [currency], indexed by day."""
    if not household_ids:
        return pd.DataFrame()
    query = (
        sa.select(DailyEnergy.day, *[sa.func.sum(col).label(name) for name, col in _SUMS.items()])
        .where(_in_period(household_ids, start, end))
        .group_by(DailyEnergy.day)
        .order_by(DailyEnergy.day)
    )
    with session_scope() as session:
        frame = pd.DataFrame(session.execute(query).mappings().all())
    if frame.empty:
        return frame
    return frame.set_index("day")


PERIOD_PRESETS = {
    "last_7_days": "Last 7 days",
    "last_30_days": "Last 30 days",
    "this_month": "This month",
    "last_month": "Last month",
    "this_year": "This year",
    "last_365_days": "Last 365 days",
    "all": "All data",
}


def resolve_period(preset: str, available: tuple[date, date], today: date | None = None) -> tuple[date, date]:
    """Turn a preset name into ``(start, end)`` local days, both included.

    Periods are anchored at the last day with data (or ``today`` when that is
    earlier), so "last 7 days" shows data even when the newest reading is a few
    days old. The result is clipped to the available data.
    """
    first, last = available
    anchor = min(last, today) if today else last
    if preset == "last_7_days":
        start, end = anchor - timedelta(days=6), anchor
    elif preset == "last_30_days":
        start, end = anchor - timedelta(days=29), anchor
    elif preset == "this_month":
        start, end = anchor.replace(day=1), anchor
    elif preset == "last_month":
        end = anchor.replace(day=1) - timedelta(days=1)
        start = end.replace(day=1)
    elif preset == "this_year":
        start, end = anchor.replace(month=1, day=1), anchor
    elif preset == "last_365_days":
        start, end = anchor - timedelta(days=364), anchor
    elif preset == "all":
        start, end = first, last
    else:
        raise ValueError(f"unknown period {preset!r}; choose one of {', '.join(PERIOD_PRESETS)}")
    return max(start, first), min(end, last)


def totals_as_dict(totals: EnergyTotals) -> dict[str, float | None]:
    """The totals with the derived ratios and cost, for display or JSON."""
    out: dict[str, float | None] = asdict(totals)
    out["self_consumption"] = totals.self_consumption
    out["self_sufficiency"] = totals.self_sufficiency
    out["energy_cost"] = totals.energy_cost
    return out


@dataclass(frozen=True)
class PortfolioOverview:
    """Everything the overview page shows for one period."""

    start: date
    end: date
    available: tuple[date, date]
    totals: EnergyTotals
    households: pd.DataFrame
    daily: pd.DataFrame


def portfolio_overview(household_ids: Sequence[int], start: date | None, end: date | None) -> PortfolioOverview | None:
    """KPIs, the household table and daily totals for ``[start, end]`` (local days, clipped to the data).

    Missing bounds default to the last 30 days with data. Returns None when there is no data at all.
    """
    available = data_period(household_ids)
    if available is None:
        return None
    if start is None or end is None:
        start, end = resolve_period("last_30_days", available)
    if start > end:
        start, end = end, start
    return PortfolioOverview(
        start=start,
        end=end,
        available=available,
        totals=portfolio_totals(household_ids, start, end),
        households=household_table(household_ids, start, end),
        daily=daily_totals(household_ids, start, end),
    )
