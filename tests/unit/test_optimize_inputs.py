"""A stored household's schedule inputs on each backend: where the series come from (and that the
fallback says so), prices of each tariff kind, the stored energy at the start, and the what-if request."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest

from services.households import create_household, create_tariff
from services.optimization.inputs import (
    SOURCE_ACTUALS,
    SOURCE_FORECAST,
    SOURCE_PROFILE,
    InputsUnavailable,
    NoBattery,
    household_inputs,
    inputs_for_day,
    perfect_foresight_inputs,
)
from services.optimization.problem import BatteryParams
from services.optimization.whatif import inputs_to_json, whatif_notes, whatif_request
from services.store.db import session_scope
from services.store.models import Forecast, ForecastValue
from tests.optimize_helpers import (
    BATTERY,
    HORIZON_START,
    LAST_SOC_KWH,
    NOW,
    TZ,
    add_battery_home,
    pv_day_kw,
    weekday_load_kw,
)


def add_forecast(household_id: int, target: str, issued_at: datetime, start: datetime, hours: int,
                 kwh_per_hour: float) -> None:
    """An hourly forecast: ``kwh_per_hour`` in each of ``hours`` hours from ``start``."""
    with session_scope() as session:
        forecast = Forecast(household_id=household_id, target=target, method="ml", issued_at=issued_at)
        forecast.values = [ForecastValue(ts=start + timedelta(hours=h), p50=kwh_per_hour) for h in range(hours)]
        session.add(forecast)


def test_without_forecasts_the_last_week_profile_is_used_and_labelled(db_url):
    home = add_battery_home()
    inputs = household_inputs(home, now=NOW)
    r = inputs.request
    assert (inputs.pv_source, inputs.load_source, inputs.source) == (SOURCE_PROFILE, SOURCE_PROFILE, SOURCE_PROFILE)
    assert inputs.source == "fallback: profile of the last 7 days"
    assert r.start == HORIZON_START and r.steps == 96 and r.dt_h == 0.25 and r.timezone == TZ
    # Wednesday: the mean of the five weekdays of the last week, not of the doubled weekend.
    np.testing.assert_allclose(r.load_kw, weekday_load_kw())
    np.testing.assert_allclose(r.pv_kw, pv_day_kw())
    assert (r.battery.capacity_kwh, r.battery.max_charge_kw, r.battery.soc_min) == (10.0, 5.0, 0.1)


def test_a_weekend_horizon_gets_the_weekend_profile(db_url):
    home = add_battery_home(days=12)
    saturday = datetime(2026, 6, 12, 22, 0, tzinfo=UTC)  # local midnight starting Saturday 13 June
    inputs = household_inputs(home, start=saturday, now=NOW)
    np.testing.assert_allclose(inputs.request.load_kw, 2 * weekday_load_kw())


def test_the_newest_forecast_covering_the_horizon_wins(db_url):
    home = add_battery_home()
    end = HORIZON_START + timedelta(days=1)
    add_forecast(home, "load", NOW - timedelta(hours=3), HORIZON_START, 24, 0.7)  # complete, older
    add_forecast(home, "load", NOW - timedelta(hours=1), HORIZON_START, 12, 0.9)  # newer, half the day
    add_forecast(home, "load", NOW + timedelta(hours=1), HORIZON_START, 24, 5.0)  # not issued yet at NOW
    add_forecast(home, "pv", NOW, end, 24, 1.0)  # covers the day after only
    inputs = household_inputs(home, now=NOW)
    assert inputs.load_source == SOURCE_FORECAST and inputs.pv_source == SOURCE_PROFILE
    assert inputs.source == "PV: fallback: profile of the last 7 days; load: forecast"
    np.testing.assert_allclose(inputs.request.load_kw, 0.7)  # 0.7 kWh per hour = 0.7 kW on every quarter


def test_prices_of_a_flat_a_time_of_use_and_a_dynamic_tariff(db_url):
    home = add_battery_home()
    flat = household_inputs(home, now=NOW)
    assert np.all(flat.request.prices.import_per_kwh == 0.30) and np.all(flat.request.prices.export_per_kwh == 0.08)
    assert flat.prices_source == "tariff: Flat 30 ct" and flat.unpriced_steps == ()

    tou = create_tariff({"name": "Evening peak", "kind": "tou", "import_price": 0.30, "export_price": 0.08,
                         "periods": [{"start_minute": 17 * 60, "end_minute": 21 * 60, "weekdays": 0b0011111,
                                      "import_price": 0.45}]})
    prices = household_inputs(home, tariff_id=tou, now=NOW).request.prices.import_per_kwh
    peak = np.zeros(96, dtype=bool)
    peak[17 * 4:21 * 4] = True  # 17:00 to 21:00 Berlin time on a Wednesday
    np.testing.assert_allclose(prices, np.where(peak, 0.45, 0.30))

    # Day-ahead prices published for the first 12 local hours only, one of them negative.
    hourly = [0.20] * 12
    hourly[3] = -0.05
    dynamic = create_tariff({"name": "Spot", "kind": "dynamic", "import_price": 0.31, "export_price": 0.0,
                             "prices": [{"ts": HORIZON_START + timedelta(hours=h), "import_price": p}
                                        for h, p in enumerate(hourly)]})
    inputs = household_inputs(home, tariff_id=dynamic, now=NOW)
    prices = inputs.request.prices.import_per_kwh
    np.testing.assert_allclose(prices[:48], np.repeat(hourly, 4))
    assert prices[12:16].max() == -0.05
    np.testing.assert_allclose(prices[48:], 0.31)  # not published: the tariff's default
    assert inputs.unpriced_steps == tuple(range(48, 96))
    assert any("48 of 96 steps have no published dynamic price" in n for n in inputs.notes)


def test_initial_stored_energy_from_the_latest_reading_unless_given(db_url):
    home = add_battery_home()
    measured = household_inputs(home, now=NOW)
    assert measured.request.battery.initial_kwh == LAST_SOC_KWH
    assert measured.soc_source == "measured at 2026-06-16 23:45"
    given = household_inputs(home, initial_soc_kwh=2.0, now=NOW)
    assert given.request.battery.initial_kwh == 2.0 and given.soc_source == "given"
    # Earlier horizon: the reading at or before its start (4 kWh), not the later one.
    earlier = household_inputs(home, start=HORIZON_START - timedelta(days=1), now=NOW)
    assert earlier.request.battery.initial_kwh == 4.0
    # A smaller battery than the measurement: kept within its limits, and said so.
    small = household_inputs(home, battery=BatteryParams(5.0, 2.0, 2.0, soc_max=0.9), now=NOW)
    assert small.request.battery.initial_kwh == pytest.approx(4.5)
    assert "outside the battery's limits" in small.soc_source


def test_without_a_soc_reading_the_battery_starts_half_full(db_url):
    home = add_battery_home(readings=False)
    add_forecast(home, "load", NOW, HORIZON_START, 24, 0.5)
    add_forecast(home, "pv", NOW, HORIZON_START, 24, 0.0)
    inputs = household_inputs(home, now=NOW)
    assert inputs.soc_source == "no measurement: assumed half full"
    assert inputs.request.battery.initial_kwh == pytest.approx((1.0 + 10.0) / 2)


def test_no_battery_and_no_tariff_say_what_to_do(db_url):
    home = add_battery_home(battery=None, name="No Battery Home")
    with pytest.raises(NoBattery, match="has no battery.*Households page") as raised:
        household_inputs(home, now=NOW)
    assert raised.value.field == "battery"
    bare = create_household({"name": "No Tariff", "timezone": TZ, "latitude": 52.5, "longitude": 13.4,
                             "battery": BATTERY})
    with pytest.raises(InputsUnavailable, match="has no tariff") as raised:
        household_inputs(bare, now=NOW)
    assert raised.value.field == "tariff_id"
    with pytest.raises(InputsUnavailable, match="no load readings") as raised:
        household_inputs(bare, tariff_id=create_tariff({"name": "F", "import_price": 0.3}), now=NOW)
    assert raised.value.field == "load_kw"


def test_perfect_foresight_uses_the_metered_day(db_url):
    home = add_battery_home()
    saturday = perfect_foresight_inputs(home, date(2026, 6, 13))
    assert saturday.source == SOURCE_ACTUALS == "perfect foresight: actuals"
    np.testing.assert_allclose(saturday.request.load_kw, 2 * weekday_load_kw())
    np.testing.assert_allclose(saturday.request.pv_kw, pv_day_kw())
    # inputs_for_day picks the mode by date: a past day is metered, a day to come is forecast.
    assert inputs_for_day(home, date(2026, 6, 15), now=NOW).source == SOURCE_ACTUALS
    assert inputs_for_day(home, date(2026, 6, 17), now=NOW).source == SOURCE_PROFILE
    with pytest.raises(InputsUnavailable, match="96 of 96 steps"):
        perfect_foresight_inputs(home, date(2026, 5, 1))


def test_whatif_request_changes_only_the_settings(db_url):
    base = inputs_to_json(household_inputs(home := add_battery_home(), hours=48, now=NOW))
    assert base["household_id"] == home and len(base["load_kw"]) == 192
    request = whatif_request(base, capacity_kwh=4.0, power_kw=2.0, efficiency=0.9, initial_soc_fraction=0.0,
                             pv_scale=2.0, export_limit_kw=0.0, hours=24)
    b = request.battery
    assert request.steps == 96 and request.grid.export_limit_kw == 0.0
    assert (b.capacity_kwh, b.max_charge_kw, b.max_discharge_kw, b.charge_efficiency) == (4.0, 2.0, 2.0, 0.9)
    assert b.initial_kwh == pytest.approx(0.4)  # 0 % asked, the battery's 10 % minimum kept
    np.testing.assert_allclose(request.pv_kw, 2 * pv_day_kw())
    np.testing.assert_allclose(request.load_kw, weekday_load_kw())
    assert whatif_request(base, capacity_kwh=4, power_kw=2, efficiency=0.9, initial_soc_fraction=0.5).steps == 192
    base["unpriced_steps"] = list(range(120, 192))
    assert whatif_notes(base, 96) == [] and "72 of 192 steps" in whatif_notes(base, 192)[0]
