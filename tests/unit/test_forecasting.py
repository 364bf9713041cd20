"""PV and load models and the back-test, on small synthetic data a person can reason about.

Synthetic PV is the physical model on a sky whose clearness changes day by day, plus
noise; synthetic load repeats a daily shape with a weekend difference. Models train
with few trees (``fast_models``) so the file runs in seconds.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from services.forecasting import quantile
from services.forecasting.backtest import Forecaster, accuracy, daily_origins, rolling_origin
from services.forecasting.features import DAY, Site, issue_grid, known_lag, pv_physics, regular
from services.forecasting.load import fit_load, persistence_load, predict_load
from services.forecasting.pv import NotEnoughHistory, PVSetup, fit_pv, physical_pv, predict_pv
from services.pvmodel import CLEARSKY_MARGIN, Location, PVArray, expected_pv

BERLIN = Site(Location(52.52, 13.40, 34.0), "Europe/Berlin")
SETUP = PVSetup((PVArray(5.0, 35, 180, 14, 4.6),), BERLIN, timedelta(hours=1))
START = pd.Timestamp("2024-05-01", tz="UTC")


@pytest.fixture
def fast_models(monkeypatch):
    """Few, small trees: the tests check behaviour, not accuracy."""
    monkeypatch.setattr(quantile, "MEDIAN_PARAMS", dict(quantile.MEDIAN_PARAMS, max_iter=40))
    monkeypatch.setattr(quantile, "BAND_PARAMS", dict(quantile.BAND_PARAMS, max_iter=20))


def synthetic_weather(days: int, start: pd.Timestamp = START, seed: int = 1) -> pd.DataFrame:
    """Hourly GHI [W/m2] = clear sky times a daily clearness in 0.3..1, and temperature [degC]."""
    index = pd.date_range(start, periods=days * 24, freq="h", tz="UTC")
    clear = expected_pv(index, SETUP.arrays, BERLIN.location)["ghi_clearsky"].to_numpy()
    rng = np.random.default_rng(seed)
    daily = np.repeat(rng.uniform(0.3, 1.0, days), 24)
    hours = np.arange(len(index))
    return pd.DataFrame({"ghi": clear * daily, "temp_air": 15 + 6 * np.sin(2 * np.pi * (hours % 24 - 9) / 24)},
                        index=index)


def synthetic_pv(weather: pd.DataFrame, seed: int = 2) -> pd.Series:
    """PV [kWh per hour]: the physical model on ``weather`` at 90 % (soiling), with 3 % noise."""
    physical = expected_pv(weather.index, SETUP.arrays, BERLIN.location, weather)["energy_kwh"]
    noise = np.random.default_rng(seed).normal(1.0, 0.03, len(physical))
    return (physical * 0.9 * noise).clip(lower=0.0)


def synthetic_load(days: int, start: pd.Timestamp = START, seed: int = 3) -> pd.Series:
    """Load [kWh per hour]: morning and evening peaks, more at weekends, 5 % noise."""
    index = pd.date_range(start, periods=days * 24, freq="h", tz="UTC")
    local = index.tz_convert("Europe/Berlin")
    hour = local.hour.to_numpy()
    shape = 0.25 + 0.5 * np.exp(-((hour - 7) ** 2) / 2) + 0.8 * np.exp(-((hour - 19) ** 2) / 3)
    weekend = np.where(local.day_of_week.to_numpy() >= 5, 1.6, 1.0)
    noise = np.random.default_rng(seed).normal(1.0, 0.05, len(index))
    return pd.Series(shape * weekend * noise, index=index)


# --- PV ------------------------------------------------------------------------------------------


@pytest.fixture
def pv_case(fast_models):
    weather = synthetic_weather(24)
    actual = synthetic_pv(weather)
    history = actual[actual.index < START + pd.Timedelta(days=20)]
    model = fit_pv(history, SETUP, weather[weather.index < START + pd.Timedelta(days=20)])
    return model, actual, weather


def test_pv_forecast_is_bounded_sorted_and_dark_at_night(pv_case):
    model, actual, weather = pv_case
    issue = START + pd.Timedelta(days=20, hours=5, minutes=20)
    history = actual[actual.index < issue.floor("h")]
    index = pd.date_range(issue.ceil("h"), periods=48, freq="h")
    for w in (weather, None):
        # The bound: clear-sky output over each hour (at the forecast's air temperature where known),
        # or the whole clear-sky GHI as diffuse light when the sun is low (see pv_physics).
        bound = pv_physics(index, SETUP.arrays, BERLIN.location, w, SETUP.step)["clearsky_bound_kwh"]
        bound = bound * (1 + CLEARSKY_MARGIN)
        prediction = predict_pv(model, history, issue, 48, w)
        frame = prediction.frame
        assert len(frame) == 48 and frame.index[0] == issue.ceil("h")
        assert (frame >= 0).all().all()
        assert (frame["p10"] <= frame["p50"]).all() and (frame["p50"] <= frame["p90"]).all()
        assert (frame.le(bound.to_numpy()[:, None] + 1e-12)).all().all()  # never above the clear-sky bound
        night = bound.to_numpy() == 0
        assert night.sum() >= 10 and (frame[night] == 0).all().all()
        assert frame["p50"].max() > 0.5  # and it does forecast daylight output
    assert predict_pv(model, history, issue, 48, weather).variant == "weather"
    without = predict_pv(model, history, issue, 48, None)
    assert without.variant == "clearsky" and "no weather forecast" in without.notes[0]


def test_pv_model_with_weather_beats_persistence_on_a_changing_sky(pv_case):
    model, actual, weather = pv_case
    errors, persistence = [], []
    for day in range(20, 24):
        issue = START + pd.Timedelta(days=day)
        history = actual[actual.index < issue]
        forecast = predict_pv(model, history, issue, 24, weather).frame["p50"]
        truth = actual.reindex(forecast.index)
        errors.append((forecast - truth).abs().sum())
        persistence.append((actual.reindex(forecast.index - DAY).to_numpy() - truth.to_numpy()).__abs__().sum())
    assert sum(errors) < 0.5 * sum(persistence)


def test_too_little_pv_history_falls_back_to_physics_and_says_so(fast_models):
    weather = synthetic_weather(6)
    with pytest.raises(NotEnoughHistory, match="6 days of PV readings; the learned model needs at least 14"):
        fit_pv(synthetic_pv(weather), SETUP, weather)
    issue = START + pd.Timedelta(days=5)
    fallback = physical_pv(SETUP, issue, 24, weather, reason="6 days of history")
    assert fallback.method == "physical"
    assert fallback.notes[0] == "physical model only: 6 days of history"
    assert (fallback.frame["p50"] >= fallback.frame["p10"]).all()
    no_weather = physical_pv(SETUP, issue, 24, None)
    assert "no weather forecast either" in no_weather.notes[1]


def test_without_weather_the_physical_forecast_takes_the_share_of_clear_sky_recently_delivered():
    """A system that delivered 40 % of its clear-sky energy over the last two weeks (shading, soiling,
    a wrong kWp or a dull season) is forecast at 40 %, not at the typical 70 %."""
    issue = START + pd.Timedelta(days=20)
    index = pd.date_range(issue - pd.Timedelta(days=14), issue, freq="h", inclusive="left")
    clear = pv_physics(index, SETUP.arrays, BERLIN.location, None, SETUP.step)["clearsky_kwh"]
    dull = physical_pv(SETUP, issue, 24, None, history=0.4 * clear)
    typical = physical_pv(SETUP, issue, 24, None)
    assert "40% of the clear-sky output" in dull.notes[1] and "typical share" in typical.notes[1]
    assert dull.frame["p50"].sum() == pytest.approx(0.4 / 0.7 * typical.frame["p50"].sum(), rel=1e-6)
    assert (dull.frame["p10"] <= dull.frame["p50"]).all() and (dull.frame["p50"] <= dull.frame["p90"]).all()
    few_days = physical_pv(SETUP, issue, 24, None, history=(0.4 * clear)[-48:])
    assert "typical share" in few_days.notes[1]  # two days of output are not enough to judge


# --- load ----------------------------------------------------------------------------------------


def test_load_model_learns_the_weekend_that_persistence_misses(fast_models):
    load = synthetic_load(63)
    train_end = START + pd.Timedelta(days=49)
    model = fit_load(load[load.index < train_end], BERLIN)
    assert model.variants.keys() == {"calendar"}  # no temperature given
    ours, persistence = [], []
    for day in range(49, 63):
        issue = pd.Timestamp((START + pd.Timedelta(days=day)).tz_convert("Europe/Berlin").normalize()).tz_convert("UTC")
        history = load[load.index < issue]
        prediction = predict_load(model, history, issue, 24)
        frame = prediction.frame
        assert (frame >= 0).all().all() and (frame["p10"] <= frame["p90"]).all()
        truth = load.reindex(frame.index)
        ours.append((frame["p50"] - truth).abs().mean())
        persistence.append((load.reindex(frame.index - DAY).to_numpy() - truth.to_numpy()).__abs__().mean())
    assert np.mean(ours) < 0.8 * np.mean(persistence)


def test_load_persistence_fallback_repeats_the_last_known_day():
    load = synthetic_load(10)
    issue = START + pd.Timedelta(days=9)
    fallback = persistence_load(load[load.index < issue], issue, 24, reason="9 days of history")
    assert fallback.method == "persistence" and "9 days of history" in fallback.notes[0]
    np.testing.assert_allclose(fallback.frame["p50"].to_numpy(), load.reindex(fallback.frame.index - DAY).to_numpy())


# --- no leakage ----------------------------------------------------------------------------------


def test_a_forecast_issued_at_t_never_sees_data_after_t(fast_models):
    weather = synthetic_weather(24)
    actual = synthetic_pv(weather)
    origins = [START + pd.Timedelta(days=d, hours=3, minutes=30) for d in (20, 21, 22)]
    seen = []

    def fit(history, origin):
        seen.append(("fit", origin, history.index.max()))
        return fit_pv(history, SETUP, weather[weather.index < origin])

    def predict(model, history, origin, hours):
        seen.append(("predict", origin, history.index.max()))
        return predict_pv(model, history, origin, hours, weather)

    result = rolling_origin(actual, Forecaster(fit, predict), origins, hours=24, retrain_every=2)
    assert [s[0] for s in seen] == ["fit", "predict", "predict", "fit", "predict"]
    for _, origin, last in seen:
        assert last + pd.Timedelta(hours=1) <= origin  # the newest reading had ended by the origin

    # Rewrite everything after the second origin: what was issued before it cannot change.
    tampered = actual.copy()
    tampered[tampered.index >= origins[1].floor("h")] *= 3.0
    again = rolling_origin(tampered, Forecaster(fit, predict), origins, hours=24, retrain_every=2)
    for origin in origins[:2]:
        before = result.frame[result.frame["issue"] == origin][["p10", "p50", "p90"]]
        after = again.frame[again.frame["issue"] == origin][["p10", "p50", "p90"]]
        pd.testing.assert_frame_equal(before, after)
    last = origins[2]
    assert not result.frame[result.frame["issue"] == last]["p50"].equals(
        again.frame[again.frame["issue"] == last]["p50"])  # the tampering is visible once it is the past


def test_known_lag_only_returns_intervals_ended_by_the_issue():
    step = pd.Timedelta(minutes=15)
    grid = regular(pd.Series(np.arange(96 * 5, dtype=float),
                             index=pd.date_range(START, periods=96 * 5, freq=step)), step)
    issues = pd.DatetimeIndex([START + pd.Timedelta(days=3, hours=h, minutes=m) for h in (0, 7, 23) for m in (0, 10)])
    rows = issue_grid(issues, timedelta(hours=48), step)
    lagged = known_lag(grid, rows.index, pd.DatetimeIndex(rows["issue"]), DAY, step)
    ends = grid.index[lagged.astype(int)] + step  # the grid's values are their own positions
    assert (ends <= pd.DatetimeIndex(rows["issue"])).all()
    # ... and it is the *latest* such day: one more day forward would not have ended yet.
    assert ((ends + DAY) > pd.DatetimeIndex(rows["issue"])).all()


# --- scores --------------------------------------------------------------------------------------


def test_accuracy_scores_are_the_textbook_ones():
    index = pd.date_range(START, periods=4, freq="h")
    frame = pd.DataFrame({"actual": [1.0, 2.0, 3.0, 4.0], "p50": [1.5, 2.0, 2.0, 5.0],
                          "p10": [0.0, 1.0, 1.5, 4.5], "p90": [2.0, 3.0, 4.0, 5.5],
                          "persistence": [0.0, 1.0, 2.0, 3.0]}, index=index)
    s = accuracy(frame, normalizer=4.0)
    assert s["n"] == 4
    assert s["mae"] == pytest.approx((0.5 + 0 + 1 + 1) / 4)
    assert s["rmse"] == pytest.approx(np.sqrt((0.25 + 0 + 1 + 1) / 4))
    assert s["bias"] == pytest.approx((0.5 + 0 - 1 + 1) / 4)
    assert s["nmae"] == pytest.approx(0.625 / 4)
    assert s["skill_persistence"] == pytest.approx(1 - 0.625 / 1.0)
    assert s["coverage_p10_p90"] == pytest.approx(0.75)


def test_daily_origins_are_local_midnights_across_daylight_saving():
    origins = daily_origins(pd.Timestamp("2024-03-29", tz="UTC"), pd.Timestamp("2024-04-02", tz="UTC"),
                            "Europe/Berlin")
    assert [o.strftime("%m-%d %H:%M") for o in origins] == ["03-29 23:00", "03-30 23:00", "03-31 22:00",
                                                            "04-01 22:00"]
