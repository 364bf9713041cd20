"""Battery schedules over HTTP (kept from the gateway): tomorrow's plan of a stored household, and
the full request with any inputs given.

* ``GET /api/optimize/{household_id}``: the next 24 h from the household's next local midnight,
  15-minute steps, with its stored battery, grid limits, tariff, forecasts (or the labelled
  7-day-profile fallback) and measured state of charge.
* ``POST /api/optimize``: horizon, step, prices or a tariff, battery, grid, PV and load series,
  each given or read from a stored household (``household_id``), and the objective.

Every schedule is stored as a run (``run_id`` in the answer). Input that cannot be scheduled is
a 422 with a field-level reason; limits that cannot all be met are a 422 that says which, when.
Sign conventions: every flow is non-negative [kW, mean over the step]; ``battery_kw`` is positive
when discharging, ``grid_kw`` positive when importing; ``soc_kwh`` is the stored energy at the
END of the step.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, StrictBool, create_model, field_validator

from api.errors import ApiError
from api.fields import Count, Id, Number, Text
from api.models import FieldError
from api.openapi import api_route
from services.access import can_see, require_role
from services.equipment import BATTERY, GRID, Equipment, FieldSpec
from services.households import HouseholdNotFound
from services.optimization import (
    BatteryParams,
    GridParams,
    Prices,
    ScheduleInfeasible,
    ScheduleRequest,
    schedule_battery,
    store_run,
)
from services.optimization.inputs import (
    SOURCE_GIVEN,
    HouseholdInputs,
    InputsUnavailable,
    household_inputs,
    next_local_midnight,
    stored_energy_value,
    stored_tariff_prices,
)
from services.optimization.results import Outcome, ScheduleResult
from services.validation import FieldProblem, ValidationProblem

#: Longest horizon a request may ask for: a week of 5-minute steps.
MAX_STEPS = 2016
USE_STORED = "use_stored"
#: Starts a schedule may have: prices, clocks and calendars are only known within these years.
EARLIEST_START = datetime(1970, 1, 1, tzinfo=UTC)
LATEST_START = datetime(2199, 12, 31, tzinfo=UTC)


class _Body(BaseModel):
    # 1e400 is valid JSON that Python reads as infinity: no price or power is infinite.
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


def _body_model(name: str, doc: str, equipment: Equipment, more: dict[str, str] | None = None) -> type[_Body]:
    """A body model with a field per field of ``equipment``: its JSON type (a boolean, a number, or a
    number or null where null is the default), default and description (plus ``more``, what the
    API adds)."""
    more = more or {}

    def json_type(spec: FieldSpec) -> Any:
        if isinstance(spec.default, bool):
            return StrictBool
        return Number | None if spec.default is None else Number

    fields = {spec.name: (json_type(spec), Field(spec.default, description=spec.description + more.get(spec.name, "")))
              for spec in equipment}
    return create_model(name, __base__=_Body, __doc__=doc, __module__=__name__, **fields)


# The fields, defaults and checks of both: services.equipment (BATTERY, GRID).
BatteryIn = _body_model(
    "BatteryIn", "A home battery. Values are checked with messages that say how to fix them (95 for 0.95 ...).",
    BATTERY, {"capacity_kwh": " 0 = no battery.",
              "initial_soc_kwh": " With `household_id` the default is the household's latest measurement."})
GridIn = _body_model("GridIn", "The grid connection.", GRID)


class PricesIn(_Body):
    """Prices per step [currency/kWh]; one number applies to every step."""

    import_per_kwh: Number | list[Number] = Field(description="What a kWh from the grid costs "
                                                              "[currency/kWh]; may be negative on dynamic tariffs.")
    export_per_kwh: Number | list[Number] = Field(0.0, description="What a kWh fed in earns [currency/kWh].")
    currency: Text = Field("EUR", min_length=3, max_length=3, description="ISO 4217 code.")


Series = list[Number] | Literal["use_stored"]


class OptimizeIn(_Body):
    """A schedule request. With `household_id`, anything not given is read from that household
    (battery, grid limits, tariff, PV and load forecasts or the labelled fallback, measured SOC)."""

    household_id: Id | None = Field(None, description="A stored household to read missing inputs from.")
    start: datetime | None = Field(
        None, description="Start of the first step, ISO 8601 with an offset; default the household's next "
                          "local midnight (without a household: the next midnight UTC).")
    dt_minutes: Literal[5, 15, 30, 60] = Field(15, description="Step length [min].")
    steps: Count | None = Field(None, ge=1, le=MAX_STEPS, description="Number of steps; default the length "
                                                                      "of `load_kw`, else 24 h.")
    tariff_id: Id | None = Field(None, description="Price the horizon with this stored tariff (instead of "
                                                   "`prices`).")
    prices: PricesIn | None = Field(None, description="Prices per step; default the tariff's.")
    battery: BatteryIn | None = Field(None, description="Default the household's stored battery.")
    grid: GridIn | None = Field(None, description="Default the household's stored limits (none without one).")
    pv_kw: Series | None = Field(None, description="PV output, mean power per step [kW], or `use_stored`.")
    load_kw: Series | None = Field(None, description="Household load, mean power per step [kW], or `use_stored`.")
    objective: Literal["cost", "self_consumption", "peak"] = Field(
        "cost", description="`cost` (the bill plus wear), `self_consumption` (least import) or `peak` "
                            "(lowest peak import).")
    terminal: Literal["at_least_initial", "free", "value"] | None = Field(
        None, description="End with at least the initial stored energy, free, or value what is left at "
                          "`terminal_value_per_kwh`. Default: `value` at the horizon's mean import price with "
                          "`household_id` (as GET does), else `at_least_initial`.")
    terminal_value_per_kwh: Number | None = Field(None, description="Value of a kWh left stored at the end "
                                                                    "[currency/kWh] (terminal `value`); default "
                                                                    "the horizon's mean import price.")

    @field_validator("start")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return value
        if value.utcoffset() is None:
            raise ValueError("give the start with an offset, e.g. 2026-07-01T00:00:00Z or +02:00")
        if not EARLIEST_START <= value <= LATEST_START:
            raise ValueError(f"give a start from {EARLIEST_START:%Y-%m-%d} to {LATEST_START:%Y-%m-%d}, "
                             f"got {value.isoformat()}")
        return value


class SourcesOut(BaseModel):
    """Where each input came from."""

    pv: str = Field(description="`forecast`, `fallback: profile of the last 7 days`, `perfect foresight: "
                                "actuals`, `given` or `no PV`.")
    load: str = Field(description="As for `pv`.")
    initial_soc: str = Field(description="How the stored energy at the start was chosen.")
    prices: str = Field(description="The tariff used, or `given`.")


class OutcomeOut(BaseModel):
    """Money [currency] and energy [kWh] over the horizon for one way of running the household."""

    model_config = ConfigDict(from_attributes=True)

    total_cost: float = Field(description="Energy, demand and wear cost [currency].")
    adjusted_cost: float = Field(description="Total cost minus the value of stored energy gained [currency]: "
                                             "what the three ways are compared on.")
    energy_cost: float = Field(description="Import cost minus export revenue [currency].")
    demand_cost: float
    wear_cost: float
    import_kwh: float
    export_kwh: float
    curtailed_kwh: float
    charged_kwh: float
    discharged_kwh: float
    pv_kwh: float
    load_kwh: float
    peak_import_kw: float = Field(description="Highest import [kW].")
    self_consumption: float | None = Field(description="Share of PV used on site; null without PV.")
    self_sufficiency: float | None = Field(description="Share of the load not bought from the grid.")
    equivalent_full_cycles: float = Field(description="Discharged energy / capacity.")
    final_soc_kwh: float = Field(description="Stored energy at the end [kWh].")


class StepOut(BaseModel):
    """One step: powers are means over the step [kW], non-negative unless named otherwise."""

    ts: datetime = Field(description="Start of the step, UTC.")
    pv_kw: float
    load_kw: float
    charge_kw: float
    discharge_kw: float
    battery_kw: float = Field(description="Battery power, positive when discharging [kW].")
    import_kw: float
    export_kw: float
    curtail_kw: float
    soc_kwh: float = Field(description="Stored energy at the END of the step [kWh].")
    import_price: float = Field(description="[currency/kWh]")
    export_price: float = Field(description="[currency/kWh]")


class OptimizeOut(BaseModel):
    """An optimized schedule, compared with no battery and with the simple self-consumption rule."""

    run_id: int | None = Field(description="The stored run; null for GET, which stores nothing.")
    household_id: int | None
    status: str = Field(description="`optimal`, or `feasible` when a mixed-integer solve hit its time limit.")
    objective: str
    start: datetime = Field(description="UTC.")
    end: datetime = Field(description="End of the last step, UTC.")
    dt_minutes: int
    steps: int
    timezone: str
    currency: str
    sources: SourcesOut
    notes: list[str] = Field(description="What a person should know about these inputs and this solve.")
    optimized: OutcomeOut
    rule_based: OutcomeOut = Field(description="The battery run by the self-consumption rule.")
    no_battery: OutcomeOut
    savings_vs_no_battery: float = Field(description="On adjusted costs [currency].")
    savings_vs_rule: float = Field(description="On adjusted costs [currency].")
    import_kwh_saved_vs_no_battery: float = Field(description="Grid import avoided [kWh].")
    stored_energy_value_per_kwh: float = Field(description="What a kWh left stored is worth [currency/kWh].")
    timings_ms: dict[str, float] = Field(description="`formulate`, `solve`, `build`, `total` [ms].")
    schedule: list[StepOut]


@api_route("GET", "/api/optimize/<int:household_id>", response=OptimizeOut, errors=[404, 422],
           tags=["optimization"])
def optimize_household(household_id: int):
    """Tomorrow's battery schedule of a household with its stored settings.

    The next 24 h from the household's next local midnight in 15-minute steps. Read-only: the run
    is not stored (`run_id` is null); POST /api/optimize with `{"household_id": ...}` plans the
    same and stores it. 404 for an unknown household; 422 when it has no battery, no tariff or no
    data to plan with, or when its limits cannot be met (the message says which, and when).
    """
    if not can_see(household_id):
        raise _not_found(household_id)
    try:
        inputs = household_inputs(household_id)
    except HouseholdNotFound:
        raise _not_found(household_id) from None
    except InputsUnavailable as exc:  # no battery, no tariff, no readings: the stored household's, not a field
        raise ApiError(422, str(exc)) from None
    return _solve_and_store(inputs.request, household_id, _sources(inputs), inputs.notes, kind=None,
                            infeasible_field=False)


@api_route("POST", "/api/optimize", response=OptimizeOut, body=OptimizeIn, errors=[422], tags=["optimization"])
def optimize_request(body: OptimizeIn):
    """A battery schedule for the full request: horizon, step, prices or tariff, battery, grid, series.

    Give `pv_kw` and `load_kw` as lists [kW per step], or `household_id` to read what is not given from
    that household (`use_stored`). 422 lists every invalid field with how to fix it, and explains in
    words a limit that cannot be met. 403 for a viewer: the schedule is stored as a run (role manager).
    """
    require_role("manager")
    dt_h = body.dt_minutes / 60
    given = {name: _series(getattr(body, name)) for name in ("pv_kw", "load_kw")}
    steps = body.steps or (len(given["load_kw"]) if given["load_kw"] is not None else int(round(24 / dt_h)))
    battery, grid, prices = _parts(body)
    if body.household_id is None:
        request = _request_without_household(body, given, steps, dt_h, battery, grid, prices)
        return _solve_and_store(request, None, _given_sources(), (), kind="api")
    if not can_see(body.household_id):
        raise ApiError(422, "The household in the request does not exist.", fields=[FieldError(
            field="household_id", location="body",
            message=f"Household {body.household_id} does not exist: GET /api/households lists them")])
    try:
        inputs = household_inputs(
            body.household_id, start=body.start, hours=steps * dt_h, dt_h=dt_h, tariff_id=body.tariff_id,
            battery=battery, grid=grid, prices=prices, pv_kw=given["pv_kw"], load_kw=given["load_kw"],
            objective=body.objective,
        )
    except InputsUnavailable as exc:
        raise _unavailable(exc) from None
    request = _with_terminal(inputs.request, body)
    return _solve_and_store(request, body.household_id, _sources(inputs), inputs.notes, kind="api")


def _parts(body: OptimizeIn) -> tuple[BatteryParams | None, GridParams | None, Prices | None]:
    """The battery, grid and prices of the body, checked together so one 422 lists every mistake."""
    problems: list[FieldProblem] = []
    built = []
    for part, cls in ((body.battery, BatteryParams), (body.grid, GridParams), (body.prices, Prices)):
        try:
            built.append(cls(**part.model_dump()) if part is not None else None)
        except ValidationProblem as exc:
            problems += exc.problems
            built.append(None)
    if problems:
        raise ValidationProblem(problems)
    return built[0], built[1], built[2]


def _request_without_household(body: OptimizeIn, given: dict, steps: int, dt_h: float,
                               battery: BatteryParams | None, grid: GridParams | None,
                               prices: Prices | None) -> ScheduleRequest:
    missing = []
    for name in ("pv_kw", "load_kw"):
        if given[name] is None:
            missing.append((name, f"give {name} as a list of kW per step, or a household_id to read "
                                  "the stored series from"))
    if battery is None:
        missing.append(("battery", "give the battery, or a household_id whose stored battery is used"))
    if prices is None:
        missing.append(("prices", "give prices (or a tariff_id, or a household_id whose tariff is used)"))
        if body.tariff_id is not None:
            missing.pop()
    if missing:
        raise ApiError(422, f"{len(missing)} input{'s are' if len(missing) > 1 else ' is'} missing: see fields.",
                       fields=[FieldError(field=f, location="body", message=m) for f, m in missing])
    start = body.start or next_local_midnight("UTC")
    if prices is None:
        try:
            prices = stored_tariff_prices(body.tariff_id, start, steps, dt_h)
        except InputsUnavailable as exc:
            raise _unavailable(exc) from None
    request = ScheduleRequest(given["pv_kw"], given["load_kw"], prices, battery, grid or GridParams(), dt_h=dt_h,
                              objective=body.objective, start=start)
    return _with_terminal(request, body)


def _with_terminal(request: ScheduleRequest, body: OptimizeIn) -> ScheduleRequest:
    """The body's terminal rule, where it gives one; a value defaults to the mean import price."""
    if body.terminal is None and body.terminal_value_per_kwh is None:
        return request
    terminal = body.terminal or "value"
    value = body.terminal_value_per_kwh
    if terminal == "value" and value is None:
        value = stored_energy_value(request.prices, request.steps)
    return request.replace(terminal=terminal, terminal_value_per_kwh=value if terminal == "value" else None)


