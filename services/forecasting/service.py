"""Forecasts for a household, from the store: what pages, the REST API and workers call.

- :func:`forecast_pv` / :func:`forecast_load` run the household's *stored* model on
  its recent readings and the weather known now, store the issued forecast and
  return it. They never train: without a usable model they fall back (physical
  model for PV, persistence for load) and the notes say so; where the newest
  back-test scored the model worse than persistence for the season, the better
  reference forecasts instead, and the notes say that too (:mod:`.trust`).
- :func:`train_models` trains and stores the models (a background job: seconds).
- :func:`backtest_household` runs a rolling-origin back-test on stored readings with
  the weather *as it was known at each origin*, and stores the scores.

Energies are kWh per step (the interval starting at ``ts``), in UTC.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import sqlalchemy as sa

from services.energy.balance import derived_note, derived_quantities
from services.energy.flows import energy_flows
from services.forecasting import load as load_model
from services.forecasting import pv as pv_model
from services.forecasting import registry, trust
from services.forecasting.backtest import (
    Forecaster,
    accuracy,
    daily_origins,
    monthly_accuracy,
    pv_normalizer,
    rolling_origin,
)
from services.forecasting.features import (
    NotEnoughHistory,
    Site,
    forecast_index,
    weather_to_step,
)
from services.forecasting.quantile import Prediction
from services.forecasting.weather_inputs import forecast_weather, known_weather
from services.households import get_household
from services.pvmodel import Location, PVArray
from services.store.db import session_scope
from services.store.models import ENERGY_QUANTITIES, Reading, Series
from services.weather.open_meteo import OpenMeteoClient
from services.weather.store import SiteInfo, observed_weather, site_for_household

#: Readings a model is trained on [days before now].
TRAIN_DAYS = 365
#: PV learns from two years: the sky of one year is a small sample of the climate. On NREL system 50,
#: day-ahead without weather over 2013, retrained every 7 days: nMAE 0.1465 on the last 365 days,
#: 0.1396 on the last 730 (persistence 0.1640).
PV_TRAIN_DAYS = 730
DEFAULT_STEP = timedelta(hours=1)
#: Readings that stop at most this long before the issue time (a meter that uploads once a day) are
#: forecast from: the model starts at the end of the last reading, the forecast is cut to after the issue.
MAX_READINGS_LAG = timedelta(days=2)
#: Readings a forecast reads back from its issue time.
FORECAST_HISTORY = timedelta(days=30)
Progress = Callable[[int, int, str], None]


@dataclass(frozen=True)
class ForecastResult:
    """A household's forecast of ``target`` (``pv`` or ``load``) issued at ``issued_at``.

    ``frame``: by UTC interval start, ``p10``, ``p50``, ``p90`` [kWh per step of ``step``].
    ``method``: ``ml``, ``physical`` or ``persistence`` (also when a back-test overruled the model:
    ``overruled_by_backtest``). ``notes``: sentences to show
    (fallbacks, stale weather, stale model, readings that stop early). ``weather``: ``fresh``
    (fetched now), ``cached`` (fetched within the cache age), ``stored`` (a stored forecast
    covers the hours), ``stale`` (it was issued over :data:`~services.forecasting.weather_inputs.WEATHER_STALE_AFTER` ago),
    ``degraded`` (the provider fails: stored weather) or ``none`` (no weather for these hours).
    ``readings``: the history the forecast started from: ``metered``, ``derived`` (a consumption the
    household does not meter, from PV + grid import − grid export) or ``none`` (no readings in the
    :data:`FORECAST_HISTORY` before the issue time).
    """

    household_id: int
    target: str
    method: str
    issued_at: datetime
    step: timedelta
    frame: pd.DataFrame
    notes: tuple[str, ...] = ()
    weather: str = "none"
    model_id: int | None = None
    forecast_id: int | None = None
    weather_notes: tuple[str, ...] = ()  # those of ``notes`` about the weather (a page shows them apart)
    readings: str = "metered"  # the history it started from: metered, derived (energy balance) or none
    #: The model was there but its newest back-test scored it worse than persistence for this season,
    #: so ``method`` names the better reference that forecast instead (:mod:`~services.forecasting.trust`).
    overruled_by_backtest: bool = False


@dataclass
class TrainReport:
    """What :func:`train_models` did: model ids per target, reasons for targets skipped, seconds."""

    household_id: int
    trained: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Household:
    id: int
    site: Site
    arrays: tuple[PVArray, ...]
    weather_site: SiteInfo | None


def forecast_pv(household_id: int, hours: int = 48, now: datetime | None = None, store: bool = True,
                fetch_weather: bool = True, client: OpenMeteoClient | None = None) -> ForecastResult:
    """PV forecast [kWh per step] for the ``hours`` after ``now`` with the stored model.

    ``fetch_weather`` asks the weather provider (through its cache and breaker); otherwise
    only weather already in the store is used.
    """
    household = _household(household_id)
    if not household.arrays:
        raise ValueError(f"household {household_id} has no PV system: add one to get a PV forecast")
    return _forecast(household, "pv", hours, now, store, fetch_weather, client)


def forecast_load(household_id: int, hours: int = 48, now: datetime | None = None, store: bool = True,
                  fetch_weather: bool = True, client: OpenMeteoClient | None = None) -> ForecastResult:
    """Consumption forecast [kWh per step] for the ``hours`` after ``now`` with the stored model
    (not stored without readings in the :data:`MAX_READINGS_LAG` before ``now``: zeros plan nothing)."""
    return _forecast(_household(household_id), "load", hours, now, store, fetch_weather, client)


def stored_forecast(household_id: int, target: str) -> registry.StoredForecast | None:
    """The newest forecast stored for a household (what a page shows without computing anything)."""
    return registry.latest_forecast(household_id, target)


def model_status(household_id: int, now: datetime | None = None) -> dict[str, tuple[bool, str]]:
    """Per target: (needs training, why) for the household's stored models."""
    versions = {"pv": pv_model.MODEL_VERSION, "load": load_model.MODEL_VERSION}
    return {t: registry.is_stale(registry.latest_model(household_id, t), v, now) for t, v in versions.items()}


