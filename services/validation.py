"""What a household, its PV systems, battery and tariff may look like, and what to say when they don't.

The input models here are the one place where configuration is validated: the
Households page, the CSV import, the CityLearn import and the REST API all build
them, and the household service accepts nothing else. Messages are written for
the person who typed the value and say how to fix it ("Charge efficiency must be
between 0 and 1, got 95: did you mean 0.95?").

Conventions (as in the store, see :mod:`services.store.models.households`):
tilt in degrees from horizontal, azimuth in degrees clockwise from north
(90 = east, 180 = south), power [kW], energy [kWh], peak power [kWp], prices
[currency/kWh], efficiencies and state-of-charge limits as fractions (0.95, not 95).

Errors are raised as :class:`ValidationProblem`, a ``ValueError`` carrying one
:class:`FieldProblem` per wrong field; the field is a dotted path into the input
(``battery.soc_min``, ``pv_systems.0.kwp``) so that a form can show the message
next to its field and the API can return it as a field-level reason.
"""

from __future__ import annotations

import difflib
import math
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from services.text_checks import MultiLine, SingleLine

#: Above these a value is more likely a unit slip (W for kW) than a real household.
MAX_HOUSEHOLD_KWP = 1000.0
MAX_HOUSEHOLD_KWH = 1000.0
MAX_HOUSEHOLD_KW = 1000.0
#: Import/export prices above this [currency/kWh] are most likely cents.
MAX_PLAUSIBLE_PRICE = 5.0
ALL_WEEKDAYS = 0b1111111  # bit 0 = Monday ... bit 6 = Sunday
ALL_MONTHS = 0xFFF  # bit 0 = January ... bit 11 = December
MINUTES_PER_DAY = 1440


@dataclass(frozen=True)
class FieldProblem:
    """One thing wrong with one field: ``field`` is a dotted path (``battery.soc_min``);
    ``line`` is the line of a file the value came from (CSV import), else None."""

    field: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"line {self.line}, " if self.line is not None else ""
        return f"{where}{self.field}: {self.message}"


class ValidationProblem(ValueError):
    """Input that cannot be saved as given; ``problems`` lists every wrong field with how to fix it."""

    def __init__(self, problems: list[FieldProblem]):
        if not problems:
            raise ValueError("a ValidationProblem needs at least one FieldProblem")
        self.problems = list(problems)
        super().__init__("; ".join(str(p) for p in self.problems))

    def by_field(self) -> dict[str, str]:
        """``{field: message}``; where a field has several problems their messages are joined."""
        out: dict[str, str] = {}
        for p in self.problems:
            out[p.field] = f"{out[p.field]} {p.message}" if p.field in out else p.message
        return out


# --- checks, each returning a message a person can act on, or None ------------------------------


def _num(value: float) -> str:
    return f"{value:g}"


@lru_cache(maxsize=1)
def iana_time_zones() -> tuple[str, ...]:
    """All IANA time zone names known to this machine (tzdata), sorted."""
    return tuple(sorted(zoneinfo.available_timezones()))


def suggest_time_zones(value: str, n: int = 3) -> list[str]:
    """IANA names close to ``value`` (typos, wrong case, a city name alone), best first."""
    zones = iana_time_zones()
    by_lower = {z.lower(): z for z in zones}
    if value.lower() in by_lower:
        return [by_lower[value.lower()]]
    by_city = {z.rsplit("/", 1)[-1].lower().replace("_", " "): z for z in zones}
    city = value.lower().replace("_", " ")
    if city in by_city:
        return [by_city[city]]
    found = difflib.get_close_matches(value, zones, n=n, cutoff=0.6)
    found += [by_city[c] for c in difflib.get_close_matches(city, list(by_city), n=n, cutoff=0.75)]
    return list(dict.fromkeys(found))[:n]


def check_time_zone(value: str) -> str | None:
    """An IANA name such as ``Europe/Berlin``; suggests close names for a typo."""
    if value in iana_time_zones():
        return None
    suggestions = suggest_time_zones(value, n=1)
    if suggestions:
        return f"{value} is not a time zone: did you mean {suggestions[0]}?"
    return f"{value} is not a time zone: use an IANA name such as Europe/Berlin or America/Los_Angeles"


def check_fraction(label: str, value: float, *, allow_zero: bool) -> str | None:
    """A fraction of one (efficiency, state of charge); a percentage gets a 'did you mean'."""
    low_ok = value >= 0 if allow_zero else value > 0
    if low_ok and value <= 1:
        return None
    bounds = "between 0 and 1" if allow_zero or value != 0 else "more than 0 (and at most 1)"
    message = f"{label} must be {bounds}, got {_num(value)}"
    if 1 < value <= 100:
        message += f": did you mean {_num(value / 100)}?"
    return message


