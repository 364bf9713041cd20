"""What the household explorer shows, read from the store at the resolution on screen.

Energies are kWh per step, powers kW (the average over the step), money the tariff's currency.
Flows are non-negative; the direction is in the name (``pv_to_grid``: PV fed into the grid).
Sub-daily steps are summed from readings in SQL; daily and monthly steps come from
``daily_energy`` (one row per local day), so a year is ~365 rows, never 35,040 quarter hours.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd
import sqlalchemy as sa

from services import access
from services.energy import kpis
from services.energy.balance import derived_note
from services.energy.flows import (
    SPLIT_FLOWS,
    daily_flows,
    local_day_bounds,
    metered_flows,
    quantity_flows,
    split_flows,
)
from services.energy.rollups import NO_TARIFF, bucket_seconds_for
from services.explorer.periods import Resolution, ResolutionChoice, choose_resolution, comparison_period
from services.households.tariffs import import_prices, load_tariff_spec
from services.store.db import session_scope
from services.store.models import ENERGY_QUANTITIES, Battery, Household, Tariff

#: Views of the flow charts: energy per step [kWh] or average power over the step [kW].
VIEWS = {"energy": "Energy (kWh)", "power": "Power (kW)"}


class HouseholdUnavailable(LookupError):
    """No household with this id, or the caller may not see it."""

    def __init__(self, household_id):
        super().__init__(f"There is no household with id {household_id!r} (it may have been deleted).")
        self.household_id = household_id


@dataclass(frozen=True)
class HouseholdBasics:
    """What the explorer needs to know of a household."""

    id: int
    name: str
    timezone: str
    tariff_id: int | None
    tariff_name: str | None
    currency: str | None  # the tariff's; None without a tariff
    has_battery: bool


def household_basics(household_id: int) -> HouseholdBasics:
    """Name, time zone, tariff and whether it has a battery; raise :class:`HouseholdUnavailable`."""
    if not access.can_see(household_id):
        raise HouseholdUnavailable(household_id)
    query = (
        sa.select(Household.id, Household.name, Household.timezone, Household.tariff_id, Tariff.name,
                  Tariff.currency, Battery.id)
        .outerjoin(Tariff, Tariff.id == Household.tariff_id)
        .outerjoin(Battery, Battery.household_id == Household.id)
        .where(Household.id == household_id)
    )
    with session_scope() as session:
        row = session.execute(query).first()
    if row is None:
        raise HouseholdUnavailable(household_id)
    hid, name, tz, tariff_id, tariff_name, currency, battery_id = row
    return HouseholdBasics(hid, name, tz, tariff_id, tariff_name, currency, battery_id is not None)


# --- flows at a step -------------------------------------------------------------------------------


def flows_at(household_id: int, tz: str, start: date, end: date, resolution: Resolution) -> pd.DataFrame:
    """:func:`flows_with_notes` without the notes."""
    return flows_with_notes(household_id, tz, start, end, resolution)[0]


def flows_with_notes(household_id: int, tz: str, start: date, end: date,
                     resolution: Resolution) -> tuple[pd.DataFrame, list[str]]:
    """A household's flows over local days ``start``..``end`` at ``resolution``.

    Returns
    -------
    DataFrame indexed by UTC step start with the metered quantities of
    :data:`services.store.models.ENERGY_QUANTITIES` and the split flows of
    :data:`services.energy.flows.SPLIT_FLOWS` [kWh per step] (absent quantities are 0), and ``hours``,
    the length of each step inside the period [h] (23 or 25 on a DST day, less for a month cut
    by the period). Empty (with those columns) when there are no readings. The notes say which
    meters, coarser than the step, were spread onto it (:mod:`services.resampling`).
    """
    lo, hi = local_day_bounds(tz, start, end)
    notes: list[str] = []
    if resolution.seconds is not None and resolution.seconds < 86400:
        metered = metered_flows(household_id, resolution.seconds, lo, hi)
        measured = metered.frame
        notes = metered.notes(used=tuple(metered.resampled))  # derived quantities are labelled apart
    else:
        measured = daily_flows(household_id, tz, start, end)
    columns = [*ENERGY_QUANTITIES, *SPLIT_FLOWS, "hours"]
    if measured.empty:
        return pd.DataFrame(columns=columns, index=pd.DatetimeIndex([], tz="UTC"), dtype=float), notes
    # The split is made per step as read (quarter hour, hour or day), before any monthly sum.
    frame = pd.concat([measured.reindex(columns=list(ENERGY_QUANTITIES)).fillna(0.0), split_flows(measured)], axis=1)
    if resolution.key == "month":
        frame = _by_local_month(frame, tz)
    frame["hours"] = _step_hours(frame.index, tz, resolution, lo, hi)
    return frame[columns], notes


def _by_local_month(daily: pd.DataFrame, tz: str) -> pd.DataFrame:
    """Daily rows (indexed by the UTC instant of local midnight) summed per local calendar month."""
    months = daily.index.tz_convert(tz).tz_localize(None).to_period("M")
    summed = daily.groupby(months).sum()
    summed.index = _local_instants(summed.index.to_timestamp(), tz)
    return summed


def _local_instants(wall: pd.DatetimeIndex, tz: str) -> pd.DatetimeIndex:
    """Local wall times (naive midnights) as UTC instants; a midnight that does not exist starts later."""
    return wall.tz_localize(tz, nonexistent="shift_forward").tz_convert("UTC")


def _step_hours(index: pd.DatetimeIndex, tz: str, resolution: Resolution, lo, hi) -> pd.Series:
    """Length of each step inside ``[lo, hi)`` [h]: steps follow local days and months."""
    if resolution.seconds is not None and resolution.seconds < 86400:
        ends = index + pd.Timedelta(seconds=resolution.seconds)
    else:
        wall = index.tz_convert(tz).tz_localize(None).normalize()
        if resolution.key == "month":
            wall = (wall.to_period("M") + 1).to_timestamp()
        else:
            wall = wall + pd.Timedelta(days=1)  # naive: the next calendar day, whatever its length
        ends = _local_instants(wall, tz)
    starts = index.where(index > pd.Timestamp(lo), pd.Timestamp(lo))
    ends = ends.where(ends < pd.Timestamp(hi), pd.Timestamp(hi))
    return pd.Series((ends - starts).total_seconds() / 3600.0, index=index)


def in_view(flows: pd.DataFrame, tz: str, view: str) -> pd.DataFrame:
    """``flows`` (from :func:`flows_at`) for drawing: indexed by local wall time (naive), energy
    columns in kWh per step, or in kW (average power over the step) for ``view="power"``."""
    frame = flows.drop(columns="hours")
    if view == "power":
        frame = frame.div(flows["hours"].where(flows["hours"] > 0), axis=0)
    frame.index = flows.index.tz_convert(tz).tz_localize(None)
    return frame


# --- the main view -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Comparison:
    """The period compared with and its totals."""

    mode: str
    start: date
    end: date
    totals: kpis.EnergyTotals


@dataclass(frozen=True)
class Exploration:
    """Everything the explorer's main callback draws for one household and period.

    ``flows`` is the frame of :func:`flows_at`; ``totals`` sums ``daily_energy`` over the period
    (energies [kWh], import cost and feed-in revenue [currency]).
    """

    household: HouseholdBasics
    start: date
    end: date
    resolution: ResolutionChoice
    flows: pd.DataFrame
    totals: kpis.EnergyTotals
    comparison: Comparison | None
    derived: tuple[str, ...] = ()  # quantities from the energy balance, not a meter (services.energy.balance)
    notes: tuple[str, ...] = ()  # meters coarser than the step, spread onto it

    @property
    def derived_note(self) -> str | None:
        """How the derived quantities were computed (None when every one is metered)."""
        return derived_note(self.derived) if self.derived else None

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def flow_totals(self) -> pd.Series:
        """The split flows summed over the period [kWh], indexed by :data:`SPLIT_FLOWS`."""
        return self.flows[list(SPLIT_FLOWS)].sum().reindex(list(SPLIT_FLOWS)).fillna(0.0)


def explore(household_id: int, start: date, end: date, resolution: str = "auto", compare: str = "none") -> Exploration:
    """Flows at the chosen step, the period's KPI totals and, with ``compare`` (``previous`` or
    ``year``), the totals of the period compared with.

    Raises
    ------
    HouseholdUnavailable
        When the household does not exist or may not be seen.
    """
    if start > end:
        start, end = end, start
    household = household_basics(household_id)
    choice = choose_resolution(start, end, resolution)
    flows, notes = flows_with_notes(household_id, household.timezone, start, end, choice.resolution)
    totals = kpis.portfolio_totals([household_id], start, end)
    comparison = None
    other = comparison_period(start, end, compare)
    if other is not None:
        comparison = Comparison(compare, *other, kpis.portfolio_totals([household_id], *other))
    derived = kpis.derived_of([household_id]).get(household_id, ())
    return Exploration(household, start, end, choice, flows, totals, comparison, derived, tuple(notes))


# --- comparison curves, heatmap, cost ---------------------------------------------------------------


@dataclass(frozen=True)
class ComparisonCurves:
    """Consumption and PV of the period and of the one compared with, both in the view's unit
    and indexed by the period's local wall time (the earlier curve shifted onto it)."""

    mode: str
    start: date
    end: date
    other_start: date
    other_end: date
    resolution: ResolutionChoice
    current: pd.DataFrame  # columns load, pv
    earlier: pd.DataFrame  # columns load, pv