def train_models(household_id: int, now: datetime | None = None, targets: tuple[str, ...] = ("pv", "load"),
                 progress: Progress | None = None) -> TrainReport:
    """Train and store the household's models on their last days of readings (load:
    :data:`TRAIN_DAYS`, PV: :data:`PV_TRAIN_DAYS`): those before ``now``, or, for a household whose
    readings stop earlier, those before they stop (``notes`` says so)."""
    now = _utc(now)
    household = _household(household_id)
    report = TrainReport(household_id)
    end = readings_end(household_id)
    if end is not None and end < now - MAX_READINGS_LAG:
        report.notes.append(f"readings stop at {end:%Y-%m-%d %H:%M} UTC: trained on the {TRAIN_DAYS} days before")
        now = end
    todo = [t for t in targets if t != "pv" or household.arrays]
    if "pv" in targets and not household.arrays:
        report.skipped["pv"] = "no PV system"
    for i, target in enumerate(todo):
        if progress:
            progress(i, len(todo), f"training the {target} model")
        history, step = _history(household, target, now - timedelta(days=_train_days(target)), now)
        weather = _observed(household, history.index.min(), now, step) if not history.empty else None
        started = time.perf_counter()
        try:
            model, metrics = _fit(household, target, history, step, weather)
        except NotEnoughHistory as exc:
            report.skipped[target] = str(exc)
            continue
        report.seconds[target] = round(time.perf_counter() - started, 2)
        metrics["train_seconds"] = report.seconds[target]
        report.notes.extend(metrics.get("notes", []))
        version = pv_model.MODEL_VERSION if target == "pv" else load_model.MODEL_VERSION
        report.trained[target] = registry.save_model(
            household_id, target, model, version, model.train_start.to_pydatetime(),
            model.train_end.to_pydatetime(), model.feature_names(), metrics,
        )
    if progress:
        progress(len(todo), len(todo), "done")
    return report


