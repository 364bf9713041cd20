"""Quantile gradient boosting shared by the PV and load models: P10, P50 and P90.

One :class:`~sklearn.ensemble.HistGradientBoostingRegressor` per quantile with the
pinball (quantile) loss; P50 minimises the absolute error, which is what MAE and
nMAE reward (measured on system 50, no weather: nMAE 0.142 against 0.152 for the
squared-error mean). Missing feature values are allowed (the trees route them), so a
forecast without, say, cloud cover still runs.

The band is calibrated (split-conformal, one side at a time): the P10 and P90 trees
learn from the training rows outside a set of held-out weeks (:func:`holdout_weeks`),
and on those weeks each edge is moved by the residual quantile that makes it hold
its share (10 % of actuals below P10, 10 % above P90). Quantile trees alone are too
narrow on unseen days (72 % inside P10-P90 on system 50 instead of 80 %). The shift
can be scaled by a feature (for PV the clear-sky energy: a band in clear-sky units
narrows at dawn and closes at night). After prediction P10 <= P50 <= P90 always
holds; P50 itself is never moved by the band.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from threadpoolctl import ThreadpoolController

if TYPE_CHECKING:  # scikit-learn (80 MB) loads when a model is trained, not with every process
    from sklearn.ensemble import HistGradientBoostingRegressor

QUANTILES = (0.1, 0.5, 0.9)
QUANTILE_COLUMNS = {0.1: "p10", 0.5: "p50", 0.9: "p90"}

#: Boosting settings: the median gets more trees than the band edges (the band is a
#: guide; the median is what nMAE scores). Small trees (15 leaves) train twice as fast as
#: 31 at the same accuracy on system 50 (nMAE 0.061 both). Fixed seeds and no early
#: stopping keep training reproducible and independent of a random validation split.
MEDIAN_PARAMS = dict(max_iter=300, learning_rate=0.05, max_leaf_nodes=15, min_samples_leaf=20,
                     l2_regularization=0.0, early_stopping=False, random_state=0)
#: The band edges take fewer, faster-learning trees: they are calibrated afterwards anyway
#: (same coverage on system 50 with 50 trees at 0.1 as with 100 at 0.05, in half the time).
BAND_PARAMS = dict(MEDIAN_PARAMS, max_iter=50, learning_rate=0.1)
#: OpenMP threads per fit and prediction. One: a 48-row prediction is dominated by thread
#: start-up (measured 2.6 ms on one thread against 45 ms on two busy cores), and several
#: gunicorn workers or background jobs already share the cores.
THREADS = 1


#: Calibration: every HOLDOUT_EVERY-th week of targets is held out from the band trees
#: (a fifth of the rows, spread over the seasons, unlike a tail of the window).
HOLDOUT_EVERY = 5
#: Rows needed on each side of the split to calibrate; with fewer the band is not calibrated.
MIN_CALIBRATION_ROWS = 200
MIN_BAND_TRAINING_ROWS = 500
#: A scale feature is floored at this share of its training maximum, so that a residual
#: divided by it stays finite at dawn and dusk.
SCALE_FLOOR = 0.1


@dataclass
class QuantileModel:
    """Fitted estimators per quantile, the feature columns they read (in order), and the band's
    calibration: ``offsets`` per quantile, in units of the ``scale`` feature (floored at
    ``scale_floor``), or of the target itself when ``scale`` is None."""

    features: tuple[str, ...]
    estimators: dict[float, HistGradientBoostingRegressor] = field(default_factory=dict)
    n_rows: int = 0
    offsets: dict[float, float] = field(default_factory=dict)
    scale: str | None = None
    scale_floor: float = 0.0
    calibration: dict = field(default_factory=dict)

    def predict(self, features: pd.DataFrame) -> pd.DataFrame:
        """``p10``, ``p50``, ``p90`` (those fitted) for each row of ``features``, calibrated and
        ordered per row (P10 <= P50 <= P90; P50 is the median model's own value)."""
        missing = [f for f in self.features if f not in features.columns]
        if missing:
            raise ValueError(f"features missing for prediction: {missing}")
        x = features[list(self.features)].to_numpy(dtype=float)
        if len(x) == 0:
            return pd.DataFrame(columns=[QUANTILE_COLUMNS[q] for q in self.estimators], index=features.index)
        quantiles = sorted(self.estimators)
        with _threads().limit(limits=THREADS, user_api="openmp"):
            values = np.column_stack([self.estimators[q].predict(x) for q in quantiles])
        offsets = getattr(self, "offsets", {})  # models pickled before calibration existed have none
        if offsets:
            scale = _scale(features, self.scale, self.scale_floor)
            values = values + np.array([offsets.get(q, 0.0) for q in quantiles])[None, :] * scale[:, None]
        return pd.DataFrame(_ordered(values, quantiles), columns=[QUANTILE_COLUMNS[q] for q in quantiles],
                            index=features.index)


@lru_cache(maxsize=1)
def _threads() -> ThreadpoolController:
    # Inspecting the loaded OpenMP libraries takes milliseconds: do it once per process.
    return ThreadpoolController()


def fit_quantiles(features: pd.DataFrame, target: pd.Series | np.ndarray, columns: Sequence[str],
                  sample_weight: np.ndarray | None = None, quantiles: Sequence[float] = QUANTILES,
                  max_iter_scale: float = 1.0, holdout: np.ndarray | None = None,
                  scale: str | None = None, median_iter_scale: float = 1.0) -> QuantileModel:
    """Fit one quantile regressor per entry of ``quantiles`` on ``features[columns]``.

    ``max_iter_scale`` shrinks every model's number of trees (tests use 0.2 to stay fast).
    ``holdout`` (boolean per row, e.g. :func:`holdout_weeks`) calibrates the band: the
    non-median models learn from the other rows and are shifted so that, on the held-out
    rows, each holds its share of actuals; shifts are in units of the feature ``scale``
    (None: the target's unit). The median always learns from every row; ``median_iter_scale``
    shrinks its number of trees further.
    """
    unknown = [q for q in quantiles if q not in QUANTILE_COLUMNS]
    if unknown:
        raise ValueError(f"quantiles must be among {sorted(QUANTILE_COLUMNS)}, got {unknown}")
    y = np.asarray(target, dtype=float)
    if len(y) == 0:
        raise ValueError("no training rows: the history has no usable readings")
    from sklearn.ensemble import HistGradientBoostingRegressor

    # A column never known in training (no cloud cover in this weather source) teaches
    # nothing and breaks the binning: leave it out, and the model will not ask for it.
    columns = [c for c in columns if features[c].notna().any()]
    x = features[columns].to_numpy(dtype=float)
    model = QuantileModel(features=tuple(columns), n_rows=len(y), scale=scale)
    held = np.zeros(len(y), dtype=bool) if holdout is None else np.asarray(holdout, dtype=bool)
    calibrate = held.sum() >= MIN_CALIBRATION_ROWS and (~held).sum() >= MIN_BAND_TRAINING_ROWS
    for q in quantiles:
        params = dict(MEDIAN_PARAMS if q == 0.5 else BAND_PARAMS)
        trees = params["max_iter"] * max_iter_scale * (median_iter_scale if q == 0.5 else 1.0)
        params["max_iter"] = max(10, int(round(trees)))
        rows = ~held if calibrate and q != 0.5 else np.ones(len(y), dtype=bool)
        estimator = HistGradientBoostingRegressor(loss="quantile", quantile=q, **params)
        with _threads().limit(limits=THREADS, user_api="openmp"):
            estimator.fit(x[rows], y[rows], sample_weight=None if sample_weight is None else sample_weight[rows])
        model.estimators[q] = estimator
    if calibrate and len(model.estimators) > 1:
        _calibrate(model, features[held], y[held], x[held])
    return model


def holdout_weeks(ts: pd.DatetimeIndex, every: int = HOLDOUT_EVERY) -> np.ndarray:
    """True for rows whose target ``ts`` falls in every ``every``-th week (counted from 1970).

    Whole weeks, so that the many training rows of one target (issued at different times)
    and its neighbouring hours are on the same side of the split.
    """
    weeks = pd.DatetimeIndex(ts).as_unit("ns").asi8 // pd.Timedelta(days=7).value
    return (weeks % every) == every - 1


def _calibrate(model: QuantileModel, features: pd.DataFrame, y: np.ndarray, x: np.ndarray) -> None:
    """Set ``model.offsets``: per band edge ``q``, the ``q``-quantile of the held-out residuals
    ``(y - prediction) / scale``, so that a share ``q`` of held-out actuals lie below the edge."""
    if model.scale is not None:
        model.scale_floor = SCALE_FLOOR * float(np.nanmax(features[model.scale].to_numpy(dtype=float)))
    scale = _scale(features, model.scale, model.scale_floor)
    quantiles = sorted(model.estimators)
    with _threads().limit(limits=THREADS, user_api="openmp"):
        raw = {q: model.estimators[q].predict(x) for q in quantiles}
    for q in quantiles:
        if q != 0.5:
            model.offsets[q] = float(np.quantile((y - raw[q]) / scale, q))
    before = _coverage(y, raw.get(min(quantiles)), raw.get(max(quantiles)))
    shifted = {q: raw[q] + model.offsets.get(q, 0.0) * scale for q in quantiles}
    model.calibration = {"rows": int(len(y)), "coverage_before": before,
                         "coverage_after": _coverage(y, shifted.get(min(quantiles)), shifted.get(max(quantiles)))}


def _coverage(y: np.ndarray, low: np.ndarray | None, high: np.ndarray | None) -> float:
    if low is None or high is None:
        return float("nan")
    return float(np.mean((y >= np.minimum(low, high)) & (y <= np.maximum(low, high))))


def _scale(features: pd.DataFrame, column: str | None, floor: float) -> np.ndarray:
    """The calibration unit per row: ``features[column]`` floored at ``floor`` (NaN counts as the floor),
    or ones."""
    if column is None:
        return np.ones(len(features))
    values = features[column].to_numpy(dtype=float)
    return np.maximum(np.nan_to_num(values, nan=floor), floor)


def _ordered(values: np.ndarray, quantiles: Sequence[float]) -> np.ndarray:
    """Rows with non-decreasing quantiles. With a median, the edges are pulled to it (the median,
    which MAE scores, is kept); otherwise the row is sorted."""
    quantiles = list(quantiles)
    if 0.5 not in quantiles:
        return np.sort(values, axis=1)
    middle = quantiles.index(0.5)
    out = values.copy()
    for i in range(middle - 1, -1, -1):
        out[:, i] = np.minimum(out[:, i], out[:, i + 1])
    for i in range(middle + 1, len(quantiles)):
        out[:, i] = np.maximum(out[:, i], out[:, i - 1])
    return out


def subsample(n_rows: int, max_rows: int, seed: int = 0, preference: np.ndarray | None = None) -> np.ndarray:
    """Sorted row positions: all rows up to ``max_rows``, else a reproducible random subset,
    drawn with probability proportional to ``preference`` when given."""
    if n_rows <= max_rows:
        return np.arange(n_rows)
    p = None
    if preference is not None:
        p = np.asarray(preference, dtype=float)
        p = p / p.sum()
    return np.sort(np.random.default_rng(seed).choice(n_rows, size=max_rows, replace=False, p=p))


@dataclass(frozen=True)
class Prediction:
    """A forecast as computed: ``frame`` indexed by UTC interval start with ``p10``, ``p50``,
    ``p90`` [kWh per step]; ``method`` is ``ml``, ``physical`` or ``persistence``; ``variant``
    names the feature set used; ``notes`` are sentences for the person reading the forecast."""

    frame: pd.DataFrame
    method: str
    variant: str = ""
    notes: tuple[str, ...] = ()
