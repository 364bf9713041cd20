"""Invariants of every optimized schedule, on random households, prices and batteries (hypothesis)."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.optimization import BatteryParams, GridParams, Prices, ScheduleInfeasible, ScheduleRequest
from services.optimization.baselines import no_battery, self_consumption_rule
from services.optimization.feasibility import check_feasible
from services.optimization.service import schedule_battery, solve_flows

TOL = 1e-6
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _series(draw, steps, low, high):
    return np.array(draw(st.lists(st.floats(low, high, allow_nan=False), min_size=steps, max_size=steps)))


@st.composite
def requests(draw, negative_prices: bool = False, import_limits: bool = False):
    steps = draw(st.integers(2, 16))
    dt_h = draw(st.sampled_from([0.25, 0.5, 1.0]))
    pv = _series(draw, steps, 0, 8) * draw(st.sampled_from([0.0, 1.0]))
    load = _series(draw, steps, 0, 5)
    low = -0.2 if negative_prices else 0.0
    import_price = _series(draw, steps, low, 0.6)
    export_price = (
        np.minimum(import_price, _series(draw, steps, low, 0.3))
        if not negative_prices
        else _series(draw, steps, low, 0.3)
    )
    capacity = draw(st.sampled_from([0.0, 2.0, 6.5, 13.5]))
    soc_min, soc_max = draw(st.floats(0, 0.3)), draw(st.floats(0.7, 1.0))
    battery = BatteryParams(
        capacity,
        draw(st.floats(0, 6)),
        draw(st.floats(0, 6)),
        draw(st.floats(0.8, 1.0)),
        draw(st.floats(0.8, 1.0)),
        soc_min,
        soc_max,
        draw(st.sampled_from([0.0, 0.0, 0.002])),
        capacity * draw(st.floats(soc_min, soc_max)),
        draw(st.sampled_from([0.0, 0.02])),
    )
    grid = GridParams(
        import_limit_kw=draw(st.one_of(st.none(), st.floats(0.5, 6))) if import_limits else None,
        export_limit_kw=draw(st.one_of(st.none(), st.just(0.0), st.floats(0.5, 5))),
        allow_grid_charging=draw(st.booleans()),
        demand_charge_per_kw=draw(st.sampled_from([0.0, 0.0, 0.3])),
    )
    return ScheduleRequest(
        pv,
        load,
        Prices(import_price, export_price),
        battery,
        grid,
        dt_h=dt_h,
        terminal=draw(st.sampled_from(["at_least_initial", "free"])),
    )


def _feasible_for(request: ScheduleRequest, flows) -> bool:
    """Whether a baseline's flows satisfy every limit the optimizer is held to."""
    b = request.battery
    if flows.unserved_kw is not None and flows.unserved_kw.max() > TOL:
        return False
    if flows.soc_kwh.min() < b.min_kwh - TOL or flows.soc_kwh.max() > b.max_kwh + TOL:
        return False
    return request.terminal == "free" or flows.soc_kwh[-1] >= b.initial_kwh - TOL


def _check_physics(request: ScheduleRequest, f) -> None:
    b, dt = request.battery, request.dt_h
    balance = request.pv_kw - f.curtail_kw + f.import_kw + f.discharge_kw - request.load_kw - f.export_kw - f.charge_kw
    assert np.abs(balance).max() < 1e-5
    before = np.concatenate([[b.initial_kwh], f.soc_kwh[:-1]])
    dynamics = (
        before * (1 - b.self_discharge_per_h * dt)
        + (b.charge_efficiency * f.charge_kw - f.discharge_kw / b.discharge_efficiency) * dt
    )
    assert np.abs(f.soc_kwh - dynamics).max() < 1e-5
    assert f.soc_kwh.min() >= b.min_kwh - TOL and f.soc_kwh.max() <= b.max_kwh + TOL
    for flow in (f.charge_kw, f.discharge_kw, f.import_kw, f.export_kw, f.curtail_kw):
        assert flow.min() >= 0
    assert np.all(f.curtail_kw <= request.pv_kw + TOL)
    if request.grid.export_limit_kw is not None:
        assert f.export_kw.max() <= request.grid.export_limit_kw + TOL
    assert np.all(f.charge_kw <= (b.max_charge_kw if b.capacity_kwh else 0) + TOL)
    assert np.all(f.discharge_kw <= (b.max_discharge_kw if b.capacity_kwh else 0) + TOL)
    if not request.grid.allow_grid_charging:
        assert np.all(f.charge_kw <= np.maximum(request.pv_kw - request.load_kw, 0) + TOL)
    assert np.minimum(f.charge_kw, f.discharge_kw).max() <= TOL
    assert np.minimum(f.import_kw, f.export_kw).max() <= TOL


@SETTINGS
@given(requests())
def test_schedules_keep_the_physics_and_never_cost_more_than_the_baselines(request):
    try:
        result = schedule_battery(request)
    except ScheduleInfeasible:
        # Refusing is right only if neither baseline is a schedule that meets the limits.
        assert not _feasible_for(request, no_battery(request))
        assert not _feasible_for(request, self_consumption_rule(request))
        return
    _check_physics(request, result.flows)
    cost = result.optimized.total_cost
    slack = 1e-6 * max(1.0, abs(cost))
    if _feasible_for(request, result.no_battery_flows):
        assert cost <= result.no_battery.total_cost + slack
    if _feasible_for(request, result.rule_based_flows):
        assert cost <= result.rule_based.total_cost + slack


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(requests(negative_prices=True))
def test_negative_prices_never_charge_and_discharge_at_once(request):
    try:
        result = schedule_battery(request, engine="highs")
    except ScheduleInfeasible:
        assert not _feasible_for(request, no_battery(request))
        return
    _check_physics(request, result.flows)
    if _feasible_for(request, result.rule_based_flows):
        assert result.optimized.total_cost <= result.rule_based.total_cost + 1e-6 * max(1, abs(result.objective))


@SETTINGS
@given(requests(import_limits=True))
def test_the_precheck_refuses_exactly_the_problems_the_solver_cannot_solve(request):
    try:
        check_feasible(request)
        refused = None
    except ScheduleInfeasible as exc:
        refused = exc
    if refused is None:
        flows = solve_flows(request, engine="highs")[0]
        _check_physics(request, flows)
    else:
        assert refused.reason
        with pytest.raises(ScheduleInfeasible, match="solver found no schedule"):
            solve_flows(request, engine="highs")