def backtest_household(household_id: int, target: str, start: datetime, end: datetime,
                       retrain_every: int = 7, progress: Progress | None = None) -> dict:
    """Rolling-origin back-test over ``[start, end)``, day-ahead from local midnight; scores stored.

    Each origin's model is trained on readings before it; its weather is what the store knew
    at the origin (:func:`~services.weather.store.weather_known_at`). Returns the stored
    metrics: ``overall`` and ``monthly`` (see :func:`~services.forecasting.backtest.accuracy`).
    """
    household = _household(household_id)
    if target == "pv" and not household.arrays:
        raise ValueError(f"household {household_id} has no PV system to back-test")
    start, end = _utc(start), _utc(end)
    actual, step = _history(household, target, start - timedelta(days=_train_days(target)), end)
    if actual.empty:
        raise ValueError(f"household {household_id} has no {target} readings before {end:%Y-%m-%d}")
    observed = _observed(household, actual.index.min(), end, step)

    def fit(history: pd.Series, origin: pd.Timestamp):
        # Observed weather of intervals that had ended by the origin, like the readings.
        past = None if observed is None else observed[observed.index + pd.Timedelta(step) <= origin]
        try:
            return _fit(household, target, history, step, past)[0]
        except NotEnoughHistory:
            return None

    def predict(model, history: pd.Series, origin: pd.Timestamp, hours: float) -> Prediction:
        weather = known_weather(household, origin, hours, step)
        return _predict(household, target, model, history, origin, hours, weather, step)

    references = {}
    if target == "pv":
        references["physical"] = lambda history, origin, index: pv_model.physical_pv(
            _pv_setup(household, step), origin, len(index) * step / timedelta(hours=1),
            known_weather(household, origin, 24, step)).frame["p50"].reindex(index).to_numpy()
    origins = daily_origins(pd.Timestamp(start), pd.Timestamp(end), household.site.timezone)
    origins = origins[origins + pd.Timedelta(days=1) <= pd.Timestamp(end)]  # whose next 24 h end by ``end``
    result = rolling_origin(actual, Forecaster(fit, predict, references), origins, hours=24, step=step,
                            retrain_every=retrain_every,
                            progress=(lambda i, n: progress(i, n, "back-testing")) if progress else None)
    frame = result.frame
    if target == "pv":
        normalizer = pv_normalizer(actual)
        mask = frame["physical"].notna() & (frame["persistence"].notna())
        mask &= pv_model.pv_physics(pd.DatetimeIndex(frame.index), household.arrays, household.site.location,
                                    None, step)["clearsky_kwh"].to_numpy() > 0
    else:
        normalizer = float(actual.mean())
        mask = None
    metrics = {
        "overall": _jsonable(accuracy(frame, normalizer, mask=mask)),
        "monthly": {m: _jsonable(r) for m, r in
                    monthly_accuracy(frame, normalizer, household.site.timezone, mask).to_dict("index").items()},
        "baselines": _baseline_scores(frame, normalizer, household.site.timezone, mask,
                                      ("persistence", "physical") if target == "pv" else ("persistence",)),
        "normalizer": normalizer, "methods": result.methods, "retrain_every_days": retrain_every,
        "model_version": registry.version_tag(pv_model.MODEL_VERSION if target == "pv" else load_model.MODEL_VERSION),
        "step_minutes": step / timedelta(minutes=1),
        "weather": "as known at each origin (stored forecasts, observations up to the origin)",
    }
    registry.save_backtest(household_id, target, start, end, metrics)
    return metrics


# --- internals -------------------------------------------------------------------------------


def _forecast(household: _Household, target: str, hours: int, now: datetime | None, store: bool,
              fetch_weather: bool, client: OpenMeteoClient | None) -> ForecastResult:
    if not 1 <= hours <= 168:
        raise ValueError(f"hours must be between 1 and 168, got {hours}")
    now = _utc(now)
    issue = pd.Timestamp(now)
    stored = registry.latest_model(household.id, target)
    version = pv_model.MODEL_VERSION if target == "pv" else load_model.MODEL_VERSION
    stale, why = registry.is_stale(stored, version, now)
    usable = stored is not None and stored.estimator is not None and stored.version == registry.version_tag(version)
    step = stored.estimator.setup.step if usable and target == "pv" else (
        stored.estimator.step if usable else _series_step(household, target))
    history, _ = _history(household, target, now - FORECAST_HISTORY, now)
    basis, basis_notes, recent = _basis(history, target, issue, step)
    wanted = forecast_index(issue, hours, step)
    # From the basis to the last interval wanted: the model's own lead times, then cut to the issue's.
    span_h = (wanted[-1] + pd.Timedelta(step) - basis) / pd.Timedelta(hours=1)
    weather, weather_state, weather_notes = forecast_weather(household, issue, basis, span_h, wanted, step,
                                                              fetch_weather, client)
    prediction = _predict(household, target, stored.estimator if usable else None, history, basis, span_h,
                          weather, step, reason=why)
    overruled = False
    if prediction.method == "ml":
        verdict = _backtest_verdict(household, target, wanted[0], version)
        if verdict is not None and verdict.method != "ml":
            prediction = _reference(household, target, verdict.method, history, basis, span_h, weather, step,
                                    verdict.note)
            overruled = True
    notes = [*prediction.notes, *weather_notes, *basis_notes]
    readings = "none" if history.empty else "metered"
    if target in _derived(household.id):
        readings = "derived" if readings != "none" else readings
        notes.append(derived_note((target,)))
    if usable and stale:
        notes.append(f"model needs retraining: {why}")
    frame = prediction.frame.reindex(wanted)
    frame.index.name = "ts"
    model_id = stored.id if usable and not overruled else None
    forecast_id = None
    if store and (recent or target == "pv"):  # a load "forecast" without readings is no forecast to plan with
        forecast_id = registry.save_forecast(household.id, target, prediction.method, frame, now, model_id,
                                             " ".join(notes))
    return ForecastResult(household.id, target, prediction.method, now, step, frame, tuple(notes),
                          weather_state, model_id, forecast_id, tuple(weather_notes), readings, overruled)


