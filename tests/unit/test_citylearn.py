"""CityLearn 2022 (Fontana CA) homes imported as households, with the tariff derived from pricing.csv."""

import json

import numpy as np
import pandas as pd
import pytest

from services.households import get_household, list_households
from services.households.citylearn import DATA_CLOCK, derive_tou_tariff, import_citylearn, read_prices
from services.households.tariffs import import_prices, load_tariff_spec
from services.store.db import session_scope
from services.validation import ValidationProblem


@pytest.fixture
def citylearn_dir(shared_data):
    return shared_data / "citylearn_2022_fontana_ca"


def test_seventeen_homes_with_pv_and_battery_from_schema(db_url, citylearn_dir):
    result = import_citylearn(citylearn_dir)
    schema = json.loads((citylearn_dir / "schema.json").read_text())["buildings"]
    assert result.created == 17 and result.updated == 0
    households = {h.name: h for h in list_households()}
    assert len(households) == 17
    for key, spec in schema.items():
        number = int(key.split("_")[1])
        home = get_household(result.household_ids[f"CityLearn Building {number}"])
        assert home.pv_kwp == spec["pv"]["attributes"]["nominal_power"]
        storage = spec["electrical_storage"]["attributes"]
        assert home.battery.capacity_kwh == storage["capacity"]
        assert home.battery.max_charge_kw == home.battery.max_discharge_kw == storage["nominal_power"]
        assert home.battery.charge_efficiency == storage["efficiency"]
        assert (home.timezone, home.latitude, home.longitude) == ("America/Los_Angeles", 34.09, -117.43)
        assert home.tariff_name == "CityLearn TOU (Fontana CA)"
    assert {h.pv_kwp for h in households.values()} == {4.0, 5.0}


def test_tariff_reproduces_pricing_csv(db_url, citylearn_dir):
    result = import_citylearn(citylearn_dir)
    given = read_prices(citylearn_dir)  # hour starts on the data's UTC-08:00 clock
    utc = given.index.tz_convert("UTC")
    with session_scope() as s:
        spec = load_tariff_spec(s, result.tariff_id)
    assert spec.currency == "USD"
    on_data_clock = import_prices(spec, utc, DATA_CLOCK).to_numpy()
    matches = np.isclose(on_data_clock, given.to_numpy())
    # Seasonal periods: June-September (0.22 / 0.54 / 0.40) and October-May (0.21 / 0.50) are both
    # reproduced hour by hour, except where pricing.csv switches season: it does so with the month of
    # each hour's *end* (23:00-24:00 on 30 September is already October's price), as if its rows were
    # stamped hour-ending, while the tariff's months follow the hour's start.
    season_of_end = (given.index + pd.Timedelta(hours=1)).month.isin([6, 7, 8, 9])
    season_of_start = given.index.month.isin([6, 7, 8, 9])
    boundary = season_of_end != season_of_start
    assert boundary.sum() <= 2
    assert matches[~boundary].all()
    assert matches.mean() == pytest.approx(result.tariff_reproduced_share)
    assert result.tariff_reproduced_share > 0.999
    summer_months = {p.months for p in spec.periods if p.import_price in (0.54, 0.40)}
    assert summer_months == {0b000111100000}  # June to September
    # A Tuesday night, its peak, a Saturday peak, a Wednesday evening, a Sunday peak:
    sample = pd.DatetimeIndex(["2016-11-15 03:00", "2016-11-15 16:00", "2016-11-19 17:00", "2017-02-01 20:00",
                               "2017-03-05 15:00"]).tz_localize(DATA_CLOCK)
    assert list(given[sample]) == [0.21, 0.50, 0.50, 0.21, 0.50]
    assert list(import_prices(spec, sample.tz_convert("UTC"), DATA_CLOCK)) == [0.21, 0.50, 0.50, 0.21, 0.50]
    # In Los Angeles local time the same windows match in standard time (January) too.
    january = (given.index.month == 1)
    local = import_prices(spec, utc[january], "America/Los_Angeles").to_numpy()
    assert np.isclose(local, given.to_numpy()[january]).all()


def test_importing_twice_needs_replace_and_keeps_ids(db_url, citylearn_dir):
    first = import_citylearn(citylearn_dir)
    with pytest.raises(ValidationProblem, match="replace=True"):
        import_citylearn(citylearn_dir)
    again = import_citylearn(citylearn_dir, replace=True)
    assert again.household_ids == first.household_ids and again.tariff_id == first.tariff_id
    assert (again.created, again.updated) == (0, 17)
    assert len(list_households()) == 17


def test_derived_periods_cover_weekdays_and_wrap_past_midnight():
    index = pd.date_range("2024-01-01", periods=24 * 14, freq="h", tz=DATA_CLOCK)  # two weeks from a Monday
    price = np.where((index.hour >= 22) | (index.hour < 6), 0.10, 0.30)  # cheap nights
    price = np.where((index.day_of_week < 5) & (index.hour >= 17) & (index.hour < 20), 0.50, price)
    derived = derive_tou_tariff(pd.Series(price, index=index), name="Test", currency="EUR")
    periods = {(p.start_minute, p.end_minute, p.weekdays, p.import_price) for p in derived.tariff.periods}
    assert derived.tariff.import_price == 0.30
    assert periods == {(22 * 60, 6 * 60, 0b1111111, 0.10), (17 * 60, 20 * 60, 0b0011111, 0.50)}
    assert derived.reproduced_share == 1.0
