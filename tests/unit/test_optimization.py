"""Battery schedules small enough to check by hand, the errors a person sees, and model equivalence."""

from datetime import UTC, datetime

import numpy as np
import pytest

from services.optimization import (
    BatteryParams,
    GridParams,
    Prices,
    ScheduleInfeasible,
    ScheduleRequest,
    schedule_battery,
)
from services.optimization.formulation import formulate, matrix_triplets, shape_of
from services.optimization.model import PyomoProgram, columns_in_layout, load_data, solve_with_pyomo_interface
from services.optimization.raw_highs import solve_cold
from services.validation import ValidationProblem

ENGINES = ["pyomo", "highs"]


def hourly(pv, load, import_price, export_price=0.0, *, battery=None, grid=None, **kw) -> ScheduleRequest:
    battery = battery or BatteryParams(4.0, 2.0, 2.0, 0.9, 0.9, soc_min=0.0, soc_max=1.0, initial_soc_kwh=0.0)
    return ScheduleRequest(
        np.asarray(pv, float),
        np.asarray(load, float),
        Prices(import_price, export_price),
        battery,
        grid or GridParams(),
        dt_h=1.0,
        **kw,
    )


@pytest.mark.parametrize("engine", ENGINES)
def test_flat_prices_give_no_arbitrage(engine):
    # No PV and one price all day: anything stored comes back 19 % smaller, so the battery rests.
    request = hourly(
        np.zeros(24),
        np.full(24, 1.5),
        0.30,
        battery=BatteryParams(10, 5, 5, 0.9, 0.9, soc_min=0.0, initial_soc_kwh=5.0),
    )
    result = schedule_battery(request, engine=engine)
    assert np.allclose(result.flows.charge_kw, 0) and np.allclose(result.flows.discharge_kw, 0)
    assert result.optimized.total_cost == pytest.approx(24 * 1.5 * 0.30)
    assert result.optimized.total_cost == pytest.approx(result.no_battery.total_cost)


@pytest.mark.parametrize("engine", ENGINES)
def test_spread_wider_than_losses_charges_low_and_discharges_high(engine):
    # 0.40 * 0.9 * 0.9 = 0.324 > 0.10: charge 2 kW in both cheap hours (3.6 kWh stored), then
    # discharge 2 kW and the remaining 3.6 - 2 / 0.9 = 1.378 kWh * 0.9 = 1.24 kW.
    result = schedule_battery(hourly([0, 0, 0, 0], [2, 2, 2, 2], [0.10, 0.10, 0.40, 0.40]), engine=engine)
    f = result.flows
    assert f.charge_kw == pytest.approx([2, 2, 0, 0], abs=1e-7)
    assert f.discharge_kw == pytest.approx([0, 0, 2, 1.24], abs=1e-7)
    assert f.soc_kwh == pytest.approx([1.8, 3.6, 3.6 - 2 / 0.9, 0.0], abs=1e-7)
    assert result.optimized.total_cost == pytest.approx(4 * 0.1 + 4 * 0.1 + 0.76 * 0.4)
    assert result.no_battery.total_cost == pytest.approx(2.0)


def test_spread_narrower_than_losses_leaves_the_battery_idle():
    # 0.35 * 0.81 = 0.2835 < 0.30: storing for the dearer hour loses money.
    result = schedule_battery(hourly([0, 0], [1, 1], [0.30, 0.35]))
    assert np.allclose(result.flows.charge_kw, 0) and np.allclose(result.flows.discharge_kw, 0)