def comparison_curves(household_id: int, start: date, end: date, resolution: str, compare: str,
                      view: str = "energy") -> ComparisonCurves | None:
    """The period's consumption and PV next to those of the period compared with (None for no comparison)."""
    if start > end:
        start, end = end, start
    other = comparison_period(start, end, compare)
    if other is None:
        return None
    household = household_basics(household_id)
    tz = household.timezone
    choice = choose_resolution(start, end, resolution)
    current = in_view(flows_at(household_id, tz, start, end, choice.resolution), tz, view)[["load", "pv"]]
    earlier = in_view(flows_at(household_id, tz, *other, choice.resolution), tz, view)[["load", "pv"]]
    if choice.resolution.key == "month":
        months = (start.year - other[0].year) * 12 + start.month - other[0].month
        earlier.index = earlier.index + pd.DateOffset(months=months)
    else:
        earlier.index = earlier.index + pd.Timedelta(days=(start - other[0]).days)
    return ComparisonCurves(compare, start, end, *other, choice, current, earlier)


def consumption_heatmap(household_id: int, start: date, end: date) -> pd.DataFrame:
    """Consumption per local day and local hour [kWh]: one row per day of the period, 24 columns (0-23).

    Hours follow the wall clock: on the day clocks go forward the skipped hour is NaN, on the
    day they go back the repeated hour holds both hours' energy. Days without readings are NaN.
    """
    if start > end:
        start, end = end, start
    tz = household_basics(household_id).timezone
    lo, hi = local_day_bounds(tz, start, end)
    load = quantity_flows(household_id, ("load",), bucket_seconds_for(tz), lo, hi)
    days = pd.Index(pd.date_range(start, end, freq="D").date, name="day")
    hours = list(range(24))
    if load.empty:
        return pd.DataFrame(index=days, columns=hours, dtype=float)
    local = load.index.tz_convert(tz)
    frame = pd.DataFrame({"day": local.date, "hour": local.hour, "kwh": load["load"].to_numpy()})
    matrix = frame.pivot_table(index="day", columns="hour", values="kwh", aggfunc="sum")
    matrix = matrix.reindex(index=days, columns=hours)
    matrix.columns.name = "hour"
    return matrix


