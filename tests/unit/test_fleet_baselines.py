"""What a fleet chunk works out for all its households at once (the self-consumption rule, the means
of the 7-day profile) equals, to the bit, what each household gets alone."""

from __future__ import annotations

import numpy as np
import pytest

from services.optimization.baselines import self_consumption_rule, self_consumption_rules
from services.optimization.fleet import schedule_each
from services.optimization.problem import BatteryParams, GridParams, Prices, ScheduleRequest
from services.optimization.service import schedule_battery


def _varied_requests(n: int, seed: int = 7) -> list[ScheduleRequest]:
    """Households of 96 and 48 steps (15 and 30 minutes), with empty and full starts, batteries of
    no capacity, self-discharge, tight SOC limits, import and export limits, and zero net steps."""
    rng = np.random.default_rng(seed)
    out = []
    for k in range(n):
        steps, dt_h = (96, 0.25) if k % 3 else (48, 0.5)
        pv = np.clip(rng.normal(2.0, 2.0, steps), 0.0, None) * (k % 5 != 0)
        load = np.clip(rng.normal(1.2, 0.8, steps), 0.0, None)
        load[rng.integers(0, steps, 5)] = pv[rng.integers(0, steps, 5)]  # some steps with nothing to do
        capacity = [0.0, 5.0, 10.0, 13.5][k % 4]
        soc_min, soc_max = [(0.1, 1.0), (0.0, 1.0), (0.3, 0.8)][k % 3]
        initial = [None, soc_min * capacity, soc_max * capacity, 0.5 * capacity][k % 4]
        battery = BatteryParams(capacity, 5.0 - (k % 3), 4.0 + (k % 2), 0.95 - 0.05 * (k % 2), 0.9 + 0.05 * (k % 2),
                                soc_min, soc_max, [0.0, 0.0001, 0.002][k % 3], initial)
        grid = GridParams(import_limit_kw=[None, 3.0, 8.0][k % 3], export_limit_kw=[None, 0.0, 2.5][(k // 3) % 3])
        prices = Prices(rng.uniform(0.05, 0.4, steps), 0.08, "EUR")
        out.append(ScheduleRequest(pv, load, prices, battery, grid, dt_h=dt_h))
    return out


def _same(a, b) -> bool:
    fields = ("charge_kw", "discharge_kw", "import_kw", "export_kw", "curtail_kw", "soc_kwh", "unserved_kw")
    return all(np.array_equal(getattr(a, f), getattr(b, f)) and getattr(a, f).tobytes() == getattr(b, f).tobytes()
               for f in fields)


def test_rule_of_many_equals_rule_of_each_to_the_bit():
    requests = _varied_requests(60)
    together = self_consumption_rules(requests)
    assert len(together) == len(requests)
    for request, flows in zip(requests, together, strict=True):
        assert _same(flows, self_consumption_rule(request))


@pytest.mark.parametrize("n", [0, 1])
def test_rule_of_none_or_one(n):
    requests = _varied_requests(n)
    assert [_same(a, self_consumption_rule(r)) for a, r in zip(self_consumption_rules(requests), requests,
                                                                  strict=True)] == [True] * n


def test_schedule_each_gives_the_results_of_schedule_battery():
    requests = _varied_requests(12, seed=3)
    for (household, result, error), request in zip(schedule_each(list(enumerate(requests)), "highs"), requests,
                                                   strict=True):
        alone = schedule_battery(request, engine="highs")
        assert error is None and household >= 0
        # (the optimized schedule may differ in the last bits: the solver starts from the previous solve)
        assert result.rule_based == alone.rule_based and result.no_battery == alone.no_battery
        assert _same(result.rule_based_flows, alone.rule_based_flows)


def test_means_of_rows_equal_the_mean_of_each_row_to_the_bit():
    from services.optimization.day_profile import mean_by, mean_by_rows, means_at

    rng = np.random.default_rng(11)
    key = np.r_[rng.integers(0, 40, 300), [3, 3, 3, 3, 3, 3, 3, 3, 3]]  # keys seen 0 to 15 times, one never
    values = rng.normal(0.0, 1.0, (6, len(key))) * 10.0 ** rng.integers(-8, 8, (6, len(key)))
    values[2] = -0.0
    together = mean_by_rows(key, values, 48)
    for row in range(len(values)):
        alone = mean_by(key, values[row], 48)
        assert together[row].tobytes() == alone.tobytes()
    wanted = np.array([3, 0, 47, 3, 12, 45])  # 45: never seen
    assert means_at(key, values, wanted, 48).tobytes() == together[:, wanted].tobytes()
