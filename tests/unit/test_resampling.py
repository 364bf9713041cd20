"""Meters at 30 and 60 minutes in the 15-minute parts: the one resampling (kWh conserved, kW repeated)
and, on each backend, the What-if fallback profile, a past day's actuals, the back-test and sizing."""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import pandas as pd
import pytest

from services.energy.flows import metered_flows
from services.households import create_household, create_tariff
from services.optimization.inputs import SOURCE_ACTUALS, SOURCE_PROFILE, household_inputs, perfect_foresight_inputs
from services.optimization.jobs import period_inputs
from services.resampling import native_step_s, resampling_note, spread_to_steps
from services.store.db import session_scope
from tests.factories import add_series

TZ = "Europe/Berlin"
FIRST_DAY = date(2026, 6, 1)  # readings for DAYS local days from here
DAYS = 10
NOW = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)  # tomorrow = 11 June, right after the readings


def _frame(values: dict[str, list[float]], step_min: int, start="2026-06-01 00:00") -> pd.DataFrame:
    index = pd.date_range(pd.Timestamp(start, tz="UTC"), periods=len(next(iter(values.values()))),
                          freq=f"{step_min}min")
    return pd.DataFrame(values, index=index)


def test_half_hour_energy_splits_into_two_equal_quarters_and_the_total_is_kept():
    frame = _frame({"load": [1.0, 0.6, 0.2]}, 30)
    out, native = spread_to_steps(frame, 900)
    assert native == {"load": 1800}
    assert out["load"].tolist() == [0.5, 0.5, 0.3, 0.3, 0.1, 0.1]
    assert out["load"].sum() == pytest.approx(1.8)
    assert out.index[1] == pd.Timestamp("2026-06-01 00:15", tz="UTC")


def test_power_repeats_and_a_gap_longer_than_the_meter_step_stays_a_gap():
    index = pd.DatetimeIndex(pd.to_datetime(["2026-06-01 00:00", "2026-06-01 01:00", "2026-06-01 02:00",
                                             "2026-06-01 05:00"], utc=True))
    frame = pd.DataFrame({"power": [2.0, 4.0, 6.0, 8.0]}, index=index)
    out, native = spread_to_steps(frame, 900, {"power": "power"})
    assert native == {"power": 3600}
    assert out["power"].loc["2026-06-01 00:00":"2026-06-01 00:45"].tolist() == [2.0] * 4
    assert pd.isna(out["power"].reindex([pd.Timestamp("2026-06-01 03:00", tz="UTC")])).all()  # the gap
    assert len(out) == 16  # 4 readings x 4 quarter hours


def test_quarter_hour_and_daily_meters_are_left_alone():
    fine = _frame({"pv": [0.1, 0.2, 0.3, 0.4]}, 15)
    assert spread_to_steps(fine, 900)[1] == {}
    daily = _frame({"pv": [10.0, 12.0]}, 1440)
    out, native = spread_to_steps(daily, 900)
    assert native == {} and out["pv"].tolist() == [10.0, 12.0]
    assert native_step_s(np.array([0, 1800, 3600, 7200])) == 1800
    assert "every 30 min" in resampling_note({"load": 1800}, 900)


