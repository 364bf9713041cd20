"""Impossible readings (services/quality_limits.py) on both backends: PV at night and above its rating,
grid import and export above the connection, on synthetic series with planted faults; and where they
show (the Data page's issues, the alerts, the overview's quality card)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd

from services.pvmodel import Location, solar_position
from services.quality import check_household, quality_counts
from services.quality.alerts import ACTIONS, quality_alerts
from services.quality.limits import HOUSEHOLD_CONNECTION_KW
from services.store.db import session_scope
from tests.factories import add_household, add_series

T0 = datetime(2025, 6, 2, tzinfo=timezone.utc)
BERLIN = Location(52.5, 13.4)  # where tests.factories puts a household
KWP = 5.0


def pv_day_shape(days: int, step_min: int) -> tuple[pd.DatetimeIndex, np.ndarray]:
    """A clear-sky-like PV series of a 5 kWp array [kWh per step]: zero while the sun is down."""
    index = pd.date_range(T0, periods=days * 24 * 60 // step_min, freq=f"{step_min}min", tz="UTC")
    middle = index + pd.Timedelta(minutes=step_min / 2)
    elevation = solar_position(pd.DatetimeIndex(middle), BERLIN)["elevation"].to_numpy()
    values = np.clip(np.sin(np.radians(elevation)), 0.0, None) * KWP * step_min / 60 * 0.9
    return index, np.round(values, 4)


def household(name: str, series: dict[str, tuple[list[float], int]], *, kwp: float | None = KWP,
              import_kw: float | None = None, export_kw: float | None = None) -> int:
    """A household with ``series``: quantity -> (values from T0, step [min])."""
    with session_scope() as s:
        hh = add_household(s, name, kwp=kwp)
        hh.grid_import_limit_kw, hh.grid_export_limit_kw = import_kw, export_kw
        for quantity, (values, step_min) in series.items():
            add_series(s, hh.id, quantity, T0, values, step_min=step_min)
        return hh.id


def at(index: pd.DatetimeIndex, when: str) -> int:
    return int(index.get_loc(pd.Timestamp(when, tz="UTC")))


def test_pv_at_night_and_above_the_rating_is_found_and_ordinary_output_is_not(db_url):
    index, values = pv_day_shape(3, 15)
    values = values.tolist()
    values[at(index, "2025-06-02 00:00")] = 0.005  # inverter noise at night: below the tolerance
    values[at(index, "2025-06-02 23:00")] = 2.0  # 01:00 in Berlin: a register glitch
    values[at(index, "2025-06-03 11:00")] = 1.5  # a bright quarter hour: 6 kW from 5 kWp, within the margin
    values[at(index, "2025-06-04 11:00")] = 50.0  # 200 kW from 5 kWp
    quality = check_household(household("PV glitches", {"pv": (values, 15)}))
    (pv,) = quality.series
    assert [(i.ts, i.value, i.reason) for i in pv.implausible] == [
        (datetime(2025, 6, 2, 23, tzinfo=timezone.utc), 2.0, "night"),
        (datetime(2025, 6, 4, 11, tzinfo=timezone.utc), 50.0, "rating")]
    assert pv.implausible[1].limit == KWP * 0.25 * 1.3  # the rating scales with the 15-min interval
    assert quality.counts()["implausible"] == 2 and quality.counts()["spikes"] == 0
    (issue,) = [i for i in quality.issues if i.kind == "implausible"]
    assert "2 impossible reading(s)" in issue.message and "sun down" in issue.message
    assert "more PV than 5 kWp can deliver" in issue.message


def test_a_clean_pv_series_of_hours_has_no_impossible_readings(db_url):
    _, values = pv_day_shape(4, 60)
    quality = check_household(household("Clean PV", {"pv": (values.tolist(), 60)}))
    assert quality.counts()["implausible"] == 0 and quality.issues == ()


def test_pv_shifted_by_a_wrong_time_zone_shows_up_as_output_every_night(db_url):
    _, values = pv_day_shape(4, 60)
    shifted = np.roll(values, 9).tolist()  # local time taken for UTC, far west: output runs into the night
    quality = check_household(household("Shifted PV", {"pv": (shifted, 60)}))
    (pv,) = quality.series
    assert pv.implausible_count >= 4 and {i.reason for i in pv.implausible} == {"night"}
    assert len({i.ts.date() for i in pv.implausible}) >= 3  # every evening, not one glitch
    assert "wrong time zone" in quality.issues[0].message


def test_without_a_pv_system_pv_is_not_judged_against_a_rating(db_url):
    index, values = pv_day_shape(2, 60)
    values[at(index, "2025-06-02 12:00")] = 50.0
    quality = check_household(household("No rating", {"pv": (values.tolist(), 60)}, kwp=None))
    assert quality.counts()["implausible"] == 0


def test_grid_readings_above_the_connection_limit_scale_with_the_interval(db_url):
    hourly = [1.0] * 48
    hourly[5], hourly[20], hourly[30] = 804.0, 12.0, 13.0  # 12 kWh/h is within 11 kW + 10 %; 13 is not
    quarter = [0.5] * 96
    quarter[10] = 3.1  # 12.4 kW for a quarter hour: above the export limit of 11 kW + 10 %
    quarter[40] = 3.0  # 12.0 kW: within
    home = household("Grid limits", {"grid_import": (hourly, 60), "grid_export": (quarter, 15)},
                     import_kw=11.0, export_kw=11.0)
    quality = check_household(home)
    by_name = {s.name: s for s in quality.series}
    assert [(i.ts, i.value) for i in by_name["grid_import"].implausible] == [
        (T0 + timedelta(hours=5), 804.0), (T0 + timedelta(hours=30), 13.0)]
    assert [(i.ts, i.value) for i in by_name["grid_export"].implausible] == [(T0 + timedelta(minutes=150), 3.1)]
    assert "11 kW set on the Households page" in next(i.message for i in quality.issues if i.series == "grid_import")


def test_without_a_limit_set_a_household_connection_bounds_the_grid(db_url):
    hourly = [1.0] * 48
    hourly[3], hourly[7] = 40.0, 804.0  # 40 kW is a lot but a household connection carries it
    quarter = [0.5] * 96
    quarter[12] = 15.0  # 60 kW for a quarter hour
    quality = check_household(household("No limits", {"grid_import": (hourly, 60), "grid_export": (quarter, 15)}))
    by_name = {s.name: s for s in quality.series}
    assert [i.value for i in by_name["grid_import"].implausible] == [804.0]
    assert by_name["grid_import"].implausible[0].limit == HOUSEHOLD_CONNECTION_KW
    assert [i.value for i in by_name["grid_export"].implausible] == [15.0]
    assert "household connection carries" in quality.issues[0].message


def test_impossible_readings_raise_one_alert_with_what_to_do_and_count_in_the_card(db_url):
    index, values = pv_day_shape(2, 60)
    values = values.tolist()
    values[at(index, "2025-06-02 22:00")] = 0.5  # night, a little
    hourly = [1.0] * 48
    hourly[5] = 804.0
    home = household("Both", {"pv": (values, 60), "grid_import": (hourly, 60)})
    quality = check_household(home)
    (alert,) = [a for a in quality_alerts(quality) if a.kind == "implausible"]
    assert alert.severity == "high"  # 804 kWh in an hour distorts every total it enters
    assert alert.title == "2 impossible reading(s) in grid_import, pv"
    assert "804 kWh" in alert.detail and "sun down" in alert.detail and alert.action == ACTIONS["implausible"]
    assert alert.start == T0 + timedelta(hours=5) and alert.end == T0 + timedelta(hours=22)
    counts = quality_counts([home])
    assert counts["implausible"] == 2 and counts["households_with_issues"] == 1


def test_the_overview_and_data_page_show_impossible_readings(dash_app):
    from components.data_sections import quality_summary as data_summary
    from pages.overview import quality_summary

    counts = {"households": 2, "households_with_issues": 1, "gaps": 0, "duplicates": 0, "stuck": 0,
              "spikes": 0, "implausible": 3, "pv_underperforming": 0}
    card = quality_summary(counts)
    badge = next(c for c in card.children[1].children if c.id == "overview-quality-implausible")
    assert badge.children == "3 impossible readings" and badge.color == "danger" and badge.href == "/data"
    badges = data_summary(counts, None).children[0].children
    assert any(b.children == "3 impossible readings" and b.color == "danger" for b in badges)
