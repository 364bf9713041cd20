"""Schedule inputs of a chunk of stored households, read in a few set-based queries.

:func:`chunk_inputs` returns for every household of the chunk the same
:class:`~.inputs.HouseholdInputs` that :func:`~.inputs.household_inputs` builds for it alone
(stored forecasts where they cover the horizon, else the 7-day profile; the tariff's prices; the
newest SOC reading), or the reason in words why it has none. It reads with the same functions
(:mod:`.stored_series`, :func:`~services.energy.flows.metered_flows_by_household`) and builds with the
same builders (:mod:`.inputs`); only the number of queries differs: the households with their
batteries and PV systems, each tariff once, then per horizon start one query each for SOC
readings, forecasts, last reading times and the profile's readings (summed in SQL per quarter hour).

Units as in :mod:`.inputs`: PV and load [kW] per step, prices [currency/kWh], energy [kWh].
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from services.energy.flows import MeteredFlows, metered_flows_by_household
from services.forecasting.registry import forecast_candidates
from services.households import HouseholdNotFound
from services.optimization.day_profile import MINUTES_PER_DAY, local_minute_and_weekend, means_at
from services.optimization.inputs import (
    SOURCE_PROFILE,
    HouseholdInputs,
    InputsUnavailable,
    _profile_of,
    _tariff_prices,
    add_profile_notes,
    assemble_inputs,
    curtailment_note,
    horizon_index,
    household_grid,
    local_day_start,
    next_local_midnight,
    profile_window,
    soc_from_reading,
    stored_battery,
    unpriced_note,
)
from services.optimization.stored_forecasts import FORECAST_CANDIDATES, first_covering, horizon_bounds, horizon_ns
from services.optimization.stored_series import last_reading_times, latest_soc_readings
from services.store.db import session_scope
from services.store.models import Household, PVSystem
from services.validation import ValidationProblem

TARGETS = ("pv", "load")


@dataclass(frozen=True, eq=False)
class ChunkInputs:
    """The inputs of each household of a chunk that has them, and why the others have none."""

    inputs: dict[int, HouseholdInputs]
    errors: dict[int, str] = field(default_factory=dict)


@dataclass
class _Partial:
    """What is known of a household before its series are read."""

    household: Household
    index: pd.DatetimeIndex
    parts: dict
    notes: list[str]
    series: dict = field(default_factory=dict)
    has_pv: bool = False  # known once a profile is needed


def chunk_inputs(household_ids: Sequence[int], *, day: date | None = None, now: datetime | None = None,
                 hours: float = 24.0, dt_h: float = 0.25, url: str | None = None) -> ChunkInputs:
    """Inputs of each household of ``household_ids`` for its local ``day`` (default: its tomorrow).

    ``now`` (UTC) decides "tomorrow" and which forecasts were issued already; a fleet run passes
    the time it was started, so that a chunk read again later reads the same inputs.
    Equal, household by household, to :func:`~.inputs.household_inputs` with ``start`` the local
    midnight of ``day`` and the stored settings (mode ``auto``).
    """
    now = now or datetime.now(ZoneInfo("UTC"))
    errors: dict[int, str] = {}
    partials: dict[int, _Partial] = {}
    with session_scope(url) as session:
        households = {h.id: h for h in session.scalars(
            sa.select(Household).where(Household.id.in_(list(household_ids)))
            .options(selectinload(Household.battery)))}  # PV systems: only a profile asks (_fill_profiles)
        specs: dict = {}  # tariffs' prices by horizon
        horizons: dict[str, pd.DatetimeIndex] = {}  # by time zone (an index is immutable: shared)
        for household_id in household_ids:
            household = households.get(household_id)
            if household is None:
                errors[household_id] = str(HouseholdNotFound(household_id))
                continue
            try:
                partials[household_id] = _partial(session, household, day, now, hours, dt_h, specs, horizons)
            except (InputsUnavailable, ValidationProblem) as exc:
                errors[household_id] = str(exc)
        by_start: dict[pd.Timestamp, list[int]] = defaultdict(list)
        for household_id, partial in partials.items():
            by_start[partial.index[0]].append(household_id)
        for ids in by_start.values():
            _read_stored(session, [partials[h] for h in ids], dt_h, now)
    _fill_profiles([p for p in partials.values() if len(p.series) < len(TARGETS)], dt_h, url, errors)
    inputs = {}
    for household_id, partial in partials.items():
        if household_id in errors:
            continue
        try:
            inputs[household_id] = assemble_inputs(household_id, partial.household.name, partial.household.timezone,
                                                    partial.index, dt_h, partial.series, notes=partial.notes,
                                                    **partial.parts)
        except ValidationProblem as exc:
            errors[household_id] = str(exc)
    return ChunkInputs(inputs, errors)


def _partial(session, household: Household, day: date | None, now: datetime, hours: float, dt_h: float,
             specs: dict, horizons: dict) -> _Partial:
    tz = household.timezone
    index = horizons.get(tz)
    if index is None:
        start = local_day_start(day, tz) if day is not None else next_local_midnight(tz, now)
        index = horizons[tz] = horizon_index(start, hours, dt_h)
    battery = stored_battery(household)
    grid = household_grid(household)
    notes: list[str] = []
    prices, prices_source, tariff_id, unpriced = _tariff_prices(session, household, None, index, dt_h, specs)
    if len(unpriced):
        notes.append(unpriced_note(len(unpriced), len(index)))
    note = curtailment_note(grid, prices, len(index))
    if note:
        notes.append(note)
    parts = {"prices": prices, "battery": battery, "grid": grid, "objective": "cost", "soc_source": "given",
             "prices_source": prices_source, "tariff_id": tariff_id, "unpriced": unpriced}
    return _Partial(household, index, parts, notes)


def _read_stored(session, partials: list[_Partial], dt_h: float, now: datetime) -> None:
    """SOC readings and forecasts of households that share a horizon, one query each."""
    index = partials[0].index
    ids = [p.household.id for p in partials]
    socs = latest_soc_readings(session, ids, index[0].to_pydatetime())
    start, end = horizon_bounds(index, dt_h)
    candidates = forecast_candidates(ids, TARGETS, start, end, now, FORECAST_CANDIDATES, session=session)
    wanted_ns = horizon_ns(index)
    for partial in partials:
        household_id, parts = partial.household.id, partial.parts
        soc = parts["battery"].initial_soc_kwh
        if soc is None:
            soc, parts["soc_source"] = soc_from_reading(socs.get(household_id), parts["battery"],
                                                        partial.household.timezone)
        parts["battery"] = replace(parts["battery"], initial_soc_kwh=soc)
        for target in TARGETS:
            found = first_covering(candidates.get((household_id, target), []), index, dt_h, wanted_ns)
            if found is not None:
                partial.series[target] = found


def _fill_profiles(partials: list[_Partial], dt_h: float, url: str | None, errors: dict[int, str]) -> None:
    """The 7-day profile for the series without a covering forecast: the readings of every
    household summed per step in one query over the union of their windows, then cut per household.
    Households whose readings of a series are complete on the same instants, in the same time
    zone and horizon, get that profile together (:func:`_profiles_together`)."""
    if not partials:
        return
    with session_scope(url) as session:
        ids = [p.household.id for p in partials]
        last = last_reading_times(session, ids)
        with_pv = set(session.scalars(sa.select(PVSystem.household_id).where(PVSystem.household_id.in_(ids))))
    for partial in partials:
        partial.has_pv = partial.household.id in with_pv
    windows = {}
    for partial in partials:
        household = partial.household
        try:
            windows[household.id] = profile_window(last.get(household.id), partial.index, dt_h)
        except InputsUnavailable as exc:
            errors[household.id] = str(exc)
    if not windows:
        return
    lo, hi = min(w[0] for w in windows.values()), max(w[1] for w in windows.values())
    flows = metered_flows_by_household(list(windows), int(dt_h * 3600), lo, hi, url, quantities=TARGETS)
    together: dict[tuple, list] = defaultdict(list)
    # Households mostly share their window and their frames' index (flows builds each index once):
    # its cut and instants are worked out once per (index, window).
    cuts: dict[tuple, tuple] = {}
    for partial in partials:
        household = partial.household
        if household.id not in windows:
            continue
        w_lo, w_hi = windows[household.id]
        metered = flows.get(household.id) or MeteredFlows(pd.DataFrame(), int(dt_h * 3600))
        frame = metered.frame
        add_profile_notes(partial.notes, metered, w_hi, partial.index, household.timezone)
        if frame.empty:
            cut, stamps, instants = (0, 0), None, b""
        else:  # its own window of the rows read for all (sorted by time)
            found = cuts.get((id(frame.index), w_lo, w_hi))
            if found is None:
                cut = (frame.index.searchsorted(w_lo), frame.index.searchsorted(w_hi))
                stamps = frame.index[cut[0]:cut[1]]
                found = cuts[(id(frame.index), w_lo, w_hi)] = cut, stamps, stamps.asi8.tobytes(), frame.index
            cut, stamps, instants, _ = found
        names = list(frame.columns)
        table = frame.to_numpy(dtype=float) if names else None  # one array for both series
        for target in TARGETS:
            if target in partial.series:
                continue
            column = table[cut[0]:cut[1], names.index(target)] if target in names else None
            if column is not None and len(column) and not np.isnan(column).any():
                key = (target, household.timezone, partial.index[0].value, len(partial.index), instants)
                together[key].append((partial, column, stamps, frame, cut))
            elif household.id not in errors:
                _profile_alone(partial, target, frame, cut, dt_h, errors)
    for (target, tz, _, _, _), members in together.items():
        _profiles_together(target, tz, members, dt_h, errors)


def _profile_alone(partial: _Partial, target: str, frame: pd.DataFrame, cut: tuple[int, int], dt_h: float,
                   errors: dict[int, str]) -> None:
    household = partial.household
    mine = frame if frame.empty else frame.iloc[cut[0]:cut[1]]
    try:
        partial.series[target] = _profile_of(mine, target, partial.index, dt_h, household.timezone,
                                             partial.has_pv)
    except InputsUnavailable as exc:
        errors[household.id] = str(exc)


def _profiles_together(target: str, tz: str, members: list, dt_h: float, errors: dict[int, str]) -> None:
    """:func:`~.inputs._profile_of` of households with complete readings on the same instants, time
    zone and horizon, as rows of one array: the same numbers to the bit (means added in the same
    order, see :func:`~.day_profile.means_at`). A household whose profile has a time of day
    never seen (to be interpolated) gets its own after all."""
    index, stamps = members[0][0].index, members[0][2]
    kw = np.stack([column for _, column, _, _, _ in members]) / dt_h
    minute, weekend = local_minute_and_weekend(stamps, tz)
    wanted_minute, wanted_weekend = local_minute_and_weekend(index, tz)
    values = means_at(minute, kw, wanted_minute, MINUTES_PER_DAY)
    if target == "load":
        keyed = means_at(weekend * MINUTES_PER_DAY + minute, kw, wanted_weekend * MINUTES_PER_DAY + wanted_minute,
                         2 * MINUTES_PER_DAY)
        values = np.where(np.isnan(keyed), values, keyed)
    gaps = np.isnan(values).any(axis=1)
    for row, (partial, _, _, frame, cut) in enumerate(members):
        if gaps[row]:
            _profile_alone(partial, target, frame, cut, dt_h, errors)
        else:
            partial.series[target] = values[row], SOURCE_PROFILE
