"""Households of the portfolio: the list, and one household with its PV systems and battery.

Only households the caller may see are served (:mod:`services.access`); one that is not
visible answers 404 exactly like one that does not exist.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from api.errors import ApiError
from api.openapi import api_route
from services.access import can_see, visible_household_ids
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


class PVSystemOut(_FromService):
    """A PV array with its inverter (azimuth clockwise from north: 180 = south)."""

    id: int
    name: str
    kwp: float = Field(description="DC peak power [kWp].")
    tilt_deg: float = Field(description="Tilt from horizontal [degrees].")
    azimuth_deg: float = Field(description="Azimuth clockwise from north [degrees].")
    losses_pct: float = Field(description="System losses as in PVWatts [%].")
    inverter_kw: float | None = Field(description="Inverter AC limit [kW]; null when not limited.")


class BatteryOut(_FromService):
    """A home battery; efficiencies are one way, SOC limits fractions of capacity."""

    id: int
    capacity_kwh: float = Field(description="Usable capacity [kWh].")
    max_charge_kw: float = Field(description="Charging power limit [kW].")
    max_discharge_kw: float = Field(description="Discharging power limit [kW].")
    charge_efficiency: float = Field(description="Charging efficiency, fraction (0.95).")
    discharge_efficiency: float = Field(description="Discharging efficiency, fraction (0.95).")
    soc_min: float = Field(description="Lowest state of charge, fraction of capacity.")
    soc_max: float = Field(description="Highest state of charge, fraction of capacity.")


class HouseholdOut(_FromService):
    """Everything about one household, as saved."""

    id: int
    name: str
    timezone: str = Field(description="IANA time zone of the household, e.g. `Europe/Berlin`.")
    latitude: float = Field(description="Degrees north [-90, 90].")
    longitude: float = Field(description="Degrees east [-180, 180].")
    tariff_id: int | None
    tariff_name: str | None
    grid_import_limit_kw: float | None = Field(description="Grid import limit [kW]; null = no limit.")
    grid_export_limit_kw: float | None = Field(description="Grid export limit [kW]; null = no limit, 0 = no export.")
    export_curtailable: bool = Field(True, description="True: PV may be curtailed instead of exported when the "
                                     "feed-in price is negative (in the no-battery baseline and the optimized "
                                     "schedule alike); false: surplus PV is always exported (up to the limit).")
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
