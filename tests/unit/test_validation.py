"""Household, PV, battery and tariff input: what is refused, and that the message says how to fix it."""

from datetime import datetime, timezone

import pytest

from services.households.inputs import BatteryInput, HouseholdInput, PVSystemInput, TariffInput
from services.validation import ValidationProblem, parse_input, suggest_time_zones

GOOD = {"name": "Home", "timezone": "Europe/Berlin", "latitude": 52.5, "longitude": 13.4}
BATTERY = {"capacity_kwh": 10, "max_charge_kw": 5, "max_discharge_kw": 5}


def problems(model, raw) -> dict[str, str]:
    with pytest.raises(ValidationProblem) as caught:
        parse_input(model, raw)
    return caught.value.by_field()


def test_a_good_household_parses_with_defaults():
    data = parse_input(HouseholdInput, {**GOOD, "pv_systems": [{"kwp": "7.5"}], "battery": BATTERY})
    assert data.pv_systems[0].kwp == 7.5
    assert (data.pv_systems[0].tilt_deg, data.pv_systems[0].azimuth_deg, data.pv_systems[0].losses_pct) == (30, 180, 14)
    assert data.battery.charge_efficiency == 0.95 and data.battery.soc_min == 0.1 and data.battery.soc_max == 1.0


def test_efficiency_as_percent_suggests_the_fraction():
    got = problems(HouseholdInput, {**GOOD, "battery": {**BATTERY, "charge_efficiency": 95}})
    assert got == {"battery.charge_efficiency": "Charge efficiency must be between 0 and 1, got 95: did you mean 0.95?"}


def test_soc_limits_as_percent_and_in_the_wrong_order():
    assert problems(BatteryInput, {**BATTERY, "soc_min": 10})["soc_min"].endswith("got 10: did you mean 0.1?")
    assert problems(BatteryInput, {**BATTERY, "soc_max": 90})["soc_max"].endswith("did you mean 0.9?")
    order = problems(BatteryInput, {**BATTERY, "soc_min": 0.8, "soc_max": 0.5})
    assert order == {"soc_min": "Minimum state of charge (0.8) must be below the maximum (0.5)"}
    assert "soc_min" in problems(BatteryInput, {**BATTERY, "soc_min": 0.5, "soc_max": 0.5})


def test_zero_efficiency_is_refused_without_a_guess():
    message = problems(BatteryInput, {**BATTERY, "discharge_efficiency": 0})["discharge_efficiency"]
    assert "more than 0" in message and "did you mean" not in message


def test_unknown_time_zone_suggests_the_close_one():
    got = problems(HouseholdInput, {**GOOD, "timezone": "Europe/Berln"})
    assert got == {"timezone": "Europe/Berln is not a time zone: did you mean Europe/Berlin?"}
    assert suggest_time_zones("europe/berlin") == ["Europe/Berlin"]
    assert suggest_time_zones("Vienna") == ["Europe/Vienna"]
    assert "IANA name" in problems(HouseholdInput, {**GOOD, "timezone": "Qqqq/Zzzz"})["timezone"]


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("latitude", 91, "Latitude must be between -90 and 90 degrees"),
        ("latitude", 120, "did you swap latitude and longitude?"),
        ("longitude", -181, "Longitude must be between -180 and 180 degrees"),
    ],
)
def test_coordinates_out_of_range(field, value, expected):
    assert expected in problems(HouseholdInput, {**GOOD, field: value})[field]


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("tilt_deg", 95, "Tilt must be between 0 (flat) and 90 (vertical) degrees, got 95"),
        ("tilt_deg", -1, "got -1"),
        ("azimuth_deg", 360, "use 0 for north"),
        ("azimuth_deg", -90, "clockwise from north (90 = east, 180 = south, 270 = west), got -90"),
        ("kwp", 0, "PV peak power must be more than 0 kWp, got 0"),
        ("kwp", 5000, "if you entered Wp, 5000 Wp is 5 kWp"),
        ("losses_pct", 100, "from 0 to below 100"),
    ],
)
def test_pv_values_out_of_range(field, value, expected):
    raw = {"kwp": 5, field: value}
    assert expected in problems(PVSystemInput, raw)[field]


def test_every_wrong_field_is_reported_at_once_with_its_path():
    raw = {**GOOD, "name": "", "latitude": "abc", "pv_systems": [{"kwp": 5, "tilt_deg": 99}],
           "battery": {**BATTERY, "soc_min": 10, "capacity_kwh": -1}}
    got = problems(HouseholdInput, raw)
    assert set(got) == {"name", "latitude", "pv_systems.0.tilt_deg", "battery.soc_min", "battery.capacity_kwh"}
    assert got["name"] == "Name must not be empty"
    assert got["latitude"] == "Latitude must be a number, got 'abc'"


def test_decimal_comma_and_missing_and_unknown_fields():
    got = problems(HouseholdInput, {"name": "x", "timezone": "UTC", "latitude": "52,5", "longtitude": 1})
    assert got["latitude"].endswith("use a dot as the decimal separator (52.5)")
    assert got["longitude"] == "Longitude is required"
    assert got["longtitude"] == "longtitude is not a known field: did you mean longitude?"


def test_not_a_number_is_refused():
    assert "must be a number" in problems(HouseholdInput, {**GOOD, "latitude": float("nan")})["latitude"]


def test_tariff_kinds_need_their_parts():
    assert problems(TariffInput, {"name": "T", "kind": "tou", "import_price": 0.3}) == {
        "periods": "A time-of-use tariff needs at least one period"}
    assert "prices" in problems(TariffInput, {"name": "T", "kind": "dynamic", "import_price": 0.3})
    cents = problems(TariffInput, {"name": "T", "import_price": 32})["import_price"]
    assert cents == "Import price must be in currency per kWh, got 32: did you mean 0.32 (32 cents per kWh)?"
    empty = problems(TariffInput, {"name": "T", "kind": "tou", "import_price": 0.3,
                                   "periods": [{"start_minute": 60, "end_minute": 60, "import_price": 0.4}]})
    assert "periods.0.end_minute" in empty
    whole_day = parse_input(TariffInput, {"name": "T", "kind": "tou", "import_price": 0.3,
                                          "periods": [{"start_minute": 0, "end_minute": 1440, "import_price": 0.4}]})
    assert whole_day.periods[0].end_minute == 1440


def test_a_dynamic_price_needs_an_offset():
    naive = {"name": "T", "kind": "dynamic", "import_price": 0.3,
             "prices": [{"ts": "2024-01-01T00:00:00", "import_price": 0.2}]}
    assert "has no UTC offset" in problems(TariffInput, naive)["prices.0.ts"]
    aware = {**naive, "currency": "usd", "prices": [{"ts": datetime(2024, 1, 1, tzinfo=timezone.utc), "import_price": 0.2}]}
    assert parse_input(TariffInput, aware).currency == "USD"


def test_problem_text_names_field_and_line():
    with pytest.raises(ValidationProblem, match=r"battery.soc_min: Minimum state of charge"):
        parse_input(HouseholdInput, {**GOOD, "battery": {**BATTERY, "soc_min": 2}})
    with pytest.raises(ValueError):  # ValidationProblem is a ValueError for callers that only know that
        parse_input(HouseholdInput, {})
