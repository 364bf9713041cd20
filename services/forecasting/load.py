"""Load forecast: gradient boosting that corrects "same time on the last known day".

Household consumption repeats by the day and the week, and drifts with the
season, the household's habits and the weather. The model predicts the
*difference* to persistence (the same time on the last day known at issue),
from the calendar, longer lags (a week, two weeks), recent levels, the sun
and, when known, the air temperature. Learning a correction keeps the model
anchored when the level moves beyond anything seen in training, where trees
alone cannot extrapolate; recent weeks weigh more than old ones (half-life
:data:`HALF_LIFE_DAYS`), so a changed household is learned quickly.

Two variants are trained at once: ``weather`` (with temperature) and
``calendar`` (without); their P10-P90 band is calibrated on held-out weeks
(:mod:`~services.forecasting.quantile`), in kWh. With less than
:data:`MIN_HISTORY_DAYS` days of readings the forecast is persistence, and says
so. Energies are kWh per step.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta

import numpy as np
import pandas as pd

from services.forecasting.features import (
    DAY,
    HORIZON,
    ISSUE_EVERY,
    MAX_ROWS,
    MIN_WEATHER_COVERAGE,
    WEEK,
    NotEnoughHistory,
    Site,
    calendar_features,
    days_with_data,
    forecast_index,
    issue_grid,
    known_lag,
    last_known,
    persistence_quantiles,
    recent,
    regular,
    sun_features,
    training_issues,
    weather_coverage,
    window_stats,
)
from services.forecasting.quantile import Prediction, QuantileModel, fit_quantiles, holdout_weeks, subsample

MODEL_VERSION = "load-2"
MIN_HISTORY_DAYS = 35
HALF_LIFE_DAYS = 30.0
#: The most recent days of training issues held out to choose how far to trust the model
#: over persistence (:func:`_correction_weight`).
VALIDATION_DAYS = 14
#: Readings read at prediction time: two weeks of lags plus the week they average over.
HISTORY_WINDOW = timedelta(days=22)

BASE = ("horizon_h", "hour", "dow", "lag_day", "lag_week", "lag_week2", "same_time_7d", "mean_24h",
        "mean_168h", "last", "ghi_clearsky", "solar_elevation")
VARIANTS: dict[str, tuple[str, ...]] = {
    "weather": BASE + ("temp_air",),
    "calendar": BASE,
}


@dataclass
class LoadModel:
    """A trained load model: where the household is, the step, fitted variants, training window (UTC)."""

    site: Site
    step: timedelta
    variants: dict[str, QuantileModel]
    train_start: pd.Timestamp
    train_end: pd.Timestamp
    version: str = MODEL_VERSION
    info: dict = field(default_factory=dict)

    def feature_names(self) -> list[str]:
        """``variant:feature`` for every feature of every variant."""
        return [f"{name}:{f}" for name, model in self.variants.items() for f in model.features]


def fit_load(history: pd.Series, site: Site, step: timedelta = timedelta(hours=1),
             weather: pd.DataFrame | None = None, issue_every: timedelta = ISSUE_EVERY,
             horizon: timedelta = HORIZON, max_rows: int = MAX_ROWS, max_iter_scale: float = 1.0,
             quantiles: Sequence[float] = (0.1, 0.5, 0.9),
             variants: Sequence[str] = ("weather", "calendar")) -> LoadModel:
    """Learn a household's consumption [kWh per step] from its history.

    ``weather`` (``temp_air`` [degC]) over the history enables the ``weather`` variant.
    ``quantiles`` may be cut to ``(0.5,)`` where only the median is scored (back-tests).

    Raises
    ------
    NotEnoughHistory
        With fewer than :data:`MIN_HISTORY_DAYS` days of readings.
    """
    grid = regular(history, step)
    days = days_with_data(grid)
    if days < MIN_HISTORY_DAYS:
        raise NotEnoughHistory(f"{days} days of load readings; the learned model needs at least {MIN_HISTORY_DAYS}")
    end = grid.index[-1] + pd.Timedelta(step)
    rows = issue_grid(training_issues(grid.index[0], end, issue_every, warmup=timedelta(days=8)), horizon, step)
    rows = rows[rows.index < end]
    issues = pd.DatetimeIndex(rows["issue"])
    frame = _features(rows.index, issues, grid, site, step, weather)
    frame["y"] = grid.reindex(frame.index).to_numpy()
    frame["age_days"] = ((end - issues) / DAY).to_numpy()
    frame["issue"] = issues
    frame = frame[frame["y"].notna() & frame["baseline"].notna()]
    # Recent weeks count more (half-life HALF_LIFE_DAYS). Drawing rows in proportion to that
    # weight does it without sample weights, which make scikit-learn's binning and quantile
    # leaves several times slower (weighted percentiles).
    recency = 0.5 ** (frame["age_days"].to_numpy() / HALF_LIFE_DAYS)
    frame = frame.iloc[subsample(len(frame), max_rows, preference=recency)]
    residual = frame["y"] - frame["baseline"]
    fitted, trust = {}, {}
    for name in variants:
        if name == "weather" and frame["temp_air"].notna().mean() < 0.5:
            continue
        trust[name] = _correction_weight(frame, residual, VARIANTS[name], end, max_iter_scale)
        fitted[name] = fit_quantiles(frame, residual, VARIANTS[name], quantiles=quantiles,
                                     max_iter_scale=max_iter_scale, holdout=holdout_weeks(frame.index))
    return LoadModel(site=site, step=step, variants=fitted, train_start=grid.index[0], train_end=end,
                     info={"rows": len(frame), "days": days, "correction_weight": trust})


def predict_load(model: LoadModel, history: pd.Series, issue: pd.Timestamp, hours: float = 48,
                 weather: pd.DataFrame | None = None) -> Prediction:
    """P10/P50/P90 consumption [kWh per step] for ``hours`` after ``issue``.

    Only readings of intervals ended by ``issue`` are read from ``history``; ``weather`` is
    the temperature forecast known at ``issue`` (the ``calendar`` variant answers without it).
    """
    issue = pd.Timestamp(issue)
    index = forecast_index(issue, hours, model.step)
    grid = recent(history, issue, model.step, HISTORY_WINDOW)
    features = _features(index, pd.DatetimeIndex([issue] * len(index)), grid, model.site, model.step, weather)
    variant, notes = "weather", []
    if "weather" not in model.variants or weather_coverage(weather, index, "temp_air") < MIN_WEATHER_COVERAGE:
        variant = "calendar"
        if "weather" in model.variants:
            notes.append("no temperature forecast for these hours: forecast from the calendar and recent use")
    correction = model.variants[variant].predict(features)
    # Shrink the median correction by the trust earned on held-out days; the band keeps its width.
    trust = model.info.get("correction_weight", {}).get(variant, 1.0)
    shift = (trust - 1.0) * correction["p50"].to_numpy()
    baseline = features["baseline"].fillna(0.0).to_numpy()
    values = correction.to_numpy() + (baseline + shift)[:, None]
    if np.isnan(features["baseline"]).any():
        notes.append("some hours have no recent readings to start from: forecast may be low")
    return Prediction(_non_negative(values, index, correction.columns), "ml", variant, tuple(notes))


def persistence_load(history: pd.Series, issue: pd.Timestamp, hours: float = 48,
                     step: timedelta = timedelta(hours=1), reason: str = "") -> Prediction:
    """Persistence [kWh per step]: P50 is the same time on the last known day; P10/P90 the
    10th/90th percentiles of that time over the last known week (:func:`persistence_quantiles`)."""
    issue = pd.Timestamp(issue)
    index = forecast_index(issue, hours, step)
    values = persistence_quantiles(recent(history, issue, step, HISTORY_WINDOW), index, issue, step)
    note = f"persistence (same time on the last known day){': ' + reason if reason else ''}"
    return Prediction(_non_negative(values, index, ["p10", "p50", "p90"]), "persistence", "persistence", (note,))


# --- internals -------------------------------------------------------------------------------


def _features(ts: pd.DatetimeIndex, issue: pd.DatetimeIndex, grid: pd.Series, site: Site, step: timedelta,
              weather: pd.DataFrame | None) -> pd.DataFrame:
    frame = pd.DataFrame(index=ts)
    frame["horizon_h"] = ((ts - issue) / pd.Timedelta(hours=1)).to_numpy()
    calendar = calendar_features(ts, site.timezone)
    frame["hour"] = calendar["hour"].to_numpy()
    frame["dow"] = calendar["dow"].to_numpy()
    frame["lag_day"] = known_lag(grid, ts, issue, DAY, step)
    frame["lag_week"] = known_lag(grid, ts, issue, WEEK, step)
    frame["lag_week2"] = known_lag(grid, ts, issue, 2 * WEEK, step)
    frame["same_time_7d"] = known_lag(_same_time_mean(grid, step), ts, issue, DAY, step)
    floor = issue.floor(step)
    for hours, name in ((24, "mean_24h"), (168, "mean_168h")):
        total, count = window_stats(grid, floor, timedelta(hours=hours))
        with np.errstate(divide="ignore", invalid="ignore"):
            frame[name] = total / count
    frame["last"] = last_known(grid, floor, step, timedelta(hours=6))
    unique = ts.unique()
    sun = sun_features(unique, site.location, step).reindex(ts)
    frame["ghi_clearsky"] = sun["ghi_clearsky"].to_numpy()
    frame["solar_elevation"] = sun["solar_elevation"].to_numpy()
    frame["temp_air"] = (weather["temp_air"].reindex(ts).to_numpy(dtype=float)
                         if weather is not None and "temp_air" in weather else np.nan)
    baseline = frame["lag_day"].fillna(frame["same_time_7d"]).fillna(frame["mean_24h"])
    frame["baseline"] = baseline
    return frame


def _correction_weight(frame: pd.DataFrame, residual: pd.Series, columns, end: pd.Timestamp,
                       max_iter_scale: float) -> float:
    """How much of the learned correction to add to persistence, in [0, 1] by tenths.

    A median model is fitted on rows whose targets precede the last :data:`VALIDATION_DAYS`
    days and scored on forecasts issued in those days: the weight with the smallest MAE
    wins. A household whose load repeats day by day (or that just changed its habits)
    gets little correction; most get all of it. Without enough rows on both sides: 1.
    """
    cut = end - pd.Timedelta(days=VALIDATION_DAYS)
    issues = pd.DatetimeIndex(frame["issue"])
    train = np.asarray(frame.index < cut)
    valid = np.asarray(issues >= cut)
    if train.sum() < 500 or valid.sum() < 100:
        return 1.0
    median = fit_quantiles(frame[train], residual[train], columns, quantiles=(0.5,),
                           max_iter_scale=max_iter_scale)
    correction = median.predict(frame[valid])["p50"].to_numpy()
    actual = frame["y"].to_numpy()[valid]
    baseline = frame["baseline"].to_numpy()[valid]
    errors = {w: np.mean(np.abs(np.clip(baseline + w * correction, 0, None) - actual))
              for w in np.linspace(0.0, 1.0, 11)}
    return float(round(min(errors, key=errors.get), 1))


def _same_time_mean(grid: pd.Series, step: timedelta) -> pd.Series:
    """At each ``u``: the mean of ``u``, ``u - 1 day`` ... ``u - 6 days`` (at least 4 known)."""
    per_day = int(DAY / pd.Timedelta(step))
    values = grid.to_numpy(dtype=float)
    stack = np.full((7, len(values)), np.nan)
    for k in range(7):
        shift = k * per_day
        stack[k, shift:] = values[: len(values) - shift] if shift else values
    known = (~np.isnan(stack)).sum(axis=0)
    total = np.nansum(stack, axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(known >= 4, total / known, np.nan)
    return pd.Series(mean, index=grid.index)


def _non_negative(values: np.ndarray, index: pd.DatetimeIndex, columns) -> pd.DataFrame:
    values = np.clip(np.nan_to_num(np.asarray(values, dtype=float)), 0.0, None)
    values.sort(axis=1)
    out = pd.DataFrame(values, index=index, columns=list(columns))
    out.index.name = "ts"
    return out
