"""A stored household's battery schedule inputs: its battery, grid limits, tariff, PV and load.

:func:`household_inputs` builds the :class:`~.problem.ScheduleRequest` for one household over a
horizon, by default "tomorrow" (24 h from the next local midnight, 15-minute steps), and says
where each series came from, so that nobody mistakes a guess for a forecast:

* ``forecast``: the newest stored forecast (target ``pv`` or ``load``) that covers every step;
* ``fallback: profile of the last 7 days``: where no stored forecast covers the horizon, the mean
  per local time of day (weekdays and weekends apart) of the household's readings over the 7 days
  before the horizon (or before its last reading, when readings stop earlier);
* ``perfect foresight: actuals``: for a day in the past, what was metered: the best a battery
  could have done, to compare forecasts with (:func:`perfect_foresight_inputs`).

Units as in :mod:`.problem`: PV and load as mean power per step [kW] (readings and forecasts
hold kWh per step: divided by the step length), prices [currency/kWh], stored energy [kWh].
Meters that read every 30 or 60 minutes are spread onto the horizon's steps with their kWh
conserved, and a consumption the household does not meter comes from the energy balance
(:func:`services.energy.flows.metered_flows`); ``notes`` say so.
The initial stored energy is the latest ``battery_soc`` reading at or before the start unless a
value is given; energy left at the end is valued at the horizon's mean import price
(:func:`stored_energy_value`). Nothing here writes.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from services.energy.flows import metered_flows
from services.households import HouseholdNotFound
from services.households.tariffs import import_prices, load_tariff_spec
from services.optimization.day_profile import MINUTES_PER_DAY, local_minute_and_weekend, mean_by
from services.optimization.problem import BatteryParams, GridParams, Objective, Prices, ScheduleRequest
from services.optimization.service import tariff_prices
from services.optimization.stored_forecasts import SOURCE_FORECAST, forecast_kw  # noqa: F401 - one of the labels here
from services.optimization.stored_series import last_reading_times, latest_soc_readings
from services.store.db import session_scope
from services.store.models import Battery, Household, Tariff

SOURCE_PROFILE = "fallback: profile of the last 7 days"
SOURCE_ACTUALS = "perfect foresight: actuals"
SOURCE_GIVEN = "given"
SOURCE_NO_PV = "no PV"

#: Days of readings the fallback profile averages.
PROFILE_DAYS = 7
#: Share of a day's steps that may lack readings before actuals are refused (gaps are interpolated).
MAX_MISSING_SHARE = 0.25


class InputsUnavailable(ValueError):
    """The store lacks what a schedule needs; ``field`` names the input to supply instead
    (``battery``, ``tariff_id``, ``load_kw``), and the message says how to fix it."""

    def __init__(self, message: str, field: str):
        super().__init__(message)
        self.field = field


class NoBattery(InputsUnavailable):
    """The household has no battery, so there is nothing to schedule."""


@dataclass(frozen=True, eq=False)
class HouseholdInputs:
    """A household's schedule request and where its parts came from.

    pv_source, load_source : one of the ``SOURCE_*`` labels.
    soc_source : how the initial stored energy was chosen, in words.
    prices_source : the tariff (name and kind) or ``given``.
    notes : anything a person should know (gaps interpolated, prices not published yet).
    unpriced_steps : steps of a dynamic tariff without a published price (priced at its default).
    """

    household_id: int
    household_name: str
    request: ScheduleRequest
    pv_source: str
    load_source: str
    soc_source: str
    prices_source: str
    tariff_id: int | None = None
    notes: tuple[str, ...] = ()
    unpriced_steps: tuple[int, ...] = ()  # steps priced at the tariff's default: dynamic price not published

    @property
    def source(self) -> str:
        """One label for both series (``forecast``, the fallback, or ``PV: ..., load: ...``)."""
        if self.pv_source in (self.load_source, SOURCE_NO_PV):
            return self.load_source
        return f"PV: {self.pv_source}; load: {self.load_source}"


# --- horizons -------------------------------------------------------------------------------------


def next_local_midnight(timezone: str, now: datetime | None = None) -> datetime:
    """The next local midnight in ``timezone`` after ``now`` (default: the current time), in UTC."""
    zone = ZoneInfo(timezone)
    local = pd.Timestamp(now or datetime.now(ZoneInfo("UTC"))).tz_convert(zone)
    midnight = pd.Timestamp(local.date() + timedelta(days=1)).tz_localize(zone, nonexistent="shift_forward")
    return midnight.tz_convert("UTC").to_pydatetime()


def local_day_start(day: date, timezone: str) -> datetime:
    """Local midnight at the start of ``day`` in ``timezone``, in UTC."""
    start = pd.Timestamp(day).tz_localize(ZoneInfo(timezone), nonexistent="shift_forward")
    return start.tz_convert("UTC").to_pydatetime()


def horizon_index(start: datetime, hours: float, dt_h: float) -> pd.DatetimeIndex:
    """UTC start of each step of a horizon of ``hours`` from ``start``."""
    steps = int(round(hours / dt_h))
    if steps < 1:
        raise InputsUnavailable(f"The horizon of {hours:g} h is shorter than one step of {dt_h:g} h", "steps")
    return pd.date_range(pd.Timestamp(start).tz_convert("UTC"), periods=steps, freq=pd.Timedelta(hours=dt_h))


# --- the request for a stored household -----------------------------------------------------------


def household_inputs(
    household_id: int,
    *,
    start: datetime | None = None,
    hours: float = 24.0,
    dt_h: float = 0.25,
    mode: str = "auto",
    tariff_id: int | None = None,
    battery: BatteryParams | None = None,
    grid: GridParams | None = None,
    prices: Prices | None = None,
    pv_kw: np.ndarray | None = None,
    load_kw: np.ndarray | None = None,
    initial_soc_kwh: float | None = None,
    objective: Objective = "cost",
    now: datetime | None = None,
    url: str | None = None,
) -> HouseholdInputs:
    """The schedule request of household ``household_id`` from what the store knows.

    Parameters
    ----------
    start : UTC start of the first step; default the household's next local midnight ("tomorrow").
    hours, dt_h : horizon [h] and step length [h].
    mode : ``auto`` (stored forecasts where they cover the horizon, else the 7-day profile),
        ``profile`` (always the profile) or ``actuals`` (metered values: perfect foresight).
    tariff_id : price the horizon with this tariff instead of the household's.
    battery, grid, prices, pv_kw, load_kw : given values replace the stored ones (``given``).
    initial_soc_kwh : stored energy at the start [kWh]; default the latest ``battery_soc``
        reading at or before ``start``, else half full.
    now : the current time (UTC), for "tomorrow" and for which forecasts were issued already.

    Raises
    ------
    HouseholdNotFound
    NoBattery
        The household has no battery and none is given.
    InputsUnavailable
        No tariff (and no prices), or no load readings to build a load series from.
    ValidationProblem
        A given value is out of range (the request validates itself).
    """
    if mode not in ("auto", "profile", "actuals"):
        raise ValueError(f"mode must be auto, profile or actuals, got {mode!r}")
    now = now or datetime.now(ZoneInfo("UTC"))
    notes: list[str] = []
    with session_scope(url) as session:
        household = stored_household(session, household_id)
        tz = household.timezone
        index = horizon_index(start or next_local_midnight(tz, now), hours, dt_h)
        if battery is None:
            battery = stored_battery(household)
        if grid is None:
            grid = household_grid(household)
        if prices is None:
            prices, prices_source, tariff_id, unpriced = _tariff_prices(session, household, tariff_id, index, dt_h)
            if len(unpriced):
                notes.append(unpriced_note(len(unpriced), len(index)))
        else:
            prices_source, tariff_id, unpriced = SOURCE_GIVEN, None, ()
        soc_source = SOURCE_GIVEN
        if initial_soc_kwh is None:
            initial_soc_kwh = battery.initial_soc_kwh
        if initial_soc_kwh is None:
            initial_soc_kwh, soc_source = _initial_soc(session, household_id, index[0], battery, tz)
        series = {}
        for target, given in (("pv", pv_kw), ("load", load_kw)):
            if given is not None:
                series[target] = (np.asarray(given, dtype=float), SOURCE_GIVEN)
            elif mode == "auto":
                series[target] = forecast_kw(session, household_id, target, index, dt_h, now)
        has_pv = bool(household.pv_systems)
        name = household.name
    note = curtailment_note(grid, prices, len(index))
    if note:
        notes.append(note)
    missing = [t for t in ("pv", "load") if series.get(t) is None]
    if missing:
        fill = _actuals if mode == "actuals" else _profile
        series.update(fill(household_id, missing, index, dt_h, tz, has_pv, notes, url))
    return assemble_inputs(household_id, name, tz, index, dt_h, series, prices, replace(battery, initial_soc_kwh=initial_soc_kwh),
                           grid, objective, soc_source, prices_source, tariff_id, notes, unpriced)


def assemble_inputs(household_id: int, name: str, tz: str, index: pd.DatetimeIndex, dt_h: float,
                    series: dict[str, tuple[np.ndarray, str]], prices: Prices, battery: BatteryParams,
                    grid: GridParams, objective: Objective, soc_source: str, prices_source: str,
                    tariff_id: int | None, notes: list[str], unpriced) -> HouseholdInputs:
    """The request and its sources from the parts read (``series``: target -> (kW, source));
    ``battery`` carries the initial stored energy [kWh]. Raises ValidationProblem for values out of range."""
    request = ScheduleRequest(
        series["pv"][0], series["load"][0], prices, battery, grid,
        dt_h=dt_h, objective=objective, terminal="value",
        terminal_value_per_kwh=stored_energy_value(prices, len(index)), start=index[0].to_pydatetime(), timezone=tz,
    )
    return HouseholdInputs(household_id, name, request, series["pv"][1], series["load"][1], soc_source,
                           prices_source, tariff_id, tuple(notes), tuple(int(t) for t in unpriced))


def stored_energy_value(prices: Prices, steps: int) -> float:
    """What a kWh left in the battery at the horizon's end is worth [currency/kWh]: the mean import
    price over the horizon.

    Stored households are planned with this terminal value rather than "end at least as full as you
    started", because the comparison with the two baselines values the stored energy gained the same
    way: the optimized plan then never looks worse than the self-consumption rule merely because the
    rule ended the day fuller, and a battery may end fuller when tomorrow's energy is worth storing.
    """
    values = np.asarray(prices.import_per_kwh, dtype=float)
    if values.size not in (1, steps):  # the request refuses such prices, with a message, when it is built
        return float(np.mean(values)) if values.size else 0.0
    return float(np.mean(np.broadcast_to(values, (steps,))))


def unpriced_note(unpriced: int, steps: int) -> str:
    """Say that ``unpriced`` of ``steps`` steps have no published dynamic price."""
    return (f"{unpriced} of {steps} steps have no published dynamic price yet: "
            "the tariff's default price is used there")


def perfect_foresight_inputs(household_id: int, day: date, **options) -> HouseholdInputs:
    """The request for local ``day`` of the household with its metered PV and load as forecasts
    (``perfect foresight: actuals``); ``options`` as for :func:`household_inputs`."""
    with session_scope(options.get("url")) as session:
        tz = stored_household(session, household_id).timezone
    return household_inputs(household_id, start=local_day_start(day, tz), mode="actuals", **options)


def inputs_for_day(household_id: int, day: date | None = None, *, now: datetime | None = None,
                   **options) -> HouseholdInputs:
    """The request for local ``day`` of the household: tomorrow when None; a day still to come from
    stored forecasts or the 7-day profile; today or a past day from what was metered (perfect
    foresight). ``options`` as for :func:`household_inputs`."""
    if day is None:
        return household_inputs(household_id, now=now, **options)
    with session_scope(options.get("url")) as session:
        tz = stored_household(session, household_id).timezone
    today = pd.Timestamp(now or datetime.now(ZoneInfo("UTC"))).tz_convert(tz).date()
    mode = "auto" if day > today else "actuals"
    return household_inputs(household_id, start=local_day_start(day, tz), mode=mode, now=now, **options)


def stored_battery(household: Household) -> BatteryParams:
    """The household's stored battery as the optimizer sees it; :class:`NoBattery` without one."""
    b = household.battery
    if b is None:
        raise NoBattery(
            f"{household.name} has no battery, so there is no schedule to optimize: add one on the "
            "Households page (Edit, then Battery), or send a battery in POST /api/optimize.",
            "battery",
        )
    return BatteryParams.of(b)


