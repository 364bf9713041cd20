"""The demo portfolio is deterministic, physically plausible, carries its planted faults,
and loads into an empty store on both backends."""

from datetime import date

import numpy as np
import pandas as pd
import pvlib
import pytest
import sqlalchemy as sa

from services.demo import (
    FAULTS,
    DemoDataError,
    database_is_empty,
    generate_portfolio,
    load_demo_portfolio,
    remove_all_households,
    seed_if_empty,
)
from services.demo.battery import simulate_self_consumption
from services.demo.prices import FEES_AND_TAXES
from services.households.inputs import BatteryInput
from services.store.db import session_scope
from services.store.models import (
    DailyEnergy,
    Device,
    Household,
    IngestionBatch,
    Reading,
    Series,
    Tariff,
    TariffPrice,
    WeatherRecord,
)

END = date(2026, 1, 1)  # so the full-year portfolio is the calendar year 2025
SHORT = {"n_households": 4, "seed": 11, "end": date(2025, 7, 1), "days": 14}


@pytest.fixture(scope="module")
def year():
    """Five households over a full year: households 1-3 carry the planted faults."""
    return generate_portfolio(5, 7, END)


def _present(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.dropna(how="all")


# --- determinism ------------------------------------------------------------------------------


def test_same_seed_gives_identical_frames_and_another_seed_does_not():
    first = generate_portfolio(4, 3, date(2025, 5, 1), days=10)
    again = generate_portfolio(4, 3, date(2025, 5, 1), days=10)
    other = generate_portfolio(4, 4, date(2025, 5, 1), days=10)
    for a, b in zip(first.households, again.households):
        assert a.spec == b.spec
        pd.testing.assert_frame_equal(a.readings, b.readings)
    pd.testing.assert_series_equal(first.dynamic_prices, again.dynamic_prices)
    for name in first.weather:
        pd.testing.assert_frame_equal(first.weather[name], again.weather[name])
    assert [h.name for h in other.households] == [h.name for h in first.households]
    assert not np.allclose(other.households[0].readings["load"], first.households[0].readings["load"])
    assert not np.allclose(other.dynamic_prices, first.dynamic_prices)


def test_period_is_the_year_before_end_in_quarter_hours(year):
    index = year.households[0].readings.index
    # The year ends at local midnight (Central European time), so the last local day is whole.
    assert index[-1] + pd.Timedelta(minutes=15) == pd.Timestamp("2026-01-01", tz="Europe/Berlin")
    assert index[0] == pd.Timestamp("2024-12-31 23:00", tz="UTC")
    assert len(index) == 365 * 96
    assert (np.diff(index.asi8) == np.diff(index.asi8)[0]).all()


def test_households_are_named_uniquely_across_several_time_zones():
    portfolio = generate_portfolio(24, 42, date(2025, 1, 10), days=2)
    names = [h.name for h in portfolio.households]
    assert len(set(names)) == 24
    assert names[0] == "Müller family, Pankow"
    assert {h.spec.timezone for h in portfolio.households} == {"Europe/Berlin", "Europe/Vienna", "Europe/Amsterdam"}
    with_pv = [h for h in portfolio.households if h.spec.pv]
    with_battery = [h for h in with_pv if h.spec.battery is not None]
    assert 0.7 * 24 <= len(with_pv) < 24
    assert 0.25 * len(with_pv) <= len(with_battery) <= 0.75 * len(with_pv)
    assert {h.spec.tariff_key for h in portfolio.households} == {"flat", "tou", "dynamic"}
    devices = [d for h in portfolio.households for d in h.spec.devices]
    assert 6 <= len(devices) <= 10
    sensors = [h for h in portfolio.households if "living_room/temperature" in h.readings]
    assert 2 <= len(sensors) <= 3


# --- physics ----------------------------------------------------------------------------------


def test_every_interval_balances(year):
    for household in year.households:
        r = _present(household.readings)
        zero = pd.Series(0.0, index=r.index)
        inflow = r["pv"].fillna(0) if "pv" in r else zero
        inflow = inflow + r["grid_import"] + r.get("battery_discharge", zero)
        outflow = r["load"] + r["grid_export"] + r.get("battery_charge", zero)
        assert np.allclose(inflow, outflow, rtol=0, atol=1e-9), household.name
        assert (r[["load", "grid_import", "grid_export"]] >= 0).all().all()


def test_pv_is_zero_at_night_and_within_rating(year):
    for household in year.households:
        if not household.spec.pv:
            continue
        pv = _present(household.readings)["pv"]
        mid = pv.index + pd.Timedelta(minutes=7.5)
        sun = pvlib.solarposition.get_solarposition(mid, household.spec.latitude, household.spec.longitude)
        # A small margin: the household sits a few km from the site whose sun the generator uses.
        assert (pv[(sun["elevation"] < -0.5).to_numpy()] == 0).all(), household.name
        assert pv.max() <= 0.25 * household.spec.kwp
        assert pv.max() > 0.08 * household.spec.kwp  # it does produce on a sunny day (even the faulty one)


def test_annual_pv_yield_is_plausible_and_the_faulty_array_is_clearly_lower(year):
    faulty = {n for n, f in FAULTS.items() if f.kind == "underperforming_pv"}
    yields = {h.name: h.readings["pv"].sum() / h.spec.kwp for h in year.households if h.spec.pv}
    healthy = {n: y for n, y in yields.items() if n not in faulty}
    assert healthy and all(650 <= y <= 1300 for y in healthy.values()), healthy
    (bad,) = [yields[n] for n in faulty if n in yields]
    assert bad < 0.6 * np.median(list(healthy.values()))


def test_annual_consumption_in_household_range(year):
    for household in year.households:
        assert 2500 <= household.readings["load"].sum() <= 6000, household.name


def test_load_is_higher_in_winter_and_peaks_in_the_evening(year):
    load = year.households[0].readings["load"]
    assert load["2025-01"].mean() > 1.1 * load["2025-07"].mean()
    local_hour = load.index.tz_convert("Europe/Berlin").hour
    by_hour = load.groupby(local_hour).mean()
    assert by_hour.loc[18:21].mean() > 1.5 * by_hour.loc[1:4].mean()


def test_battery_soc_stays_within_limits_and_the_battery_cycles(year):
    for household in year.households:
        battery = household.spec.battery
        if battery is None:
            continue
        r = _present(household.readings)
        assert r["battery_soc"].min() >= battery.soc_min * battery.capacity_kwh - 1e-9
        assert r["battery_soc"].max() <= battery.soc_max * battery.capacity_kwh + 1e-9
        assert r["battery_charge"].max() <= battery.max_charge_kw * 0.25 + 1e-9
        assert r["battery_discharge"].max() <= battery.max_discharge_kw * 0.25 + 1e-9
        assert r["battery_discharge"].sum() > 50 * battery.capacity_kwh * 0.5  # well used over a year


def test_battery_rule_charges_surplus_and_respects_efficiency():
    spec = BatteryInput(capacity_kwh=10.0, max_charge_kw=4.0, max_discharge_kw=4.0)
    surplus = np.array([[2.0], [2.0], [-0.5], [-3.0]])  # kWh per 15 min
    flows = simulate_self_consumption(surplus, [spec])
    assert flows.soc[0, 0] == pytest.approx(5.0)  # starts half full
    assert flows.charge[:, 0].tolist() == pytest.approx([1.0, 1.0, 0.0, 0.0])  # 4 kW limit
    assert flows.soc[2, 0] == pytest.approx(5.0 + 2 * 0.95)
    assert flows.discharge[:, 0].tolist() == pytest.approx([0.0, 0.0, 0.5, 1.0])
    assert flows.soc[3, 0] == pytest.approx(6.9 - 0.5 / 0.95)


# --- weather and prices -----------------------------------------------------------------------


def test_weather_is_hourly_and_consistent_with_pv(year):
    household = year.households[0]
    weather = year.weather[household.spec.site.name]
    assert len(weather) == 365 * 24
    assert weather[["ghi", "dni", "dhi", "temp_air", "wind_speed", "cloud_cover"]].notna().all().all()
    assert weather["cloud_cover"].between(0, 100).all()
    assert -25 < weather["temp_air"].min() and weather["temp_air"].max() < 40
    hourly_pv = household.readings["pv"].resample("1h").sum()
    assert hourly_pv.corr(weather["ghi"]) > 0.85
    assert 900 <= weather["ghi"].sum() / 1000 <= 1300  # kWh/m2 a year, central Europe


def test_dynamic_prices_are_hourly_realistic_and_sometimes_negative(year):
    prices = year.dynamic_prices
    assert prices.index[0] == pd.Timestamp("2025-01-01", tz="Europe/Berlin")
    assert len(prices) == (365 + 2) * 24  # two days beyond the readings: day-ahead
    assert 0.2 <= prices.mean() <= 0.35
    negative_spot = prices[prices < FEES_AND_TAXES]
    local = negative_spot.index.tz_convert("Europe/Berlin")
    assert len(negative_spot) > 0
    assert ((local.month >= 4) & (local.month <= 9)).mean() > 0.8  # mostly spring and summer
    assert (prices < 0).sum() >= 1
    # Evenings cost more than nights on average.
    hour = prices.index.tz_convert("Europe/Berlin").hour
    assert prices[hour == 19].mean() > prices[hour == 3].mean()


# --- planted faults ---------------------------------------------------------------------------


def test_planted_faults_are_described_and_placed(year):
    kinds = {f.kind: f for f in year.faults}
    assert set(kinds) == {"gap", "stuck_meter", "underperforming_pv"}
    for fault in year.faults:
        assert FAULTS[fault.household].kind == fault.kind
    gap = kinds["gap"]
    assert pd.Timedelta(days=3) <= gap.end - gap.start <= pd.Timedelta(days=4)
    missing = year.household(gap.household).readings.loc[gap.start:gap.end - pd.Timedelta(minutes=15)]
    assert missing.isna().all().all() and len(missing) == 84 * 4


def test_stuck_meter_is_flat_for_36_hours_and_nowhere_else(year):
    fault = next(f for f in year.faults if f.kind == "stuck_meter")
    load = year.household(fault.household).readings["load"]
    inside = (load.index >= fault.start) & (load.index < fault.end)
    assert inside.sum() == 36 * 4
    assert load[inside].nunique() == 1
    outside = load[~inside].to_numpy()
    longest, run = 1, 1
    for a, b in zip(outside[:-1], outside[1:]):
        run = run + 1 if a == b else 1
        longest = max(longest, run)
    assert longest < 8  # a healthy meter never repeats itself for two hours


# --- loading into the store -------------------------------------------------------------------


def _count(session, model) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(model))


