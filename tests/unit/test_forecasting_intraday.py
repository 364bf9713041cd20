"""Without weather, the first hours of a PV forecast follow the sky metered last, then the model
(or the recent share of clear sky) takes over; readings after the issue still change nothing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from services.forecasting.features import pv_physics
from services.forecasting.pv import INTRADAY_TAU_H, physical_pv, predict_pv
from tests.unit.test_forecasting import SETUP, START, fast_models, pv_case  # noqa: F401

ISSUE = START + pd.Timedelta(days=20, hours=10)  # 12:00 in Berlin: the sun is well up


def clear_kwh(index: pd.DatetimeIndex) -> np.ndarray:
    return pv_physics(index, SETUP.arrays, SETUP.site.location, None, SETUP.step)["clearsky_kwh"].to_numpy()


def with_last_hour_at(actual: pd.Series, share: float) -> pd.Series:
    """Readings up to the issue, the last hour at ``share`` of its clear-sky energy."""
    history = actual[actual.index < ISSUE].copy()
    last = history.index[-1:]
    history.iloc[-1] = share * clear_kwh(last)[0]
    return history


@pytest.mark.parametrize("forecast", ["model", "physical"])
def test_the_next_hours_follow_the_last_metered_sky_and_the_day_after_does_not(pv_case, forecast):  # noqa: F811
    model, actual, _ = pv_case

    def p50(history: pd.Series) -> pd.Series:
        if forecast == "model":
            return predict_pv(model, history, ISSUE, 30, None).frame["p50"]
        return physical_pv(SETUP, ISSUE, 30, None, history=history).frame["p50"]

    dull, bright = p50(with_last_hour_at(actual, 0.2)), p50(with_last_hour_at(actual, 1.0))
    clear = pd.Series(clear_kwh(dull.index), index=dull.index)
    first = dull.index[0]
    # The next hour moves by (most of) the difference in the sky: weight exp(-1 h / tau).
    weight = np.exp(-1.0 / INTRADAY_TAU_H)
    assert bright[first] - dull[first] >= 0.8 * weight * (1.0 - 0.2) * clear[first] - 1e-9
    # The same hour tomorrow is the model's (or the recent share's) alone: the weight is e^-8 by then.
    tomorrow = first + pd.Timedelta(days=1)
    if forecast == "physical":
        assert abs(bright[tomorrow] - dull[tomorrow]) <= 0.1 * clear[tomorrow]
    assert (dull >= 0).all() and (dull[clear == 0] == 0).all()


def test_readings_after_the_issue_do_not_reach_the_first_hours(pv_case):  # noqa: F811
    model, actual, _ = pv_case
    honest = predict_pv(model, actual[actual.index < ISSUE], ISSUE, 6, None).frame
    poisoned = actual.copy()
    poisoned[poisoned.index >= ISSUE] = 0.0  # what happens next must not be read
    pd.testing.assert_frame_equal(predict_pv(model, poisoned, ISSUE, 6, None).frame, honest)
    pd.testing.assert_frame_equal(physical_pv(SETUP, ISSUE, 6, None, history=poisoned).frame,
                                  physical_pv(SETUP, ISSUE, 6, None, history=actual[actual.index < ISSUE]).frame)