def _series(value) -> np.ndarray | None:
    return None if value is None or value == USE_STORED else np.asarray(value, dtype=float)


def _sources(inputs: HouseholdInputs) -> dict[str, str]:
    return {"pv": inputs.pv_source, "load": inputs.load_source, "initial_soc": inputs.soc_source,
            "prices": inputs.prices_source}


def _given_sources() -> dict[str, str]:
    return {"pv": SOURCE_GIVEN, "load": SOURCE_GIVEN, "initial_soc": SOURCE_GIVEN, "prices": SOURCE_GIVEN}


def _solve_and_store(request: ScheduleRequest, household_id: int | None, sources: dict, notes, *,
                     kind: str | None, infeasible_field: bool = True) -> OptimizeOut:
    """Solve, store the run as ``kind`` (None: do not store) and answer; an infeasible request is a
    422 naming the limit (and, for a body, the field most worth changing)."""
    try:
        result = schedule_battery(request)
    except ScheduleInfeasible as exc:
        fields = []
        if exc.field and infeasible_field:
            fields = [FieldError(field=exc.field, location="body", message=exc.reason)]
        raise ApiError(422, f"No schedule can meet every limit: {exc.reason}", title="Infeasible schedule",
                       fields=fields) from None
    run_id = store_run(household_id, result, kind=kind) if kind is not None else None
    return _response(result, run_id, household_id, sources, [*notes, *result.notes])


