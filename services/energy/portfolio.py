"""The portfolio at a glance: households ranked and filtered by any KPI, where they are, their
PV against their neighbours', and the portfolio month by month.

Definitions (energies in kWh over the period, money in the portfolio's currency):

- PV yield (specific yield) = PV generation ÷ installed peak power [kWh/kWp]: what each kWp
  delivered, comparable between arrays of any size;
- PV yield vs peers = a household's PV yield ÷ the median PV yield of the other PV households at
  the same site over the same days [-]. A site is the households within :data:`SITE_RADIUS_KM`
  of each other (they share the weather); with fewer than :data:`MIN_PEERS` others at the site,
  the other PV households of the whole portfolio stand in. Below :data:`PV_PEER_FLAG` the PV is
  called under-performing (shading, soiling, a tripped string, a wrong kWp entered).

The other KPIs (consumption, PV, import, export, self-consumption, self-sufficiency, cost) are
those of :mod:`services.energy.kpis`. Every function takes the household ids explicitly.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
import sqlalchemy as sa

from services.energy import kpis
from services.energy.kpi_definitions import KPI_DEFINITIONS
from services.store.db import session_scope
from services.store.frames import rows_frame
from services.store.models import DailyEnergy, Household

#: Households closer than this [km] belong to one site (one city's weather).
SITE_RADIUS_KM = 50.0
#: Other PV households a site needs before its own median is the reference.
MIN_PEERS = 2
#: A PV yield below this share of the peers' median [-] is flagged as under-performing.
PV_PEER_FLAG = 0.7


@dataclass(frozen=True)
class RankingKpi:
    """A column households can be ranked by: ``label``, ``unit`` as shown, and whether a higher value
    is the better one (None: neither, e.g. consumption)."""

    label: str
    unit: str
    higher_is_better: bool | None


#: Every KPI of the household table, in the order the page offers them.
_HIGHER_IS_BETTER = {"load_kwh": None, "pv_kwh": True, "import_kwh": False, "export_kwh": None,
                     "self_consumption": True, "self_sufficiency": True, "energy_cost": False}
RANKING_KPIS: dict[str, RankingKpi] = {
    **{key: RankingKpi(KPI_DEFINITIONS[key].label, KPI_DEFINITIONS[key].unit, better)
       for key, better in _HIGHER_IS_BETTER.items()},
    "pv_yield_kwh_per_kwp": RankingKpi("PV yield", "kWh/kWp", True),
    "pv_vs_peers": RankingKpi("PV yield vs site median", "%", True),
    "pv_kwp": RankingKpi("PV size", "kWp", None),
    "battery_kwh": RankingKpi("Battery size", "kWh", None),
}

#: Quick filters of the household table that do not depend on the data (time zones and sites are added).
QUICK_FILTERS: dict[str, str] = {
    "all": "All households",
    "pv_underperforming": f"PV yield below {PV_PEER_FLAG:.0%} of the site median",
    "has_battery": "With a battery",
    "no_battery": "Without a battery",
    "has_pv": "With PV",
    "no_pv": "Without PV",
}


def household_ranking(household_ids: Sequence[int], start: date, end: date) -> pd.DataFrame:
    """The household table of :func:`services.energy.kpis.household_table` for ``[start, end]`` (local days)
    with where each household is and how its PV compares.

    Added columns: ``timezone``, ``latitude`` [°N], ``longitude`` [°E], ``site`` (label) and
    ``site_id``, ``has_battery``, ``pv_yield_kwh_per_kwp`` [kWh/kWp] (NaN without PV),
    ``pv_peer_median`` [kWh/kWp] and ``pv_vs_peers`` [-] (NaN where there is nothing to compare with),
    ``pv_underperforming`` (bool). Empty without households.
    """
    frame = kpis.household_table(household_ids, start, end)
    if frame.empty:
        return frame
    frame = frame.merge(household_places(household_ids), on="household_id", how="left")
    frame["has_battery"] = frame["battery_kwh"].notna()
    has_pv = frame["pv_kwp"] > 0
    frame["pv_yield_kwh_per_kwp"] = (frame["pv_kwh"] / frame["pv_kwp"].where(has_pv)).astype(float)
    frame["pv_peer_median"] = peer_medians(frame, "pv_yield_kwh_per_kwp")
    frame["pv_vs_peers"] = frame["pv_yield_kwh_per_kwp"] / frame["pv_peer_median"].where(frame["pv_peer_median"] > 0)
    frame["pv_underperforming"] = (frame["pv_vs_peers"] < PV_PEER_FLAG).fillna(False).astype(bool)
    return frame


def household_places(household_ids: Sequence[int]) -> pd.DataFrame:
    """``household_id``, ``timezone``, ``latitude``, ``longitude`` and the ``site_id`` / ``site`` each belongs to."""
    query = (sa.select(Household.id.label("household_id"), Household.timezone, Household.latitude,
                       Household.longitude)
             .where(Household.id.in_(list(household_ids))).order_by(Household.id))
    with session_scope() as session:
        frame = pd.DataFrame(session.execute(query).mappings().all(),
                             columns=["household_id", "timezone", "latitude", "longitude"])
    frame["site_id"] = assign_sites(frame["latitude"].to_numpy(float), frame["longitude"].to_numpy(float))
    centres = frame.groupby("site_id")[["latitude", "longitude"]].mean()
    labels = {sid: f"{_degrees(row.latitude, 'N', 'S')} {_degrees(row.longitude, 'E', 'W')}"
              for sid, row in centres.iterrows()}
    frame["site"] = frame["site_id"].map(labels)
    return frame


def assign_sites(latitude: np.ndarray, longitude: np.ndarray, radius_km: float = SITE_RADIUS_KM) -> list[int]:
    """A site number per point: each point joins the first site whose first point is within
    ``radius_km`` (great-circle distance), else starts a new one. Deterministic in input order."""
    founders: list[tuple[float, float]] = []
    sites = []
    for lat, lon in zip(latitude, longitude):
        for number, (flat, flon) in enumerate(founders):
            if haversine_km(lat, lon, flat, flon) <= radius_km:
                sites.append(number)
                break
        else:
            founders.append((lat, lon))
            sites.append(len(founders) - 1)
    return sites


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance [km] between two points given in degrees."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0 * math.asin(min(1.0, math.sqrt(a)))


def peer_medians(frame: pd.DataFrame, column: str, by: Sequence[str] = ()) -> pd.Series:
    """For each row, the median of ``column`` over the *other* rows of its site (``site_id``) and
    groups ``by`` (e.g. a month), or over the other rows of the whole group when the site has
    fewer than :data:`MIN_PEERS` other rows with a value. NaN when there is nobody to compare with.
    """
    out = np.full(len(frame), np.nan)
    positions = np.arange(len(frame))
    groups = frame.groupby(list(by)).indices.values() if by else [positions]
    values_all, sites_all = frame[column].to_numpy(float), frame["site_id"].to_numpy()
    for rows in groups:
        rows = rows[~np.isnan(values_all[rows])]
        values, sites = values_all[rows], sites_all[rows]
        for i, row in enumerate(rows):
            others = np.delete(np.arange(len(rows)), i)
            same_site = others[sites[others] == sites[i]]
            pool = same_site if len(same_site) >= MIN_PEERS else others
            if len(pool):
                out[row] = float(np.median(values[pool]))
    return pd.Series(out, index=frame.index)


def rank_households(frame: pd.DataFrame, kpi: str, descending: bool = True) -> pd.DataFrame:
    """``frame`` sorted by ``kpi`` (highest first unless ``descending`` is False; missing values last,
    ties by name) with ``rank`` 1, 2, ... (None where the KPI is missing).

    Raises
    ------
    ValueError
        When ``kpi`` is not one of :data:`RANKING_KPIS`.
    """
    if kpi not in RANKING_KPIS:
        raise ValueError(f"cannot rank by {kpi!r}; choose one of {', '.join(RANKING_KPIS)}")
    if frame.empty:
        return frame.assign(rank=pd.Series(dtype=object))
    ranked = frame.sort_values([kpi, "name"], ascending=[not descending, True], na_position="last", kind="stable")
    ranks = np.arange(1, len(ranked) + 1, dtype=object)
    ranks[ranked[kpi].isna().to_numpy()] = None
    return ranked.assign(rank=ranks).reset_index(drop=True)


def filter_households(frame: pd.DataFrame, quick_filter: str | None) -> pd.DataFrame:
    """The rows of ``frame`` that pass ``quick_filter``: a key of :data:`QUICK_FILTERS`,
    ``tz:<IANA zone>`` or ``site:<site_id>``; None or ``all`` keeps every row.

    Raises
    ------
    ValueError
        For a filter that is none of those.
    """
    if not quick_filter or quick_filter == "all" or frame.empty:
        return frame
    has_pv = frame["pv_kwp"] > 0
    masks = {
        "pv_underperforming": frame["pv_underperforming"],
        "has_battery": frame["has_battery"],
        "no_battery": ~frame["has_battery"],
        "has_pv": has_pv,
        "no_pv": ~has_pv,
    }
    if quick_filter in masks:
        return frame[masks[quick_filter].astype(bool)]
    kind, _, value = quick_filter.partition(":")
    if kind == "tz" and value:
        return frame[frame["timezone"] == value]
    if kind == "site" and value.isdigit():
        return frame[frame["site_id"] == int(value)]
    raise ValueError(f"unknown filter {quick_filter!r}; choose one of {', '.join(QUICK_FILTERS)}, "
                     "tz:<time zone> or site:<number>")


def filter_options(frame: pd.DataFrame) -> dict[str, str]:
    """Every quick filter that applies to ``frame``: the fixed ones, then one per time zone and,
    where there is more than one, one per site, each with its count of households."""
    options = dict(QUICK_FILTERS)
    if frame.empty:
        return options
    for zone, count in frame["timezone"].value_counts().sort_index().items():
        options[f"tz:{zone}"] = f"Time zone {zone} ({count})"
    sites = frame.groupby(["site_id", "site"]).size()
    if len(sites) > 1:
        for (site_id, label), count in sites.items():
            options[f"site:{site_id}"] = f"Site at {label} ({count})"
    return options


def monthly_trends(household_ids: Sequence[int], months: int = 24) -> pd.DataFrame:
    """The portfolio month by month over the last ``months`` months with data.

    Returns
    -------
    DataFrame indexed by the first day of each month (Timestamp)
        ``load_kwh``, ``pv_kwh``, ``import_kwh``, ``export_kwh`` [kWh], ``energy_cost`` [currency],
        ``self_sufficiency`` and ``self_consumption`` [-] (NaN where undefined), ``days`` with data,
        ``days_in_month``, ``complete`` (every day of the month has data), ``year`` and ``month`` (1-12).
        Empty when there is no data.
    """
    available = kpis.data_period(household_ids)
    if available is None:
        return pd.DataFrame()
    first, last = available
    start = max(first, (pd.Timestamp(last).to_period("M") - (months - 1)).to_timestamp().date())
    daily = kpis.daily_totals(household_ids, start, last)
    if daily.empty:
        return pd.DataFrame()
    daily.index = pd.to_datetime(daily.index)
    energy = ["load_kwh", "pv_kwh", "import_kwh", "export_kwh", "import_cost", "export_revenue"]
    monthly = daily[energy].resample("MS").sum()
    monthly["days"] = daily["load_kwh"].resample("MS").count()
    monthly = monthly[monthly["days"] > 0]
    monthly["days_in_month"] = monthly.index.days_in_month
    monthly["complete"] = monthly["days"] >= monthly["days_in_month"]
    monthly["energy_cost"] = monthly["import_cost"] - monthly["export_revenue"]
    pv, load = monthly["pv_kwh"], monthly["load_kwh"]
    monthly["self_consumption"] = ((pv - monthly["export_kwh"]) / pv.where(pv > 1e-9)).clip(0, 1)
    monthly["self_sufficiency"] = ((load - monthly["import_kwh"]) / load.where(load > 1e-9)).clip(0, 1)
    monthly["year"], monthly["month"] = monthly.index.year, monthly.index.month
    return monthly.drop(columns=["import_cost", "export_revenue"])


def monthly_pv_yield(household_ids: Sequence[int], start: date, end: date) -> pd.DataFrame:
    """PV yield of each PV household per calendar month of ``[start, end]`` against its peers.

    Returns
    -------
    DataFrame, one row per household and month
        ``household_id``, ``month`` (Timestamp, first day), ``days`` with data, ``pv_kwh`` [kWh],
        ``pv_kwp`` [kWp], ``pv_yield_kwh_per_kwp`` [kWh/kWp], ``pv_peer_median`` [kWh/kWp] (the
        median of the other PV households of the site that month, see :func:`peer_medians`)
        and ``pv_vs_peers`` [-]. Empty without PV households or data.
    """
    table = kpis.household_table(household_ids, start, end)
    if table.empty:
        return pd.DataFrame()
    pv_homes = table.loc[table["pv_kwp"] > 0, ["household_id", "pv_kwp"]]
    if pv_homes.empty:
        return pd.DataFrame()
    query = (sa.select(DailyEnergy.household_id, DailyEnergy.day, DailyEnergy.pv_kwh)
             .where(DailyEnergy.household_id.in_([int(h) for h in pv_homes["household_id"]]),
                    DailyEnergy.day >= start, DailyEnergy.day <= end))
    with session_scope() as session:
        daily = rows_frame(session.execute(query).all(), ["household_id", "day", "pv_kwh"])
    if daily.empty:
        return pd.DataFrame()
    daily["month"] = pd.to_datetime(daily["day"]).dt.to_period("M").dt.to_timestamp()
    monthly = (daily.groupby(["household_id", "month"])
               .agg(days=("day", "count"), pv_kwh=("pv_kwh", "sum")).reset_index())
    monthly = monthly.merge(pv_homes, on="household_id")
    places = household_places(list(pv_homes["household_id"]))[["household_id", "site_id"]]
    monthly = monthly.merge(places, on="household_id")
    monthly["pv_yield_kwh_per_kwp"] = monthly["pv_kwh"] / monthly["pv_kwp"]
    monthly["pv_peer_median"] = peer_medians(monthly, "pv_yield_kwh_per_kwp", by=["month"])
    monthly["pv_vs_peers"] = monthly["pv_yield_kwh_per_kwp"] / monthly["pv_peer_median"].where(
        monthly["pv_peer_median"] > 0)
    return monthly.sort_values(["household_id", "month"]).reset_index(drop=True)


def _degrees(value: float, positive: str, negative: str) -> str:
    return f"{abs(value):.1f}°{positive if value >= 0 else negative}"
