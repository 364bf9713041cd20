"""The rules every forecast keeps, whatever it learned (issue 4).

- its physics is pvlib's own result, integrated over the interval;
- PV is never negative, zero when the sun is down for the whole interval, and never above
  the bound of :func:`~services.forecasting.features.pv_physics` by more than
  :data:`~services.pvmodel.CLEARSKY_MARGIN`, even when the history says otherwise;
- a forecast issued at ``t`` is the same whatever happened after ``t`` (poisoned data);
- P10 <= P50 <= P90, and the calibrated band holds about 80 % of what it has not seen.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import pvlib
import pytest

from services.forecasting import quantile
from services.forecasting.features import PHYSICS_SUBSTEP, Site, pv_physics
from services.forecasting.load import fit_load, predict_load
from services.forecasting.pv import PVSetup, fit_pv, predict_pv
from services.forecasting.quantile import QuantileModel, fit_quantiles, holdout_weeks
from services.pvmodel import ALBEDO, CLEARSKY_MARGIN, GAMMA_PDC, TEMPERATURE_PARAMS, Location, PVArray
from tests.unit.test_forecasting import SETUP, START, synthetic_load, synthetic_pv, synthetic_weather

GOLDEN = Location(39.7406, -105.1775, 1829.0)
ARRAY = PVArray(kwp=4.0, tilt_deg=45, azimuth_deg=158, losses_pct=14, inverter_kw=3.5)
HOUR = timedelta(hours=1)


@pytest.fixture
def fast_models(monkeypatch):
    """Few, small trees: these tests check rules, not accuracy."""
    monkeypatch.setattr(quantile, "MEDIAN_PARAMS", dict(quantile.MEDIAN_PARAMS, max_iter=40))
    monkeypatch.setattr(quantile, "BAND_PARAMS", dict(quantile.BAND_PARAMS, max_iter=20))


# --- physics -------------------------------------------------------------------------------------


def test_hourly_clear_sky_energy_is_pvlibs_modelchain_integrated_over_quarter_hours():
    index = pd.date_range("2013-06-20 06:00", periods=30, freq="h", tz="UTC")  # sunrise, noon and sunset in Golden
    ours = pv_physics(index, [ARRAY], GOLDEN, None, HOUR)

    location = pvlib.location.Location(GOLDEN.latitude, GOLDEN.longitude, altitude=GOLDEN.altitude)
    system = pvlib.pvsystem.PVSystem(
        surface_tilt=45, surface_azimuth=158, albedo=ALBEDO,
        module_parameters={"pdc0": ARRAY.kwp, "gamma_pdc": GAMMA_PDC},
        inverter_parameters={"pdc0": ARRAY.inverter_kw / 0.96},
        temperature_model_parameters=TEMPERATURE_PARAMS,
        losses_parameters={"soiling": 14, "shading": 0, "snow": 0, "mismatch": 0, "wiring": 0, "connections": 0,
                           "lid": 0, "nameplate_rating": 0, "age": 0, "availability": 0},
    )
    quarter = pd.Timedelta(PHYSICS_SUBSTEP)
    middles = pd.date_range(index[0], periods=len(index) * 4, freq=quarter) + quarter / 2
    weather = location.get_clearsky(middles, model="ineichen")
    weather["temp_air"], weather["wind_speed"] = 20.0, 0.0  # the clear-sky bound's air (DEFAULT_TEMP_AIR)
    chain = pvlib.modelchain.ModelChain.with_pvwatts(system, location)
    chain.run_model(weather)
    ac = chain.results.ac.clip(lower=0).fillna(0).to_numpy()
    sun_up = chain.results.solar_position["apparent_zenith"].to_numpy() < 90
    reference = (np.where(sun_up, ac, 0.0) * 0.25).reshape(-1, 4).sum(axis=1)  # kWh per hour

    assert reference.max() > 2.5  # a real summer day
    np.testing.assert_allclose(ours["clearsky_kwh"].to_numpy(), reference, atol=5e-3 * ARRAY.kwp)
    # The sunrise hour has output although the sun is still down at its middle.
    first_light = np.flatnonzero(reference > 0)[0]
    assert ours["clearsky_kwh"].iloc[first_light] > 0


def test_the_bound_allows_a_bright_cloudy_sky_when_the_sun_is_behind_the_plane():
    # A north-facing array at noon: the clear sky sends its plane only diffuse light.
    north = PVArray(kwp=4.0, tilt_deg=60, azimuth_deg=0, losses_pct=14)
    index = pd.date_range("2013-12-21 17:00", periods=3, freq="h", tz="UTC")  # around noon in Golden
    physics = pv_physics(index, [north], GOLDEN, None, HOUR)
    ghi_as_diffuse = north.kwp * physics["ghi_clearsky"] / 1000 * (1 - north.losses_pct / 100)
    assert (physics["clearsky_bound_kwh"] > 2 * physics["clearsky_kwh"]).all()
    # ... but never more than the whole clear-sky GHI on the plane, at nameplate efficiency.
    assert (physics["clearsky_bound_kwh"] <= 1.1 * ghi_as_diffuse).all()


# --- bounds --------------------------------------------------------------------------------------


@pytest.mark.parametrize("scale", [1.0, 3.0])
def test_pv_forecasts_stay_within_zero_and_the_bound_whatever_the_history_says(fast_models, scale):
    """``scale`` 3: a meter read in the wrong unit teaches the trees three times the possible output;
    the forecast still stays under the physical bound."""
    weather = synthetic_weather(24)
    actual = synthetic_pv(weather) * scale
    model = fit_pv(actual[actual.index < START + pd.Timedelta(days=20)], SETUP,
                   weather[weather.index < START + pd.Timedelta(days=20)])
    issue = START + pd.Timedelta(days=20, hours=2, minutes=45)
    history = actual[actual.index < issue]
    for w in (weather, None):
        frame = predict_pv(model, history, issue, 48, w).frame
        physics = pv_physics(frame.index, SETUP.arrays, SETUP.site.location, w, SETUP.step)
        bound = physics["clearsky_bound_kwh"].to_numpy() * (1 + CLEARSKY_MARGIN)
        # The bound, stated independently: nothing above the nameplate, not even with the margin.
        assert (bound <= SETUP.kwp * (1 + CLEARSKY_MARGIN) + 1e-9).all()
        values = frame[["p10", "p50", "p90"]].to_numpy()
        assert (values >= 0).all()
        assert (values <= bound[:, None] + 1e-12).all()
        night = physics["clearsky_bound_kwh"].to_numpy() == 0
        assert night.sum() >= 10 and (values[night] == 0).all()
        assert frame["p50"].max() > 0.1 * SETUP.kwp  # it does forecast daylight
        if scale == 3.0:
            assert (values[:, 2] >= bound - 1e-9).sum() >= 5  # the trees pushed against the bound


# --- no leakage ----------------------------------------------------------------------------------


def _poison(series: pd.Series, after: pd.Timestamp) -> pd.Series:
    """Every reading of an interval that had not ended by ``after`` replaced by nonsense."""
    poisoned = series.copy()
    late = poisoned.index + pd.Timedelta(hours=1) > after
    poisoned[late] = np.where(np.arange(late.sum()) % 2, 1e6, np.nan)
    return poisoned


def test_a_pv_forecast_issued_at_t_is_unchanged_by_poisoned_data_after_t(fast_models):
    weather = synthetic_weather(24)
    actual = synthetic_pv(weather)
    issue = START + pd.Timedelta(days=21, hours=9, minutes=30)  # mid-morning: the last hour is still running
    model = fit_pv(actual[actual.index + HOUR <= issue], SETUP, weather[weather.index + HOUR <= issue])
    clean = predict_pv(model, actual, issue, 48, weather).frame
    dirty = predict_pv(model, _poison(actual, issue), issue, 48, weather).frame
    pd.testing.assert_frame_equal(clean, dirty)
    # ... and the poison is not inert: had it been known, the forecast would differ.
    later = predict_pv(model, _poison(actual, issue - pd.Timedelta(hours=4)), issue, 48, weather).frame
    assert not later.equals(clean)


def test_a_load_forecast_issued_at_t_is_unchanged_by_poisoned_data_after_t(fast_models):
    load = synthetic_load(50)
    site = Site(Location(52.52, 13.40, 34.0), "Europe/Berlin")
    issue = START + pd.Timedelta(days=45, hours=17, minutes=10)
    model = fit_load(load[load.index + HOUR <= issue], site)
    clean = predict_load(model, load, issue, 48).frame
    pd.testing.assert_frame_equal(clean, predict_load(model, _poison(load, issue), issue, 48).frame)
    assert not predict_load(model, _poison(load, issue - pd.Timedelta(hours=3)), issue, 48).frame.equals(clean)


def test_training_on_history_up_to_t_ignores_what_comes_after(fast_models):
    """The model fitted at an origin is the same whether the series given to it ends at the
    origin or runs on with poisoned readings that were cut off before training."""
    weather = synthetic_weather(24)
    actual = synthetic_pv(weather)
    origin = START + pd.Timedelta(days=20)
    one = fit_pv(actual[actual.index < origin], SETUP, weather[weather.index < origin])
    poisoned = _poison(actual, origin)
    two = fit_pv(poisoned[poisoned.index < origin], SETUP, weather[weather.index < origin])
    issue = origin + pd.Timedelta(hours=1)
    pd.testing.assert_frame_equal(predict_pv(one, actual, issue, 24, weather).frame,
                                  predict_pv(two, actual, issue, 24, weather).frame)


# --- quantiles -----------------------------------------------------------------------------------


class _Constant:
    """A stand-in estimator that predicts one value for every row."""

    def __init__(self, value: float):
        self.value = value

    def predict(self, x):
        return np.full(len(x), self.value)


def test_crossing_quantiles_are_ordered_around_the_untouched_median():
    model = QuantileModel(features=("a",), estimators={0.1: _Constant(5.0), 0.5: _Constant(2.0), 0.9: _Constant(1.0)})
    frame = model.predict(pd.DataFrame({"a": [0.0, 1.0]}))
    assert frame.columns.tolist() == ["p10", "p50", "p90"]
    assert (frame["p50"] == 2.0).all()  # the median, which MAE scores, is kept
    assert (frame["p10"] <= frame["p50"]).all() and (frame["p50"] <= frame["p90"]).all()


def test_calibration_offsets_scale_with_the_named_feature_and_keep_the_order():
    model = QuantileModel(features=("a",), estimators={0.1: _Constant(1.0), 0.5: _Constant(1.0), 0.9: _Constant(1.0)},
                          offsets={0.1: -0.5, 0.9: 0.25}, scale="a", scale_floor=0.2)
    frame = model.predict(pd.DataFrame({"a": [4.0, 0.0, np.nan]}))
    np.testing.assert_allclose(frame["p10"], [1 - 2.0, 1 - 0.1, 1 - 0.1])  # floored scale where small or unknown
    np.testing.assert_allclose(frame["p90"], [1 + 1.0, 1 + 0.05, 1 + 0.05])
    np.testing.assert_allclose(frame["p50"], 1.0)


def _noisy(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """y = sin(x) plus noise whose spread grows with x; hourly targets from 2024-01-01."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 6, n)
    frame = pd.DataFrame({"x": x, "z": rng.normal(size=n)},
                         index=pd.date_range("2024-01-01", periods=n, freq="h", tz="UTC"))
    return frame, np.sin(x) + rng.normal(0, 0.1 + 0.1 * x, n)


