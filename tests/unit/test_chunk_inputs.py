"""The set-based inputs of a chunk of households equal, household by household and field by field,
what the per-household path builds, on each backend: forecasts and profiles, each tariff kind,
SOC readings, two time zones (two horizon starts), and the same reasons for those without inputs."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest

from services.households import HouseholdNotFound, create_household, create_tariff
from services.optimization.chunk_inputs import chunk_inputs
from services.optimization.inputs import (
    SOURCE_FORECAST,
    SOURCE_NO_PV,
    SOURCE_PROFILE,
    HouseholdInputs,
    InputsUnavailable,
    household_inputs,
    local_day_start,
)
from services.store.db import session_scope
from services.store.models import Household
from tests.factories import add_series
from tests.optimize_helpers import BATTERY, HORIZON_START, NOW, TZ, add_battery_home, add_flat_tariff
from tests.unit.test_optimize_inputs import add_forecast


def _portfolio() -> dict[str, int]:
    """Households that take every path of the input builders; name -> id."""
    tou = create_tariff({"name": "Evening peak", "kind": "tou", "import_price": 0.30, "export_price": 0.08,
                         "periods": [{"start_minute": 17 * 60, "end_minute": 21 * 60, "weekdays": 0b0011111,
                                      "import_price": 0.45}]})
    spot = create_tariff({"name": "Spot", "kind": "dynamic", "import_price": 0.31, "export_price": 0.0,
                          "prices": [{"ts": HORIZON_START + timedelta(hours=h), "import_price": 0.2 - 0.01 * h}
                                     for h in range(12)]})
    flat = add_flat_tariff()
    homes = {
        "profile": add_battery_home(tariff_id=flat),
        "forecast": add_battery_home(name="Forecast Home", tariff_id=tou),
        "spot": add_battery_home(name="Spot Home", tariff_id=spot, days=12),
        "no battery": add_battery_home(name="No Battery", battery=None, tariff_id=flat),
        "no readings": add_battery_home(name="No Readings", readings=False, tariff_id=flat),
    }
    add_forecast(homes["forecast"], "load", NOW - timedelta(hours=3), HORIZON_START, 24, 0.7)
    add_forecast(homes["forecast"], "load", NOW - timedelta(hours=1), HORIZON_START, 12, 0.9)  # incomplete
    add_forecast(homes["forecast"], "pv", NOW + timedelta(hours=1), HORIZON_START, 24, 5.0)  # not issued yet
    add_forecast(homes["spot"], "pv", NOW - timedelta(hours=2), HORIZON_START, 24, 0.4)
    homes["no tariff"] = create_household({"name": "No Tariff", "timezone": TZ, "latitude": 52.5,
                                           "longitude": 13.4, "battery": BATTERY})
    # Another time zone: another horizon start in the same chunk.
    homes["lisbon"] = add_battery_home(name="Lisbon Home", tariff_id=flat)
    with session_scope() as session:
        session.get(Household, homes["lisbon"]).timezone = "Europe/Lisbon"
    # No load meter and an hourly import meter: load derived from the balance, imports spread.
    homes["derived load"] = add_battery_home(name="Grid Meters Only", readings=False, tariff_id=flat)
    start = HORIZON_START - timedelta(days=8)
    with session_scope() as session:
        add_series(session, homes["derived load"], "grid_import", start, [1.2] * (8 * 24), step_min=60)
        add_series(session, homes["derived load"], "grid_export", start, [0.05] * (8 * 96))
        add_series(session, homes["derived load"], "pv", start, [0.1] * (8 * 96))
    # No PV system and no PV readings: no PV at all (a home with a PV system but no readings: a PV profile of zeros).
    homes["no pv"] = create_household({"name": "No PV", "timezone": TZ, "latitude": 52.5, "longitude": 13.4,
                                       "tariff_id": flat, "battery": BATTERY})
    with session_scope() as session:
        add_series(session, homes["no pv"], "load", start, [0.2] * (8 * 96))
    homes["missing"] = max(homes.values()) + 100
    return homes


def _assert_same(a: HouseholdInputs, b: HouseholdInputs) -> None:
    for name in ("household_id", "household_name", "pv_source", "load_source", "soc_source", "prices_source",
                 "tariff_id", "notes", "unpriced_steps"):
        assert getattr(a, name) == getattr(b, name), name
    ra, rb = a.request, b.request
    for name in ("pv_kw", "load_kw"):
        np.testing.assert_array_equal(getattr(ra, name), getattr(rb, name), err_msg=name)
    np.testing.assert_array_equal(ra.prices.import_per_kwh, rb.prices.import_per_kwh)
    np.testing.assert_array_equal(ra.prices.export_per_kwh, rb.prices.export_per_kwh)
    assert ra.prices.currency == rb.prices.currency
    for name in ("battery", "grid", "dt_h", "objective", "terminal", "terminal_value_per_kwh", "start", "timezone"):
        assert getattr(ra, name) == getattr(rb, name), name


def _one_by_one(household_id: int, day: date | None):
    with session_scope() as session:
        home = session.get(Household, household_id)
        start = None if day is None or home is None else local_day_start(day, home.timezone)
    try:
        return household_inputs(household_id, start=start, now=NOW)
    except (InputsUnavailable, HouseholdNotFound) as exc:
        return str(exc)


@pytest.mark.parametrize("day", [None, date(2026, 6, 19)], ids=["tomorrow", "a later day"])
def test_chunk_inputs_equal_the_per_household_inputs(db_url, day):
    homes = _portfolio()
    chunk = chunk_inputs(list(homes.values()), day=day, now=NOW)
    assert set(chunk.inputs) | set(chunk.errors) == set(homes.values())
    assert set(chunk.errors) == {homes[k] for k in ("no battery", "no readings", "no tariff", "missing")}
    for name, household_id in homes.items():
        expected = _one_by_one(household_id, day)
        if isinstance(expected, str):
            assert chunk.errors[household_id] == expected, name
        else:
            _assert_same(chunk.inputs[household_id], expected)
    # The chunk took the paths it was built to take (so the equality above means something).
    forecast, spot = chunk.inputs[homes["forecast"]], chunk.inputs[homes["spot"]]
    if day is None:
        assert (forecast.load_source, forecast.pv_source) == (SOURCE_FORECAST, SOURCE_PROFILE)
        assert spot.pv_source == SOURCE_FORECAST and spot.unpriced_steps == tuple(range(48, 96))
        assert chunk.inputs[homes["profile"]].soc_source == "measured at 2026-06-16 23:45"
    else:
        assert any("readings stop" in n for n in chunk.inputs[homes["profile"]].notes)
    assert chunk.inputs[homes["lisbon"]].request.start != chunk.inputs[homes["profile"]].request.start
    derived = chunk.inputs[homes["derived load"]]
    assert derived.load_source == SOURCE_PROFILE and derived.notes  # says the load is derived
    np.testing.assert_allclose(derived.request.load_kw, 1.2 + 0.4 - 0.2)  # import + PV - export [kW]
    no_pv = chunk.inputs[homes["no pv"]]
    assert no_pv.pv_source == SOURCE_NO_PV and not no_pv.request.pv_kw.any()


def test_a_chunk_of_one_is_the_household_alone(db_url):
    home = add_battery_home()
    _assert_same(chunk_inputs([home], now=NOW).inputs[home], household_inputs(home, now=NOW))
    assert chunk_inputs([], now=NOW).inputs == {}