def check_positive(label: str, value: float, unit: str, *, absurd_above: float, small_unit: str) -> str | None:
    """A size that must be above zero; a value above ``absurd_above`` is probably in W/Wh, so ask."""
    if value <= 0:
        return f"{label} must be more than 0 {unit}, got {_num(value)}"
    if value > absurd_above:
        return (
            f"{label} of {_num(value)} {unit} is more than a household has (at most {_num(absurd_above)} {unit}): "
            f"if you entered {small_unit}, {_num(value)} {small_unit} is {_num(value / 1000)} {unit}"
        )
    return None


def check_price(label: str, value: float) -> str | None:
    """A price in currency per kWh; a price in cents gets a 'did you mean'."""
    if abs(value) > MAX_PLAUSIBLE_PRICE:
        return (
            f"{label} must be in currency per kWh, got {_num(value)}: "
            f"did you mean {_num(value / 100)} ({_num(value)} cents per kWh)?"
        )
    return None


def _raise_if(message: str | None) -> None:
    # Pydantic collects ValueErrors per field, so every wrong field is reported at once.
    if message:
        raise ValueError(message)


# --- input models ------------------------------------------------------------------------------


class _Input(BaseModel):
    model_config = ConfigDict(allow_inf_nan=False, str_strip_whitespace=True, extra="forbid", frozen=True)


class PVSystemInput(_Input):
    """A PV array with its inverter: ``kwp`` DC peak power [kWp], tilt and azimuth [degrees],
    system losses [%] as in PVWatts (14 is typical), inverter AC limit [kW] (None = no limit)."""

    name: SingleLine = Field("Roof", min_length=1, max_length=80)
    kwp: float
    tilt_deg: float = 30.0
    azimuth_deg: float = 180.0
    losses_pct: float = 14.0
    inverter_kw: float | None = None

    @field_validator("kwp")
    @classmethod
    def _kwp(cls, v: float) -> float:
        _raise_if(check_positive("PV peak power", v, "kWp", absurd_above=MAX_HOUSEHOLD_KWP, small_unit="Wp"))
        return v

    @field_validator("tilt_deg")
    @classmethod
    def _tilt(cls, v: float) -> float:
        if not 0 <= v <= 90:
            _raise_if(f"Tilt must be between 0 (flat) and 90 (vertical) degrees, got {_num(v)}")
        return v

    @field_validator("azimuth_deg")
    @classmethod
    def _azimuth(cls, v: float) -> float:
        if not 0 <= v < 360:
            hint = ": use 0 for north" if v == 360 else ""
            _raise_if(
                "Azimuth must be from 0 to below 360 degrees, clockwise from north "
                f"(90 = east, 180 = south, 270 = west), got {_num(v)}{hint}"
            )
        return v

    @field_validator("losses_pct")
    @classmethod
    def _losses(cls, v: float) -> float:
        if not 0 <= v < 100:
            _raise_if(f"System losses must be a percentage from 0 to below 100, got {_num(v)}")
        return v

    @field_validator("inverter_kw")
    @classmethod
    def _inverter(cls, v: float | None) -> float | None:
        if v is not None:
            _raise_if(check_positive("Inverter power", v, "kW", absurd_above=MAX_HOUSEHOLD_KW, small_unit="W"))
        return v


#: Default one-way battery efficiency [fraction]: each of charging and discharging keeps this
#: share of the energy (a kWh charged stores 0.95 kWh; a stored kWh delivers 0.95 kWh), so the
#: round trip is its square (about 0.90).
DEFAULT_ONE_WAY_EFFICIENCY = 0.95