def household_grid(household: Household) -> GridParams:
    """The household's grid connection as saved: limits [kW] and whether its export is curtailable."""
    return GridParams.of(household)


def curtailment_note(grid: GridParams, prices: Prices, steps: int) -> str | None:
    """What happens to surplus PV in the steps with a negative export price (None: there are none)."""
    negative = int((np.broadcast_to(prices.export_per_kwh, (steps,)) < 0).sum())
    if not negative:
        return None
    how = ("PV may be curtailed instead of exported, with and without the battery"
           if grid.export_curtailable else
           "surplus PV is exported anyway (this household's export cannot be curtailed), with and without the battery")
    return f"{negative} of {steps} steps have a negative export price: {how}"


def household_ids_with_battery(household_ids: list[int], url: str | None = None) -> list[int]:
    """Those of ``household_ids`` that have a battery, in the order given."""
    with session_scope(url) as session:
        have = set(session.scalars(sa.select(Battery.household_id).where(Battery.household_id.in_(household_ids))))
    return [h for h in household_ids if h in have]


def stored_household(session: Session, household_id: int) -> Household:
    """The household row with its battery and PV systems loaded; :class:`HouseholdNotFound`."""
    household = session.scalar(
        sa.select(Household).where(Household.id == household_id)
        .options(selectinload(Household.battery), selectinload(Household.pv_systems))
    )
    if household is None:
        raise HouseholdNotFound(household_id)
    return household


