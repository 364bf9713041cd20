"""The equipment definitions (:mod:`services.equipment`) drive every edge: the input models, the
optimizer's parameters and checks, the REST models, the form, the CSV columns and the table."""

import dataclasses

import pytest

from api.routes.households import BatteryOut, HouseholdOut, PVSystemOut
from api.routes.optimize import BatteryIn, GridIn
from components.household_form import BATTERY_FIELDS, PV_FIELDS
from services.equipment import BATTERY, GRID, HOUSEHOLD_GRID, PV
from services.households import create_household, get_household
from services.households.import_csv import BATTERY_COLUMNS, PV_COLUMNS
from services.households.inputs import BatteryInput, HouseholdInput, PVSystemInput
from services.optimization.input_checks import battery_problems, grid_problems
from services.optimization.inputs import household_grid, stored_battery, stored_household
from services.optimization.problem import BatteryParams, GridParams
from services.pvmodel import PVArray
from services.store.db import session_scope
from services.store.models import Battery, PVSystem
from services.validation import ValidationProblem, parse_input

HOME = {"name": "Lindenhof", "timezone": "Europe/Berlin", "latitude": 48.1, "longitude": 11.6,
        "grid_import_limit_kw": 17.0, "grid_export_limit_kw": 0.0, "export_curtailable": False,
        "pv_systems": [{"kwp": 6.0, "tilt_deg": 25, "inverter_kw": 5.0}],
        "battery": {"capacity_kwh": 9.6, "max_charge_kw": 4.0, "max_discharge_kw": 3.5, "soc_min": 0.05}}


def _schema_defaults(model) -> dict:
    return {name: p["default"] for name, p in model.model_json_schema()["properties"].items() if "default" in p}


def test_every_edge_takes_its_defaults_from_the_definition():
    battery, pv = BATTERY.defaults(), PV.defaults()
    assert battery["charge_efficiency"] == 0.95 and battery["soc_min"] == 0.1 and pv["losses_pct"] == 14.0
    stored_battery_defaults = {f.name: f.default for f in BATTERY.stored() if not f.required}
    assert {n: f.default for n, f in BatteryInput.model_fields.items() if not f.is_required()} == stored_battery_defaults
    assert {n: f.default for n, f in PVSystemInput.model_fields.items() if not f.is_required()} == pv
    params = {f.name: f.default for f in dataclasses.fields(BatteryParams)
              if f.default is not dataclasses.MISSING}
    assert params == battery
    assert {f.name: f.default for f in dataclasses.fields(GridParams)} == GRID.defaults()
    assert {f.name: f.default for f in dataclasses.fields(PVArray) if f.default is not dataclasses.MISSING} == {
        n: v for n, v in pv.items() if n != "name"}
    # The API's schema (what the OpenAPI document shows) has the same defaults, and nothing more.
    assert _schema_defaults(BatteryIn) == battery
    assert _schema_defaults(GridIn) == GRID.defaults()
    assert _schema_defaults(BatteryOut) == {} and _schema_defaults(PVSystemOut) == {}
    # The table's column defaults.
    for column, spec in [(Battery.__table__.c[f.name], f) for f in BATTERY.stored()] + [
            (PVSystem.__table__.c[f.name], f) for f in PV.stored()]:
        assert (column.default.arg if column.default is not None else None) == (None if spec.required else spec.default)
    # The form prefills the same defaults and shows the definition's hints.
    for field in BATTERY_FIELDS + PV_FIELDS:
        spec = (BATTERY if field.path.startswith("battery.") else PV)[field.path.rsplit(".", 1)[-1]]
        assert (field.default, field.help) == (None if spec.required else spec.default, spec.hint)


def test_descriptions_come_from_the_definition_and_state_units():
    for model, equipment in ((BatteryIn, BATTERY), (BatteryOut, BATTERY), (GridIn, GRID), (PVSystemOut, PV),
                             (HouseholdOut, HOUSEHOLD_GRID)):
        properties = model.model_json_schema()["properties"]
        for spec in equipment:
            if spec.name in properties:
                assert properties[spec.name]["description"].startswith(spec.description), (model, spec.name)
    for spec in [*BATTERY, *PV, *GRID, *HOUSEHOLD_GRID]:
        if spec.unit not in ("", "fraction", "fraction per hour"):
            assert f"[{spec.unit}]" in spec.description, spec.name
    assert BatteryInput.model_fields["capacity_kwh"].title == "Battery capacity (kWh)"
    assert set(BATTERY_COLUMNS.values()) == {f.name for f in BATTERY.stored()}
    assert set(PV_COLUMNS.values()) == {f.name for f in PV.stored()} - {"name"}


