"""PV and load forecasting: physics-informed features, quantile gradient boosting, back-tests.

Public entry points (store-backed, household ids explicit) live in
:mod:`services.forecasting.service`; the pure model code (DataFrames in, DataFrames
out) in :mod:`~services.forecasting.pv`, :mod:`~services.forecasting.load` and
:mod:`~services.forecasting.backtest`. Energies are kWh per step (the interval
starting at ``ts``), quantiles P10/P50/P90.
"""

from services.forecasting.registry import check_forecaster
from services.forecasting.service import (
    ForecastResult,
    TrainReport,
    backtest_household,
    forecast_load,
    forecast_pv,
    model_status,
    stored_forecast,
    train_models,
)

__all__ = [
    "ForecastResult", "TrainReport", "backtest_household", "check_forecaster", "forecast_load", "forecast_pv",
    "model_status", "stored_forecast", "train_models",
]
