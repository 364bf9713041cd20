"""Timestamps to UTC seconds: the accepted forms, and a reason for each one refused."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest

from services.ingestion.timestamps import parse_timestamps, zone_from_text


def _utc(text: str) -> int:
    return int(pd.Timestamp(text).tz_convert("UTC").timestamp())


def test_iso_with_offsets_epoch_and_aware_datetimes_agree():
    values = pd.Series(["2024-03-31T03:15:00+02:00", "2024-03-31T01:15:00Z", 1711847700,
                        datetime(2024, 3, 31, 1, 15, tzinfo=timezone.utc), "1711847700"], dtype=object)
    parsed = parse_timestamps(values, "Europe/Berlin")
    assert not parsed.bad.any()
    assert parsed.seconds.tolist() == [1711847700] * 5


def test_string_column_fast_path_keeps_each_offset():
    values = pd.Series(["2024-01-01T00:00:00+01:00", "2024-01-01T00:00:00-08:00"])
    parsed = parse_timestamps(values, "UTC")
    assert parsed.seconds.tolist() == [_utc("2023-12-31T23:00Z"), _utc("2024-01-01T08:00Z")]


def test_naive_local_times_are_read_in_the_zone_given_per_row():
    values = pd.Series(["2024-07-01 12:00", "2024-07-01 12:00", "2024-07-01 12:00"])
    zones = pd.Series(["Europe/Berlin", "America/Los_Angeles", "UTC-08:00"])
    parsed = parse_timestamps(values, zones)
    assert parsed.seconds.tolist() == [_utc("2024-07-01T10:00Z"), _utc("2024-07-01T19:00Z"), _utc("2024-07-01T20:00Z")]


def test_spring_forward_gap_is_refused_with_the_jump_and_the_fix():
    parsed = parse_timestamps(pd.Series(["2024-03-31 02:30"]), "Europe/Berlin")
    assert parsed.bad.tolist() == [True]
    reason = parsed.reasons[0]
    assert "2024-03-31 02:30:00 does not exist in Europe/Berlin" in reason
    assert "jump forward 60 minutes" in reason
    assert "shift_forward" in reason


def test_spring_forward_gap_shifted_when_the_policy_says_so():
    forward = parse_timestamps(pd.Series(["2024-03-31 02:30"]), "Europe/Berlin", nonexistent="shift_forward")
    backward = parse_timestamps(pd.Series(["2024-03-31 02:30"]), "Europe/Berlin", nonexistent="shift_backward")
    assert forward.seconds.tolist() == [_utc("2024-03-31T01:00Z")]  # 03:00 CEST, the first valid instant
    assert backward.seconds[0] == _utc("2024-03-31T01:00Z") - 1  # 01:59:59 CET, the last before the gap
    assert not forward.bad.any() and not backward.bad.any()


def test_fall_back_fold_is_refused_with_both_readings_offered():
    parsed = parse_timestamps(pd.Series(["2024-10-27 02:30"]), "Europe/Berlin")
    assert parsed.bad.tolist() == [True]
    assert "happens twice in Europe/Berlin" in parsed.reasons[0]
    assert "2024-10-27T02:30:00+02:00 or 2024-10-27T02:30:00+01:00" in parsed.reasons[0]


@pytest.mark.parametrize("policy, expected", [("earlier", "2024-10-27T00:30Z"), ("later", "2024-10-27T01:30Z")])
def test_fall_back_fold_resolved_by_policy(policy, expected):
    parsed = parse_timestamps(pd.Series(["2024-10-27 02:30"]), "Europe/Berlin", ambiguous=policy)
    assert parsed.seconds.tolist() == [_utc(expected)]


def test_fixed_offset_zone_has_no_dst_edges():
    # CityLearn's clock: local standard time all year, no gap on the US spring-forward night.
    parsed = parse_timestamps(pd.Series(["2017-03-12 02:30"]), "UTC-08:00")
    assert parsed.seconds.tolist() == [_utc("2017-03-12T10:30Z")]


def test_unreadable_empty_and_millisecond_times_each_get_their_reason():
    values = pd.Series(["31/02/2024 10:00", "", None, 1711847700000], dtype=object)
    parsed = parse_timestamps(values, "UTC")
    assert parsed.bad.tolist() == [True, True, True, True]
    assert "'31/02/2024 10:00' is not a date and time we can read" in parsed.reasons[0]
    assert parsed.reasons[1] == parsed.reasons[2] == "the timestamp is empty: every reading needs a time"
    assert "looks like milliseconds" in parsed.reasons[3]


def test_explicit_format_and_epoch_milliseconds():
    dotted = parse_timestamps(pd.Series(["31.12.2024 10:00"]), "UTC+01:00", fmt="%d.%m.%Y %H:%M")
    millis = parse_timestamps(pd.Series(["1711847700000"]), "UTC", fmt="epoch_ms")
    assert dotted.seconds.tolist() == [_utc("2024-12-31T09:00Z")]
    assert millis.seconds.tolist() == [1711847700]


def test_years_outside_1990_to_2099_are_refused():
    parsed = parse_timestamps(pd.Series(["2150-01-01T00:00:00Z"]), "UTC")
    assert parsed.bad.tolist() == [True]
    assert "outside 1990-2099" in parsed.reasons[0]


def test_naive_time_without_any_zone_is_refused():
    parsed = parse_timestamps(pd.Series(["2024-07-01 12:00"]), pd.Series([None], dtype=object))
    assert "no time zone is known" in parsed.reasons[0]


def test_fractions_of_a_second_are_rounded_down():
    parsed = parse_timestamps(pd.Series(["2024-01-01T00:00:00.900+00:00", "2024-01-01T00:00:01.100+00:00"]), "UTC")
    assert np.diff(parsed.seconds).tolist() == [1]


def test_zone_from_text_reads_names_and_offsets_and_says_what_is_accepted():
    assert zone_from_text("UTC-08:00").utcoffset(None) == timedelta(hours=-8)
    assert zone_from_text("+05:30").utcoffset(None) == timedelta(hours=5, minutes=30)
    assert str(zone_from_text("Europe/Berlin")) == "Europe/Berlin"
    with pytest.raises(ValueError, match="use an IANA name like 'Europe/Berlin'"):
        zone_from_text("Mars/Olympus")
