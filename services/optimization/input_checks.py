"""Checks of optimization inputs, with messages a person can act on.

Each function returns one :class:`~services.validation.FieldProblem` per wrong
field (a dotted path such as ``battery.charge_efficiency``), so a form can show
it next to the field and the REST API can return it as a field-level reason.
Messages name the value, the allowed range and, where a unit slip is likely
(percent for a fraction, EUR/MWh or cents for EUR/kWh, W for kW), the fix.
"""

from __future__ import annotations

import difflib
import math
from datetime import datetime
from typing import Protocol, get_args

import numpy as np

from services.equipment import BATTERY, GRID, soc_order_problem
from services.optimization.choices import STEP_HOURS, Objective, Terminal
from services.validation import (
    MAX_HOUSEHOLD_KW,
    MAX_PLAUSIBLE_PRICE,
    FieldProblem,
    ValidationProblem,
    check_time_zone,
)


# What the checks read, so that this module need not import the request types of
# :mod:`.problem` (which call these checks when they are built).
class BatteryFields(Protocol):
    capacity_kwh: float
    max_charge_kw: float
    max_discharge_kw: float
    charge_efficiency: float
    discharge_efficiency: float
    soc_min: float
    soc_max: float
    self_discharge_per_h: float
    initial_soc_kwh: float | None
    wear_cost_per_kwh: float

    @property
    def min_kwh(self) -> float: ...

    @property
    def max_kwh(self) -> float: ...


class GridFields(Protocol):
    import_limit_kw: float | None
    export_limit_kw: float | None
    demand_charge_per_kw: float


class PriceFields(Protocol):
    import_per_kwh: np.ndarray
    export_per_kwh: np.ndarray


class RequestFields(Protocol):
    pv_kw: np.ndarray
    load_kw: np.ndarray
    prices: PriceFields
    dt_h: float
    objective: str
    terminal: str
    terminal_value_per_kwh: float | None
    start: datetime | None
    timezone: str


def raise_problems(problems: list[FieldProblem]) -> None:
    """Raise them together as one :class:`ValidationProblem`, if there are any."""
    if problems:
        raise ValidationProblem(problems)


#: Sizes that may be 0 in a request: 0 = no battery, a valid point of a sizing sweep.
ZERO_MEANS_NONE = ("capacity_kwh", "max_charge_kw", "max_discharge_kw")


def battery_problems(b: BatteryFields, at: str) -> list[FieldProblem]:
    """The field checks of :data:`services.equipment.BATTERY` (as the input model makes them) with
    sizes of 0 allowed, then the initial stored energy against the limits."""
    out: list[FieldProblem] = []

    def add(name: str, message: str | None) -> None:
        if message:
            out.append(FieldProblem(f"{at}.{name}", message))

    for spec in BATTERY.stored():
        value = getattr(b, spec.name)
        if not (spec.name in ZERO_MEANS_NONE and value == 0):
            add(spec.name, spec.problem(value))
    if not out:
        add("soc_min", soc_order_problem(b.soc_min, b.soc_max))
    for spec in (BATTERY.self_discharge_per_h, BATTERY.wear_cost_per_kwh):
        add(spec.name, spec.problem(getattr(b, spec.name)))
    if not out and b.initial_soc_kwh is not None and not (b.min_kwh - 1e-9 <= b.initial_soc_kwh <= b.max_kwh + 1e-9):
        hint = ""
        if 0 < b.initial_soc_kwh <= 1 and b.min_kwh <= b.initial_soc_kwh * b.capacity_kwh <= b.max_kwh:
            hint = f": if {b.initial_soc_kwh:g} is a fraction, that is {b.initial_soc_kwh * b.capacity_kwh:g} kWh"
        add(
            "initial_soc_kwh",
            f"Initial stored energy of {b.initial_soc_kwh:g} kWh is outside the battery's limits "
            f"{b.min_kwh:g} to {b.max_kwh:g} kWh (soc_min {b.soc_min:g} and soc_max {b.soc_max:g} "
            f"of {b.capacity_kwh:g} kWh){hint}",
        )
    return out


def grid_problems(g: GridFields, at: str) -> list[FieldProblem]:
    """The field checks of :data:`services.equipment.GRID`."""
    out: list[FieldProblem] = []
    for spec in (GRID.import_limit_kw, GRID.export_limit_kw, GRID.demand_charge_per_kw):
        message = spec.problem(getattr(g, spec.name))
        if message:
            out.append(FieldProblem(f"{at}.{spec.name}", message))
    return out


