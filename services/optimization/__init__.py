"""Battery scheduling: a Pyomo model solved by HiGHS, with baselines, fleets and receding-horizon runs.

Entry points: :func:`schedule_battery` (one household, one horizon), :func:`optimize_fleet`
(many households in parallel), :func:`simulate_receding_horizon` (a month or a year, re-planned
every day), :func:`sweep_capacity` (savings by battery size), :func:`store_run` (keep a run).
Inputs are the typed, validated :class:`ScheduleRequest` and its parts.
"""

from services.optimization.feasibility import ScheduleInfeasible
from services.optimization.fleet import FleetResult, optimize_fleet
from services.optimization.problem import BatteryParams, GridParams, Prices, ScheduleRequest
from services.optimization.receding import RecedingResult, simulate_receding_horizon
from services.optimization.results import Flows, Outcome, ScheduleResult
from services.optimization.service import savings_table, schedule_battery, tariff_prices
from services.optimization.sizing import SizingResult, sweep_capacity
from services.optimization.store import store_run

__all__ = [
    "BatteryParams",
    "FleetResult",
    "Flows",
    "GridParams",
    "Outcome",
    "Prices",
    "RecedingResult",
    "ScheduleInfeasible",
    "ScheduleRequest",
    "ScheduleResult",
    "SizingResult",
    "optimize_fleet",
    "savings_table",
    "schedule_battery",
    "simulate_receding_horizon",
    "store_run",
    "sweep_capacity",
    "tariff_prices",
]
