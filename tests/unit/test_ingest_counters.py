"""Cumulative meter registers to interval energy: increments, resets, rollovers, gaps, errors."""

from __future__ import annotations

import numpy as np
import pytest

from services.ingestion.counters import register_modulus, registers_to_intervals

T0 = 1_717_200_000  # 2024-06-01 00:00 UTC


def _ts(*quarters: int) -> np.ndarray:
    return np.array([T0 + 900 * q for q in quarters])


def test_increments_become_energy_of_the_interval_starting_at_the_earlier_reading():
    out = registers_to_intervals(_ts(0, 1, 2), np.array([100.0, 100.4, 101.0]))
    assert out.start_s.tolist() == _ts(0, 1).tolist()
    assert out.kwh.tolist() == pytest.approx([0.4, 0.6])
    assert not out.bad.any() and out.events == []


def test_rollover_at_the_register_maximum_adds_what_was_left_to_the_top():
    out = registers_to_intervals(_ts(0, 1, 2), np.array([99999.5, 99999.8, 0.3]), counter_max=99999.9)
    assert out.kwh.tolist() == pytest.approx([0.3, 0.5])  # 99999.8 -> 100000 -> 0.3
    assert [e.kind for e in out.events] == ["rollover"]


def test_rollover_modulus_inferred_from_the_digits():
    assert register_modulus(None, np.array([99998.0, 99999.2])) == 100000.0
    assert register_modulus(99999.9, np.array([])) == 100000.0
    assert register_modulus(9999, np.array([])) == 10000


def test_reset_to_near_zero_counts_from_zero():
    out = registers_to_intervals(_ts(0, 1, 2), np.array([5230.0, 5231.0, 0.2]))
    assert out.kwh.tolist() == pytest.approx([1.0, 0.2])
    assert [e.kind for e in out.events] == ["reset"]
    assert out.events[0].before == 5231.0


def test_a_register_going_backwards_otherwise_is_refused_and_skipped():
    out = registers_to_intervals(_ts(0, 1, 2, 3), np.array([5230.0, 5100.0, 5231.0, 5232.0]))
    assert out.bad.tolist() == [False, True, False, False]
    assert "went backwards from 5230 to 5100 kWh and the next reading is back at 5231 kWh" in out.reasons[0]
    assert "a glitch of this reading alone" in out.reasons[0]
    last = registers_to_intervals(_ts(0, 1, 2), np.array([5230.0, 5231.0, 5100.0]))
    assert last.bad.tolist() == [False, False, True]
    assert "neither a reset to zero nor a rollover" in last.reasons[0]
    # The next reading is compared with the last good one: 5230 -> 5231 spans two quarter hours.
    assert out.start_s.tolist() == _ts(0, 2).tolist()
    assert out.kwh.tolist() == pytest.approx([1.0, 1.0])


def test_a_gap_spreads_the_energy_evenly_over_the_missing_steps():
    out = registers_to_intervals(_ts(0, 4), np.array([10.0, 12.0]), step_s=900)
    assert out.start_s.tolist() == _ts(0, 1, 2, 3).tolist()
    assert out.kwh.tolist() == pytest.approx([0.5] * 4)


def test_unsorted_input_is_a_programming_error():
    with pytest.raises(ValueError, match="sorted by time"):
        registers_to_intervals(_ts(1, 0), np.array([1.0, 2.0]))


def _too_much(limit_kwh: float):
    def implausible(t0, t1, kwh):
        return [f"{k:g} kWh is too much" if k > limit_kwh else None for k in kwh]
    return implausible


def test_a_jump_the_next_readings_fall_back_from_is_refused_alone():
    out = registers_to_intervals(_ts(0, 1, 2, 3), np.array([100.0, 1100.0, 100.5, 101.0]),
                                 implausible=_too_much(10.0))
    assert out.bad.tolist() == [False, True, False, False]
    assert "1000 kWh is too much. The next reading (100.5 kWh) continues from before this one" in out.reasons[0]
    assert out.kwh.sum() == pytest.approx(1.0)


def test_a_jump_the_next_readings_continue_from_is_a_new_level_without_energy():
    out = registers_to_intervals(_ts(0, 1, 2, 3), np.array([100.0, 100.5, 7000.0, 7000.5]),
                                 implausible=_too_much(10.0))
    assert not out.bad.any()
    assert [e.kind for e in out.events] == ["jump"]
    assert out.start_s.tolist() == _ts(0, 2).tolist() and out.kwh.tolist() == pytest.approx([0.5, 0.5])


def test_a_plausible_jump_that_two_readings_disagree_with_is_the_glitch():
    out = registers_to_intervals(_ts(0, 1, 2, 3), np.array([100.0, 109.0, 100.5, 101.0]))
    assert out.bad.tolist() == [False, True, False, False]
    assert "jumped to 109 kWh and the readings after it continue from 100.5 kWh" in out.reasons[0]
    assert out.kwh.sum() == pytest.approx(1.0)