def _derived(household_id: int) -> tuple[str, ...]:
    with session_scope() as session:
        return derived_quantities([household_id], session).get(household_id, ())


def _train_days(target: str) -> int:
    return PV_TRAIN_DAYS if target == "pv" else TRAIN_DAYS


def _backtest_verdict(household: _Household, target: str, first: pd.Timestamp,
                      version: str) -> trust.Verdict | None:
    """What the newest back-test says of the model for the local month of ``first`` (see :mod:`.trust`)."""
    month = pd.Timestamp(first).tz_convert(household.site.timezone).month
    references = ("persistence", "physical") if target == "pv" else ("persistence",)
    return trust.backtest_verdict(registry.latest_backtest(household.id, target), month, references,
                                  registry.version_tag(version))


def _reference(household: _Household, target: str, method: str, history: pd.Series, issue: pd.Timestamp,
               hours: float, weather: pd.DataFrame | None, step: timedelta, reason: str) -> Prediction:
    """The forecast of a reference method (``persistence``, or ``physical`` for PV) that replaces the model."""
    if target == "load":
        return load_model.persistence_load(history, issue, hours, step, reason)
    setup = _pv_setup(household, step)
    if method == "physical":
        return pv_model.physical_pv(setup, issue, hours, weather, reason, history=history)
    return pv_model.persistence_pv(setup, history, issue, hours, reason)


def _basis(history: pd.Series, target: str, issue: pd.Timestamp, step: timedelta):
    """Where the model starts from: ``issue``, or the end of the last reading when readings stop
    up to :data:`MAX_READINGS_LAG` before it; notes; whether there are recent readings at all."""
    label = "PV" if target == "pv" else "load"
    if history.empty:
        return issue, [f"no {label} readings in the {FORECAST_HISTORY.days} days before {issue:%Y-%m-%d %H:%M} UTC: "
                       "the forecast has no recent readings to go on"], False
    end = pd.Timestamp(history.index[-1]) + pd.Timedelta(step)
    lag = issue - end
    if lag <= pd.Timedelta(step):
        return issue, [], True
    when = f"{label} readings stop at {end:%Y-%m-%d %H:%M} UTC"
    if lag > MAX_READINGS_LAG:
        return issue, [f"{when}, {lag.days} days before this forecast: too long ago to start from; "
                       "ingest recent readings"], False
    return end, [f"{when}: the forecast starts from them, {lag / pd.Timedelta(hours=1):.0f} h before its issue"], True


def _predict(household: _Household, target: str, model, history: pd.Series, issue: pd.Timestamp, hours: float,
             weather: pd.DataFrame | None, step: timedelta, reason: str = "") -> Prediction:
    if target == "pv":
        if model is None:
            return pv_model.physical_pv(_pv_setup(household, step), issue, hours, weather, reason or
                                        "no trained model", history=history)
        return pv_model.predict_pv(model, history, issue, hours, weather)
    if model is None:
        return load_model.persistence_load(history, issue, hours, step, reason or "no trained model")
    return load_model.predict_load(model, history, issue, hours, weather)