def _half_hour_kw(step_min: int) -> np.ndarray:
    """Load [kW] per meter step of a day: 1 kW at night, 3 kW from 18:00 to 22:00 local."""
    per_day = 1440 // step_min
    kw = np.ones(per_day)
    kw[18 * 60 // step_min:22 * 60 // step_min] = 3.0
    return kw


def _coarse_home(step_min: int) -> int:
    tariff = create_tariff({"name": f"Flat {step_min}", "kind": "flat", "import_price": 0.3, "export_price": 0.08})
    home = create_household({
        "name": f"Meter every {step_min} min", "timezone": TZ, "latitude": 52.5, "longitude": 13.4,
        "tariff_id": tariff, "pv_systems": [{"kwp": 5.0}],
        "battery": {"capacity_kwh": 10.0, "max_charge_kw": 5.0, "max_discharge_kw": 5.0},
    })
    start = pd.Timestamp(FIRST_DAY).tz_localize(TZ).tz_convert("UTC").to_pydatetime()
    hours = step_min / 60
    load_kwh = np.tile(_half_hour_kw(step_min), DAYS) * hours
    per_day = 1440 // step_min
    pv_kw = np.zeros(per_day)
    pv_kw[10 * 60 // step_min:14 * 60 // step_min] = 2.0
    with session_scope() as session:
        add_series(session, home, "load", start, load_kwh.tolist(), step_min=step_min)
        add_series(session, home, "pv", start, (np.tile(pv_kw, DAYS) * hours).tolist(), step_min=step_min)
    return home


DAY_KWH = 20 * 1.0 + 4 * 3.0  # 20 h at 1 kW, 4 h at 3 kW: 32 kWh a day


@pytest.mark.parametrize("step_min", [30, 60])
def test_the_fallback_profile_of_a_coarse_meter_keeps_the_daily_energy(db_url, step_min):
    home = _coarse_home(step_min)
    inputs = household_inputs(home, now=NOW)
    r = inputs.request
    assert inputs.load_source == SOURCE_PROFILE and r.steps == 96
    assert r.load_kw.sum() * r.dt_h == pytest.approx(DAY_KWH)  # was 61 against 31 kWh before: doubled
    np.testing.assert_allclose(r.load_kw, np.repeat(_half_hour_kw(step_min), step_min // 15))
    assert r.pv_kw.sum() * r.dt_h == pytest.approx(8.0)
    assert any(f"every {step_min} min" in n and "totals unchanged" in n for n in inputs.notes)


@pytest.mark.parametrize("step_min", [30, 60])
def test_a_past_day_of_a_coarse_meter_is_complete_not_half_missing(db_url, step_min):
    home = _coarse_home(step_min)
    inputs = perfect_foresight_inputs(home, date(2026, 6, 5))
    r = inputs.request
    assert inputs.load_source == SOURCE_ACTUALS
    assert r.load_kw.sum() * r.dt_h == pytest.approx(DAY_KWH)
    assert not any("interpolated" in n for n in inputs.notes)
    assert any(f"every {step_min} min" in n for n in inputs.notes)


def test_backtest_and_sizing_read_a_half_hour_meter_with_exact_totals(db_url):
    home = _coarse_home(30)
    period = period_inputs(home, date(2026, 6, 8), 2)  # the 7 days before are there too
    assert period.load_kw.shape == (192,)
    assert period.load_kw.sum() * 0.25 == pytest.approx(2 * DAY_KWH)
    assert period.history_load_kw.sum() * 0.25 == pytest.approx(7 * DAY_KWH)
    assert any("every 30 min" in n for n in period.notes)


def test_metered_flows_say_which_meter_was_spread(db_url):
    home = _coarse_home(30)
    lo = pd.Timestamp(FIRST_DAY).tz_localize(TZ).tz_convert("UTC").to_pydatetime()
    hi = pd.Timestamp(date(2026, 6, 2)).tz_localize(TZ).tz_convert("UTC").to_pydatetime()
    quarter = metered_flows(home, 900, lo, hi)
    assert quarter.resampled == {"load": 1800, "pv": 1800}
    assert len(quarter.frame) == 96 and quarter.frame["load"].sum() == pytest.approx(DAY_KWH)
    hourly = metered_flows(home, 3600, lo, hi)
    assert hourly.resampled == {} and hourly.frame["load"].sum() == pytest.approx(DAY_KWH)


def test_the_explorer_draws_a_half_hour_meter_on_quarter_hours_and_says_so(db_url):
    from services import explorer

    home = _coarse_home(30)
    data = explorer.explore(home, date(2026, 6, 5), date(2026, 6, 5), "15min")
    assert data.resolution.resolution.seconds == 900
    assert len(data.flows) == 96 and data.flows["load"].sum() == pytest.approx(DAY_KWH)
    assert data.flows["load"].iloc[0] == pytest.approx(0.25)  # 1 kW for 15 min, not 0.5 then 0
    assert any("every 30 min" in n for n in data.notes)
