"""PV and load forecasts over HTTP: ``GET /api/forecast/{household_id}?hours=48``.

The forecast is issued now by the household's stored models on the weather already in the
store; the endpoint never trains a model and never waits on the weather provider
(``flask --app app weather-refresh`` fetches weather). Without a usable model it falls back
(physical model for PV, persistence for load) and ``method`` and ``notes`` say so. Every
forecast answered is stored, so the battery optimizer can use it.

Energies are kWh per step (the interval starting at ``ts``, UTC); P10 <= P50 <= P90.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from api.errors import ApiError
from api.openapi import api_route
from services.access import can_see
from services.forecasting import ForecastResult, forecast_load, forecast_pv
from services.households import HouseholdNotFound, get_household

Method = Literal["ml", "physical", "persistence"]
WeatherState = Literal["fresh", "cached", "stored", "stale", "degraded", "none"]


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
    points: list[ForecastPointOut]


class ForecastOut(BaseModel):
    """PV and load forecasts of a household for the hours ahead."""

    household_id: int
    timezone: str = Field(description="IANA time zone of the household.")
    hours: int = Field(description="Hours ahead, as asked.")
    issued_at: datetime = Field(description="UTC.")
    pv: TargetForecastOut | None = Field(description="Null when the household has no PV system.")
    load: TargetForecastOut


@api_route("GET", "/api/forecast/<int:household_id>", response=ForecastOut, query=ForecastQuery, errors=[404],
           tags=["forecasting"])
def forecast_household(household_id: int, query: ForecastQuery) -> ForecastOut:
    """PV and load forecasts of a household for the next `hours` (P10, P50, P90 per step).

    From the household's stored models and the weather in the store; with too little history or no
    model, the physical model (PV) or persistence (load), as `method` and `notes` say. 404 for an
    unknown household; 422 for `hours` outside 1..168.
    """
    if not can_see(household_id):
        raise _not_found(household_id)
    try:
        household = get_household(household_id)
        pv = forecast_pv(household_id, query.hours, fetch_weather=False) if household.pv_systems else None
        load = forecast_load(household_id, query.hours, fetch_weather=False)
    except HouseholdNotFound:
        raise _not_found(household_id) from None
    return ForecastOut(household_id=household_id, timezone=household.timezone, hours=query.hours,
                       issued_at=load.issued_at, pv=_target(pv) if pv else None, load=_target(load))


def _target(result: ForecastResult) -> TargetForecastOut:
    frame = result.frame
    points = [ForecastPointOut(ts=ts.to_pydatetime(), p10=float(row.p10), p50=float(row.p50), p90=float(row.p90))
              for ts, row in zip(frame.index, frame.itertuples(index=False), strict=True)]
    return TargetForecastOut(method=result.method, step_minutes=int(result.step.total_seconds() // 60),
                             issued_at=result.issued_at, weather=result.weather, model_id=result.model_id,
                             forecast_id=result.forecast_id, notes=list(result.notes), points=points)


def _not_found(household_id: int) -> ApiError:
    return ApiError(404, f"Household {household_id} does not exist: GET /api/households lists the ones there are.")