def _response(result: ScheduleResult, run_id: int | None, household_id: int | None, sources: dict,
              notes: list[str]) -> OptimizeOut:
    r, f = result.request, result.flows
    times = r.times()
    columns = {
        "pv_kw": r.pv_kw, "load_kw": r.load_kw, "charge_kw": f.charge_kw, "discharge_kw": f.discharge_kw,
        "battery_kw": f.net_battery_kw(), "import_kw": f.import_kw, "export_kw": f.export_kw,
        "curtail_kw": f.curtail_kw, "soc_kwh": f.soc_kwh, "import_price": r.prices.import_per_kwh,
        "export_price": r.prices.export_per_kwh,
    }
    lists = {name: values.tolist() for name, values in columns.items()}
    schedule = [StepOut(ts=ts.to_pydatetime(), **{n: lists[n][t] for n in lists}) for t, ts in enumerate(times)]
    return OptimizeOut(
        run_id=run_id, household_id=household_id, status=result.status, objective=r.objective,
        start=times[0].to_pydatetime(), end=(times[-1] + timedelta(hours=r.dt_h)).to_pydatetime(),
        dt_minutes=int(round(r.dt_h * 60)), steps=r.steps, timezone=r.timezone, currency=r.prices.currency,
        sources=SourcesOut(**sources), notes=notes,
        optimized=_outcome(result, result.optimized), rule_based=_outcome(result, result.rule_based),
        no_battery=_outcome(result, result.no_battery),
        savings_vs_no_battery=result.savings_vs_no_battery, savings_vs_rule=result.savings_vs_rule,
        import_kwh_saved_vs_no_battery=result.import_kwh_saved_vs_no_battery,
        stored_energy_value_per_kwh=result.stored_energy_value_per_kwh,
        timings_ms=result.timings_ms, schedule=schedule,
    )


def _outcome(result: ScheduleResult, outcome: Outcome) -> OutcomeOut:
    fields = {name: getattr(outcome, name) for name in outcome.__dataclass_fields__ if name != "unserved_kwh"}
    return OutcomeOut(total_cost=outcome.total_cost, adjusted_cost=result.adjusted_cost(outcome), **fields)


def _not_found(household_id: int) -> ApiError:
    return ApiError(404, f"Household {household_id} does not exist: GET /api/households lists the ones there are.")


def _unavailable(exc: InputsUnavailable) -> ApiError:
    return ApiError(422, str(exc), fields=[FieldError(field=exc.field, location="body", message=str(exc))])
