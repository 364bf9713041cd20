"""Households of the portfolio: the list, and one household with its PV systems and battery.

Only households the caller may see are served (:mod:`services.access`); one that is not
visible answers 404 exactly like one that does not exist.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, create_model

from api.errors import ApiError
from api.openapi import api_route
from services.access import can_see, visible_household_ids
from services.equipment import BATTERY, HOUSEHOLD_GRID, PV, FieldSpec
from services.households import HouseholdNotFound, get_household, list_households


class _FromService(BaseModel):
    # The service returns frozen dataclasses; read their attributes.
    model_config = ConfigDict(from_attributes=True)


class HouseholdSummaryOut(_FromService):
    """One household as listed."""

    id: int
    name: str
    timezone: str = Field(description="IANA time zone of the household, e.g. `Europe/Berlin`.")
    latitude: float = Field(description="Degrees north [-90, 90].")
    longitude: float = Field(description="Degrees east [-180, 180].")
    pv_kwp: float = Field(description="Total DC peak power of all PV systems [kWp]; 0 without PV.")
    battery_kwh: float | None = Field(description="Usable battery capacity [kWh]; null without a battery.")
    tariff_id: int | None
    tariff_name: str | None


class HouseholdListOut(BaseModel):
    """The households the caller may see, in name order."""

    count: int = Field(ge=0)
    households: list[HouseholdSummaryOut]


def _described(spec: FieldSpec) -> Any:
    """A required answer field described as the equipment describes it (an answer has no defaults)."""
    return Field(description=spec.description)


def _answer_model(name: str, doc: str, specs: tuple[FieldSpec, ...]) -> type[_FromService]:
    """An answer model: the row's ``id`` and a field per spec (text, a number, or a number or null where
    null is the default)."""

    def json_type(spec: FieldSpec) -> Any:
        if isinstance(spec.default, str):
            return str
        return float | None if spec.default is None else float

    fields = {spec.name: (json_type(spec), _described(spec)) for spec in specs}
    return create_model(name, __base__=_FromService, __doc__=doc, __module__=__name__, id=(int, ...), **fields)


# The fields of both: services.equipment (PV, and the stored fields of BATTERY).
PVSystemOut = _answer_model("PVSystemOut", "A PV array with its inverter (azimuth clockwise from north: 180 = south).",
                            tuple(PV))
BatteryOut = _answer_model("BatteryOut", "A home battery; efficiencies are one way, SOC limits fractions of capacity.",
                           BATTERY.stored())


class HouseholdOut(_FromService):
    """Everything about one household, as saved."""

    id: int
    name: str
    timezone: str = Field(description="IANA time zone of the household, e.g. `Europe/Berlin`.")
    latitude: float = Field(description="Degrees north [-90, 90].")
    longitude: float = Field(description="Degrees east [-180, 180].")
    tariff_id: int | None
    tariff_name: str | None
    grid_import_limit_kw: float | None = _described(HOUSEHOLD_GRID.grid_import_limit_kw)
    grid_export_limit_kw: float | None = _described(HOUSEHOLD_GRID.grid_export_limit_kw)
    export_curtailable: bool = Field(**HOUSEHOLD_GRID.export_curtailable.field_args())
    notes: str
    pv_kwp: float = Field(description="Total DC peak power of all PV systems [kWp].")
    pv_systems: list[PVSystemOut]
    battery: BatteryOut | None
    created_at: datetime = Field(description="UTC.")
    updated_at: datetime = Field(description="UTC.")


@api_route("GET", "/api/households", response=HouseholdListOut, tags=["households"])
def households_list() -> HouseholdListOut:
    """The households of the portfolio, in name order, with PV and battery sizes."""
    households = list_households(visible_household_ids())
    return HouseholdListOut(count=len(households), households=households)


@api_route("GET", "/api/households/<int:household_id>", response=HouseholdOut, errors=[404], tags=["households"])
def household_detail(household_id: int):
    """One household with its PV systems, battery and tariff."""
    try:
        if not can_see(household_id):
            raise HouseholdNotFound(household_id)
        return get_household(household_id)
    except HouseholdNotFound:
        raise ApiError(
            404, f"Household {household_id} does not exist: GET /api/households lists the ones there are."
        ) from None
