"""Rolling-origin back-tests: train on the past only, forecast ahead, move on, score.

At each origin the forecaster receives the readings *before the origin* and
nothing else (:func:`rolling_origin` cuts the series itself, so a forecaster
cannot peek even by mistake); the models it trained at earlier origins saw even
less. Weather, if the forecaster uses any, is its own business: a store-backed
forecaster asks :func:`services.weather.store.weather_known_at` for what was
known at the origin; a benchmark may pass observed weather and must say that it
measures the model given perfect weather.

Scores (:func:`accuracy`): MAE, RMSE, bias (mean of forecast minus actual), nMAE
(MAE over a normaliser: a PV system's peak output, a household's mean load), and
skill = 1 - MAE / MAE of a reference (persistence: the same time on the last
day known at issue; for PV also the physical model alone).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

import numpy as np
import pandas as pd

from services.forecasting.features import DAY, WEEK, known_lag, regular
from services.forecasting.quantile import Prediction

FitFunction = Callable[[pd.Series, pd.Timestamp], object]
PredictFunction = Callable[[object, pd.Series, pd.Timestamp, float], Prediction]
ReferenceFunction = Callable[[pd.Series, pd.Timestamp, pd.DatetimeIndex], np.ndarray]


@dataclass(frozen=True)
class Forecaster:
    """A forecasting method as a back-test drives it.

    ``fit(history, origin)`` returns a model; ``predict(model, history, origin, hours)``
    returns a :class:`Prediction`. Both receive only readings before ``origin``.
    ``references`` are extra baselines ``name -> f(history, origin, index) -> values``.
    """

    fit: FitFunction
    predict: PredictFunction
    references: dict[str, ReferenceFunction] = field(default_factory=dict)


@dataclass
class BacktestResult:
    """Every forecast step: by target ``ts``, ``issue``, ``horizon_h``, ``actual``, ``p10``/``p50``/
    ``p90``, ``persistence`` (last known day), ``persistence_week`` and any references;
    plus the seconds each training and each prediction took."""

    frame: pd.DataFrame
    fit_seconds: list[float]
    predict_seconds: list[float]
    methods: dict[str, int] = field(default_factory=dict)


def daily_origins(start: pd.Timestamp, end: pd.Timestamp, timezone: str, hour: int = 0) -> pd.DatetimeIndex:
    """Issue times at ``hour`` o'clock local time on every day from ``start`` to ``end`` (UTC)."""
    local_days = pd.date_range(pd.Timestamp(start).tz_convert(timezone).normalize(),
                               pd.Timestamp(end).tz_convert(timezone).normalize(), freq="D")
    origins = (local_days + pd.Timedelta(hours=hour)).tz_convert("UTC")
    return origins[(origins >= start) & (origins < end)]


def rolling_origin(actual: pd.Series, forecaster: Forecaster, origins: Sequence[pd.Timestamp],
                   hours: float = 24, step: timedelta = timedelta(hours=1), retrain_every: int = 1,
                   progress: Callable[[int, int], None] | None = None) -> BacktestResult:
    """Forecast ``hours`` ahead from each origin, retraining every ``retrain_every`` origins.

    Parameters
    ----------
    actual : Series
        The measured target [kWh per step] by UTC interval start, over the whole period.
    origins : sequence of Timestamp
        Issue times in increasing order.
    progress : callable, optional
        Called with (origins done, origins in all), for a progress bar.
    """
    grid = regular(actual, step)
    parts, fit_s, predict_s, methods = [], [], [], {}
    model = None
    origins = list(origins)
    for i, origin in enumerate(origins):
        origin = pd.Timestamp(origin)
        history = grid[grid.index + pd.Timedelta(step) <= origin]  # only intervals ended by the origin
        if model is None or i % max(1, retrain_every) == 0:
            started = time.perf_counter()
            model = forecaster.fit(history, origin)
            fit_s.append(time.perf_counter() - started)
        started = time.perf_counter()
        prediction = forecaster.predict(model, history, origin, hours)
        predict_s.append(time.perf_counter() - started)
        methods[prediction.method] = methods.get(prediction.method, 0) + 1
        frame = prediction.frame.copy()
        index = pd.DatetimeIndex(frame.index)
        issues = pd.DatetimeIndex([origin] * len(index))
        frame["issue"] = origin
        frame["horizon_h"] = ((index - issues) / pd.Timedelta(hours=1)).to_numpy()
        frame["actual"] = grid.reindex(index).to_numpy()
        frame["persistence"] = known_lag(history, index, issues, DAY, step)
        frame["persistence_week"] = known_lag(history, index, issues, WEEK, step)
        for name, reference in forecaster.references.items():
            frame[name] = reference(history, origin, index)
        parts.append(frame)
        if progress is not None:
            progress(i + 1, len(origins))
    frame = pd.concat(parts) if parts else pd.DataFrame()
    return BacktestResult(frame, fit_s, predict_s, methods)


