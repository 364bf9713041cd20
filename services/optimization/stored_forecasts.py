"""Stored forecasts as schedule inputs: the newest one that covers a horizon, as kW on its steps.

The forecasts are read by their owner, :func:`services.forecasting.registry.forecast_candidates`
(many households in one query: a fleet chunk asks once per horizon); this module only picks the
first candidate, newest first, that covers every step and converts it: energy per forecast step
[kWh] to mean power on the horizon's steps [kW], finer forecasts averaged, coarser ones held.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from services.forecasting.registry import ForecastSteps, forecast_candidates
from services.resampling import spread_to_steps

SOURCE_FORECAST = "forecast"
#: Stored forecasts looked at, newest first, before falling back to the profile.
FORECAST_CANDIDATES = 5


def forecast_kw(session: Session, household_id: int, target: str, index: pd.DatetimeIndex, dt_h: float,
                now: datetime) -> tuple[np.ndarray, str] | None:
    """The newest stored forecast of ``target`` issued by ``now`` that covers every step [kW]
    (None: none does), read in ``session``."""
    start, end = horizon_bounds(index, dt_h)
    candidates = forecast_candidates([household_id], [target], start, end, now, FORECAST_CANDIDATES, session=session)
    return first_covering(candidates.get((household_id, target), []), index, dt_h)


def horizon_bounds(index: pd.DatetimeIndex, dt_h: float) -> tuple[datetime, datetime]:
    """``[start, end)`` of the horizon, UTC."""
    return index[0].to_pydatetime(), (index[-1] + pd.Timedelta(hours=dt_h)).to_pydatetime()


def first_covering(candidates: list[ForecastSteps], index: pd.DatetimeIndex, dt_h: float,
                   wanted_ns: np.ndarray | None = None) -> tuple[np.ndarray, str] | None:
    """The first of the forecasts (energy per step [kWh], newest first) that covers every step,
    as mean power on the steps [kW]. ``wanted_ns``: :func:`horizon_ns` of ``index`` when the caller
    has it (a chunk asks for many households on one horizon)."""
    for steps in candidates:
        if wanted_ns is None:
            wanted_ns = horizon_ns(index)
        kw = _on_steps(steps, index, wanted_ns, dt_h)
        if kw is not None:
            return kw, SOURCE_FORECAST
    return None


def _on_steps(steps: ForecastSteps, index: pd.DatetimeIndex, wanted_ns: np.ndarray, dt_h: float) -> np.ndarray | None:
    """Energy per forecast step [kWh] as mean power on the horizon's steps [kW]; None unless
    every step is covered. Finer forecasts are averaged, coarser ones held over their step (the
    power repeated: :func:`services.resampling.spread_to_steps`, as meter readings are spread).

    A forecast on the horizon's own grid (steps of ``dt_h``, on its multiples from the epoch: what
    the forecast job issues) is taken as arrays, each step its own value (a mean of one); others go
    through pandas. ``wanted_ns``: the horizon's step starts [ns, UTC], ``index`` as integers."""
    if len(steps.kwh) < 1:
        return None
    dt = pd.Timedelta(hours=dt_h)
    on_grid = _on_grid(steps.starts_ns, np.asarray(steps.kwh, dtype=float), wanted_ns, dt)
    if on_grid is not False:
        return on_grid
    stamps = pd.DatetimeIndex(pd.to_datetime(steps.starts_ns, unit="ns", utc=True))
    step = pd.Series(stamps).diff().min() if len(stamps) > 1 else pd.Timedelta(hours=dt_h)
    kw = pd.Series(np.asarray(steps.kwh, dtype=float) / (step / pd.Timedelta(hours=1)), index=stamps)
    if step <= dt:
        on_steps = kw.groupby(stamps.floor(dt)).mean().reindex(index)
    else:
        spread, _ = spread_to_steps(kw.to_frame("kw"), int(dt.total_seconds()), {"kw": "power"})
        on_steps = spread["kw"].reindex(index)
    return None if on_steps.isna().any() else on_steps.to_numpy()


def _on_grid(ns: np.ndarray, kwh: np.ndarray, wanted: np.ndarray, dt: pd.Timedelta) -> np.ndarray | None | bool:
    """:func:`_on_steps` of a forecast whose steps are ``dt`` long and start on multiples of ``dt``
    (``ns``: UTC step starts [ns], increasing; ``wanted``: the horizon's), as arrays; False for any
    other forecast. The same numbers as the pandas path: there every group of the floor holds one value."""
    dt_ns = dt.as_unit("ns").value
    diffs = np.diff(ns)
    if dt_ns <= 0 or (diffs <= 0).any() or (len(ns) > 1 and int(diffs.min()) != dt_ns) or (ns % dt_ns).any():
        return False
    at = np.searchsorted(ns, wanted).clip(max=len(ns) - 1)
    if (ns[at] != wanted).any():
        return None
    kw = kwh[at] / (dt_ns / 3_600_000_000_000)
    return None if np.isnan(kw).any() else kw


def horizon_ns(index: pd.DatetimeIndex) -> np.ndarray:
    """The instants of ``index`` as int64 nanoseconds since the epoch (UTC)."""
    return index.asi8 if index.unit == "ns" else index.as_unit("ns").asi8
