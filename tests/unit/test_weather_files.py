"""Weather files: each reader's time convention, units and the messages for wrong units."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from services.weather.files import (
    WEATHER_COLUMNS,
    WeatherFileError,
    guess_kind,
    instants_to_intervals,
    read_generic_csv,
    read_weather_file,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "weather"


def test_tmy3_hour_ending_local_time_becomes_hour_starting_utc(shared_data):
    path = shared_data / "weather_tmy" / "723170TYA.CSV"
    weather = read_weather_file(path)
    assert weather.source == "tmy3"
    assert (weather.latitude, weather.longitude) == (36.1, -79.95)
    frame = weather.frame
    assert list(frame.columns) == list(WEATHER_COLUMNS)
    # First row: 01/01/1988 01:00 hour ending at UTC-5 is the hour 00:00-01:00 local = 05:00 UTC.
    assert frame.index[0] == pd.Timestamp("1988-01-01 05:00", tz="UTC")
    raw = pd.read_csv(path, skiprows=1)
    noon = raw[(raw["Date (MM/DD/YYYY)"] == "01/01/1988") & (raw["Time (HH:MM)"] == "13:00")].iloc[0]
    # Hour ending 13:00 local is the hour starting 12:00 local = 17:00 UTC.
    assert frame.loc[pd.Timestamp("1988-01-01 17:00", tz="UTC"), "ghi"] == noon["GHI (W/m^2)"]
    assert frame.loc[pd.Timestamp("1988-01-01 17:00", tz="UTC"), "cloud_cover"] == noon["TotCld (tenths)"] * 10
    assert frame["cloud_cover"].max() == 100.0


def test_pvgis_tmy_is_hourly_utc_without_cloud_cover(shared_data):
    weather = read_weather_file(shared_data / "weather_tmy" / "pvgis_tmy_45.000_8.000_2005_2023.csv")
    assert weather.source == "pvgis"
    assert (weather.latitude, weather.longitude, weather.altitude_m) == (45.0, 8.0, 250.0)
    frame = weather.frame
    assert len(frame) == 8760
    assert frame["cloud_cover"].isna().all()
    assert (frame[["ghi", "dni", "dhi"]] >= 0).all().all()
    assert not np.signbit(frame["dni"].to_numpy()).any()  # no -0.0 left from the file
    assert frame.index[0] == pd.Timestamp("2018-01-01 00:00", tz="UTC")


def test_psm3_instants_become_trapezoid_interval_means():
    weather = read_weather_file(FIXTURES / "psm3_golden_2013-06-21.csv")
    assert weather.source == "psm3"
    assert weather.step == timedelta(minutes=30)
    assert weather.altitude_m == 1829.0
    frame = weather.frame
    # 10:00 local standard time (UTC-7) is 17:00 UTC; the interval's mean is
    # (x(10:00) + 2 x(10:15) + x(10:30)) / 4 with x(10:15) interpolated.
    first = frame.loc[pd.Timestamp("2013-06-21 17:00", tz="UTC")]
    assert first["ghi"] == pytest.approx((800 + 2 * 840 + 880) / 4)
    assert first["temp_air"] == pytest.approx((22.0 + 2 * 22.5 + 23.0) / 4)
    assert len(frame) == 6  # seven instants make six half-hour intervals


def test_guess_kind_reads_the_first_lines(shared_data):
    assert guess_kind(shared_data / "weather_tmy" / "723170TYA.CSV") == "tmy3"
    assert guess_kind(shared_data / "weather_tmy" / "pvgis_tmy_45.000_8.000_2005_2023.csv") == "pvgis"
    assert guess_kind(FIXTURES / "psm3_golden_2013-06-21.csv") == "psm3"


def _csv(text: str) -> io.StringIO:
    return io.StringIO(text.strip() + "\n")


def test_generic_csv_labels_start_end_and_instant():
    text = """
time,GHI,temperature,cloudcover
2024-06-01 10:00,100,20,50
2024-06-01 11:00,300,22,40
2024-06-01 12:00,500,24,30
"""
    start = read_generic_csv(_csv(text), timezone="Europe/Berlin", label="start").frame
    assert start.index[0] == pd.Timestamp("2024-06-01 08:00", tz="UTC")  # CEST is UTC+2
    assert start["ghi"].tolist() == [100, 300, 500]
    end = read_generic_csv(_csv(text), timezone="Europe/Berlin", label="end").frame
    assert end.index[0] == pd.Timestamp("2024-06-01 07:00", tz="UTC")
    instant = read_generic_csv(_csv(text), timezone="Europe/Berlin", label="instant").frame
    assert instant["ghi"].tolist() == [200.0, 400.0]  # linear between instants
    assert instant["cloud_cover"].tolist() == [45.0, 35.0]


def test_generic_csv_explains_what_to_do():
    with pytest.raises(WeatherFileError, match="time_column"):
        read_generic_csv(_csv("when,ghi\n2024-06-01 10:00,5\n2024-06-01 11:00,6"))
    with pytest.raises(WeatherFileError, match="columns="):
        read_generic_csv(_csv("time,radiation\n2024-06-01 10:00,5\n2024-06-01 11:00,6"))
    with pytest.raises(WeatherFileError, match="kelvin"):
        read_generic_csv(_csv("time,temperature\n2024-06-01 10:00,293.1\n2024-06-01 11:00,294.0"))
    with pytest.raises(WeatherFileError, match="km/h"):
        read_generic_csv(_csv("time,wind_speed\n2024-06-01 10:00,95\n2024-06-01 11:00,80"))


def test_cloud_cover_given_as_fraction_is_refused():
    rows = "\n".join(f"2024-06-01 {h:02d}:00,0.{h % 9}" for h in range(24))
    with pytest.raises(WeatherFileError, match="fraction"):
        read_generic_csv(_csv("time,cloud_cover\n" + rows))


def test_instants_to_intervals_leaves_gaps_blank():
    index = pd.DatetimeIndex(["2024-06-01 10:00", "2024-06-01 11:00", "2024-06-01 13:00"], tz="UTC")
    frame = pd.DataFrame({"ghi": [100.0, 200.0, 400.0]}, index=index)
    out = instants_to_intervals(frame, timedelta(hours=1))
    assert out.loc[pd.Timestamp("2024-06-01 10:00", tz="UTC"), "ghi"] == 150.0
    # The 12:00 instant is missing: neither 11:00-12:00 nor 12:00-13:00 may be invented.
    assert np.isnan(out.loc[pd.Timestamp("2024-06-01 11:00", tz="UTC"), "ghi"])
    assert np.isnan(out.loc[pd.Timestamp("2024-06-01 12:00", tz="UTC"), "ghi"])
