"""Stored models, forecasts and back-tests, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from services.forecasting import registry
from services.forecasting.pv import MODEL_VERSION, fit_pv, predict_pv
from services.store.db import session_scope
from services.store.models import ForecastModel, Household
from tests.unit.test_forecasting import SETUP, START, fast_models, synthetic_pv, synthetic_weather  # noqa: F401


@pytest.fixture
def household_id(db_url) -> int:
    with session_scope() as session:
        household = Household(name="Schulz, Pankow", timezone="Europe/Berlin", latitude=52.52, longitude=13.40)
        session.add(household)
        session.flush()
        return household.id


def test_model_round_trip_predicts_the_same(household_id, fast_models):  # noqa: F811
    weather = synthetic_weather(16)
    model = fit_pv(synthetic_pv(weather), SETUP, weather)
    model_id = registry.save_model(household_id, "pv", model, MODEL_VERSION, model.train_start, model.train_end,
                                   model.feature_names(), {"rows": model.info["rows"]})
    stored = registry.latest_model(household_id, "pv")
    assert stored.id == model_id and stored.problem == ""
    assert stored.version == registry.version_tag(MODEL_VERSION)
    assert stored.train_start == model.train_start.to_pydatetime()
    assert "weather:pv_physical_kwh" in stored.features
    assert registry.is_stale(stored, MODEL_VERSION) == (False, "")
    issue = START + pd.Timedelta(days=15)
    history = synthetic_pv(weather)[lambda s: s.index < issue]
    pd.testing.assert_frame_equal(predict_pv(stored.estimator, history, issue, 24, weather).frame,
                                  predict_pv(model, history, issue, 24, weather).frame)
    assert registry.latest_model(household_id, "load") is None


def test_untrusted_or_old_models_are_stale(household_id):
    old = datetime.now(UTC) - timedelta(days=10)
    registry.save_model(household_id, "load", {"any": "model"}, "load-1", old - timedelta(days=30), old, [], {})
    with session_scope() as session:
        row = session.query(ForecastModel).one()
        row.trained_at = old
    stored = registry.latest_model(household_id, "load")
    assert registry.is_stale(stored, "load-1") == (True, "trained 10 days ago (retrained after 7)")
    assert registry.is_stale(stored, "load-2")[1].startswith("trained as load-1/sklearn-")
    with session_scope() as session:
        row = session.query(ForecastModel).one()
        row.blob = row.blob[:-3] + b"xyz"  # a damaged (or foreign) payload is never unpickled
    damaged = registry.latest_model(household_id, "load")
    assert damaged.estimator is None and "checksum" in damaged.problem
    assert registry.is_stale(damaged, "load-1") == (True, damaged.problem)
    with pytest.raises(registry.ModelBlobError, match="not a model blob"):
        registry.loads_model(b"\x80\x04K\x01.")  # a bare pickle without our header


def test_forecast_and_backtest_round_trip(household_id):
    index = pd.date_range(START, periods=48, freq="h", tz="UTC")
    frame = pd.DataFrame({"p10": 0.1, "p50": [i / 10 for i in range(48)], "p90": 5.0}, index=index)
    issued = START - pd.Timedelta(minutes=5)
    first = registry.save_forecast(household_id, "pv", "ml", frame, issued.to_pydatetime(), note="a note")
    later = registry.save_forecast(household_id, "pv", "physical", frame * 2, (issued + pd.Timedelta(hours=1))
                                   .to_pydatetime())
    stored = registry.latest_forecast(household_id, "pv")
    assert stored.id == later != first and stored.method == "physical"
    pd.testing.assert_frame_equal(stored.frame, (frame * 2).rename_axis("ts"), check_freq=False)
    assert registry.latest_forecast(household_id, "load") is None
    with pytest.raises(ValueError, match="target must be one of pv, load"):
        registry.save_forecast(household_id, "wind", "ml", frame, issued.to_pydatetime())
    metrics = {"overall": {"nmae": 0.06, "n": 100}, "monthly": {"2024-05": {"nmae": 0.05}}}
    registry.save_backtest(household_id, "pv", START.to_pydatetime(), (START + pd.Timedelta(days=30)).to_pydatetime(),
                           metrics)
    back = registry.latest_backtest(household_id, "pv")
    assert back["metrics"] == metrics and back["period_start"] == START.to_pydatetime()