def test_the_calibrated_band_holds_about_80_percent_of_unseen_data_where_the_raw_one_does_not(monkeypatch):
    # Deep trees on few rows: the raw band hugs the training data and is too narrow on new data.
    monkeypatch.setattr(quantile, "BAND_PARAMS", dict(quantile.BAND_PARAMS, max_iter=200, max_leaf_nodes=31,
                                                      min_samples_leaf=3, learning_rate=0.2))
    monkeypatch.setattr(quantile, "MEDIAN_PARAMS", dict(quantile.MEDIAN_PARAMS, max_iter=50))
    train, y = _noisy(3000, seed=1)
    test, y_test = _noisy(20000, seed=2)
    held = holdout_weeks(train.index)
    raw = fit_quantiles(train, y, ["x", "z"])
    calibrated = fit_quantiles(train, y, ["x", "z"], holdout=held)

    def coverage(model):
        band = model.predict(test)
        return float(((y_test >= band["p10"]) & (y_test <= band["p90"])).mean())

    assert coverage(raw) < 0.74
    assert 0.76 <= coverage(calibrated) <= 0.84
    assert calibrated.calibration["rows"] == int(held.sum())
    assert abs(calibrated.calibration["coverage_after"] - 0.8) < 0.02
    # The median learned from every row, held-out weeks included: it is the uncalibrated one.
    np.testing.assert_array_equal(calibrated.predict(test)["p50"], raw.predict(test)["p50"])


