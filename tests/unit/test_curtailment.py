"""A day with negative feed-in prices: the no-battery baseline and the optimizer follow the same
rule for surplus PV (``export_curtailable``), so curtailment is never reported as battery savings;
the household setting is saved, shown over REST, edited in the form and stated in reports."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from services.households import create_household, get_household, update_household
from services.optimization.baselines import no_battery
from services.optimization.inputs import household_inputs
from services.optimization.problem import BatteryParams, GridParams, Prices, ScheduleRequest
from services.optimization.service import schedule_battery
from services.reports.metered import battery_savings, savings_method
from tests.optimize_helpers import NOW, add_battery_home

DT = 1.0
# 24 hours: PV 4 kW from 10:00 to 14:00 against a 1 kW load; feed-in costs 0.05 from 11:00 to 13:00.
PV = np.zeros(24)
PV[10:14] = 4.0
LOAD = np.ones(24)
EXPORT_PRICE = np.full(24, 0.08)
EXPORT_PRICE[11:13] = -0.05
NEGATIVE = EXPORT_PRICE < 0


def _request(curtailable: bool, capacity_kwh: float = 0.0, export_limit_kw: float | None = None) -> ScheduleRequest:
    battery = BatteryParams(capacity_kwh, 2.0 if capacity_kwh else 0.0, 2.0 if capacity_kwh else 0.0)
    return ScheduleRequest(PV, LOAD, Prices(0.30, EXPORT_PRICE), battery,
                           GridParams(export_limit_kw=export_limit_kw, export_curtailable=curtailable), dt_h=DT,
                           terminal="free")


@pytest.mark.parametrize("curtailable", [True, False])
def test_without_a_battery_to_schedule_there_are_no_savings_whatever_the_rule(curtailable):
    # Before, the optimizer curtailed at negative prices while the baseline exported: that difference
    # (2 h x 3 kW x 0.05 = 0.30) was reported as the savings of a battery that did nothing.
    result = schedule_battery(_request(curtailable))
    assert result.savings_vs_no_battery == pytest.approx(0.0, abs=1e-9)
    np.testing.assert_allclose(result.flows.curtail_kw, result.no_battery_flows.curtail_kw, atol=1e-7)


def test_curtailable_export_is_curtailed_at_negative_prices_in_both_cases():
    base = no_battery(_request(True))
    assert base.export_kw[NEGATIVE].tolist() == [0.0, 0.0] and base.curtail_kw[NEGATIVE].tolist() == [3.0, 3.0]
    assert base.export_kw[10] == 3.0  # a positive price: exported
    optimized = schedule_battery(_request(True)).flows
    np.testing.assert_allclose(optimized.export_kw[NEGATIVE], 0.0, atol=1e-7)


def test_forced_export_is_exported_in_both_cases_and_only_the_battery_saves():
    base = no_battery(_request(False))
    assert base.export_kw[NEGATIVE].tolist() == [3.0, 3.0] and base.curtail_kw.sum() == 0.0
    result = schedule_battery(_request(False, capacity_kwh=4.0))
    np.testing.assert_allclose(result.flows.curtail_kw, 0.0, atol=1e-7)  # PV is never curtailed
    assert result.flows.charge_kw[NEGATIVE].sum() > 0  # the battery soaks up what would cost money
    assert result.savings_vs_no_battery > 0


def test_the_export_limit_still_curtails_when_export_is_forced():
    base = no_battery(_request(False, export_limit_kw=2.0))
    assert base.curtail_kw[10:14].tolist() == [1.0] * 4
    flows = schedule_battery(_request(False, export_limit_kw=2.0)).flows
    np.testing.assert_allclose(flows.curtail_kw[10:14], 1.0, atol=1e-7)


def test_report_savings_curtail_without_the_battery_only_where_the_setting_allows():
    flows = pd.DataFrame({"load": [1.0, 1.0], "pv": [4.0, 4.0], "grid_import": [0.0, 0.0],
                          "grid_export": [1.0, 1.0], "battery_charge": [2.0, 2.0]})
    prices = np.array([0.3, 0.3])
    curtailed = battery_savings(flows, prices, -0.05, None, "hour", export_curtailable=True)
    exported = battery_savings(flows, prices, -0.05, None, "hour", export_curtailable=False)
    assert curtailed.export_without_kwh == 0.0 and exported.export_without_kwh == pytest.approx(6.0)
    assert curtailed.savings == pytest.approx(exported.savings - 6.0 * 0.05)
    assert "curtailed rather than exported" in curtailed.method
    assert "still exported" in savings_method(False)


def test_the_household_setting_is_saved_and_reaches_the_optimizer(db_url):
    home = add_battery_home()
    assert get_household(home).export_curtailable is True  # the default
    data = get_household(home).to_input().model_dump()
    update_household(home, {**data, "export_curtailable": False})
    assert get_household(home).export_curtailable is False
    assert household_inputs(home, now=NOW).request.grid.export_curtailable is False
    other = create_household({"name": "Curtailing Home", "timezone": "Europe/Berlin", "latitude": 52.5,
                              "longitude": 13.4, "export_curtailable": True})
    assert get_household(other).export_curtailable is True


def test_the_form_round_trips_the_setting():
    from components.household_form import form_values, household_raw

    values, has_pv, has_battery = form_values(None)
    assert values["export_curtailable"] is True
    raw = household_raw({**values, "name": "X", "latitude": 1, "longitude": 2, "export_curtailable": False},
                        has_pv, has_battery)
    assert raw["export_curtailable"] is False
    assert "export_curtailable" not in household_raw({**values, "export_curtailable": None}, has_pv, has_battery)



@pytest.mark.parametrize("curtailable", [True, False])
def test_the_sizing_sweep_reports_no_savings_from_curtailment(curtailable):
    from services.optimization.sizing import sweep_capacity

    days = 2
    pv, load = np.tile(PV, days), np.tile(LOAD, days)
    prices = Prices(0.30, np.tile(EXPORT_PRICE, days))
    template = BatteryParams(0.0, 0.0, 0.0)
    result = sweep_capacity(pv, load, prices, template, [0.0], grid=GridParams(export_curtailable=curtailable),
                            dt_h=DT, horizon_steps=24)
    point = result.points[0]
    base = no_battery(ScheduleRequest(pv, load, prices, template, GridParams(export_curtailable=curtailable), dt_h=DT))
    expected = float(((base.import_kw * 0.30) - base.export_kw * np.tile(EXPORT_PRICE, days)).sum() * DT)
    assert point.cost == pytest.approx(expected)


def test_a_csv_import_can_say_that_export_cannot_be_curtailed(db_url):
    from services.households.import_csv import import_households_csv

    text = ("name,timezone,latitude,longitude,export_curtailable\n"
            "Forced Export Home,Europe/Berlin,52.5,13.4,no\nDefault Home,Europe/Berlin,52.5,13.4,\n")
    ids = import_households_csv(text).household_ids
    assert [get_household(h).export_curtailable for h in ids] == [False, True]