def test_load_writes_everything_on_both_backends(db_url):
    expected = generate_portfolio(SHORT["n_households"], SHORT["seed"], SHORT["end"], days=SHORT["days"])
    report = load_demo_portfolio(**SHORT)
    assert report.households == 4
    assert report.readings == expected.reading_count
    with session_scope() as s:
        assert _count(s, Household) == 4
        assert _count(s, Reading) == expected.reading_count
        assert _count(s, Series) == sum(len(h.series) for h in expected.households) == report.series
        assert _count(s, WeatherRecord) == len(expected.sites) * SHORT["days"] * 24
        assert _count(s, TariffPrice) == (SHORT["days"] + 2) * 24
        assert _count(s, Tariff) == 3
        assert _count(s, Device) == report.devices > 0
        batch = s.scalars(sa.select(IngestionBatch)).one()
        assert (batch.channel, batch.status, batch.inserted) == ("demo", "done", expected.reading_count)
        # Values and instants come back exactly.
        first = expected.households[0]
        ts = first.readings.index[40]
        stored = s.scalar(
            sa.select(Reading.value).join(Series).join(Household)
            .where(Household.name == first.name, Series.name == "pv", Reading.ts == ts.to_pydatetime())
        )
        assert stored == first.readings.loc[ts, "pv"]
        days_with_readings = sum(
            h.readings["load"].dropna().index.tz_convert("Europe/Berlin").normalize().nunique()
            for h in expected.households
        )
        assert _count(s, DailyEnergy) == days_with_readings