def accuracy(frame: pd.DataFrame, normalizer: float, forecast: str = "p50",
             references: Sequence[str] = ("persistence", "persistence_week", "physical"),
             mask: pd.Series | np.ndarray | None = None) -> dict[str, float | int]:
    """Scores of ``frame[forecast]`` against ``frame["actual"]`` on rows where both (and every
    reference present) are known, and ``mask`` holds.

    Returns ``n``, ``mae``, ``rmse``, ``bias``, ``nmae`` [same unit as actual; nmae unitless],
    ``coverage_p10_p90`` (share of actuals inside the band) and, per reference present,
    ``mae_<ref>``, ``nmae_<ref>`` and ``skill_<ref>`` (1 - MAE / MAE of the reference).
    """
    if normalizer is None or not normalizer > 0:
        raise ValueError(f"the normaliser must be a positive number, got {normalizer}")
    present = [r for r in references if r in frame.columns]
    ok = frame["actual"].notna() & frame[forecast].notna()
    for ref in present:
        ok &= frame[ref].notna()
    if mask is not None:
        ok &= np.asarray(mask, dtype=bool)
    rows = frame[ok]
    err = rows[forecast] - rows["actual"]
    out: dict[str, float | int] = {"n": int(len(rows))}
    if rows.empty:
        return out
    mae = float(err.abs().mean())
    out.update(mae=mae, rmse=float(np.sqrt((err**2).mean())), bias=float(err.mean()), nmae=mae / normalizer)
    if {"p10", "p90"} <= set(rows.columns):
        out["coverage_p10_p90"] = float(((rows["actual"] >= rows["p10"]) & (rows["actual"] <= rows["p90"])).mean())
    for ref in present:
        ref_mae = float((rows[ref] - rows["actual"]).abs().mean())
        out[f"mae_{ref}"] = ref_mae
        out[f"nmae_{ref}"] = ref_mae / normalizer
        out[f"skill_{ref}"] = 1.0 - mae / ref_mae if ref_mae > 0 else float("nan")
    return out


def monthly_accuracy(frame: pd.DataFrame, normalizer: float, timezone: str = "UTC",
                     mask: pd.Series | np.ndarray | None = None) -> pd.DataFrame:
    """:func:`accuracy` per local calendar month of the target, one row per month (``YYYY-MM``)."""
    mask = np.ones(len(frame), dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    months = pd.DatetimeIndex(frame.index).tz_convert(timezone).strftime("%Y-%m")
    rows = {}
    for month in sorted(set(months)):
        sel = np.asarray(months == month)
        rows[month] = accuracy(frame[sel], normalizer, mask=mask[sel])
    return pd.DataFrame.from_dict(rows, orient="index")


def pv_normalizer(actual: pd.Series) -> float:
    """A PV system's peak output for nMAE: the 99.9th percentile of its readings [kWh per step]
    (the maximum would hand the score to a single spike)."""
    values = actual.dropna()
    if values.empty:
        raise ValueError("no PV readings to find the peak output from")
    return float(np.quantile(values, 0.999))
