"""How big a battery pays: savings over a period for a range of capacities, and the payback time.

Each capacity is simulated over the whole period with daily re-planning and perfect
foresight (:func:`~.receding.simulate_receding_horizon`), so the savings are the
best that capacity could have earned; capacity 0 is the household without a
battery. Power scales with capacity when ``c_rate_per_h`` is given (kW per kWh),
otherwise the template battery's power limits are kept.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from services.optimization.problem import BatteryParams, GridParams, Prices
from services.optimization.receding import simulate_receding_horizon


@dataclass(frozen=True)
class SizingPoint:
    """One capacity: total cost over the period [currency], savings against no battery
    [currency], equivalent full cycles over the period."""

    capacity_kwh: float
    cost: float
    savings: float
    equivalent_full_cycles: float


@dataclass(frozen=True)
class SizingResult:
    """The savings curve over ``period_days`` days."""

    points: tuple[SizingPoint, ...]
    period_days: float

    def annual_savings(self) -> np.ndarray:
        """Savings scaled to a year [currency/year], one per capacity."""
        return np.array([p.savings for p in self.points]) * 365.0 / self.period_days

    def payback_years(self, battery_price_per_kwh: float) -> list[float | None]:
        """Simple payback time [years] at ``battery_price_per_kwh`` [currency/kWh installed];
        None where the battery saves nothing (or there is no battery)."""
        years: list[float | None] = []
        for point, saved in zip(self.points, self.annual_savings(), strict=True):
            invest = battery_price_per_kwh * point.capacity_kwh
            years.append(invest / saved if point.capacity_kwh > 0 and saved > 0 else None)
        return years


def sweep_capacity(
    pv_kw: np.ndarray,
    load_kw: np.ndarray,
    prices: Prices,
    battery: BatteryParams,
    capacities_kwh: Sequence[float],
    *,
    grid: GridParams | None = None,
    dt_h: float = 0.25,
    horizon_steps: int = 96,
    c_rate_per_h: float | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> SizingResult:
    """Simulate each capacity in ``capacities_kwh`` [kWh] (0 is added if missing) over the period.

    ``battery`` gives everything but the size (efficiencies, SOC limits, power unless
    ``c_rate_per_h``); each size starts half full. ``progress(done, total)`` counts capacities.
    """
    sizes = sorted(set(float(c) for c in capacities_kwh) | {0.0})
    costs, cycles = [], []
    for i, capacity in enumerate(sizes):
        power = {}
        if c_rate_per_h is not None:
            power = {"max_charge_kw": c_rate_per_h * capacity, "max_discharge_kw": c_rate_per_h * capacity}
        sized = replace(battery, capacity_kwh=capacity, initial_soc_kwh=None, **power)
        run = simulate_receding_horizon(
            pv_kw, load_kw, prices, sized, grid, dt_h=dt_h, horizon_steps=horizon_steps, apply_steps=horizon_steps
        )
        costs.append(run.outcome.total_cost)
        cycles.append(run.outcome.equivalent_full_cycles)
        if progress is not None:
            progress(i + 1, len(sizes))
    points = tuple(
        SizingPoint(size, cost, costs[0] - cost, cycle) for size, cost, cycle in zip(sizes, costs, cycles, strict=True)
    )
    return SizingResult(points, len(load_kw) * dt_h / 24.0)