# --- prices and stored energy ---------------------------------------------------------------------


def _tariff_prices(session: Session, household: Household, tariff_id: int | None, index: pd.DatetimeIndex,
                   dt_h: float, specs: dict | None = None) -> tuple[Prices, str, int, np.ndarray]:
    """Prices of the horizon from the tariff; ``specs`` caches them across a chunk of households
    (a tariff is read, and its prices evaluated, once per horizon and time zone)."""
    tariff_id = tariff_id if tariff_id is not None else household.tariff_id
    if tariff_id is None:
        raise InputsUnavailable(
            f"{household.name} has no tariff, so its hours cannot be priced: choose a tariff for it on "
            "the Households page, or pick one for this schedule (tariff_id), or give prices.",
            "tariff_id",
        )
    key = (tariff_id, index[0], len(index), dt_h, household.timezone)
    if specs is not None and key in specs:
        return specs[key]
    spec = _tariff_spec(session, tariff_id, index, dt_h)
    name = session.get(Tariff, tariff_id).name  # loaded by load_tariff_spec: no second query
    # One price per step here, once per tariff and horizon: the requests of its households share them.
    prices = tariff_prices(spec, index[0].to_pydatetime(), len(index), dt_h, household.timezone).over(len(index))
    unknown = np.array([], dtype=int)
    if spec.kind == "dynamic":
        # Where the series has no value import_prices uses the default: find those steps to say so.
        missing = np.isnan(import_prices(replace(spec, import_price=float("nan")), index, household.timezone))
        unknown = np.flatnonzero(missing.to_numpy())
    found = prices, f"tariff: {name}", tariff_id, unknown
    if specs is not None:
        specs[key] = found
    return found