@pytest.mark.parametrize(("field", "value"), [
    ("charge_efficiency", 95), ("discharge_efficiency", 0), ("soc_min", 10), ("soc_max", -0.5),
    ("capacity_kwh", 10000), ("max_charge_kw", -1), ("max_discharge_kw", 5000),
])
def test_the_same_bad_value_gives_the_same_message_from_the_input_and_the_optimizer(field, value):
    good = {"capacity_kwh": 10.0, "max_charge_kw": 5.0, "max_discharge_kw": 5.0}
    with pytest.raises(ValidationProblem) as entered:
        parse_input(BatteryInput, {**good, field: value})
    [optimizer] = battery_problems(_unchecked_params(**{**good, field: value}), "battery")
    assert entered.value.by_field() == {field: optimizer.message}
    assert optimizer.field == f"battery.{field}"
    assert optimizer.message == BATTERY[field].problem(value)


def test_the_state_of_charge_order_is_one_rule():
    with pytest.raises(ValidationProblem) as entered:
        parse_input(BatteryInput, {"capacity_kwh": 10, "max_charge_kw": 5, "max_discharge_kw": 5,
                                   "soc_min": 0.8, "soc_max": 0.5})
    [optimizer] = battery_problems(_unchecked_params(10, 5, 5, soc_min=0.8, soc_max=0.5), "battery")
    assert entered.value.by_field() == {"soc_min": optimizer.message}
    assert optimizer.message == "Minimum state of charge (0.8) must be below the maximum (0.5)"


def test_grid_checks_are_the_definitions():
    [problem] = grid_problems(_unchecked_grid(import_limit_kw=-2), "grid")
    assert problem.message == GRID.import_limit_kw.problem(-2)
    assert problem.message.endswith("(leave it empty for no limit)")
    assert grid_problems(_unchecked_grid(export_limit_kw=0), "grid") == []  # 0 = no export
    with pytest.raises(ValidationProblem) as entered:
        parse_input(HouseholdInput, {**HOME, "grid_export_limit_kw": -1})
    assert entered.value.by_field() == {"grid_export_limit_kw": HOUSEHOLD_GRID.grid_export_limit_kw.problem(-1)}
    with pytest.raises(ValidationProblem) as typed:
        parse_input(HouseholdInput, {**HOME, "grid_import_limit_kw": "lots"})
    assert typed.value.by_field()["grid_import_limit_kw"].startswith("Grid import limit (kW) must be a number")


def test_a_battery_and_grid_round_trip_store_detail_params_api_unchanged(db_url):
    household_id = create_household(HOME)
    detail = get_household(household_id)
    entered = parse_input(HouseholdInput, HOME)
    assert detail.to_input() == entered
    with session_scope() as session:
        row = stored_household(session, household_id)
        from_row, grid_from_row = stored_battery(row), household_grid(row)
    assert BatteryParams.of(detail.battery) == from_row == BatteryParams.of(entered.battery)
    assert GridParams.of(detail) == grid_from_row == GridParams.of(entered)
    assert (grid_from_row.import_limit_kw, grid_from_row.export_limit_kw, grid_from_row.export_curtailable) == (
        17.0, 0.0, False)
    out = BatteryOut.model_validate(detail.battery).model_dump()
    assert out == {"id": detail.battery.id, **{f.name: getattr(from_row, f.name) for f in BATTERY.stored()}}
    assert {**out, "id": None} == {"id": None, **entered.battery.model_dump()}
    [system] = detail.pv_systems
    assert PVSystemOut.model_validate(system).model_dump() == {"id": system.id, **entered.pv_systems[0].model_dump()}
    assert PVArray.of(system) == PVArray(6.0, 25, 180.0, 14.0, 5.0)


def _unchecked_params(*args, **kwargs) -> BatteryParams:
    """A BatteryParams built without its checks (to run them on a bad value by hand)."""
    params = object.__new__(BatteryParams)
    names = [f.name for f in dataclasses.fields(BatteryParams)]
    values = {**{f.name: f.default for f in dataclasses.fields(BatteryParams)}, **dict(zip(names, args)), **kwargs}
    for name in names:
        object.__setattr__(params, name, values[name])
    return params


def _unchecked_grid(**kwargs) -> GridParams:
    grid = object.__new__(GridParams)
    for f in dataclasses.fields(GridParams):
        object.__setattr__(grid, f.name, kwargs.get(f.name, f.default))
    return grid


def test_a_household_that_may_not_import_is_refused_where_it_is_entered():
    """The optimizer refuses an import limit of 0, so saving one would only make every plan fail later."""
    with pytest.raises(ValidationProblem) as entered:
        parse_input(HouseholdInput, {**HOME, "grid_import_limit_kw": 0})
    message = entered.value.by_field()["grid_import_limit_kw"]
    assert message == "Grid import limit must be more than 0 kW (leave it empty for no limit), got 0"
    [optimizer] = grid_problems(_unchecked_grid(import_limit_kw=0), "grid")
    assert "more than 0 kW" in optimizer.message
    assert parse_input(HouseholdInput, {**HOME, "grid_import_limit_kw": 0.5}).grid_import_limit_kw == 0.5
