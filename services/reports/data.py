"""Everything a report says about one household over one period, gathered once.

:func:`gather_report_data` reads the household (PV, battery, tariff), its KPIs
(:mod:`services.energy.kpis`, from ``daily_energy``), its metered flows (:mod:`services.energy.flows`,
summed in SQL to the meter's quarter hour for periods up to :data:`FINE_STEP_MAX_DAYS`
days, hourly beyond), the battery savings and flow split derived from them
(:mod:`services.reports.metered`) and the data-quality findings (:mod:`services.quality`).
Every file format (PDF, Excel, CSV, HTML) is built from the resulting :class:`ReportData`,
so they all show the same numbers.

Units: energy [kWh], money [the portfolio's currency], prices [currency/kWh], ratios as
fractions; times are UTC unless a column says local.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import pandas as pd

from services.config import get_settings
from services.energy import kpis
from services.energy.flows import local_day_bounds, metered_flows
from services.energy.rollups import NO_TARIFF
from services.households import HouseholdDetail, HouseholdNotFound, get_household, list_tariffs
from services.households.tariffs import TariffSpec, import_prices, load_tariff_spec
from services.quality import Issue, check_household
from services.reports.metered import BatterySavings, FlowSplit, battery_savings, flow_totals
from services.reports.period import ReportInputError, ReportPeriod, clip_to
from services.store.db import session_scope

#: Up to this many days the flows are read at the meter's quarter hour; longer periods hourly.
FINE_STEP_MAX_DAYS = 92
#: Up to this many days the CSV export carries hourly time series (beyond: daily only).
HOURLY_MAX_DAYS = 45

#: Progress callback: (done, total, what is being done).
Progress = Callable[[int, int, str], None]


@dataclass(frozen=True)
class TariffInfo:
    """The household's tariff as a report describes it: default prices [currency/kWh]."""

    name: str
    kind: str
    currency: str
    import_price: float
    export_price: float

    @property
    def kind_label(self) -> str:
        return {"flat": "flat rate", "tou": "time of use", "dynamic": "dynamic (hourly prices)"}.get(self.kind, self.kind)


#: One data-quality finding in words: a :class:`services.quality.Issue` (``kind`` gap, duplicates,
#: stuck, spikes or pv), or an ``info`` note on PV that is fine.
QualityNote = Issue


@dataclass(frozen=True)
class ReportData:
    """One household over one period, ready for any report format.

    ``daily`` is indexed by local day with the columns of ``daily_energy`` [kWh, currency] plus
    ``energy_cost``; ``monthly`` the same summed per calendar month (indexed by the month's first
    day); ``hourly`` the metered flows per hour in local time [kWh per hour] for periods up to
    :data:`HOURLY_MAX_DAYS` days (else empty); ``profile`` the average day: mean energy per local
    hour of day [kWh per hour], hours 0-23. ``covered`` is the first and last day with data
    inside the period (None: no data at all).
    """

    household: HouseholdDetail
    period: ReportPeriod
    covered: tuple[date, date] | None
    currency: str
    totals: kpis.EnergyTotals
    daily: pd.DataFrame
    monthly: pd.DataFrame
    hourly: pd.DataFrame
    profile: pd.DataFrame
    split: FlowSplit
    savings: BatterySavings | None
    quality: tuple[QualityNote, ...]
    tariff: TariffInfo | None
    derived: tuple[str, ...] = ()  # quantities from the energy balance, not a meter (services.energy.balance)
    flow_notes: tuple[str, ...] = ()  # how the flows were obtained: derived, resampled meters
    generated_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))

    @property
    def has_data(self) -> bool:
        return self.covered is not None and self.totals.days > 0

    @property
    def average_import_price(self) -> float | None:
        """What one kWh from the grid cost on average over the period [currency/kWh]."""
        t = self.totals
        return t.import_cost / t.import_kwh if t.import_kwh > 1e-9 else None

    @property
    def problems(self) -> tuple[QualityNote, ...]:
        """The quality findings that are faults (not the informative PV check)."""
        return tuple(n for n in self.quality if n.kind != "info")


def gather_report_data(household_id: int, period: ReportPeriod) -> ReportData:
    """Read everything a report on household ``household_id`` over ``period`` shows.

    Raises
    ------
    ReportInputError
        When the household does not exist (it may have been deleted meanwhile).
    """
    try:
        household = get_household(household_id)
    except HouseholdNotFound:
        raise ReportInputError(f"Household {household_id} does not exist any more: reload the page.") from None
    currency = get_settings().currency
    tariff = _tariff_info(household)
    covered = clip_to(period, kpis.data_period([household_id]))
    if covered is None:
        return ReportData(household, period, None, currency, kpis.EnergyTotals(), pd.DataFrame(), pd.DataFrame(),
                          pd.DataFrame(), pd.DataFrame(), FlowSplit(), None, (), tariff)
    zone = ZoneInfo(household.timezone)
    lo, hi = local_day_bounds(household.timezone, period.start, period.end)
    fine = period.days <= FINE_STEP_MAX_DAYS
    step_s, step_label = (900, "15 min") if fine else (3600, "hour")
    metered = metered_flows(household_id, step_s, lo, hi)
    flows = metered.frame
    daily = _daily(household_id, period)
    hourly = _hourly(flows, zone) if period.days <= HOURLY_MAX_DAYS else pd.DataFrame()
    return ReportData(
        household=household, period=period, covered=covered, currency=currency,
        totals=kpis.portfolio_totals([household_id], period.start, period.end),
        daily=daily, monthly=_monthly(daily), hourly=hourly, profile=_profile(flows, zone), split=flow_totals(flows),
        savings=_savings(household, flows, step_s, step_label, lo, hi),
        quality=_quality(household, lo, hi), tariff=tariff,
        derived=kpis.derived_of([household_id]).get(household_id, ()), flow_notes=tuple(metered.notes()),
    )


