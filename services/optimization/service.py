"""Schedule a home battery: the one entry point pages, the REST API, back-tests and fleets call.

:func:`schedule_battery` checks that the limits can be met (and says which cannot),
solves the linear program, and only where prices make it necessary solves again
with binaries (see :mod:`.complementarity`); it returns the schedule with its two
baselines. The caller builds the :class:`~.problem.ScheduleRequest` (validated on
construction) from a form, a JSON body or the store.
"""

from __future__ import annotations

import time
from datetime import datetime

import pandas as pd

from services.households.tariffs import TariffSpec, import_prices
from services.optimization.baselines import no_battery, self_consumption_rule
from services.optimization.complementarity import risky_steps, tidy
from services.optimization.engines import program_cache
from services.optimization.feasibility import ScheduleInfeasible, check_feasible
from services.optimization.formulation import charge_limit_kw, discharge_limit_kw, formulate, shape_of
from services.optimization.problem import Prices, ScheduleRequest
from services.optimization.results import Flows, ScheduleResult, evaluate

#: Mixed-integer solves (negative prices) stop here with the best schedule found [s].
MIP_TIME_LIMIT_S = 10.0
_MAX_ROUNDS = 3


def schedule_battery(
    request: ScheduleRequest, *, engine: str = "pyomo", mip_time_limit_s: float = MIP_TIME_LIMIT_S,
    rule_flows: Flows | None = None,
) -> ScheduleResult:
    """The cheapest (or most self-sufficient, or lowest-peak) battery schedule for ``request``.

    Parameters
    ----------
    request : what to schedule, validated.
    engine : ``pyomo`` (the Pyomo model, default) or ``highs`` (the same program built as arrays).
    mip_time_limit_s : time allowed for a mixed-integer solve [s].
    rule_flows : the self-consumption rule's flows of ``request`` when worked out already (a fleet
        chunk works them out for all its households at once: :func:`.baselines.self_consumption_rules`).

    Raises
    ------
    ScheduleInfeasible
        No schedule meets the limits; its message names the limit and the time.
    """
    t0 = time.perf_counter()
    check_feasible(request)
    flows, solution, binaries, timings = solve_flows(request, engine=engine, mip_time_limit_s=mip_time_limit_s)
    nb_flows = no_battery(request)
    if rule_flows is None:
        rule_flows = self_consumption_rule(request)
    notes = []
    if binaries:
        notes.append(
            f"{len(binaries)} steps with negative import prices (or export paid above import) "
            "were solved with binaries so that the battery never charges and discharges at once"
        )
    if solution.status == "feasible":
        notes.append(
            f"the mixed-integer solve stopped at its {mip_time_limit_s:g} s limit: this schedule is "
            "feasible but not proven the best"
        )
    timings["total"] = (time.perf_counter() - t0) * 1e3
    return ScheduleResult(
        request=request,
        flows=flows,
        optimized=evaluate(request, flows),
        no_battery=evaluate(request, nb_flows),
        rule_based=evaluate(request, rule_flows),
        no_battery_flows=nb_flows,
        rule_based_flows=rule_flows,
        status=solution.status,
        objective=float(solution.objective),
        engine=engine,
        stored_energy_value_per_kwh=stored_energy_value(request),
        binary_steps=tuple(binaries),
        timings_ms=timings,
        notes=tuple(notes),
    )


