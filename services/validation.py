"""Checking what people type, and saying what is wrong in words they can act on.

The kernel the input models build on (:mod:`services.households.inputs` holds the models of a
household, its PV systems, battery and tariff): :class:`FieldProblem` / :class:`ValidationProblem`
(a ``ValueError`` carrying one problem per wrong field, the field a dotted path such as
``battery.soc_min`` or ``pv_systems.0.kwp`` so that a form can show the message next to its field
and the API can return it as a field-level reason), the checks of single values (time zones,
fractions, positive quantities, prices) and :func:`parse_input`, which turns pydantic's errors
into sentences ("Charge efficiency must be between 0 and 1, got 95: did you mean 0.95?").

Conventions (as in the store, see :mod:`services.store.models.households`): power [kW], energy
[kWh], peak power [kWp], prices [currency/kWh], efficiencies and state-of-charge limits as
fractions (0.95, not 95).
"""

from __future__ import annotations

import difflib
import math
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

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


def number_text(value: float) -> str:
    """``value`` as a person would write it in a message (95, 0.95, 1e+06)."""
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
    message = f"{label} must be {bounds}, got {number_text(value)}"
    if 1 < value <= 100:
        message += f": did you mean {number_text(value / 100)}?"
    return message


def check_positive(label: str, value: float, unit: str, *, absurd_above: float, small_unit: str) -> str | None:
    """A size that must be above zero; a value above ``absurd_above`` is probably in W/Wh, so ask."""
    if value <= 0:
        return f"{label} must be more than 0 {unit}, got {number_text(value)}"
    if value > absurd_above:
        return (
            f"{label} of {number_text(value)} {unit} is more than a household has (at most {number_text(absurd_above)} {unit}): "
            f"if you entered {small_unit}, {number_text(value)} {small_unit} is {number_text(value / 1000)} {unit}"
        )
    return None


def check_price(label: str, value: float) -> str | None:
    """A price in currency per kWh; a price in cents gets a 'did you mean'."""
    if abs(value) > MAX_PLAUSIBLE_PRICE:
        return (
            f"{label} must be in currency per kWh, got {number_text(value)}: "
            f"did you mean {number_text(value / 100)} ({number_text(value)} cents per kWh)?"
        )
    return None


def raise_if(message: str | None) -> None:
    # Pydantic collects ValueErrors per field, so every wrong field is reported at once.
    if message:
        raise ValueError(message)


# --- turning raw input into models, and pydantic's errors into sentences --------------------------

M = TypeVar("M", bound=BaseModel)

#: How messages name fields by their name; a model's field with a ``title`` is named by that
#: (the equipment's fields: :attr:`services.equipment.FieldSpec.input_label`).
LABELS = {
    "name": "Name", "timezone": "Time zone", "latitude": "Latitude", "longitude": "Longitude",
    "tariff_id": "Tariff", "notes": "Notes", "pv_systems": "PV systems", "battery": "Battery",
    "kind": "Tariff kind", "currency": "Currency",
    "import_price": "Import price", "export_price": "Export price", "periods": "Periods",
    "prices": "Prices", "start_minute": "Start (minutes after midnight)",
    "end_minute": "End (minutes after midnight)", "weekdays": "Weekdays", "ts": "Time",
}


class CrossFieldError(ValueError):
    """A cross-field check's error (an input model's validator raises it), naming the field the message belongs next to."""

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
    if isinstance(error, CrossFieldError):
        return FieldProblem(".".join(loc + [error.field]), str(error))
    field = ".".join(loc)
    label = _label(loc, model)
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


def _label(loc: list[str], model: type[BaseModel]) -> str:
    named = [i for i, part in enumerate(loc) if not part.isdigit()]
    if not named:
        return "Value"
    name = loc[named[-1]]
    holder = _model_at(model, loc[:named[-1]])
    info = holder.model_fields.get(name) if holder is not None else None
    if info is not None and info.title:
        return info.title
    return LABELS.get(name, name)


def _known_fields(model: type[BaseModel], path: list[str]) -> list[str]:
    holder = _model_at(model, path)
    return list(holder.model_fields) if holder is not None else []


def _model_at(model: type[BaseModel], path: list[str]) -> type[BaseModel] | None:
    """The model holding the fields at ``path`` (list indices skipped), or None below a plain value."""
    for part in path:
        if part.isdigit():
            continue
        annotation = model.model_fields[part].annotation if part in model.model_fields else None
        nested = [a for a in getattr(annotation, "__args__", (annotation,)) if isinstance(a, type)]
        nested = [a for a in nested if issubclass(a, BaseModel)]
        if not nested:
            return None
        model = nested[0]
    return model


def _as_float(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None