def stored_tariff_prices(tariff_id: int, start: datetime, steps: int, dt_h: float, timezone: str = "UTC",
                         url: str | None = None) -> Prices:
    """Prices of stored tariff ``tariff_id`` for ``steps`` steps of ``dt_h`` h from ``start`` (UTC)
    [currency/kWh], time-of-use periods read in ``timezone``; InputsUnavailable when it does not exist."""
    index = horizon_index(start, steps * dt_h, dt_h)
    with session_scope(url) as session:
        spec = _tariff_spec(session, tariff_id, index, dt_h)
    return tariff_prices(spec, index[0].to_pydatetime(), len(index), dt_h, timezone)


def _tariff_spec(session: Session, tariff_id: int, index: pd.DatetimeIndex, dt_h: float):
    end = (index[-1] + pd.Timedelta(hours=dt_h)).to_pydatetime()
    try:
        return load_tariff_spec(session, tariff_id, index[0].to_pydatetime(), end)
    except LookupError:
        raise InputsUnavailable(f"Tariff {tariff_id} does not exist: choose an existing tariff", "tariff_id") from None


def _initial_soc(session: Session, household_id: int, at: pd.Timestamp, battery: BatteryParams,
                 tz: str) -> tuple[float | None, str]:
    """The latest stored-energy reading at or before ``at``, kept within the battery's limits."""
    return soc_from_reading(latest_soc_readings(session, [household_id], at.to_pydatetime()).get(household_id),
                            battery, tz)