@pytest.mark.parametrize("engine", ENGINES)
def test_export_cap_curtails_what_neither_battery_nor_grid_can_take(engine):
    # 6 kW PV, 1 kW load, 3 kW export cap, no battery: 2 kW curtailed in each hour.
    no_storage = BatteryParams(0, 0, 0, initial_soc_kwh=0.0)
    request = hourly([6, 6], [1, 1], 0.30, 0.10, battery=no_storage, grid=GridParams(export_limit_kw=3))
    f = schedule_battery(request, engine=engine).flows
    assert f.export_kw == pytest.approx([3, 3]) and f.curtail_kw == pytest.approx([2, 2])
    # With a 2 kWh battery worth keeping, it fills first: 2 kW charged then 0, and less curtailed.
    battery = BatteryParams(2, 2, 2, 1.0, 1.0, soc_min=0.0, initial_soc_kwh=0.0)
    request = hourly([6, 6, 0], [1, 1, 2], 0.30, 0.10, battery=battery, grid=GridParams(export_limit_kw=3))
    f = schedule_battery(request, engine=engine).flows
    assert f.charge_kw[:2].sum() == pytest.approx(2.0)
    assert f.curtail_kw.sum() == pytest.approx(2.0)
    assert f.export_kw == pytest.approx([3, 3, 0])


def test_negative_price_hour_charges_without_burning():
    # Paid 0.10 per kWh bought in hour 0: the LP would charge and discharge at once to buy more.
    battery = BatteryParams(2, 2, 2, 0.9, 0.9, soc_min=0.0, initial_soc_kwh=1.0)
    request = hourly([0, 0, 0], [1, 1, 1], [-0.10, 0.30, 0.30], [-0.10, 0.05, 0.05], battery=battery, terminal="free")
    relaxed = solve_cold(formulate(request))
    result = schedule_battery(request)
    f = result.flows
    assert result.binary_steps == (0,)
    assert np.minimum(f.charge_kw, f.discharge_kw).max() == 0
    assert f.charge_kw[0] == pytest.approx(1 / 0.9)  # exactly fills the battery
    assert result.objective >= relaxed.objective - 1e-9  # the LP was a relaxation: it promised more


def test_export_paid_above_import_never_imports_and_exports_at_once():
    request = hourly(
        [3, 3],
        [1, 1],
        [0.10, 0.10],
        [0.20, 0.20],
        grid=GridParams(import_limit_kw=5),
        battery=BatteryParams(0, 0, 0, initial_soc_kwh=0.0),
    )
    result = schedule_battery(request)
    f = result.flows
    assert np.minimum(f.import_kw, f.export_kw).max() == 0
    assert f.export_kw == pytest.approx([2, 2])


def test_self_consumption_and_peak_objectives_do_what_they_say():
    t = np.arange(24)
    pv = np.clip(4 * np.sin((t - 6) / 12 * np.pi), 0, None)
    load = np.where((t >= 17) & (t <= 21), 3.0, 0.8)
    price = np.where((t >= 17) & (t <= 21), 0.40, 0.20)
    base = hourly(pv, load, price, 0.05, battery=BatteryParams(8, 3, 3, initial_soc_kwh=4))
    cost = schedule_battery(base)
    sc = schedule_battery(base.replace(objective="self_consumption"))
    peak = schedule_battery(base.replace(objective="peak"))
    assert sc.optimized.import_kwh <= cost.optimized.import_kwh + 1e-6
    assert peak.optimized.peak_import_kw <= cost.optimized.peak_import_kw + 1e-6
    assert peak.optimized.peak_import_kw < cost.optimized.peak_import_kw - 0.1
    demand = schedule_battery(base.replace(grid=GridParams(demand_charge_per_kw=5.0)))
    assert demand.optimized.peak_import_kw == pytest.approx(peak.optimized.peak_import_kw, abs=1e-6)


def test_without_grid_charging_the_battery_charges_only_from_surplus():
    request = hourly([0, 3, 0, 0], [1, 1, 1, 1], [0.05, 0.05, 0.50, 0.50], grid=GridParams(allow_grid_charging=False))
    f = schedule_battery(request).flows
    assert np.all(f.charge_kw <= np.maximum(request.pv_kw - request.load_kw, 0) + 1e-9)
    assert f.charge_kw[1] == pytest.approx(2.0)