@dataclass(frozen=True)
class CostSeries:
    """Grid energy and money per step: ``frame`` indexed by local wall time (naive) with
    ``import_kwh``, ``export_kwh`` [kWh], ``import_cost``, ``export_revenue`` and ``net_cost``
    [currency; net = import cost - feed-in revenue, negative when the household earned money]."""

    frame: pd.DataFrame
    currency: str | None
    tariff_name: str | None
    resolution: ResolutionChoice


COST_COLUMNS = ["import_kwh", "export_kwh", "import_cost", "export_revenue", "net_cost"]


def cost_over_period(household_id: int, start: date, end: date, resolution: str = "auto") -> CostSeries:
    """What the household paid for grid energy and earned for feed-in, per step of the chart.

    Steps shorter than a day price the readings with the tariff (as ``daily_energy`` does);
    days and months sum the priced ``daily_energy`` rows, so the total matches the KPI card.
    """
    if start > end:
        start, end = end, start
    household = household_basics(household_id)
    tz = household.timezone
    choice = choose_resolution(start, end, resolution)
    step = choice.resolution
    if step.seconds is not None and step.seconds < 86400:
        lo, hi = local_day_bounds(tz, start, end)
        grid = quantity_flows(household_id, ("grid_import", "grid_export"), step.seconds, lo, hi)
        grid = grid.reindex(columns=["grid_import", "grid_export"]).fillna(0.0)
        if household.tariff_id is None:
            tariff = NO_TARIFF
        else:
            with session_scope() as session:
                tariff = load_tariff_spec(session, household.tariff_id, lo, hi)
        frame = pd.DataFrame({"import_kwh": grid["grid_import"], "export_kwh": grid["grid_export"]})
        frame["import_cost"] = frame["import_kwh"] * import_prices(tariff, frame.index, tz).to_numpy()
        frame["export_revenue"] = frame["export_kwh"] * tariff.export_price
        frame.index = frame.index.tz_convert(tz).tz_localize(None)
    else:
        daily = kpis.daily_totals([household_id], start, end)
        frame = daily.reindex(columns=["import_kwh", "export_kwh", "import_cost", "export_revenue"]).astype(float)
        frame.index = pd.DatetimeIndex(pd.to_datetime(list(daily.index)))
        if step.key == "month" and not frame.empty:
            frame = frame.groupby(frame.index.to_period("M").to_timestamp()).sum()
    frame["net_cost"] = frame["import_cost"] - frame["export_revenue"]
    return CostSeries(frame[COST_COLUMNS], household.currency, household.tariff_name, choice)
