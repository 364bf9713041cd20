"""Units to the stored unit of each quantity, values parsed and checked, with reasons."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from services.ingestion.units import UnitError, canonical_unit, conversion_for, convert
from services.ingestion.validate import check_values, parse_values


def _convert(values, quantities, units, interval_s=np.nan, capacity=np.nan):
    q_codes, q_names = pd.factorize(np.array(quantities, dtype=object))
    u_codes, u_names = pd.factorize(np.array(units, dtype=object))
    n = len(values)
    return convert(np.asarray(values, dtype=float), q_codes, list(q_names), u_codes, list(u_names),
                   np.full(n, interval_s, dtype=float), np.full(n, capacity, dtype=float))


def test_power_and_energy_prefixes():
    out = _convert([1500, 2.5, 0.002, 750, 1.2, 0.001], ["power", "power", "power", "load", "load", "load"],
                   ["W", "kW", "MW", "Wh", "kWh", "MWh"])
    assert out.values.tolist() == pytest.approx([1.5, 2.5, 2.0, 0.75, 1.2, 1.0])
    assert not out.bad.any()
    assert set(out.stored_units) == {"kW", "kWh"}


def test_average_power_becomes_interval_energy_with_the_interval_length():
    out = _convert([2000.0], ["pv"], ["W"], interval_s=900)
    assert out.values.tolist() == pytest.approx([0.5])  # 2 kW for a quarter hour


def test_average_power_without_an_interval_is_refused_with_the_fix():
    out = _convert([2000.0], ["pv"], ["W"])
    assert out.bad.tolist() == [True]
    assert "set the interval length (seconds) in the mapping" in out.reasons[0]


def test_temperature_irradiance_and_soc_percent():
    out = _convert([293.15, 68.0, 0.8, 50.0], ["temperature", "temperature", "irradiance", "battery_soc"],
                   ["K", "°F", "kW/m2", "%"], capacity=10.0)
    assert out.values.tolist() == pytest.approx([20.0, 20.0, 800.0, 5.0])


def test_soc_percent_without_a_battery_is_refused():
    out = _convert([50.0], ["battery_soc"], ["%"])
    assert "needs the household's battery capacity" in out.reasons[0]


@pytest.mark.parametrize("quantity, unit, message", [
    ("load", "kW/m2", "load is energy: give it in Wh, kWh or MWh"),
    ("power", "kWh", "that is energy; use quantity load, pv, grid_import"),
    ("humidity", "g/kg", "humidity must be relative humidity in %"),
    ("nonsense", "kWh", "unknown quantity 'nonsense'"),
])
def test_units_that_do_not_fit_say_what_would(quantity, unit, message):
    with pytest.raises(UnitError, match=message):
        conversion_for(quantity, unit)


def test_common_spellings_are_understood_but_megawatt_is_not_folded_to_milliwatt():
    assert [canonical_unit(u) for u in ("kwh", "KWH", "°C", "w/m²", "W")] == ["kWh", "kWh", "degC", "W/m2", "W"]
    assert canonical_unit("mW") == "mW"  # not a unit we accept, rather than a wrong guess


def test_values_with_decimal_comma_and_reasons_for_the_rest():
    numbers, bad, reasons = parse_values(pd.Series(["3,25", "4.5", "", "abc", "1.234,5"], dtype=object))
    assert numbers[:2].tolist() == [3.25, 4.5]
    assert bad.tolist() == [False, False, True, True, True]
    assert reasons[0] == "the value is empty: leave the row out, or give a number"
    assert "'abc' is not a number" in reasons[1]


def _check(values, quantities, step_s=900.0, kwp=np.nan, charge=np.nan, capacity=np.nan, max_value=None):
    n = len(values)
    units = np.array(["kWh"] * n, dtype=object)
    return check_values(np.asarray(values, dtype=float), np.array(quantities, dtype=object), units,
                        np.full(n, step_s), np.full(n, kwp), np.full(n, charge), np.full(n, charge),
                        np.full(n, capacity), max_value)


def test_negative_energy_is_refused_with_a_reason_per_quantity():
    checked = _check([-3.2, -0.1, 0.0], ["load", "pv", "load"])
    assert checked.bad.tolist() == [True, True, False]
    assert checked.reasons[0] == ("value -3.2 kWh is negative: a consumption meter cannot run backwards; "
                                  "energy sent to the grid belongs in grid_export")
    assert "PV generation cannot be negative" in checked.reasons[1]


def test_values_beyond_the_household_ratings_are_refused():
    checked = _check([1.2, 1.4, 3.0, 10.6], ["pv", "pv", "battery_charge", "battery_soc"],
                     kwp=4.0, charge=5.0, capacity=10.0)
    # 4 kWp for 15 min: 1.0 kWh at STC, 1.3 kWh with the margin; 5 kW for 15 min: 1.56 kWh with margin.
    assert checked.bad.tolist() == [False, True, True, True]
    assert "more than a 4 kWp array can produce (at most 1.3 kWh)" in checked.reasons[0]
    assert "more than a 5 kW battery can move" in checked.reasons[1]
    assert "more than the battery holds (10 kWh)" in checked.reasons[2]


def test_generic_limit_catches_unit_slips_and_can_be_overridden():
    assert _check([5000.0], ["load"]).bad.tolist() == [True]
    assert "check the unit (Wh or kWh?" in _check([5000.0], ["load"]).reasons[0]
    # Overrides are an average power [kW] as well: 30 MW for 15 min is 7,500 kWh.
    assert _check([5000.0], ["load"], max_value={"load": 30_000}).bad.tolist() == [False]


def test_generic_energy_limit_scales_with_the_interval():
    # 250 kW average: 62.5 kWh in 15 min, 250 kWh in an hour, 6,000 kWh in a day.
    assert _check([70.0], ["grid_import"], step_s=900.0).bad.tolist() == [True]
    assert "70 kWh in 15 min is more than a plausible grid_import value (at most 62.5 kWh" in \
        _check([70.0], ["grid_import"], step_s=900.0).reasons[0]
    assert _check([70.0], ["grid_import"], step_s=3600.0).bad.tolist() == [False]
    assert _check([804.0], ["grid_import"], step_s=3600.0).bad.tolist() == [True]
    assert _check([1500.0], ["load"], step_s=86_400.0).bad.tolist() == [False]


def test_sun_elevation_and_darkness_at_a_known_site():
    from services.ingestion.sun import dark_throughout, sun_elevation_deg

    berlin = (52.5, 13.4)
    noon = int(pd.Timestamp("2024-06-21T11:10:00Z").timestamp())
    midnight = int(pd.Timestamp("2024-06-21T23:00:00Z").timestamp())
    assert sun_elevation_deg(np.array([noon]), *berlin)[0] == pytest.approx(61.0, abs=0.5)
    assert sun_elevation_deg(np.array([midnight]), *berlin)[0] < -10
    dark = dark_throughout(np.array([midnight, noon, midnight]), np.array([900.0, 900.0, 86_400.0]),
                           np.full(3, berlin[0]), np.full(3, berlin[1]))
    assert dark.tolist() == [True, False, False]  # a whole day is never dark throughout


def test_pv_at_night_is_refused_with_the_time_zone_as_the_likely_cause():
    n = 2
    start = np.array([int(pd.Timestamp(t).timestamp()) for t in ("2024-06-21T23:00:00Z", "2024-06-21T11:00:00Z")])
    checked = check_values(np.array([0.5, 0.5]), np.array(["pv"] * n, dtype=object), np.array(["kWh"] * n, dtype=object),
                           np.full(n, 900.0), np.full(n, 4.0), np.full(n, np.nan), np.full(n, np.nan),
                           np.full(n, np.nan), start_s=start, latitude=np.full(n, 52.5), longitude=np.full(n, 13.4))
    assert checked.bad.tolist() == [True, False]
    assert "while the sun is below the horizon" in checked.reasons[0] and "time zone" in checked.reasons[0]