class BatteryInput(_Input):
    """A home battery: usable ``capacity_kwh`` [kWh]; charge/discharge power limits [kW];
    one-way efficiencies as fractions; state-of-charge limits as fractions of capacity."""

    capacity_kwh: float
    max_charge_kw: float
    max_discharge_kw: float
    charge_efficiency: float = DEFAULT_ONE_WAY_EFFICIENCY
    discharge_efficiency: float = DEFAULT_ONE_WAY_EFFICIENCY
    soc_min: float = 0.1
    soc_max: float = 1.0

    @field_validator("capacity_kwh")
    @classmethod
    def _capacity(cls, v: float) -> float:
        _raise_if(check_positive("Battery capacity", v, "kWh", absurd_above=MAX_HOUSEHOLD_KWH, small_unit="Wh"))
        return v

    @field_validator("max_charge_kw", "max_discharge_kw")
    @classmethod
    def _power(cls, v: float, info) -> float:
        label = "Maximum charge power" if info.field_name == "max_charge_kw" else "Maximum discharge power"
        _raise_if(check_positive(label, v, "kW", absurd_above=MAX_HOUSEHOLD_KW, small_unit="W"))
        return v

    @field_validator("charge_efficiency", "discharge_efficiency")
    @classmethod
    def _efficiency(cls, v: float, info) -> float:
        label = "Charge efficiency" if info.field_name == "charge_efficiency" else "Discharge efficiency"
        _raise_if(check_fraction(label, v, allow_zero=False))
        return v

    @field_validator("soc_min", "soc_max")
    @classmethod
    def _soc(cls, v: float, info) -> float:
        label = "Minimum state of charge" if info.field_name == "soc_min" else "Maximum state of charge"
        _raise_if(check_fraction(label, v, allow_zero=True))
        return v

    @model_validator(mode="after")
    def _soc_order(self) -> BatteryInput:
        if self.soc_min >= self.soc_max:
            raise _FieldError(
                "soc_min",
                f"Minimum state of charge ({_num(self.soc_min)}) must be below the maximum ({_num(self.soc_max)})",
            )
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
    grid_import_limit_kw: float | None = None
    grid_export_limit_kw: float | None = None
    export_curtailable: bool = True
    notes: MultiLine = Field("", max_length=5000)
    pv_systems: list[PVSystemInput] = Field(default_factory=list, max_length=20)
    battery: BatteryInput | None = None

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, v: str) -> str:
        _raise_if(check_time_zone(v))
        return v

    @field_validator("latitude")
    @classmethod
    def _latitude(cls, v: float) -> float:
        if not -90 <= v <= 90:
            # Between 90 and 180 it is most likely a longitude typed into the latitude field.
            hint = ": did you swap latitude and longitude?" if abs(v) <= 180 else ""
            _raise_if(f"Latitude must be between -90 and 90 degrees (north positive), got {_num(v)}{hint}")
        return v

    @field_validator("longitude")
    @classmethod
    def _longitude(cls, v: float) -> float:
        if not -180 <= v <= 180:
            _raise_if(f"Longitude must be between -180 and 180 degrees (east positive), got {_num(v)}")
        return v

    @field_validator("grid_import_limit_kw", "grid_export_limit_kw")
    @classmethod
    def _grid_limit(cls, v: float | None, info) -> float | None:
        if v is not None and v < 0:
            which = "import" if info.field_name == "grid_import_limit_kw" else "export"
            _raise_if(f"Grid {which} limit must be 0 kW or more (leave it empty for no limit), got {_num(v)}")
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
        _raise_if(check_price("Period import price", v))
        return v

    @model_validator(mode="after")
    def _not_empty(self) -> TariffPeriodInput:
        if self.start_minute == self.end_minute:
            raise _FieldError("end_minute", "A period must end at a different time than it starts")
        return self


class TariffPriceInput(_Input):
    """One step of a dynamic tariff: ``import_price`` [currency/kWh] from ``ts`` (timezone-aware)."""

    ts: datetime
    import_price: float

    @field_validator("ts")
    @classmethod
    def _aware(cls, v: datetime) -> datetime:
        if v.tzinfo is None:
            _raise_if(f"Time {v.isoformat()} has no UTC offset: write it like {v.isoformat()}+01:00")
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
            _raise_if(f"Currency must be a three-letter code such as EUR or USD, got {v}")
        return v.upper()

    @field_validator("import_price", "export_price")
    @classmethod
    def _prices(cls, v: float, info) -> float:
        _raise_if(check_price("Import price" if info.field_name == "import_price" else "Export price", v))
        return v

    @model_validator(mode="after")
    def _kind_matches(self) -> TariffInput:
        if self.kind == "tou" and not self.periods:
            raise _FieldError("periods", "A time-of-use tariff needs at least one period")
        if self.kind == "dynamic" and not self.prices:
            raise _FieldError("prices", "A dynamic tariff needs a price series")
        if self.kind != "tou" and self.periods:
            raise _FieldError("periods", f"A {self.kind} tariff has no periods: choose kind 'tou' for periods")
        if self.kind != "dynamic" and self.prices:
            raise _FieldError("prices", f"A {self.kind} tariff has no price series: choose kind 'dynamic'")
        seen = set()
        for i, price in enumerate(self.prices):
            if price.ts in seen:
                raise _FieldError(f"prices.{i}.ts", f"Time {price.ts.isoformat()} appears twice in the price series")
            seen.add(price.ts)
        return self


# --- turning raw input into models, and pydantic's errors into sentences --------------------------

M = TypeVar("M", bound=BaseModel)