def gather_many(household_ids: Sequence[int], period: ReportPeriod,
                progress: Progress | None = None) -> list[ReportData]:
    """:func:`gather_report_data` for each household, reporting progress after each."""
    out = []
    for i, household_id in enumerate(household_ids):
        out.append(gather_report_data(household_id, period))
        if progress:
            progress(i + 1, len(household_ids), "Read")
    return out


def require_data(reports: Sequence[ReportData]) -> list[ReportData]:
    """The reports that have data; raise :class:`ReportInputError` naming the period when none has."""
    with_data = [r for r in reports if r.has_data]
    if with_data:
        return with_data
    if len(reports) == 1:
        r = reports[0]
        available = kpis.data_period([r.household.id])
        where = (f"its data runs from {available[0]} to {available[1]}" if available
                 else "it has no meter data yet")
        raise ReportInputError(f"{r.household.name} has no data in {r.period.label}: {where}. Choose another period.")
    label = reports[0].period.label if reports else "this period"
    raise ReportInputError(f"None of the chosen households has data in {label}. Choose another period.")


# --- parts ------------------------------------------------------------------------------------


def _daily(household_id: int, period: ReportPeriod) -> pd.DataFrame:
    daily = kpis.daily_totals([household_id], period.start, period.end)
    if daily.empty:
        return daily
    daily = daily.astype(float)
    daily["energy_cost"] = daily["import_cost"] - daily["export_revenue"]
    return daily


def _monthly(daily: pd.DataFrame) -> pd.DataFrame:
    if daily.empty:
        return daily
    frame = daily.copy()
    frame.index = pd.DatetimeIndex(pd.to_datetime(frame.index))
    monthly = frame.resample("MS").sum()
    monthly = monthly[frame.resample("MS").size() > 0]
    monthly.index = monthly.index.date
    monthly.index.name = "month"
    return monthly


def _hourly(flows: pd.DataFrame, zone: ZoneInfo) -> pd.DataFrame:
    if flows.empty:
        return flows
    hourly = flows.resample("1h").sum(min_count=1).dropna(how="all")
    hourly.index = hourly.index.tz_convert(zone)
    hourly.index.name = "time"
    return hourly


def _profile(flows: pd.DataFrame, zone: ZoneInfo) -> pd.DataFrame:
    if flows.empty:
        return flows
    hourly = flows.resample("1h").sum(min_count=1).dropna(how="all")
    hours = hourly.index.tz_convert(zone).hour
    profile = hourly.groupby(hours).mean().reindex(range(24))
    profile.index.name = "hour"
    return profile


def _tariff_info(household: HouseholdDetail) -> TariffInfo | None:
    if household.tariff_id is None:
        return None
    tariff = next((t for t in list_tariffs() if t.id == household.tariff_id), None)
    if tariff is None:
        return None
    return TariffInfo(tariff.name, tariff.kind, tariff.currency, tariff.import_price, tariff.export_price)


def _tariff_spec(household: HouseholdDetail, lo: datetime, hi: datetime) -> TariffSpec:
    if household.tariff_id is None:
        return NO_TARIFF
    with session_scope() as session:
        return load_tariff_spec(session, household.tariff_id, lo, hi)


def _savings(household: HouseholdDetail, flows: pd.DataFrame, step_s: int, step_label: str,
             lo: datetime, hi: datetime) -> BatterySavings | None:
    has_battery_data = any(c in flows for c in ("battery_charge", "battery_discharge"))
    if household.battery is None or flows.empty or not has_battery_data:
        return None
    tariff = _tariff_spec(household, lo, hi)
    prices = import_prices(tariff, flows.index, household.timezone)
    limit = household.grid_export_limit_kw
    return battery_savings(flows, prices, tariff.export_price,
                           None if limit is None else limit * step_s / 3600.0, step_label,
                           household.export_curtailable)


def _quality(household: HouseholdDetail, lo: datetime, hi: datetime) -> tuple[QualityNote, ...]:
    household_id = household.id
    quality = check_household(household_id, lo, hi, detail=household)  # the household is read once
    notes = list(quality.issues)
    if quality.pv is not None and not quality.pv.flagged and quality.pv.message:
        notes.append(Issue(household_id, "info", "pv", None, None, quality.pv.message))
    return tuple(notes)
