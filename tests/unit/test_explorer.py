"""The household explorer's services on hand-made series a person can check: the flow split,
KPI formulas, resolution choice, comparison periods (leap years, DST), heatmap and cost."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest

from services import explorer
from services.energy.flows import SPLIT_FLOWS, split_flows
from services.energy.rollups import refresh_daily_energy
from services.explorer.periods import MAX_POINTS
from services.store.db import session_scope
from services.store.models import Battery, Tariff
from tests.factories import add_household, add_series

# 2 June 2025 00:00 in Berlin (UTC+2): the first of two local days of quarter hours.
START = datetime(2025, 6, 1, 22, 0, tzinfo=timezone.utc)
Q = 96  # quarter hours in a day


def _day_without_pv() -> dict[str, list[float]]:
    """2 June: 24 kWh of consumption, all bought from the grid."""
    return {"load": [0.25] * Q, "grid_import": [0.25] * Q, "pv": [0.0] * Q, "grid_export": [0.0] * Q,
            "battery_charge": [0.0] * Q, "battery_discharge": [0.0] * Q}


def _day_with_pv_and_battery() -> dict[str, list[float]]:
    """3 June: 24 kWh of consumption; 12 kWh of PV from 10:00 to 14:00 (0.75 kWh per quarter
    hour: 0.25 to the home, 0.25 into the battery, 0.25 exported); the battery gives 4 kWh back
    from 20:00; the rest (16 kWh) comes from the grid."""
    pv = [0.0] * 40 + [0.75] * 16 + [0.0] * 40
    sun = [0.0] * 40 + [0.25] * 16 + [0.0] * 40
    evening = [0.0] * 80 + [0.25] * 16
    grid = [0.25] * 40 + [0.0] * 16 + [0.25] * 24 + [0.0] * 16
    return {"load": [0.25] * Q, "pv": pv, "battery_charge": sun, "grid_export": sun,
            "battery_discharge": evening, "grid_import": grid}


@pytest.fixture
def home(db_url):
    """A Berlin household on a flat tariff (0.30 import, 0.10 feed-in) with two local days of readings."""
    with session_scope() as s:
        flat = Tariff(name="Flat 30", kind="flat", import_price=0.30, export_price=0.10)
        hh = add_household(s, "Explorer home", tariff=flat, kwp=4.0)
        s.add(Battery(household_id=hh.id, capacity_kwh=10.0, max_charge_kw=3.0, max_discharge_kw=3.0))
        first, second = _day_without_pv(), _day_with_pv_and_battery()
        for quantity in first:
            add_series(s, hh.id, quantity, START, first[quantity] + second[quantity])
        household_id = hh.id
    refresh_daily_energy([household_id])
    return household_id


# --- the flow split (pure) -----------------------------------------------------------------------


def test_split_flows_add_up_to_pv_and_consumption_in_every_step():
    rng = np.random.default_rng(3)
    n = 200
    pv = rng.uniform(0, 2, n)
    load = rng.uniform(0, 2, n)
    charge = np.where(rng.random(n) < 0.3, rng.uniform(0, 1, n), 0.0)  # sometimes from the grid at night
    discharge = np.where(charge == 0, rng.uniform(0, 1, n) * (rng.random(n) < 0.4), 0.0)
    net = pv + discharge - load - charge
    frame = pd.DataFrame({"pv": pv, "load": load, "battery_charge": charge, "battery_discharge": discharge,
                          "grid_export": net.clip(min=0), "grid_import": (-net).clip(min=0)})
    split = split_flows(frame)
    assert list(split.columns) == list(SPLIT_FLOWS)
    assert (split >= 0).all().all()
    np.testing.assert_allclose(split["pv_to_home"] + split["pv_to_battery"] + split["pv_to_grid"], pv, atol=1e-9)
    np.testing.assert_allclose(split["pv_to_home"] + split["grid_to_home"] + split["battery_to_home"], load, atol=1e-9)
    # The meters agree with the split where the balance holds: imports and exports are accounted for.
    np.testing.assert_allclose(split["grid_to_home"] + split["grid_to_battery"], frame["grid_import"], atol=1e-9)
    np.testing.assert_allclose(split["pv_to_grid"] + split["battery_to_grid"], frame["grid_export"], atol=1e-9)


def test_split_flows_of_hand_made_steps():
    frame = pd.DataFrame({
        # sunny: 3 kWh PV, 1 home, 1 battery, 1 exported | night: battery 0.5 to home, 0.5 bought
        # | cheap night: grid charges the battery with 2 kWh while the home takes 1 kWh from the grid
        "pv": [3.0, 0.0, 0.0], "load": [1.0, 1.0, 1.0], "battery_charge": [1.0, 0.0, 2.0],
        "battery_discharge": [0.0, 0.5, 0.0], "grid_export": [1.0, 0.0, 0.0], "grid_import": [0.0, 0.5, 3.0],
    })
    split = split_flows(frame)
    assert split.loc[0, ["pv_to_home", "pv_to_battery", "pv_to_grid"]].tolist() == [1.0, 1.0, 1.0]
    assert split.loc[1, ["battery_to_home", "grid_to_home"]].tolist() == [0.5, 0.5]
    assert split.loc[2, ["grid_to_battery", "grid_to_home", "pv_to_battery"]].tolist() == [2.0, 1.0, 0.0]


def test_split_flows_infer_a_missing_consumption_meter_from_the_balance():
    frame = pd.DataFrame({"pv": [2.0], "grid_import": [0.5], "grid_export": [1.0]})  # no load series
    split = split_flows(frame)
    assert split.loc[0, "pv_to_home"] + split.loc[0, "grid_to_home"] == pytest.approx(1.5)
    assert split.loc[0, "pv_to_grid"] == pytest.approx(1.0)


# --- periods, comparison and resolution (pure) ------------------------------------------------------


@pytest.mark.parametrize(("start", "end", "mode", "expected"), [
    (date(2024, 3, 1), date(2024, 3, 31), "previous", (date(2024, 2, 1), date(2024, 2, 29))),  # leap February
    (date(2023, 3, 1), date(2023, 3, 31), "previous", (date(2023, 2, 1), date(2023, 2, 28))),
    (date(2024, 1, 1), date(2024, 12, 31), "previous", (date(2023, 1, 1), date(2023, 12, 31))),
    (date(2024, 3, 1), date(2024, 3, 10), "previous", (date(2024, 2, 20), date(2024, 2, 29))),
    (date(2025, 6, 3), date(2025, 6, 3), "previous", (date(2025, 6, 2), date(2025, 6, 2))),
    (date(2024, 2, 29), date(2024, 2, 29), "year", (date(2023, 2, 28), date(2023, 2, 28))),
    (date(2025, 2, 1), date(2025, 2, 28), "year", (date(2024, 2, 1), date(2024, 2, 29))),  # whole month
    (date(2024, 2, 1), date(2024, 2, 29), "year", (date(2023, 2, 1), date(2023, 2, 28))),
    (date(2025, 3, 29), date(2025, 4, 4), "year", (date(2024, 3, 29), date(2024, 4, 4))),
])
def test_comparison_period(start, end, mode, expected):
    assert explorer.comparison_period(start, end, mode) == expected


def test_comparison_period_none_and_unknown():
    assert explorer.comparison_period(date(2025, 1, 1), date(2025, 1, 2), "none") is None
    with pytest.raises(ValueError, match="previous"):
        explorer.comparison_period(date(2025, 1, 1), date(2025, 1, 2), "last decade")


@pytest.mark.parametrize(("days", "key"), [(1, "15min"), (3, "15min"), (4, "hour"), (31, "hour"), (45, "hour"),
                                           (46, "day"), (366, "day"), (400, "day"), (401, "month")])
def test_auto_resolution_follows_the_length_of_the_period(days, key):
    start = date(2024, 1, 1)
    choice = explorer.choose_resolution(start, start + timedelta(days=days - 1))
    assert choice.resolution.key == key and choice.requested == "auto" and choice.note is None


def test_a_chosen_resolution_is_kept_unless_it_draws_too_many_points():
    month = (date(2025, 5, 1), date(2025, 5, 31))
    kept = explorer.choose_resolution(*month, "15min")
    assert kept.resolution.key == "15min" and kept.points == 31 * 96 <= MAX_POINTS and kept.note is None
    assert explorer.choose_resolution(*month, "month").resolution.key == "month"

    year = (date(2025, 1, 1), date(2025, 12, 31))
    refused = explorer.choose_resolution(*year, "15min")
    assert refused.resolution.key == "day"  # hourly (8,760 points) does not fit either
    assert refused.points <= MAX_POINTS
    assert "35,040 points" in refused.note and "31 days or fewer" in refused.note
    quarter = explorer.choose_resolution(date(2025, 1, 1), date(2025, 3, 31), "15min")
    assert quarter.resolution.key == "hour" and "hourly" in quarter.note
    assert explorer.choose_resolution(*year, "fortnight").requested == "auto"  # unknown counts as auto


def test_presets_are_anchored_at_the_newest_day_with_data():
    available = (date(2025, 1, 1), date(2026, 6, 29))
    today = date(2026, 11, 26)  # the data ended months ago
    assert explorer.resolve_preset("today", available, today) == (date(2026, 6, 29),) * 2
    assert explorer.resolve_preset("yesterday", available, today) == (date(2026, 6, 28),) * 2
    assert explorer.resolve_preset("last_7_days", available, today) == (date(2026, 6, 23), date(2026, 6, 29))
    assert explorer.resolve_preset("this_month", available, today) == (date(2026, 6, 1), date(2026, 6, 29))
    assert explorer.resolve_preset("last_month", available, today) == (date(2026, 5, 1), date(2026, 5, 31))
    assert explorer.resolve_preset("this_year", available, today) == (date(2026, 1, 1), date(2026, 6, 29))
    # Live data: today is the anchor, and the days match a preset again.
    assert explorer.resolve_preset("today", available, date(2026, 3, 5)) == (date(2026, 3, 5),) * 2
    assert explorer.matching_preset(date(2026, 5, 1), date(2026, 5, 31), available, today) == "last_month"
    assert explorer.matching_preset(date(2026, 5, 2), date(2026, 5, 31), available, today) == "custom"
    with pytest.raises(ValueError, match="today"):
        explorer.resolve_preset("custom", available, today)


def test_local_today_is_the_households_date():
    late_evening_utc = datetime(2026, 1, 1, 23, 30, tzinfo=timezone.utc)
    assert explorer.local_today("Europe/Berlin", late_evening_utc) == date(2026, 1, 2)
    assert explorer.local_today("America/New_York", late_evening_utc) == date(2026, 1, 1)


# --- the store, on both backends -----------------------------------------------------------------------


def test_kpis_of_a_hand_made_day(home):
    day = date(2025, 6, 3)
    data = explorer.explore(home, day, day)
    totals = data.totals
    assert totals.load_kwh == pytest.approx(24.0) and totals.pv_kwh == pytest.approx(12.0)
    assert totals.self_consumption == pytest.approx(8 / 12)  # (PV 12 - export 4) / PV 12
    assert totals.self_sufficiency == pytest.approx(8 / 24)  # (load 24 - import 16) / load 24
    assert totals.energy_cost == pytest.approx(16 * 0.30 - 4 * 0.10)  # 4.40
    flows = data.flow_totals()
    assert flows.to_dict() == pytest.approx({"pv_to_home": 4.0, "pv_to_battery": 4.0, "pv_to_grid": 4.0,
                                             "grid_to_home": 16.0, "battery_to_home": 4.0,
                                             "grid_to_battery": 0.0, "battery_to_grid": 0.0})
    assert data.household.has_battery and data.household.currency == "EUR"


@pytest.mark.parametrize(("resolution", "steps", "first"), [
    ("15min", 192, "2025-06-02"), ("hour", 48, "2025-06-02"), ("day", 2, "2025-06-02"),
    ("month", 1, "2025-06-01"),  # a month's step starts on the 1st (its length counts only days in the period)
])
def test_flows_add_up_at_every_resolution(home, resolution, steps, first):
    data = explorer.explore(home, date(2025, 6, 2), date(2025, 6, 3), resolution)
    flows = data.flows
    assert len(flows) == steps
    assert flows["hours"].sum() == pytest.approx(48.0)
    assert (flows["pv_to_home"] + flows["pv_to_battery"] + flows["pv_to_grid"]).to_numpy() == pytest.approx(
        flows["pv"].to_numpy())
    assert (flows["pv_to_home"] + flows["grid_to_home"] + flows["battery_to_home"]).to_numpy() == pytest.approx(
        flows["load"].to_numpy())
    assert data.flow_totals()["grid_to_home"] == pytest.approx(24.0 + 16.0)
    power = explorer.in_view(flows, "Europe/Berlin", "power")
    assert power["load"].to_numpy() == pytest.approx(1.0)  # 0.25 kWh every quarter hour is 1 kW on average
    assert explorer.in_view(flows, "Europe/Berlin", "energy").index[0] == pd.Timestamp(first)  # local wall time


def test_comparison_totals_and_curves(home):
    day = date(2025, 6, 3)
    data = explorer.explore(home, day, day, compare="previous")
    assert (data.comparison.start, data.comparison.end) == (date(2025, 6, 2), date(2025, 6, 2))
    assert data.comparison.totals.import_kwh == pytest.approx(24.0)
    assert data.comparison.totals.energy_cost == pytest.approx(7.20)
    curves = explorer.comparison_curves(home, day, day, "hour", "previous", "power")
    assert len(curves.current) == len(curves.earlier) == 24
    assert list(curves.earlier.index) == list(curves.current.index)  # shifted onto the same hours
    assert curves.earlier["pv"].sum() == 0 and curves.current["pv"].max() == pytest.approx(3.0)  # kW
    assert explorer.comparison_curves(home, day, day, "hour", "none") is None


def test_cost_per_step_matches_the_daily_totals(home):
    hourly = explorer.cost_over_period(home, date(2025, 6, 2), date(2025, 6, 3), "hour")
    daily = explorer.cost_over_period(home, date(2025, 6, 2), date(2025, 6, 3), "day")
    assert len(hourly.frame) == 48 and len(daily.frame) == 2
    assert hourly.frame["net_cost"].sum() == pytest.approx(7.20 + 4.40)
    assert daily.frame["net_cost"].tolist() == pytest.approx([7.20, 4.40])
    assert hourly.tariff_name == "Flat 30" and hourly.currency == "EUR"


@pytest.fixture
def dst_home(db_url):
    """Consumption of 1 kWh per UTC hour across both 2025 DST changes in Berlin."""
    with session_scope() as s:
        hh = add_household(s, "DST home")
        spring = datetime(2025, 3, 29, 23, 0, tzinfo=timezone.utc)  # 30 March 00:00 CET
        autumn = datetime(2025, 10, 25, 22, 0, tzinfo=timezone.utc)  # 26 October 00:00 CEST
        series = add_series(s, hh.id, "load", spring, [0.25] * (23 * 4))
        from services.store.models import Reading

        s.add_all(Reading(series_id=series.id, ts=autumn + timedelta(minutes=15 * i), value=0.25)
                  for i in range(25 * 4))
        household_id = hh.id
    refresh_daily_energy([household_id])
    return household_id


def test_heatmap_has_24_hours_on_dst_days(dst_home):
    matrix = explorer.consumption_heatmap(dst_home, date(2025, 3, 30), date(2025, 3, 30))
    assert list(matrix.columns) == list(range(24)) and len(matrix) == 1
    spring = matrix.loc[date(2025, 3, 30)]
    assert np.isnan(spring[2]) and spring.drop(2).tolist() == pytest.approx([1.0] * 23)  # 02:00 never happened

    matrix = explorer.consumption_heatmap(dst_home, date(2025, 10, 26), date(2025, 10, 26))
    autumn = matrix.loc[date(2025, 10, 26)]
    assert list(matrix.columns) == list(range(24))
    assert autumn[2] == pytest.approx(2.0) and autumn.sum() == pytest.approx(25.0)  # 02:00 happened twice

    table = explorer.heatmap_table(explorer.consumption_heatmap(dst_home, date(2025, 3, 29), date(2025, 3, 31)))
    assert list(table.columns) == ["day"] + [f"h{h:02d}_kwh" for h in range(24)]
    assert table["day"].tolist() == ["2025-03-29", "2025-03-30", "2025-03-31"]  # days without data stay


def test_daily_steps_know_dst_days_are_23_and_25_hours_long(dst_home):
    for day, hours in ((date(2025, 3, 30), 23.0), (date(2025, 10, 26), 25.0)):
        flows = explorer.explore(dst_home, day, day, "day").flows
        assert flows["hours"].tolist() == [hours]
        assert explorer.in_view(flows, "Europe/Berlin", "power")["load"].iloc[0] == pytest.approx(1.0)  # kW


def test_unknown_household_is_refused_with_a_clear_error(db_url):
    with pytest.raises(explorer.HouseholdUnavailable, match="no household with id 404"):
        explorer.explore(404, date(2025, 1, 1), date(2025, 1, 1))