def price_problems(p: PriceFields, at: str) -> list[FieldProblem]:
    out: list[FieldProblem] = []
    for name, label in (("import_per_kwh", "Import price"), ("export_per_kwh", "Export price")):
        values = getattr(p, name)
        missing = np.flatnonzero(~np.isfinite(values))
        if len(missing):
            out.append(
                FieldProblem(
                    f"{at}.{name}",
                    f"{label} has {len(missing)} missing or infinite values (first at step {missing[0]}): fill them in",
                )
            )
            continue
        too_big = np.flatnonzero(np.abs(values) > MAX_PLAUSIBLE_PRICE)
        if len(too_big):
            v = values[too_big[0]]
            out.append(
                FieldProblem(
                    f"{at}.{name}",
                    f"{label} must be in currency per kWh, got {v:g} at step {too_big[0]}: "
                    f"divide a price per MWh by 1000 ({v / 1000:g}) or cents by 100 ({v / 100:g})",
                )
            )
    return out


def _series_problems(values: np.ndarray, name: str, label: str, steps: int) -> list[FieldProblem]:
    if len(values) != steps:
        return [
            FieldProblem(name, f"{label} has {len(values)} values but the load has {steps}: give one value per step")
        ]
    missing = np.flatnonzero(~np.isfinite(values))
    if len(missing):
        return [
            FieldProblem(
                name,
                f"{label} has {len(missing)} missing values (first at step {missing[0]}): fill them before optimizing",
            )
        ]
    negative = np.flatnonzero(values < 0)
    if len(negative):
        return [
            FieldProblem(name, f"{label} must not be negative [kW], got {values[negative[0]]:g} at step {negative[0]}")
        ]
    if values.max(initial=0.0) > MAX_HOUSEHOLD_KW:
        return [
            FieldProblem(
                name, f"{label} reaches {values.max():g} kW, more than a household has: if these are W, divide by 1000"
            )
        ]
    return []


def request_problems(r: RequestFields) -> list[FieldProblem]:
    out: list[FieldProblem] = []
    steps = len(r.load_kw)
    if steps == 0:
        out.append(FieldProblem("load_kw", "The load needs at least one step"))
    else:
        out += _series_problems(r.load_kw, "load_kw", "Load", steps)
        out += _series_problems(r.pv_kw, "pv_kw", "PV", steps)
    for name in ("import_per_kwh", "export_per_kwh"):
        n = len(getattr(r.prices, name))
        if n not in (1, steps):
            out.append(
                FieldProblem(
                    f"prices.{name}", f"There are {n} prices for {steps} steps: give one price per step, or one for all"
                )
            )
    if not any(math.isclose(r.dt_h, h) for h in STEP_HOURS):
        out.append(
            FieldProblem(
                "dt_h",
                f"Step length must be 5, 15, 30 or 60 minutes (dt_h 0.0833, 0.25, 0.5 or 1), got {r.dt_h:g} h"
                + (f": did you mean {r.dt_h / 60:g} h ({r.dt_h:g} minutes)?" if r.dt_h in (5, 15, 30, 60) else ""),
            )
        )
    out += _choice_problem("objective", r.objective, get_args(Objective))
    out += _choice_problem("terminal", r.terminal, get_args(Terminal))
    if r.terminal == "value" and (r.terminal_value_per_kwh is None or not math.isfinite(r.terminal_value_per_kwh)):
        out.append(
            FieldProblem(
                "terminal_value_per_kwh",
                "With terminal 'value', say what a kWh left in the battery at the end is worth [currency/kWh]",
            )
        )
    elif r.terminal_value_per_kwh is not None and abs(r.terminal_value_per_kwh) > MAX_PLAUSIBLE_PRICE:
        out.append(
            FieldProblem(
                "terminal_value_per_kwh",
                f"Value of stored energy must be in currency per kWh, got {r.terminal_value_per_kwh:g}",
            )
        )
    if r.start is not None and (r.start.tzinfo is None or r.start.utcoffset() is None):
        out.append(FieldProblem("start", "Start time needs a time zone (UTC), e.g. 2024-05-01T00:00:00Z"))
    message = check_time_zone(r.timezone)
    if message:
        out.append(FieldProblem("timezone", message))
    return out


def _choice_problem(name: str, value: str, choices: tuple[str, ...]) -> list[FieldProblem]:
    if value in choices:
        return []
    close = difflib.get_close_matches(str(value), choices, n=1)
    hint = f": did you mean {close[0]}?" if close else ""
    return [FieldProblem(name, f"{name.capitalize()} must be one of {', '.join(choices)}, got {value!r}{hint}")]