def solve_flows(request: ScheduleRequest, *, engine: str = "pyomo", mip_time_limit_s: float = MIP_TIME_LIMIT_S):
    """Solve ``request`` exactly and return (flows, solution, binary steps, timings [ms]).

    The LP first; if its solution has simultaneous flows that :func:`~.complementarity.tidy`
    cannot remove at no cost, again with binaries on the risky steps and those steps.
    """
    cache = program_cache(engine)
    timings = {"formulate": 0.0, "solve": 0.0, "build": 0.0}
    battery_steps: set[int] = set()
    grid_steps: set[int] = set()
    for round_ in range(_MAX_ROUNDS + 1):
        t0 = time.perf_counter()
        lp = formulate(request, shape_of(request, battery_steps, grid_steps))
        timings["formulate"] += (time.perf_counter() - t0) * 1e3
        solution, build_ms = cache.solve(lp, time_limit_s=mip_time_limit_s if lp.shape.is_mip else None)
        timings["solve"] += solution.solve_ms
        timings["build"] += build_ms
        if solution.x is None:
            raise ScheduleInfeasible(
                f"The solver found no schedule that meets every limit (HiGHS status: {solution.status}); "
                "loosen the import limit, the terminal rule or the state-of-charge limits."
            )
        flows, stuck_battery, stuck_grid = tidy(request, Flows.from_columns(lp.shape, solution.x))
        new_battery = set(stuck_battery) - battery_steps
        new_grid = set(stuck_grid) - grid_steps
        if not new_battery and not new_grid:
            return flows, solution, sorted(battery_steps | grid_steps), timings
        if round_ == 0:  # the LP was not exact: binaries on every step where prices invite cycling
            risky_battery, risky_grid = risky_steps(request)
            new_battery |= set(risky_battery)
            new_grid |= set(risky_grid)
        battery_steps |= _can_cycle_battery(request, new_battery)
        grid_steps |= _can_cycle_grid(request, new_grid)
    raise RuntimeError(f"simultaneous flows remain after {_MAX_ROUNDS} rounds with binaries")


def _can_cycle_battery(request: ScheduleRequest, steps: set[int]) -> set[int]:
    """The steps where charging and discharging are both possible (others need no binary)."""
    both = (charge_limit_kw(request) > 0) & (discharge_limit_kw(request) > 0)
    return {t for t in steps if both[t]}


def _can_cycle_grid(request: ScheduleRequest, steps: set[int]) -> set[int]:
    grid = request.grid
    can_import = grid.import_limit_kw is None or grid.import_limit_kw > 0
    can_export = grid.export_limit_kw is None or grid.export_limit_kw > 0
    possible = request.pv_kw + discharge_limit_kw(request) > 0
    return {t for t in steps if can_import and can_export and possible[t]} if can_import and can_export else set()


def tariff_prices(tariff: TariffSpec, start: datetime, steps: int, dt_h: float, timezone: str) -> Prices:
    """A tariff's prices for ``steps`` steps of ``dt_h`` hours from ``start`` (UTC) [currency/kWh],
    time-of-use periods read in the household's ``timezone``."""
    index = pd.date_range(pd.Timestamp(start).tz_convert("UTC"), periods=steps, freq=pd.Timedelta(hours=dt_h))
    return Prices(import_prices(tariff, index, timezone).to_numpy(), tariff.export_price, tariff.currency)


def stored_energy_value(request: ScheduleRequest) -> float:
    """What a kWh left in the battery at the end is worth [currency/kWh]: the terminal value when
    given, else the mean import price (what buying it back would cost, on average)."""
    if request.terminal == "value":
        return float(request.terminal_value_per_kwh)
    return float(request.prices.import_per_kwh.mean())


def savings_table(result: ScheduleResult) -> list[dict]:
    """The cost comparison as rows (optimized, rule-based battery, no battery) for tables and charts."""
    rows = []
    for label, outcome in (
        ("Optimized", result.optimized),
        ("Self-consumption rule", result.rule_based),
        ("No battery", result.no_battery),
    ):
        rows.append(
            {
                "schedule": label,
                "cost": outcome.total_cost,
                "adjusted_cost": result.adjusted_cost(outcome),
                "final_soc_kwh": outcome.final_soc_kwh,
                "import_kwh": outcome.import_kwh,
                "export_kwh": outcome.export_kwh,
                "self_consumption": outcome.self_consumption,
                "self_sufficiency": outcome.self_sufficiency,
                "equivalent_full_cycles": outcome.equivalent_full_cycles,
                "peak_import_kw": outcome.peak_import_kw,
            }
        )
    return rows


__all__ = ["ScheduleInfeasible", "savings_table", "schedule_battery", "solve_flows", "tariff_prices"]