def soc_from_reading(reading: tuple[datetime, float] | None, battery: BatteryParams,
                     tz: str) -> tuple[float | None, str]:
    """The initial stored energy [kWh] from the newest SOC reading (ts, kWh), kept within the
    battery's limits, and how it was chosen in words; None without a reading (half full)."""
    if reading is None:
        return None, "no measurement: assumed half full"
    ts, value = reading
    when = ts.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")  # ts is aware (UTC)
    kept = min(max(value, battery.min_kwh), battery.max_kwh)
    if abs(kept - value) > 1e-9:
        return kept, f"measured {value:.2f} kWh at {when}, outside the battery's limits: {kept:.2f} kWh used"
    return kept, f"measured at {when}"


# --- PV and load ----------------------------------------------------------------------------------


def _profile(household_id: int, targets: list[str], index: pd.DatetimeIndex, dt_h: float, tz: str, has_pv: bool,
             notes: list[str], url: str | None) -> dict[str, tuple[np.ndarray, str]]:
    """Mean power per local time of day over the last 7 days of readings, weekdays and weekends
    apart where both were seen (a weekend's load is not a weekday's)."""
    with session_scope(url) as session:
        last = last_reading_times(session, [household_id]).get(household_id)
    lo, hi = profile_window(last, index, dt_h)
    metered = metered_flows(household_id, int(dt_h * 3600), lo, hi, url)
    add_profile_notes(notes, metered, hi, index, tz)
    return {t: _profile_of(metered.frame, t, index, dt_h, tz, has_pv) for t in targets}


def add_profile_notes(notes: list[str], metered, hi: datetime, index: pd.DatetimeIndex, tz: str) -> None:
    """Say how the profile's readings were read (meters spread, consumption derived) and when
    they stop, if that is more than a day before the horizon."""
    notes.extend(n for n in metered.notes(("pv", "load")) if n not in notes)
    hi = pd.Timestamp(hi)
    if hi < index[0] - pd.Timedelta(days=1):
        notes.append(f"readings stop at {hi.tz_convert(tz):%Y-%m-%d %H:%M}: the profile is of the 7 days before")