def _fit(household: _Household, target: str, history: pd.Series, step: timedelta,
         weather: pd.DataFrame | None) -> tuple[object, dict]:
    if target == "pv":
        setup = _pv_setup(household, step)
        model = pv_model.fit_pv(history, setup, weather)
        metrics = dict(model.info)
        estimated = pv_model.estimate_kwp(history, setup)
        if estimated is not None:
            metrics["kwp_estimated"] = round(estimated, 2)
            if not 0.6 <= estimated / setup.kwp <= 1.4:
                metrics["notes"] = [f"readings suggest {estimated:.1f} kWp but {setup.kwp:.1f} kWp is declared: "
                                    "check the system size, the meter scale or the array for a defect"]
        return model, metrics
    model = load_model.fit_load(history, household.site, step, weather)
    return model, dict(model.info)


def _household(household_id: int) -> _Household:
    detail = get_household(household_id)
    weather_site = site_for_household(household_id)
    altitude = weather_site.altitude_m if weather_site is not None else None
    site = Site(Location(detail.latitude, detail.longitude, altitude), detail.timezone)
    arrays = tuple(PVArray.of(p) for p in detail.pv_systems)
    return _Household(household_id, site, arrays, weather_site)


def _pv_setup(household: _Household, step: timedelta) -> pv_model.PVSetup:
    return pv_model.PVSetup(household.arrays, household.site, step)


def readings_end(household_id: int) -> datetime | None:
    """The end of the household's newest energy reading interval [UTC] (None: no readings)."""
    query = (sa.select(sa.func.max(Reading.ts), sa.func.max(Series.resolution_s))
             .join(Series, Series.id == Reading.series_id)
             .where(Series.household_id == household_id, Series.quantity.in_(ENERGY_QUANTITIES)))
    with session_scope() as session:
        last, resolution_s = session.execute(query).one()
    if last is None:
        return None
    stamp = pd.Timestamp(last, unit="s", tz="UTC") if isinstance(last, (int, float)) else pd.Timestamp(last)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return (stamp + pd.Timedelta(seconds=resolution_s or 0)).to_pydatetime()


def _series_step(household: _Household, target: str) -> timedelta:
    with session_scope() as session:
        seconds = session.query(Series.resolution_s).filter(
            Series.household_id == household.id, Series.quantity == target).limit(1).scalar()
    return timedelta(seconds=seconds) if seconds else DEFAULT_STEP


def _history(household: _Household, target: str, start: datetime, end: datetime) -> tuple[pd.Series, timedelta]:
    step = _series_step(household, target)
    flows = energy_flows(household.id, int(step.total_seconds()), start, end)
    if flows.empty or target not in flows.columns:
        return pd.Series(dtype=float, index=pd.DatetimeIndex([], tz="UTC")), step
    return flows[target].dropna().astype(float), step


def _observed(household: _Household, start, end, step: timedelta) -> pd.DataFrame | None:
    if household.weather_site is None or start is None or pd.isna(start):
        return None
    frame = observed_weather(household.weather_site.id, pd.Timestamp(start).to_pydatetime(), end)
    return weather_to_step(frame, step, household.site.location) if not frame.empty else None


def _baseline_scores(frame: pd.DataFrame, normalizer: float, timezone: str, mask, references) -> dict:
    """Each baseline's MAE, RMSE, bias [kWh per step] and nMAE on the model's rows: ``{name: {overall, monthly}}``."""
    keep = ("n", "mae", "rmse", "bias", "nmae", "skill_persistence")
    mask = np.ones(len(frame), dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    months = pd.DatetimeIndex(frame.index).tz_convert(timezone).strftime("%Y-%m")
    out = {}
    for name in references:
        def score(rows: np.ndarray, name=name) -> dict:
            # The model's default references, so that the same rows are scored as for the model.
            scores = accuracy(frame[rows], normalizer, forecast=name, mask=mask[rows])
            return _jsonable({k: v for k, v in scores.items() if k in keep and k != f"skill_{name}"})
        out[name] = {"overall": score(np.ones(len(frame), dtype=bool)),
                     "monthly": {m: score(np.asarray(months == m)) for m in sorted(set(months))}}
    return out


def _jsonable(values: dict) -> dict:
    return {k: (None if isinstance(v, float) and not np.isfinite(v) else
                (int(v) if isinstance(v, (np.integer,)) else float(v) if isinstance(v, (np.floating, float)) else v))
            for k, v in values.items()}


def _utc(value: datetime | None) -> datetime:
    if value is None:
        return datetime.now(UTC)
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value.isoformat()} given: attach a time zone")
    return value.astimezone(UTC)