def test_held_out_weeks_are_whole_weeks_a_fifth_of_the_time():
    ts = pd.date_range("2024-01-01", periods=24 * 7 * 20, freq="h", tz="UTC")
    held = pd.Series(holdout_weeks(ts), index=ts)
    assert held.mean() == pytest.approx(0.2)
    # Each 7-day block (counted from 1970-01-01, a Thursday) is all in or all out.
    blocks = (ts.as_unit("ns").asi8 // pd.Timedelta(days=7).value)
    assert (held.groupby(blocks).nunique() == 1).all()
    # Repeated targets (one per issue) land on the same side.
    repeated = ts.repeat(3)
    np.testing.assert_array_equal(holdout_weeks(repeated), np.repeat(held.to_numpy(), 3))


def test_too_few_rows_to_hold_out_leaves_the_band_uncalibrated(fast_models):
    train, y = _noisy(400, seed=3)
    model = fit_quantiles(train, y, ["x"], holdout=holdout_weeks(train.index))
    assert model.offsets == {} and model.calibration == {}


def test_pv_models_carry_their_calibration(fast_models):
    weather = synthetic_weather(60)
    actual = synthetic_pv(weather)
    model = fit_pv(actual, PVSetup(SETUP.arrays, SETUP.site, SETUP.step), weather)
    for variant in ("weather", "clearsky"):
        fitted = model.variants[variant]
        assert fitted.scale == "clearsky_kwh" and set(fitted.offsets) == {0.1, 0.9}
        assert fitted.calibration["rows"] >= quantile.MIN_CALIBRATION_ROWS
        assert abs(fitted.calibration["coverage_after"] - 0.8) < 0.03