def profile_window(last: datetime | None, index: pd.DatetimeIndex, dt_h: float) -> tuple[datetime, datetime]:
    """``[lo, hi)`` (UTC) of the readings the profile averages: the 7 days before the horizon, or
    before the last reading (``last``) when readings stop earlier.
    InputsUnavailable without any reading."""
    if last is None:
        raise InputsUnavailable(
            "This household has no load readings and no stored load forecast, so there is nothing to "
            "schedule against: upload meter data on the Data page, or send load_kw.",
            "load_kw",
        )
    dt = pd.Timedelta(hours=dt_h)
    hi = min(index[0], pd.Timestamp(last).tz_convert("UTC").floor(dt) + dt)
    lo = hi - pd.Timedelta(days=PROFILE_DAYS)
    return lo.to_pydatetime(), hi.to_pydatetime()


def _profile_of(flows: pd.DataFrame, target: str, index: pd.DatetimeIndex, dt_h: float, tz: str,
                has_pv: bool) -> tuple[np.ndarray, str]:
    column = flows[target].to_numpy(dtype=float) if target in flows else np.array([])
    present = ~np.isnan(column)
    if not present.any():
        if target == "pv":
            return np.zeros(len(index)), SOURCE_PROFILE if has_pv else SOURCE_NO_PV
        raise InputsUnavailable(
            f"No load readings in the {PROFILE_DAYS} days before the horizon and no stored load forecast: "
            "upload meter data on the Data page, or send load_kw.",
            "load_kw",
        )
    kw = column[present] / dt_h
    minute, weekend = local_minute_and_weekend(flows.index if present.all() else flows.index[present], tz)
    values = mean_by(minute, kw, MINUTES_PER_DAY)
    wanted_minute, wanted_weekend = local_minute_and_weekend(index, tz)
    values = values[wanted_minute]
    if target == "load":
        by_kind = mean_by(weekend * MINUTES_PER_DAY + minute, kw, 2 * MINUTES_PER_DAY)
        keyed = by_kind[wanted_weekend * MINUTES_PER_DAY + wanted_minute]
        values = np.where(np.isnan(keyed), values, keyed)
    if np.isnan(values).any():  # a time of day never seen (gaps): the neighbours' mean
        values = pd.Series(values).interpolate(limit_direction="both").fillna(kw.mean()).to_numpy()
    return values, SOURCE_PROFILE


def _actuals(household_id: int, targets: list[str], index: pd.DatetimeIndex, dt_h: float, tz: str, has_pv: bool,
             notes: list[str], url: str | None) -> dict[str, tuple[np.ndarray, str]]:
    """What was metered on the horizon's steps [kW]; short gaps interpolated and counted."""
    end = index[-1] + pd.Timedelta(hours=dt_h)
    metered = metered_flows(household_id, int(dt_h * 3600), index[0].to_pydatetime(), end.to_pydatetime(), url)
    flows = metered.frame
    notes.extend(n for n in metered.notes(("pv", "load")) if n not in notes)
    out = {}
    day = index[0].tz_convert(tz).strftime("%Y-%m-%d")
    for target in targets:
        series = flows[target].reindex(index) / dt_h if target in flows else pd.Series(np.nan, index=index)
        gaps = int(series.isna().sum())
        if target == "pv" and gaps == len(index):
            out[target] = (np.zeros(len(index)), SOURCE_ACTUALS if has_pv else SOURCE_NO_PV)
            continue
        if gaps > MAX_MISSING_SHARE * len(index):
            raise InputsUnavailable(
                f"{gaps} of {len(index)} steps from {day} have no {target} readings, too many to fill in: "
                "choose a day with complete meter data",
                f"{target}_kw",
            )
        if gaps:
            notes.append(f"{gaps} steps without {target} readings were interpolated")
            series = series.interpolate(limit_direction="both")
        out[target] = (series.to_numpy(), SOURCE_ACTUALS)
    return out
