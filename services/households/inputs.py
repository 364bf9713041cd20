"""What a household, its PV systems, battery and tariff may look like: the input models.

They are the one place where configuration is validated: the Households page, the CSV import, the
CityLearn import and the REST API all build them (with :func:`services.validation.parse_input`),
and the household service accepts nothing else. Messages are written for the person who typed
the value and say how to fix it.

Conventions (as in the store, see :mod:`services.store.models.households`): tilt in degrees from
horizontal, azimuth in degrees clockwise from north (90 = east, 180 = south), power [kW], energy
[kWh], peak power [kWp], prices [currency/kWh], efficiencies and state-of-charge limits as
fractions (0.95, not 95).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from services.equipment import BATTERY, HOUSEHOLD_GRID, PV, FieldSpec, soc_order_problem
from services.text_checks import MultiLine, SingleLine
from services.validation import (
    ALL_MONTHS,
    ALL_WEEKDAYS,
    MINUTES_PER_DAY,
    CrossFieldError,
    check_price,
    check_time_zone,
    number_text,
    raise_if,
)


class _Input(BaseModel):
    model_config = ConfigDict(allow_inf_nan=False, str_strip_whitespace=True, extra="forbid", frozen=True)


def _field(spec: FieldSpec, **constraints: Any) -> Any:
    """A pydantic field of the equipment's ``spec``: its default, description and the label messages use."""
    return Field(title=spec.input_label, **spec.field_args(), **constraints)


class PVSystemInput(_Input):
    """A PV array with its inverter: ``kwp`` DC peak power [kWp], tilt and azimuth [degrees],
    system losses [%] as in PVWatts (14 is typical), inverter AC limit [kW] (None = no limit).
    Fields, defaults and checks: :data:`services.equipment.PV`."""

    name: SingleLine = Field(**PV.name.field_args(), min_length=1, max_length=80)
    kwp: float = _field(PV.kwp)
    tilt_deg: float = _field(PV.tilt_deg)
    azimuth_deg: float = _field(PV.azimuth_deg)
    losses_pct: float = _field(PV.losses_pct)
    inverter_kw: float | None = _field(PV.inverter_kw)

    @field_validator(*[f.name for f in PV])
    @classmethod
    def _check(cls, v: Any, info: ValidationInfo) -> Any:
        raise_if(PV[info.field_name].problem(v))
        return v


class BatteryInput(_Input):
    """A home battery: usable ``capacity_kwh`` [kWh]; charge/discharge power limits [kW];
    one-way efficiencies as fractions; state-of-charge limits as fractions of capacity.
    Fields, defaults and checks: the stored fields of :data:`services.equipment.BATTERY`."""

    capacity_kwh: float = _field(BATTERY.capacity_kwh)
    max_charge_kw: float = _field(BATTERY.max_charge_kw)
    max_discharge_kw: float = _field(BATTERY.max_discharge_kw)
    charge_efficiency: float = _field(BATTERY.charge_efficiency)
    discharge_efficiency: float = _field(BATTERY.discharge_efficiency)
    soc_min: float = _field(BATTERY.soc_min)
    soc_max: float = _field(BATTERY.soc_max)

    @field_validator(*[f.name for f in BATTERY.stored()])
    @classmethod
    def _check(cls, v: float, info: ValidationInfo) -> float:
        raise_if(BATTERY[info.field_name].problem(v))
        return v

    @model_validator(mode="after")
    def _soc_order(self) -> BatteryInput:
        message = soc_order_problem(self.soc_min, self.soc_max)
        if message:
            raise CrossFieldError("soc_min", message)
        return self


class HouseholdInput(_Input):
    """A household as entered: location [degrees], IANA time zone, optional tariff, grid limits [kW]
    (None = no limit; export 0 = no export allowed), whether PV may be curtailed rather than exported
    at a negative feed-in price (``export_curtailable``), PV systems and an optional battery."""

    name: SingleLine = Field(min_length=1, max_length=120)
    timezone: SingleLine = Field(min_length=1, max_length=64)
    latitude: float
    longitude: float
    tariff_id: int | None = None
    grid_import_limit_kw: float | None = _field(HOUSEHOLD_GRID.grid_import_limit_kw)
    grid_export_limit_kw: float | None = _field(HOUSEHOLD_GRID.grid_export_limit_kw)
    export_curtailable: bool = _field(HOUSEHOLD_GRID.export_curtailable)
    notes: MultiLine = Field("", max_length=5000)
    pv_systems: list[PVSystemInput] = Field(default_factory=list, max_length=20)
    battery: BatteryInput | None = None

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, v: str) -> str:
        raise_if(check_time_zone(v))
        return v

    @field_validator("latitude")
    @classmethod
    def _latitude(cls, v: float) -> float:
        if not -90 <= v <= 90:
            # Between 90 and 180 it is most likely a longitude typed into the latitude field.
            hint = ": did you swap latitude and longitude?" if abs(v) <= 180 else ""
            raise_if(f"Latitude must be between -90 and 90 degrees (north positive), got {number_text(v)}{hint}")
        return v

    @field_validator("longitude")
    @classmethod
    def _longitude(cls, v: float) -> float:
        if not -180 <= v <= 180:
            raise_if(f"Longitude must be between -180 and 180 degrees (east positive), got {number_text(v)}")
        return v

    @field_validator("grid_import_limit_kw", "grid_export_limit_kw")
    @classmethod
    def _grid_limit(cls, v: float | None, info: ValidationInfo) -> float | None:
        raise_if(HOUSEHOLD_GRID[info.field_name].problem(v))
        return v