# --- errors a person can act on ----------------------------------------------------------------


def test_load_above_import_limit_plus_discharge_names_the_time_and_the_limits():
    load = [1, 1, 9.0, 1]
    request = hourly(
        [0] * 4,
        load,
        0.3,
        grid=GridParams(import_limit_kw=3),
        battery=BatteryParams(10, 5, 5, initial_soc_kwh=5),
        start=datetime(2024, 5, 1, 16, tzinfo=UTC),
        timezone="Europe/Berlin",
    )
    with pytest.raises(ScheduleInfeasible) as err:
        schedule_battery(request)
    assert str(err.value).startswith(
        "Load of 9.0 kW at 20:00 exceeds the 3 kW import limit plus 5 kW battery discharge"
    )
    assert err.value.step == 2 and err.value.field == "grid.import_limit_kw"


def test_battery_running_out_under_an_import_limit_is_explained():
    request = hourly(
        [0] * 3,
        [6, 6, 6],
        0.3,
        grid=GridParams(import_limit_kw=3),
        battery=BatteryParams(5, 5, 5, 1.0, 1.0, soc_min=0.0, initial_soc_kwh=4),
    )
    with pytest.raises(ScheduleInfeasible, match=r"At step 1 .* must deliver 3.00 kWh, but it has only 1.00 kWh left"):
        schedule_battery(request)


def test_terminal_rule_that_self_discharge_makes_impossible_is_explained():
    request = hourly(
        [0] * 24,
        [1] * 24,
        0.3,
        grid=GridParams(allow_grid_charging=False),
        battery=BatteryParams(10, 5, 5, soc_min=0.0, self_discharge_per_h=0.01, initial_soc_kwh=5),
    )
    with pytest.raises(
        ScheduleInfeasible, match="cannot end the horizon with at least its initial 5 kWh.*self-discharge"
    ):
        schedule_battery(request)
    assert schedule_battery(request.replace(terminal="free")).status == "optimal"


@pytest.mark.parametrize(
    ("make", "field", "says"),
    [
        (lambda: BatteryParams(10, 5, 5, charge_efficiency=95), "battery.charge_efficiency", "did you mean 0.95?"),
        (lambda: BatteryParams(10, 5, 5, soc_min=0.5, soc_max=0.4), "battery.soc_min", "must be below the maximum"),
        (
            lambda: BatteryParams(10, 5, 5, initial_soc_kwh=12),
            "battery.initial_soc_kwh",
            "outside the battery's limits",
        ),
        (lambda: BatteryParams(10000, 5, 5), "battery.capacity_kwh", "10 kWh"),
        (lambda: Prices([45.0, 50.0]), "prices.import_per_kwh", "divide a price per MWh by 1000 (0.045)"),
        (lambda: hourly([0, 0], [1, 1, 1], 0.3), "pv_kw", "give one value per step"),
        (lambda: hourly([0, 0], [1, float("nan")], 0.3), "load_kw", "missing values (first at step 1)"),
        (lambda: hourly([0], [1], 0.3).replace(dt_h=15), "dt_h", "did you mean 0.25 h"),
        (lambda: hourly([0], [1], 0.3, objective="costs"), "objective", "did you mean cost?"),
        (lambda: hourly([0], [1], 0.3, terminal="value"), "terminal_value_per_kwh", "worth"),
        (lambda: hourly([0], [1], 0.3, timezone="Europe/Berln"), "timezone", "Europe/Berlin"),
        (lambda: GridParams(import_limit_kw=-3), "grid.import_limit_kw", "leave it empty for no limit"),
    ],
)
def test_bad_inputs_are_refused_with_a_fix(make, field, says):
    with pytest.raises(ValidationProblem) as err:
        make()
    assert says in err.value.by_field()[field]


# --- the Pyomo model, the direct build, and persistence -----------------------------------------