def test_daily_energy_from_memory_equals_the_sql_rollup_of_the_stored_readings(db_url):
    from services.energy.rollups import refresh_daily_energy

    load_demo_portfolio(**SHORT)
    columns = ["household_id", "day", "load_kwh", "pv_kwh", "import_kwh", "export_kwh", "import_cost", "export_revenue"]
    with session_scope() as s:
        ids = list(s.scalars(sa.select(Household.id)))
        query = sa.select(*[getattr(DailyEnergy, c) for c in columns]).order_by(DailyEnergy.household_id, DailyEnergy.day)
        from_memory = pd.DataFrame(s.execute(query).all(), columns=columns)
    assert refresh_daily_energy(ids) == len(from_memory)
    with session_scope() as s:
        from_sql = pd.DataFrame(s.execute(query).all(), columns=columns)
    pd.testing.assert_frame_equal(from_memory, from_sql, check_exact=False, rtol=1e-9, atol=1e-9)


def test_planted_gap_is_really_missing_in_the_store(db_url):
    load_demo_portfolio(**SHORT)
    portfolio = generate_portfolio(SHORT["n_households"], SHORT["seed"], SHORT["end"], days=SHORT["days"])
    gap = next(f for f in portfolio.faults if f.kind == "gap")
    with session_scope() as s:
        query = (sa.select(sa.func.count()).select_from(Reading).join(Series).join(Household)
                 .where(Household.name == gap.household))
        inside = s.scalar(query.where(Reading.ts >= gap.start.to_pydatetime(), Reading.ts < gap.end.to_pydatetime()))
        total = s.scalar(query)
        series = s.scalar(sa.select(sa.func.count()).select_from(Series).join(Household)
                          .where(Household.name == gap.household))
    assert inside == 0
    assert total == series * (SHORT["days"] * 96 - 84 * 4)


