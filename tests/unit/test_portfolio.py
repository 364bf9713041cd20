"""Portfolio views (services/energy/portfolio.py): sites, PV yield against the neighbours, ranking and
quick filters on hand-made tables; the household ranking and monthly PV yield on both backends."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from services.energy import portfolio
from services.store.db import session_scope
from services.store.models import Battery, DailyEnergy, Household, PVSystem


def test_sites_group_households_within_the_radius():
    # Two homes in Munich 5 km apart, one in Vienna, one in Munich again, one in Los Angeles.
    lat = np.array([48.14, 48.18, 48.21, 48.10, 34.09])
    lon = np.array([11.58, 11.62, 16.37, 11.55, -117.43])
    assert portfolio.assign_sites(lat, lon) == [0, 0, 1, 0, 2]
    assert portfolio.haversine_km(48.14, 11.58, 48.21, 16.37) == pytest.approx(355, abs=2)  # Munich-Vienna


def test_peer_median_leaves_the_household_out_and_falls_back_to_the_portfolio():
    frame = pd.DataFrame({
        "site_id": [0, 0, 0, 1, 1, 2],
        "pv_yield": [100.0, 90.0, 50.0, 80.0, np.nan, 70.0],
    })
    medians = portfolio.peer_medians(frame, "pv_yield")
    # Site 0 has two other PV homes each: their median. Site 1's and 2's homes have fewer than
    # MIN_PEERS neighbours with PV: the median of every other PV home of the portfolio.
    assert list(medians[:3]) == [70.0, 75.0, 95.0]
    assert medians[3] == 80.0 and np.isnan(medians[4]) and medians[5] == 85.0
    monthly = pd.concat([frame.assign(month=1), frame.assign(month=2, pv_yield=frame["pv_yield"] * 2)],
                        ignore_index=True)
    by_month = portfolio.peer_medians(monthly, "pv_yield", by=["month"])
    assert list(by_month[6:9]) == [140.0, 150.0, 190.0]  # each month compared with itself only


def _table() -> pd.DataFrame:
    return pd.DataFrame({
        "name": ["B", "A", "C"], "energy_cost": [10.0, 10.0, np.nan], "pv_kwp": [5.0, 0.0, 3.0],
        "has_battery": [True, False, False], "pv_underperforming": [False, False, True],
        "timezone": ["Europe/Berlin", "Europe/Vienna", "Europe/Berlin"], "site_id": [0, 1, 0],
    })


def test_ranking_breaks_ties_by_name_and_puts_missing_values_last():
    ranked = portfolio.rank_households(_table(), "energy_cost", descending=False)
    assert list(ranked["name"]) == ["A", "B", "C"] and list(ranked["rank"]) == [1, 2, None]
    assert list(portfolio.rank_households(_table(), "energy_cost")["name"]) == ["A", "B", "C"]
    with pytest.raises(ValueError, match="cannot rank by 'colour'"):
        portfolio.rank_households(_table(), "colour")


def test_quick_filters():
    table = _table()
    assert list(portfolio.filter_households(table, "pv_underperforming")["name"]) == ["C"]
    assert list(portfolio.filter_households(table, "has_battery")["name"]) == ["B"]
    assert list(portfolio.filter_households(table, "no_pv")["name"]) == ["A"]
    assert list(portfolio.filter_households(table, "tz:Europe/Berlin")["name"]) == ["B", "C"]
    assert list(portfolio.filter_households(table, "site:1")["name"]) == ["A"]
    assert len(portfolio.filter_households(table, None)) == 3
    for bad in ("tz:", "site:x", "everything"):
        with pytest.raises(ValueError, match="unknown filter"):
            portfolio.filter_households(table, bad)


@pytest.fixture
def three_homes(db_url) -> list[int]:
    """Three PV homes in Munich, 10 days of June 2025: 4 kWh/kWp a day, except the third at 2."""
    ids = []
    with session_scope() as s:
        for i, (kwp, daily_yield) in enumerate(((5.0, 4.0), (8.0, 4.0), (4.0, 2.0))):
            home = Household(name=f"Home {i}", timezone="Europe/Berlin", latitude=48.20 + i / 100, longitude=11.58)
            s.add(home)
            s.flush()
            s.add(PVSystem(household_id=home.id, kwp=kwp))
            if i == 1:
                s.add(Battery(household_id=home.id, capacity_kwh=10.0, max_charge_kw=5.0, max_discharge_kw=5.0))
            for d in range(10):
                s.add(DailyEnergy(household_id=home.id, day=date(2025, 6, 1) + timedelta(days=d), load_kwh=10.0,
                                  pv_kwh=kwp * daily_yield, import_kwh=5.0, export_kwh=2.0))
            ids.append(home.id)
    return ids


def test_household_ranking_compares_pv_yield_with_the_site(three_homes):
    frame = portfolio.household_ranking(three_homes, date(2025, 6, 1), date(2025, 6, 10)).set_index("name")
    assert list(frame["pv_yield_kwh_per_kwp"]) == pytest.approx([40.0, 40.0, 20.0])
    assert list(frame["pv_vs_peers"]) == pytest.approx([4 / 3, 4 / 3, 0.5])  # peers' medians 30, 30, 40
    assert list(frame["pv_underperforming"]) == [False, False, True]
    assert list(frame["has_battery"]) == [False, True, False]
    assert set(frame["site"]) == {"48.2°N 11.6°E"} and set(frame["timezone"]) == {"Europe/Berlin"}
    options = portfolio.filter_options(frame.reset_index())
    assert options["tz:Europe/Berlin"] == "Time zone Europe/Berlin (3)"
    assert not any(key.startswith("site:") for key in options)  # one site: nothing to choose


def test_monthly_pv_yield_and_trends(three_homes):
    monthly = portfolio.monthly_pv_yield(three_homes, date(2025, 6, 1), date(2025, 6, 30))
    assert list(monthly["days"]) == [10, 10, 10] and list(monthly["pv_peer_median"]) == pytest.approx([30, 30, 40])
    trends = portfolio.monthly_trends(three_homes)
    june = trends.iloc[0]
    assert len(trends) == 1 and june["days"] == 10 and not june["complete"] and june["days_in_month"] == 30
    assert june["load_kwh"] == pytest.approx(300.0) and june["self_sufficiency"] == pytest.approx(0.5)
    assert portfolio.monthly_trends([]).empty and portfolio.monthly_pv_yield([], date(2025, 6, 1), date(2025, 6, 2)).empty
