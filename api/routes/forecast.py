"""PV and load forecasts over HTTP: ``GET /api/forecast/{household_id}?hours=48``.

The forecast is issued now by the household's stored models on the weather already in the
store (or, for a household whose readings stop more than two days ago, as it was issued at their
end, as the Forecast page shows it: ``basis`` says which); the same computation as the page
(:func:`services.forecasting.overview.issue_forecasts`). The endpoint never trains a model and
never waits on the weather provider (``flask --app app weather-refresh`` fetches weather). Without
a usable model it falls back (physical model for PV, persistence for load) and ``method`` and
``notes`` say so.

``GET`` only reads: it stores nothing (``forecast_id`` is null). ``POST`` to the same address issues
the same forecast and stores it, so that the battery optimizer plans with it (``forecast_id``).

Energies are kWh per step (the interval starting at ``ts``, UTC); P10 <= P50 <= P90.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from api.errors import ApiError
from api.openapi import api_route
from services.access import can_see, require_role
from services.forecasting import ForecastResult
from services.forecasting.overview import issue_forecasts
from services.households import HouseholdNotFound

Method = Literal["ml", "physical", "persistence"]
WeatherState = Literal["fresh", "cached", "stored", "stale", "degraded", "none"]
Basis = Literal["live", "readings_end", "no_readings"]
ReadingsUsed = Literal["metered", "derived", "none"]


class ForecastQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    hours: int = Field(48, ge=1, le=168, description="Hours ahead to forecast, 1 to 168 (a week).")


class ForecastPointOut(BaseModel):
    """One step of a forecast [kWh in the step starting at `ts`]."""

    ts: datetime = Field(description="Start of the step, UTC.")
    p10: float = Field(ge=0, description="10 % of outcomes fall below [kWh].")
    p50: float = Field(ge=0, description="The median forecast [kWh].")
    p90: float = Field(ge=0, description="90 % of outcomes fall below [kWh].")


class TargetForecastOut(BaseModel):
    """A forecast of PV generation or household consumption."""

    method: Method = Field(description="`ml` (the household's trained model), `physical` (PV from the physical "
                                       "model alone) or `persistence` (the same time on the last known day). "
                                       "A model whose newest back-test scored it worse than persistence for the "
                                       "season is not used: the better reference answers and `notes` says so.")
    step_minutes: int = Field(gt=0, description="Length of each step [min].")
    issued_at: datetime = Field(description="When the forecast was made, UTC.")
    weather: WeatherState = Field(description="The weather it used: `stored` (a stored forecast covers the hours), "
                                              "`stale` (issued long ago), `degraded` (the provider fails), `none`.")
    model_id: int | None = Field(description="The stored model used; null for a fallback.")
    forecast_id: int | None = Field(description="The stored forecast.")
    notes: list[str] = Field(description="Fallbacks, missing or stale weather, a model that needs retraining.")
    readings: ReadingsUsed = Field(description="The history it started from: `metered`, `derived` (consumption of "
                                               "a home without a consumption meter, from PV + grid import − grid "
                                               "export) or `none` (no readings: the fallback has nothing to go on).")
    points: list[ForecastPointOut]


class ForecastOut(BaseModel):
    """PV and load forecasts of a household for the hours ahead."""

    household_id: int
    timezone: str = Field(description="IANA time zone of the household.")
    hours: int = Field(description="Hours ahead, as asked.")
    issued_at: datetime = Field(description="UTC: when the forecasts start from (`as_of`).")
    basis: Basis = Field(description="What the forecast was issued from: `live` (now, from recent readings), "
                                     "`readings_end` (the household's readings stop more than 2 days ago: the "
                                     "forecast is the one issued at their end, as the Forecast page shows it) or "
                                     "`no_readings` (no readings at all: physical model and persistence alone).")
    readings_end: datetime | None = Field(description="End of the household's newest reading, UTC; null: none.")
    notes: list[str] = Field(description="Why the forecast is not issued now, when it is not.")
    pv: TargetForecastOut | None = Field(description="Null when the household has no PV system.")
    load: TargetForecastOut


@api_route("GET", "/api/forecast/<int:household_id>", response=ForecastOut, query=ForecastQuery, errors=[404],
           tags=["forecasting"])
def forecast_household(household_id: int, query: ForecastQuery, store: bool = False) -> ForecastOut:
    """PV and load forecasts of a household for the next `hours` (P10, P50, P90 per step).

    Read-only: nothing is stored (`forecast_id` is null); POST to the same address to store it.

    From the household's stored models and the weather in the store; with too little history or no
    model, the physical model (PV) or persistence (load), as `method` and `notes` say. 404 for an
    unknown household; 422 for `hours` outside 1..168.
    """
    if not can_see(household_id):
        raise _not_found(household_id)
    try:
        issued = issue_forecasts(household_id, query.hours, store=store)  # the Forecast page's computation
    except HouseholdNotFound:
        raise _not_found(household_id) from None
    pv, load = issued.pv, issued.load
    return ForecastOut(household_id=household_id, timezone=issued.timezone, hours=query.hours,
                       issued_at=load.issued_at, basis=issued.basis, readings_end=issued.readings_end,
                       notes=list(issued.notes), pv=_target(pv) if pv else None, load=_target(load))


@api_route("POST", "/api/forecast/<int:household_id>", response=ForecastOut, query=ForecastQuery, errors=[404],
           tags=["forecasting"])
def issue_forecast(household_id: int, query: ForecastQuery) -> ForecastOut:
    """Issue and store the forecasts of a household, so that the battery optimizer plans with them.

    The same forecasts as GET, stored: `forecast_id` names them. A load forecast without recent
    readings is answered but not stored (it would plan nothing): its `forecast_id` is null.
    403 for a viewer (storing needs role manager).
    """
    require_role("manager")
    return forecast_household(household_id, query, store=True)


def _target(result: ForecastResult) -> TargetForecastOut:
    frame = result.frame
    points = [ForecastPointOut(ts=ts.to_pydatetime(), p10=float(row.p10), p50=float(row.p50), p90=float(row.p90))
              for ts, row in zip(frame.index, frame.itertuples(index=False), strict=True)]
    return TargetForecastOut(method=result.method, step_minutes=int(result.step.total_seconds() // 60),
                             issued_at=result.issued_at, weather=result.weather, model_id=result.model_id,
                             forecast_id=result.forecast_id, notes=list(result.notes), readings=result.readings,
                             points=points)


def _not_found(household_id: int) -> ApiError:
    return ApiError(404, f"Household {household_id} does not exist: GET /api/households lists the ones there are.")