class TariffPeriodInput(_Input):
    """A time-of-use window in local time: ``import_price`` [currency/kWh] from ``start_minute`` to
    ``end_minute`` (minutes after midnight, end exclusive, 1440 = midnight; an end before the start
    wraps past midnight) on the weekdays set in ``weekdays`` (bit 0 = Monday ... bit 6 = Sunday) in the
    months set in ``months`` (bit 0 = January ... bit 11 = December)."""

    name: SingleLine = Field("peak", min_length=1, max_length=40)
    start_minute: int = Field(ge=0, lt=MINUTES_PER_DAY)
    end_minute: int = Field(ge=0, le=MINUTES_PER_DAY)
    weekdays: int = Field(ALL_WEEKDAYS, ge=1, le=ALL_WEEKDAYS)
    months: int = Field(ALL_MONTHS, ge=1, le=ALL_MONTHS)
    import_price: float

    @field_validator("import_price")
    @classmethod
    def _price(cls, v: float) -> float:
        raise_if(check_price("Period import price", v))
        return v

    @model_validator(mode="after")
    def _not_empty(self) -> TariffPeriodInput:
        if self.start_minute == self.end_minute:
            raise CrossFieldError("end_minute", "A period must end at a different time than it starts")
        return self


class TariffPriceInput(_Input):
    """One step of a dynamic tariff: ``import_price`` [currency/kWh] from ``ts`` (timezone-aware)."""

    ts: datetime
    import_price: float

    @field_validator("ts")
    @classmethod
    def _aware(cls, v: datetime) -> datetime:
        if v.tzinfo is None:
            raise_if(f"Time {v.isoformat()} has no UTC offset: write it like {v.isoformat()}+01:00")
        return v


class TariffInput(_Input):
    """A tariff: ``flat`` (one ``import_price``), ``tou`` (``periods``, ``import_price`` elsewhere) or
    ``dynamic`` (``prices``, ``import_price`` where the series has none); ``export_price`` is the
    feed-in remuneration [currency/kWh], paid to the household."""

    name: SingleLine = Field(min_length=1, max_length=120)
    kind: Literal["flat", "tou", "dynamic"] = "flat"
    currency: str = Field("EUR", min_length=3, max_length=3)
    import_price: float
    export_price: float = 0.0
    periods: list[TariffPeriodInput] = Field(default_factory=list)
    prices: list[TariffPriceInput] = Field(default_factory=list)

    @field_validator("currency")
    @classmethod
    def _currency(cls, v: str) -> str:
        if not v.isalpha():
            raise_if(f"Currency must be a three-letter code such as EUR or USD, got {v}")
        return v.upper()

    @field_validator("import_price", "export_price")
    @classmethod
    def _prices(cls, v: float, info) -> float:
        raise_if(check_price("Import price" if info.field_name == "import_price" else "Export price", v))
        return v

    @model_validator(mode="after")
    def _kind_matches(self) -> TariffInput:
        if self.kind == "tou" and not self.periods:
            raise CrossFieldError("periods", "A time-of-use tariff needs at least one period")
        if self.kind == "dynamic" and not self.prices:
            raise CrossFieldError("prices", "A dynamic tariff needs a price series")
        if self.kind != "tou" and self.periods:
            raise CrossFieldError("periods", f"A {self.kind} tariff has no periods: choose kind 'tou' for periods")
        if self.kind != "dynamic" and self.prices:
            raise CrossFieldError("prices", f"A {self.kind} tariff has no price series: choose kind 'dynamic'")
        seen = set()
        for i, price in enumerate(self.prices):
            if price.ts in seen:
                raise CrossFieldError(f"prices.{i}.ts", f"Time {price.ts.isoformat()} appears twice in the price series")
            seen.add(price.ts)
        return self
