"""What the forecast page (and the forecast CLI) needs for one household, in one call each.

- :func:`forecast_overview`: the PV and load forecasts for the next hours (stored models, no
  training, weather from the store only: never the network), the readings of the days
  before, and the state of the stored models.
- :func:`accuracy_table`: the newest stored back-test of each target as rows (model against
  persistence and, for PV, the physical model alone; overall and per month).
- :func:`backtest_days`: a back-test of local days ``first``..``last`` for PV and load.

Energies are kWh per step (the interval starting at ``ts``, UTC).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pandas as pd

from services.energy.flows import energy_flows
from services.forecasting import load as load_model
from services.forecasting import pv as pv_model
from services.forecasting import registry
from services.forecasting.service import (
    MAX_READINGS_LAG,
    ForecastResult,
    Progress,
    backtest_household,
    forecast_load,
    forecast_pv,
    readings_end,
)
from services.households import get_household

#: Days of readings drawn before the forecast.
ACTUAL_DAYS = 3
#: What each method is called in the accuracy table.
METHOD_LABELS = {"model": "Forecast model", "persistence": "Persistence (same time, last day)",
                 "physical": "Physical model alone"}
TARGET_LABELS = {"pv": "PV", "load": "Load"}
#: The accuracy table's period of the whole back-test (the others are months, ``YYYY-MM``).
ALL = "All"


@dataclass(frozen=True)
class ModelInfo:
    """A target's newest stored model: when it was trained [UTC], on which readings, its version,
    and whether it needs training again (``why``). ``trained_at`` None: there is none."""

    target: str
    trained_at: datetime | None
    train_start: datetime | None
    train_end: datetime | None
    version: str | None
    train_seconds: float | None
    needs_training: bool
    why: str


@dataclass(frozen=True)
class ForecastOverview:
    """A household's forecasts as issued at ``as_of`` with the readings around them.

    ``live``: ``as_of`` is now. When the household's readings stop more than
    :data:`~services.forecasting.service.MAX_READINGS_LAG` before now, ``as_of`` is the end of its
    readings instead (a forecast from months-old readings says nothing), and ``notes`` says so.
    Nothing is stored (a page view only reads). ``pv`` is None without a PV system.
    ``actual``: readings by UTC step start, ``pv`` and ``load`` [kWh per step].
    """

    household_id: int
    household_name: str
    timezone: str
    as_of: datetime
    live: bool
    readings_end: datetime | None
    pv: ForecastResult | None
    load: ForecastResult
    actual: pd.DataFrame
    models: dict[str, ModelInfo]
    notes: tuple[str, ...] = ()


#: What a household's forecasts were issued from (:attr:`IssuedForecasts.basis`).
BASIS_LIVE = "live"  # now, from readings up to now (or up to MAX_READINGS_LAG before)
BASIS_READINGS_END = "readings_end"  # the readings stop earlier: issued as at their end
BASIS_NO_READINGS = "no_readings"  # no readings at all: the fallbacks alone


@dataclass(frozen=True)
class IssuedForecasts:
    """A household's PV and load forecasts as the page and the REST API both get them.

    ``basis``: :data:`BASIS_LIVE`, :data:`BASIS_READINGS_END` (``as_of`` is the end of its readings,
    which stop more than :data:`~services.forecasting.service.MAX_READINGS_LAG` before now: a
    forecast from no recent readings would be all zeros) or :data:`BASIS_NO_READINGS`.
    ``pv`` is None without a PV system. ``notes``: why ``as_of`` is not now.
    """

    household_id: int
    household_name: str
    timezone: str
    as_of: datetime
    basis: str
    readings_end: datetime | None
    pv: ForecastResult | None
    load: ForecastResult
    notes: tuple[str, ...] = ()

    @property
    def live(self) -> bool:
        return self.basis != BASIS_READINGS_END


def issue_forecasts(household_id: int, hours: int = 48, now: datetime | None = None,
                    store: bool = False) -> IssuedForecasts:
    """PV and load forecasts for the ``hours`` after now, or after the end of the household's
    readings where they stop earlier (see :class:`IssuedForecasts`), from the stored models and
    stored weather, never the network. ``store`` keeps them for the optimizer (POST
    /api/forecast/{id}, ``forecast-issue``); a page view or a GET only reads. Raises :class:`~services.households.HouseholdNotFound`.
    """
    now = _utc(now or datetime.now(UTC))
    household = get_household(household_id)
    end = readings_end(household_id)
    basis = BASIS_NO_READINGS if end is None else BASIS_LIVE if now - end <= MAX_READINGS_LAG else BASIS_READINGS_END
    live = basis != BASIS_READINGS_END
    as_of = now if live else end
    notes = []
    if not live:
        notes.append(f"The readings of this household stop at {_local(end, household.timezone)}, "
                     f"{(now - end).days} days ago: the forecast is shown as it would have been issued then. "
                     "Ingest recent readings (Data page) for a forecast of the coming hours.")
    pv = forecast_pv(household_id, hours, as_of, store=store, fetch_weather=False) if household.pv_systems else None
    load = forecast_load(household_id, hours, as_of, store=store, fetch_weather=False)
    return IssuedForecasts(household_id, household.name, household.timezone, as_of, basis, end, pv, load,
                           tuple(notes))


def forecast_overview(household_id: int, hours: int = 48, now: datetime | None = None,
                      actual_days: int = ACTUAL_DAYS) -> ForecastOverview:
    """PV and load forecasts for the ``hours`` after now (or after the readings' end, see
    :class:`ForecastOverview`) from the stored models and stored weather, never the network
    (:func:`issue_forecasts`, as the REST API), with the readings of the days before.

    Raises :class:`~services.households.HouseholdNotFound` for an unknown household.
    """
    now = _utc(now or datetime.now(UTC))
    issued = issue_forecasts(household_id, hours, now)
    pv, load, as_of, end, live = issued.pv, issued.load, issued.as_of, issued.readings_end, issued.live
    step = (pv or load).step
    flows = energy_flows(household_id, int(step.total_seconds()), as_of - timedelta(days=actual_days),
                         as_of + timedelta(hours=hours))
    actual = flows.reindex(columns=["pv", "load"]) if not flows.empty else pd.DataFrame(
        columns=["pv", "load"], index=pd.DatetimeIndex([], tz="UTC"), dtype=float)
    actual.index.name = "ts"
    return ForecastOverview(household_id, issued.household_name, issued.timezone, as_of, live, end, pv, load, actual,
                            model_info(household_id, now), issued.notes)


def model_info(household_id: int, now: datetime | None = None) -> dict[str, ModelInfo]:
    """Per target (``pv``, ``load``): the newest stored model and whether it needs training."""
    versions = {"pv": pv_model.MODEL_VERSION, "load": load_model.MODEL_VERSION}
    out = {}
    for target, version in versions.items():
        stored = registry.latest_model(household_id, target)
        stale, why = registry.is_stale(stored, version, now)
        if stored is None:
            out[target] = ModelInfo(target, None, None, None, None, None, True, why)
            continue
        seconds = stored.metrics.get("train_seconds")
        out[target] = ModelInfo(target, stored.trained_at, stored.train_start, stored.train_end, stored.version,
                                float(seconds) if seconds is not None else None, stale, why)
    return out


def accuracy_table(household_id: int) -> tuple[pd.DataFrame, list[str]]:
    """The newest back-test of each target as rows, and one sentence per back-test saying what it covered.

    Rows: ``target``, ``period`` (:data:`ALL` or ``YYYY-MM``), ``method`` (label), ``n`` (steps scored),
    ``mae``, ``rmse``, ``bias`` [kWh per step; bias = forecast - actual], ``nmae`` [-],
    ``skill_persistence``, ``skill_physical`` [-; 1 - MAE / MAE of the baseline], ``step_minutes``.
    Empty (no rows) when no back-test is stored.
    """
    rows, summaries = [], []
    tz = get_household(household_id).timezone
    for target in registry.TARGETS:
        stored = registry.latest_backtest(household_id, target)
        if stored is None:
            continue
        metrics = stored["metrics"]
        baselines = metrics.get("baselines", {})
        step = metrics.get("step_minutes")
        periods = {ALL: metrics.get("overall", {}), **metrics.get("monthly", {})}
        for period, scores in periods.items():
            rows.append(_row(target, period, "model", scores, step))
            for name in (("persistence", "physical") if target == "pv" else ("persistence",)):
                base = baselines.get(name, {})
                base_scores = base.get("overall", {}) if period == ALL else base.get("monthly", {}).get(period, {})
                rows.append(_row(target, period, name, base_scores or _from_model(scores, name), step))
        summaries.append(_summary(target, stored, tz))
    columns = ["target", "period", "method", "n", "mae", "rmse", "bias", "nmae", "skill_persistence",
               "skill_physical", "step_minutes"]
    return pd.DataFrame(rows, columns=columns), summaries


def backtest_days(household_id: int, first: date, last: date, targets: tuple[str, ...] = ("pv", "load"),
                  progress: Progress | None = None) -> dict[str, dict]:
    """Back-test local days ``first``..``last`` (both included) of each target; PV is skipped
    without a PV system. Returns the stored metrics per target (see
    :func:`~services.forecasting.service.backtest_household`).

    Raises ``ValueError`` for an empty period or one without readings, with the reason.
    """
    if last < first:
        raise ValueError(f"the back-test period ends ({last}) before it starts ({first})")
    household = get_household(household_id)
    zone = ZoneInfo(household.timezone)
    start = datetime.combine(first, datetime.min.time(), zone)
    end = datetime.combine(last + timedelta(days=1), datetime.min.time(), zone)
    todo = [t for t in targets if t != "pv" or household.pv_systems]
    if not todo:
        raise ValueError(f"household {household_id} has no PV system, and only PV was asked for")
    out = {}
    for i, target in enumerate(todo):
        def step(done: int, total: int, label: str, i=i, target=target) -> None:
            if progress is not None:
                progress(i * 100 + round(100 * done / max(total, 1)), 100 * len(todo),
                         f"{TARGET_LABELS[target]} {label}")
        out[target] = backtest_household(household_id, target, start, end, progress=step)
    return out


def _row(target: str, period: str, method: str, scores: dict, step) -> dict:
    skill_physical = scores.get("skill_physical") if method == "model" else None
    skill_persistence = scores.get("skill_persistence") if method != "persistence" else 0.0
    return {"target": TARGET_LABELS[target], "period": period, "method": METHOD_LABELS[method],
            "n": scores.get("n"), "mae": scores.get("mae"), "rmse": scores.get("rmse"), "bias": scores.get("bias"),
            "nmae": scores.get("nmae"), "skill_persistence": skill_persistence, "skill_physical": skill_physical,
            "step_minutes": step}


def _from_model(scores: dict, name: str) -> dict:
    # Back-tests stored before baselines were scored on their own carry only their MAE and nMAE.
    if f"mae_{name}" not in scores:
        return {}
    mae_pers = scores.get("mae_persistence")
    skill = (1 - scores[f"mae_{name}"] / mae_pers) if name != "persistence" and mae_pers else None
    return {"n": scores.get("n"), "mae": scores[f"mae_{name}"], "nmae": scores.get(f"nmae_{name}"),
            "skill_persistence": skill}


def _summary(target: str, stored: dict, tz: str) -> str:
    metrics = stored["metrics"]
    methods = ", ".join(f"{n} by {m}" for m, n in sorted(metrics.get("methods", {}).items()))
    first = pd.Timestamp(stored["period_start"]).tz_convert(tz)
    last = (pd.Timestamp(stored["period_end"]) - pd.Timedelta(seconds=1)).tz_convert(tz)
    return (f"{TARGET_LABELS[target]}: {first:%Y-%m-%d} to {last:%Y-%m-%d}, a day-ahead forecast from each local "
            f"midnight ({methods or 'none'}), retrained every {metrics.get('retrain_every_days', '?')} days; "
            f"weather {metrics.get('weather', 'as known at each origin')}; run "
            f"{pd.Timestamp(stored['created_at']):%Y-%m-%d %H:%M} UTC.")


def _local(value: datetime, tz: str) -> str:
    return f"{pd.Timestamp(value).tz_convert(tz):%Y-%m-%d %H:%M} ({tz})"


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value.isoformat()} given: attach a time zone")
    return value.astimezone(UTC)


def backtest_last_days(household_id: int, days: int, progress: Progress | None = None) -> dict[str, dict]:
    """:func:`backtest_days` over the last ``days`` local days with readings (up to the last one,
    even if it is not whole). Raises ``ValueError`` without readings or for ``days`` < 1."""
    if days < 1:
        raise ValueError(f"a back-test needs at least one day, got {days}")
    end = readings_end(household_id)
    if end is None:
        raise ValueError("this household has no PV or load readings to back-test on")
    tz = get_household(household_id).timezone
    last = (pd.Timestamp(end) - pd.Timedelta(seconds=1)).tz_convert(tz).date()
    return backtest_days(household_id, last - timedelta(days=days - 1), last, progress=progress)
