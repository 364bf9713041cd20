"""A model whose back-test loses to persistence is not used: the verdict, persistence for PV, the
service on both backends and the page's alert."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from dash import html

from components.forecast_controls import BACKTEST_HINT, TRAIN_HINT, forecast_alerts
from services.forecasting import registry, service
from services.forecasting.features import pv_physics
from services.forecasting.pv import persistence_pv
from services.forecasting.trust import MIN_ROWS, backtest_verdict
from services.pvmodel import CLEARSKY_MARGIN
from tests.dash_tree import find
from tests.unit.test_forecasting import SETUP, START, fast_models, synthetic_pv, synthetic_weather  # noqa: F401
from tests.unit.test_forecasting_service import NOW, household  # noqa: F401

PERIOD = {"period_start": datetime(2024, 1, 1, tzinfo=UTC), "period_end": datetime(2024, 12, 31, tzinfo=UTC)}


def scores(n: int, mae: float, persistence: float, physical: float | None = None) -> dict:
    row = {"n": n, "mae": mae, "mae_persistence": persistence, "skill_persistence": 1 - mae / persistence}
    if physical is not None:
        row["mae_physical"] = physical
    return row


def backtest(monthly: dict, overall: dict, **extra) -> dict:
    return {**PERIOD, "metrics": {"overall": overall, "monthly": monthly, "methods": {"ml": 300}, **extra}}


# A model that wins over the year and loses in the winter months (the issue's real home: -0.10).
YEAR = backtest({"2024-01": scores(200, 0.55, 0.50, 0.60), "2024-02": scores(180, 0.44, 0.40, 0.41),
                 "2024-07": scores(300, 0.20, 0.30, 0.25)},
                scores(680, 0.37, 0.39, 0.41))


def test_a_model_worse_than_persistence_in_its_season_is_overruled_by_the_best_reference():
    january = backtest_verdict(YEAR, 1, ("persistence", "physical"))
    assert january.method == "persistence" and january.skill == pytest.approx(1 - 0.55 / 0.50)
    assert january.basis == "in January"
    assert "worse than persistence in January (skill -0.10)" in january.note
    assert "2024-01-01 to 2024-12-31" in january.note
    # February: the physical model (0.41) is close, but persistence (0.40) has the lower error.
    assert backtest_verdict(YEAR, 2, ("persistence", "physical")).method == "persistence"
    july = backtest_verdict(YEAR, 7, ("persistence", "physical"))
    assert july.method == "ml" and july.skill == pytest.approx(1 - 0.20 / 0.30) and july.note == ""


def test_the_reference_with_the_lowest_error_replaces_the_model():
    physical_best = backtest({"2024-01": scores(200, 0.55, 0.50, 0.45)}, scores(200, 0.55, 0.50, 0.45))
    assert backtest_verdict(physical_best, 1, ("persistence", "physical")).method == "physical"
    assert backtest_verdict(physical_best, 1, ("persistence",)).method == "persistence"  # load has no physical


def test_a_month_with_few_steps_is_judged_by_the_whole_backtest():
    thin = backtest({"2024-03": scores(MIN_ROWS - 1, 0.9, 0.3)}, scores(500, 0.40, 0.35))
    verdict = backtest_verdict(thin, 3)
    assert verdict.method == "persistence" and verdict.basis == "over the whole back-test"
    assert backtest_verdict(thin, 8).basis == "over the whole back-test"  # no such month at all


def test_nothing_to_judge_by_leaves_the_model_alone():
    assert backtest_verdict(None, 1) is None
    assert backtest_verdict(backtest({}, {"n": 0}), 1) is None
    other_version = backtest({}, scores(500, 0.9, 0.3), model_version="pv-1/sklearn-0.1")
    assert backtest_verdict(other_version, 1, model_version="pv-2/sklearn-1") is None
    assert backtest_verdict(other_version, 1, model_version="pv-1/sklearn-0.1").method == "persistence"
    fallbacks = backtest({}, scores(500, 0.9, 0.3))
    fallbacks["metrics"]["methods"] = {"physical": 20, "ml": 5}  # it scored the physical model, not the model
    assert backtest_verdict(fallbacks, 1) is None


def test_pv_persistence_repeats_yesterday_within_the_sky_bound():
    weather = synthetic_weather(10)
    actual = synthetic_pv(weather)
    issue = START + pd.Timedelta(days=9)
    history = actual[actual.index < issue]
    history.iloc[-30] = 99.0  # a spike yesterday morning: persistence may not pass it on above the bound
    frame = persistence_pv(SETUP, history, issue, 24).frame
    bound = pv_physics(frame.index, SETUP.arrays, SETUP.site.location, None, SETUP.step)["clearsky_bound_kwh"]
    yesterday = history.reindex(frame.index - timedelta(days=1)).to_numpy()
    normal = yesterday < 99.0
    np.testing.assert_allclose(frame["p50"].to_numpy()[normal], yesterday[normal])
    assert (frame["p90"] <= bound * (1 + CLEARSKY_MARGIN) + 1e-9).all()
    assert (frame[bound.to_numpy() == 0] == 0).all().all()
    assert (frame["p10"] <= frame["p50"]).all() and (frame["p50"] <= frame["p90"]).all()


def _store_backtest(home_id: int, target: str, mae: float, persistence: float) -> None:
    month = NOW.tz_convert("Europe/Berlin").strftime("%Y-%m")
    version = registry.version_tag(service.pv_model.MODEL_VERSION if target == "pv"
                                   else service.load_model.MODEL_VERSION)
    row = scores(300, mae, persistence, persistence * 1.5)
    registry.save_backtest(home_id, target, (NOW - pd.Timedelta(days=30)).to_pydatetime(), NOW.to_pydatetime(),
                           {"overall": row, "monthly": {month: row}, "methods": {"ml": 30}, "model_version": version})


def test_the_service_forecasts_with_persistence_while_a_backtest_says_the_model_is_worse(household):  # noqa: F811
    home_id, _, _ = household
    service.train_models(home_id, NOW.to_pydatetime())
    _store_backtest(home_id, "pv", mae=0.55, persistence=0.50)
    _store_backtest(home_id, "load", mae=0.30, persistence=0.20)
    pv = service.forecast_pv(home_id, 24, NOW.to_pydatetime(), fetch_weather=False)
    assert pv.method == "persistence" and pv.overruled_by_backtest and pv.model_id is None
    assert any("scored the model worse than persistence" in n and "skill -0.10" in n for n in pv.notes)
    history, _ = service._history(service._household(home_id), "pv", NOW - pd.Timedelta(days=3), NOW)
    yesterday = history.reindex(pv.frame.index - pd.Timedelta(days=1))
    known = yesterday.notna().to_numpy()
    np.testing.assert_allclose(pv.frame["p50"].to_numpy()[known], yesterday.to_numpy()[known], atol=1e-9)
    stored = registry.latest_forecast(home_id, "pv")
    assert stored.method == "persistence" and "worse than persistence" in stored.note
    load = service.forecast_load(home_id, 24, NOW.to_pydatetime(), fetch_weather=False)
    assert load.method == "persistence" and load.overruled_by_backtest
    # A newer back-test in which the model wins brings it back.
    _store_backtest(home_id, "pv", mae=0.30, persistence=0.50)
    pv = service.forecast_pv(home_id, 24, NOW.to_pydatetime(), fetch_weather=False)
    assert pv.method == "ml" and not pv.overruled_by_backtest
    assert not any("worse than persistence" in n for n in pv.notes)


def test_the_forecast_page_says_the_backtest_overruled_the_model():
    note = "the back-test of 2024-01-01 to 2024-12-31 scored the model worse than persistence in January"
    target = {"method": "persistence", "notes": [note], "weather": "stored", "weather_notes": [],
              "overruled_by_backtest": True}
    models = {k: {"target": k, "trained_at": None, "needs_training": False} for k in ("pv", "load")}
    alerts = forecast_alerts({"targets": {"pv": target, "load": None}, "models": models})
    alert = find(html.Div(alerts), "forecast-alert-pv")
    text = str(alert.children)
    assert "persistence only" in text and note[1:] in text and BACKTEST_HINT in text and TRAIN_HINT not in text