def _day(seed: int, negative: bool = False) -> ScheduleRequest:
    rng = np.random.default_rng(seed)
    t = np.arange(96)
    pv = np.clip(5 * np.sin((t - 24) / 48 * np.pi), 0, None) * rng.uniform(0.3, 1.0)
    load = 0.4 + rng.random(96)
    price = 0.15 + 0.1 * np.sin(t / 96 * 2 * np.pi + seed) + 0.05 * rng.random(96)
    if negative:
        price[44:52] = -0.03
    return ScheduleRequest(
        pv,
        load,
        Prices(price, 0.06),
        BatteryParams(10, 4, 4, initial_soc_kwh=5),
        GridParams(demand_charge_per_kw=0.05, export_limit_kw=3),
        dt_h=0.25,
    )


@pytest.mark.parametrize("binaries", [False, True])
def test_compiled_pyomo_model_is_the_same_program_as_the_direct_build(binaries):
    request = _day(1, negative=binaries)
    shape = shape_of(request, range(44, 52) if binaries else (), (5,) if binaries else ())
    lp = formulate(request, shape)
    pyomo_program = PyomoProgram(lp)
    variables = columns_in_layout(pyomo_program.model, shape)
    assert [v.lb for v in variables] == pytest.approx(lp.col_lb.tolist())
    assert [np.inf if v.ub is None else v.ub for v in variables] == pytest.approx(lp.col_ub.tolist())
    program = pyomo_program.program
    h = program.highs
    model = h.getLp()
    ci, ri = program.col_index, program.row_index
    assert np.allclose(np.asarray(model.col_cost_)[ci], lp.cost)
    assert np.array_equal(np.asarray(model.col_upper_)[ci], lp.col_ub)
    assert np.array_equal(np.asarray(model.row_lower_)[ri], lp.row_lb)
    dense = np.zeros((shape.n_rows, shape.n_cols))
    a = model.a_matrix_
    start, index, value = np.asarray(a.start_), np.asarray(a.index_), np.asarray(a.value_)
    for j in range(shape.n_cols):
        dense[index[start[j] : start[j + 1]], j] = value[start[j] : start[j + 1]]
    rows, cols, vals = matrix_triplets(lp)
    expected = np.zeros_like(dense)
    expected[rows, cols] = vals
    assert np.allclose(dense[np.ix_(ri, ci)], expected)


@pytest.mark.parametrize("negative", [False, True])
def test_persistent_resolve_equals_a_cold_solve(negative):
    first, second = _day(2, negative), _day(3, negative)
    shape = shape_of(first, range(44, 52) if negative else ())
    program = PyomoProgram(formulate(first, shape))
    program.solve(formulate(first, shape))
    changed = second.replace(battery=BatteryParams(7, 3, 2.5, 0.92, 0.97, 0.05, 0.95, 0.001, 3.0, 0.02))
    for request in (second, changed):
        lp = formulate(request, shape)
        hot = program.solve(lp)
        cold = solve_cold(lp)
        fresh = PyomoProgram(lp).solve(lp)
        assert hot.status == cold.status == fresh.status == "optimal"
        assert hot.objective == pytest.approx(cold.objective, rel=1e-6, abs=1e-9)
        assert fresh.objective == pytest.approx(cold.objective, rel=1e-9, abs=1e-12)


def test_fast_parameter_path_matches_pyomos_own_persistent_interface():
    request = _day(4)
    program = PyomoProgram(formulate(request))
    changed = request.replace(
        battery=BatteryParams(6, 2, 3, 0.9, 0.93, initial_soc_kwh=2.0),
        grid=GridParams(export_limit_kw=1.0, demand_charge_per_kw=0.05),
    )
    lp = formulate(changed)
    ours = program.solve(lp)
    load_data(program.model, lp)
    theirs, values = solve_with_pyomo_interface(program.model)
    assert theirs == pytest.approx(ours.objective, rel=1e-7)
    assert values["soc"].min() >= 6 * 0.1 - 1e-7
