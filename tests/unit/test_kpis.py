"""Daily rollups and portfolio KPIs on hand-made series a person can check."""

from datetime import date, datetime, timedelta, timezone

import pandas as pd
import pytest
import sqlalchemy as sa

from services.energy import kpis
from services.energy.rollups import daily_energy_from_flows, refresh_daily_energy
from services.households.tariffs import flat_tariff
from services.store.db import session_scope
from services.store.models import DailyEnergy, Reading, Tariff, TariffPeriod
from tests.factories import add_household, add_series


def test_daily_energy_splits_at_local_midnight_and_prices_imports():
    # 1 kWh of import every hour from 20:00 to 03:00 UTC; Berlin is UTC+1 in January.
    idx = pd.date_range("2025-01-10 20:00", periods=8, freq="h", tz="UTC")
    flows = pd.DataFrame({"grid_import": 1.0, "grid_export": 0.5, "load": 2.0}, index=idx)
    daily = daily_energy_from_flows(flows, "Europe/Berlin", flat_tariff(0.30, 0.10))
    # local 21:00..23:00 on the 10th (3 h), 00:00..04:00 on the 11th (5 h)
    assert daily.loc[date(2025, 1, 10), "import_kwh"] == pytest.approx(3.0)
    assert daily.loc[date(2025, 1, 11), "import_kwh"] == pytest.approx(5.0)
    assert daily.loc[date(2025, 1, 11), "import_cost"] == pytest.approx(1.5)
    assert daily.loc[date(2025, 1, 11), "export_revenue"] == pytest.approx(0.25)
    assert daily["pv_kwh"].sum() == 0.0  # absent quantities count as zero


def test_refresh_and_portfolio_kpis(db_url):
    start = datetime(2025, 6, 1, 22, 0, tzinfo=timezone.utc)  # 00:00 local in Berlin (UTC+2)
    with session_scope() as s:
        tou = Tariff(name="TOU", kind="tou", import_price=0.30, export_price=0.10,
                     periods=[TariffPeriod(start_minute=0, end_minute=6 * 60, weekdays=127, import_price=0.20)])
        a = add_household(s, "A", "Europe/Berlin", tariff=tou, kwp=5.0)
        b = add_household(s, "B", "Europe/Berlin", tariff=tou)
        n = 96  # one local day of quarter hours
        add_series(s, a.id, "load", start, [0.25] * n)  # 24 kWh
        add_series(s, a.id, "pv", start, [0.0] * 40 + [0.5] * 16 + [0.0] * 40)  # 8 kWh
        add_series(s, a.id, "grid_import", start, [0.25] * 40 + [0.0] * 16 + [0.25] * 40)  # 20 kWh
        add_series(s, a.id, "grid_export", start, [0.0] * 40 + [0.25] * 16 + [0.0] * 40)  # 4 kWh
        add_series(s, b.id, "load", start, [0.5] * n)
        add_series(s, b.id, "grid_import", start, [0.5] * n)
        ids = [a.id, b.id]
    assert refresh_daily_energy(ids) == 2
    assert refresh_daily_energy(ids) == 2  # idempotent: rows replaced, not added
    with session_scope() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(DailyEnergy)) == 2

    day = date(2025, 6, 2)
    assert kpis.data_period(ids) == (day, day)
    totals = kpis.portfolio_totals(ids, day, day)
    assert totals.load_kwh == pytest.approx(24 + 48)
    assert totals.pv_kwh == pytest.approx(8)
    assert totals.self_consumption == pytest.approx((8 - 4) / 8)
    assert totals.self_sufficiency == pytest.approx((72 - 68) / 72)
    # A: 6 kWh night import at 0.20 (00:00-06:00 local) + 14 kWh at 0.30; export 4 kWh at 0.10
    cost_a = 6 * 0.20 + 14 * 0.30 - 4 * 0.10
    cost_b = 12 * 0.20 + 36 * 0.30
    assert totals.energy_cost == pytest.approx(cost_a + cost_b)

    table = kpis.household_table(ids, day, day).set_index("name")
    assert table.loc["A", "pv_kwp"] == 5.0
    assert table.loc["A", "energy_cost"] == pytest.approx(cost_a)
    assert pd.isna(table.loc["B", "self_consumption"])  # no PV: undefined, not 0 %
    assert kpis.portfolio_totals(ids, date(2025, 7, 1), date(2025, 7, 31)).load_kwh == 0.0


def test_resolve_period_presets_anchor_on_last_data_day():
    available = (date(2024, 11, 26), date(2025, 11, 25))
    assert kpis.resolve_period("last_7_days", available) == (date(2025, 11, 19), date(2025, 11, 25))
    assert kpis.resolve_period("last_month", available) == (date(2025, 10, 1), date(2025, 10, 31))
    assert kpis.resolve_period("this_year", available) == (date(2025, 1, 1), date(2025, 11, 25))
    assert kpis.resolve_period("all", available) == available
    with pytest.raises(ValueError, match="unknown period"):
        kpis.resolve_period("fortnight", available)


def test_partial_refresh_recomputes_whole_local_days_and_nothing_else(db_url):
    start = datetime(2025, 6, 1, 22, 0, tzinfo=timezone.utc)  # 2 June 00:00 in Berlin
    with session_scope() as s:
        hh = add_household(s, "A", "Europe/Berlin")
        series = add_series(s, hh.id, "load", start, [0.25] * 192)  # 2 and 3 June
        hid, sid = hh.id, series.id
    refresh_daily_energy([hid])
    with session_scope() as s:  # change one reading on each day
        for ts in (start + timedelta(hours=1), start + timedelta(hours=25)):
            s.execute(sa.update(Reading).where(Reading.series_id == sid, Reading.ts == ts).values(value=1.25))
    # a window of one quarter hour on 3 June (local) refreshes that whole day only
    touched = start + timedelta(hours=25)
    assert refresh_daily_energy([hid], touched, touched + timedelta(minutes=15)) == 1
    with session_scope() as s:
        days = dict(s.execute(sa.select(DailyEnergy.day, DailyEnergy.load_kwh)).all())
    assert days[date(2025, 6, 2)] == pytest.approx(24.0)  # untouched, still the old sum
    assert days[date(2025, 6, 3)] == pytest.approx(25.0)  # whole day recomputed with the change