LABELS = {
    "name": "Name", "timezone": "Time zone", "latitude": "Latitude", "longitude": "Longitude",
    "tariff_id": "Tariff", "grid_import_limit_kw": "Grid import limit (kW)",
    "grid_export_limit_kw": "Grid export limit (kW)", "export_curtailable": "Export curtailable", "notes": "Notes", "pv_systems": "PV systems",
    "battery": "Battery", "kwp": "PV peak power (kWp)", "tilt_deg": "Tilt (degrees)",
    "azimuth_deg": "Azimuth (degrees)", "losses_pct": "System losses (%)", "inverter_kw": "Inverter power (kW)",
    "capacity_kwh": "Battery capacity (kWh)", "max_charge_kw": "Maximum charge power (kW)",
    "max_discharge_kw": "Maximum discharge power (kW)", "charge_efficiency": "Charge efficiency",
    "discharge_efficiency": "Discharge efficiency", "soc_min": "Minimum state of charge",
    "soc_max": "Maximum state of charge", "kind": "Tariff kind", "currency": "Currency",
    "import_price": "Import price", "export_price": "Export price", "periods": "Periods",
    "prices": "Prices", "start_minute": "Start (minutes after midnight)",
    "end_minute": "End (minutes after midnight)", "weekdays": "Weekdays", "ts": "Time",
}


class _FieldError(ValueError):
    """A cross-field check's error, naming the field the message belongs next to."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def parse_input(model: type[M], raw: M | Mapping[str, Any]) -> M:
    """Build ``model`` from ``raw`` (a mapping, or an instance that is returned as is);
    raise :class:`ValidationProblem` listing every wrong field in words a person can act on."""
    if isinstance(raw, model):
        return raw
    if not isinstance(raw, Mapping):
        raise ValidationProblem([FieldProblem("", f"expected the fields of a {model.__name__}, got {type(raw).__name__}")])
    try:
        return model.model_validate(dict(raw))
    except ValidationError as exc:
        raise ValidationProblem([_friendly(err, model) for err in exc.errors()]) from None


def _friendly(err: Mapping[str, Any], model: type[BaseModel]) -> FieldProblem:
    loc = [str(part) for part in err["loc"]]
    error = (err.get("ctx") or {}).get("error")
    if isinstance(error, _FieldError):
        return FieldProblem(".".join(loc + [error.field]), str(error))
    field = ".".join(loc)
    label = _label(loc)
    kind, value = err["type"], err.get("input")
    if kind == "value_error" and error is not None:
        message = str(error)
        if message.startswith("contains "):  # services.text_checks: say which field holds the character
            message = f"{label} {message}"
    elif kind == "missing" or (value is None and kind in ("float_type", "int_type", "string_type")):
        message = f"{label} is required"
    elif kind in ("float_parsing", "float_type", "int_parsing", "int_type"):
        message = f"{label} must be a number, got {value!r}"
        if isinstance(value, str) and value.count(",") == 1 and _as_float(value.replace(",", ".")) is not None:
            message += f": use a dot as the decimal separator ({value.replace(',', '.')})"
    elif kind == "int_from_float":
        message = f"{label} must be a whole number, got {value}"
    elif kind == "finite_number":
        message = f"{label} must be a number, got {value}"
    elif kind == "string_too_short":
        message = f"{label} must not be empty"
    elif kind == "string_too_long":
        message = f"{label} must be at most {err['ctx']['max_length']} characters long"
    elif kind in ("greater_than_equal", "greater_than", "less_than", "less_than_equal"):
        bound = next(iter(err["ctx"].values()))
        words = {"greater_than_equal": "at least", "greater_than": "more than",
                 "less_than": "less than", "less_than_equal": "at most"}[kind]
        message = f"{label} must be {words} {bound}, got {value}"
    elif kind == "literal_error":
        message = f"{label} must be one of {err['ctx']['expected']}, got {value!r}"
    elif kind == "extra_forbidden":
        known = _known_fields(model, loc[:-1])
        close = difflib.get_close_matches(loc[-1], known, n=1)
        message = f"{loc[-1]} is not a known field" + (f": did you mean {close[0]}?" if close else "")
    elif kind.startswith("datetime"):
        message = f"{label} must be a date and time with a UTC offset, such as 2024-01-01T00:00:00+01:00"
    elif kind == "too_long":
        message = f"{label}: at most {err['ctx']['max_length']} allowed"
    else:
        message = f"{label}: {err['msg']}"
    return FieldProblem(field, message)


def _label(loc: list[str]) -> str:
    named = [part for part in loc if not part.isdigit()]
    return LABELS.get(named[-1], named[-1]) if named else "Value"


def _known_fields(model: type[BaseModel], path: list[str]) -> list[str]:
    for part in path:
        if part.isdigit():
            continue
        annotation = model.model_fields[part].annotation if part in model.model_fields else None
        nested = [a for a in getattr(annotation, "__args__", (annotation,)) if isinstance(a, type)]
        nested = [a for a in nested if issubclass(a, BaseModel)]
        if not nested:
            return []
        model = nested[0]
    return list(model.model_fields)


def _as_float(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None
