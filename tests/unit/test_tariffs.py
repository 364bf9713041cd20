"""Tariffs evaluated as prices over time, in the household's local time."""

import pandas as pd
import pytest

from services.households.tariffs import PeriodSpec, TariffSpec, flat_tariff, import_prices

WEEKDAYS = 0b0011111
ALL_DAYS = 0b1111111


def test_flat_price_everywhere():
    idx = pd.date_range("2025-01-01", periods=96, freq="15min", tz="UTC")
    prices = import_prices(flat_tariff(0.3), idx, "Europe/Berlin")
    assert (prices == 0.3).all()


def test_time_of_use_in_local_time_across_dst():
    tou = TariffSpec(
        kind="tou", currency="EUR", import_price=0.33, export_price=0.08,
        periods=(
            PeriodSpec(17 * 60, 21 * 60, WEEKDAYS, 0.42),  # weekday evening peak
            PeriodSpec(22 * 60, 6 * 60, ALL_DAYS, 0.24),  # night, wraps midnight
        ),
    )
    # Monday 2025-03-31 is the first weekday after spring-forward: Berlin is UTC+2.
    at = pd.DatetimeIndex(
        ["2025-03-31 15:00", "2025-03-31 14:59", "2025-03-31 19:00", "2025-03-31 21:30", "2025-04-01 03:59",
         "2025-03-29 16:00"], tz="UTC",
    )
    got = import_prices(tou, at, "Europe/Berlin").tolist()
    # 17:00 local peak, 16:59 default, 21:00 local default, 23:30 night, 05:59 night, Saturday 17:00 default
    assert got == [0.42, 0.33, 0.33, 0.24, 0.24, 0.33]


def test_dynamic_prices_hold_for_their_hour_and_fall_back_when_missing():
    series = pd.Series([0.10, -0.05], index=pd.DatetimeIndex(["2025-06-01 10:00", "2025-06-01 11:00"], tz="UTC"))
    dyn = TariffSpec(kind="dynamic", currency="EUR", import_price=0.30, export_price=0.07, prices=series)
    at = pd.date_range("2025-06-01 09:45", "2025-06-01 12:00", freq="15min", tz="UTC")
    got = import_prices(dyn, at, "Europe/Berlin").tolist()
    assert got == [0.30, 0.10, 0.10, 0.10, 0.10, -0.05, -0.05, -0.05, -0.05, 0.30]


def test_naive_index_is_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        import_prices(flat_tariff(0.3), pd.date_range("2025-01-01", periods=2, freq="h"), "UTC")


def test_seasonal_periods_apply_only_in_their_months():
    summer_peak = PeriodSpec(16 * 60, 21 * 60, ALL_DAYS, 0.54, months=0b000111100000)  # June-September
    winter_peak = PeriodSpec(16 * 60, 21 * 60, ALL_DAYS, 0.50, months=0b111000011111)
    tou = TariffSpec(kind="tou", currency="USD", import_price=0.21, export_price=0.0,
                     periods=(summer_peak, winter_peak))
    at = pd.DatetimeIndex(["2025-07-15 17:00", "2025-12-15 17:00", "2025-07-15 12:00"]).tz_localize("America/Los_Angeles")
    assert import_prices(tou, at.tz_convert("UTC"), "America/Los_Angeles").tolist() == [0.54, 0.50, 0.21]