def test_seed_if_empty_loads_only_once(db_url):
    assert database_is_empty()
    first = seed_if_empty(n_households=3, seed=5, end=date(2025, 3, 1), days=3)
    assert first is not None and first.households == 3
    assert not database_is_empty()
    assert seed_if_empty(n_households=3, seed=5, end=date(2025, 3, 1), days=3) is None
    with session_scope() as s:
        assert _count(s, Household) == 3
        assert _count(s, Reading) == first.readings


def test_loading_twice_is_refused_without_half_saving(db_url):
    first = load_demo_portfolio(n_households=2, seed=1, end=date(2025, 3, 1), days=2)
    with pytest.raises(DemoDataError, match="--replace"):
        load_demo_portfolio(n_households=3, seed=2, end=date(2025, 3, 1), days=2)
    with session_scope() as s:
        assert _count(s, Household) == 2
        assert _count(s, Reading) == first.readings
        assert _count(s, Tariff) == 3


def test_a_tariff_named_like_the_demo_one_is_reported_not_overwritten(db_url):
    with session_scope() as s:
        s.add(Tariff(name="Flat 32 ct", kind="flat", import_price=0.30, export_price=0.0))
    with pytest.raises(DemoDataError, match="'Flat 32 ct'"):
        load_demo_portfolio(n_households=2, seed=1, end=date(2025, 3, 1), days=2)
    with session_scope() as s:
        assert _count(s, Household) == 0 and _count(s, Tariff) == 1


def test_remove_all_households_then_reload(db_url):
    load_demo_portfolio(n_households=2, seed=1, end=date(2025, 3, 1), days=2)
    assert remove_all_households() == 2
    with session_scope() as s:
        assert _count(s, Reading) == 0 and _count(s, Series) == 0 and _count(s, Tariff) == 0
    report = load_demo_portfolio(n_households=3, seed=2, end=date(2025, 3, 1), days=2)
    assert report.households == 3


# --- command line -----------------------------------------------------------------------------


def test_demo_data_command_refuses_a_filled_store_unless_replace(db_url):
    from app import server

    runner = server.test_cli_runner()
    args = ["demo-data", "--households", "2", "--seed", "3", "--end", "2025-03-01", "--days", "2"]
    first = runner.invoke(args=args)
    assert first.exit_code == 0, first.output
    assert "Loaded 2 households" in first.output and "Timings:" in first.output
    refused = runner.invoke(args=args)
    assert refused.exit_code != 0 and "--replace" in refused.output
    replaced = runner.invoke(args=[*args[:2], "3", *args[3:], "--replace"])
    assert replaced.exit_code == 0, replaced.output
    assert "Removed 2 household(s)" in replaced.output
    with session_scope() as s:
        assert _count(s, Household) == 3


def test_init_db_command_leaves_a_filled_store_alone(db_url):
    from app import server

    runner = server.test_cli_runner()
    load_demo_portfolio(n_households=1, seed=1, end=date(2025, 3, 1), days=1)
    result = runner.invoke(args=["init-db"])
    assert result.exit_code == 0, result.output
    assert "already has households" in result.output
    with session_scope() as s:
        assert _count(s, Household) == 1
