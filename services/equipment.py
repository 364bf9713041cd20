"""One definition of each piece of equipment: the battery, the PV array, the grid connection.

For every field: its ``name`` (the same in the store, the input models, the optimizer and the
API), the ``label`` messages call it by ("Charge efficiency"), its ``unit``, its ``default``
(:data:`REQUIRED` when it has none), a one-line ``description`` stating the unit, a short ``hint``
for forms, and the ``check`` of its value, which returns a message a person can act on, or None.
Everything else converts at its edge: the table (:mod:`services.store.models.households`), the
input models (:mod:`services.households.inputs`), the optimizer's parameters and their checks
(:mod:`services.optimization.problem`, :mod:`services.optimization.input_checks`), the REST
models (:mod:`api.routes.optimize`, :mod:`api.routes.households`) and the household form.

Pure: it imports only the validation kernel and the standard library.

Conventions: power [kW], energy [kWh], peak power [kWp], angles [degrees] (tilt from horizontal,
azimuth clockwise from north: 90 = east, 180 = south), losses [%] as in PVWatts, efficiencies
and state-of-charge limits as fractions (0.95, not 95), prices [currency/kWh].
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from services.validation import (
    MAX_HOUSEHOLD_KW,
    MAX_HOUSEHOLD_KWH,
    MAX_HOUSEHOLD_KWP,
    MAX_PLAUSIBLE_PRICE,
    check_fraction,
    check_positive,
    number_text,
)

#: The default of a field that has none (``Field(REQUIRED)`` is a required pydantic field).
REQUIRED: Any = ...
#: Units that are not shown in parentheses after a label (a fraction has no unit to name).
UNITLESS = ("", "fraction", "fraction per hour")

Check = Callable[["FieldSpec", float], "str | None"]


@dataclass(frozen=True)
class FieldSpec:
    """One field of a piece of equipment; ``stored`` False: the optimizer's only, not a column."""

    name: str
    label: str
    unit: str
    description: str
    default: Any = REQUIRED
    check: Check | None = None
    hint: str | None = None
    stored: bool = True

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    @property
    def input_label(self) -> str:
        """How a message about the field's type names it: "Battery capacity (kWh)"."""
        return self.label if self.unit in UNITLESS else f"{self.label} ({self.unit})"

    def problem(self, value: Any) -> str | None:
        """What is wrong with ``value`` (None: nothing, or no value where none is allowed)."""
        if value is None or self.check is None:
            return None
        return self.check(self, value)

    def saved(self, value: Any) -> Any:
        """``value`` as read back from the store: the default where the column holds NULL."""
        return self.default if value is None else value

    def field_args(self) -> dict[str, Any]:
        """``default`` and ``description``, as ``pydantic.Field(**spec.field_args())`` takes them."""
        return {"default": self.default, "description": self.description}


class Equipment:
    """The fields of one piece of equipment, by name (``BATTERY.soc_min``) and in order."""

    def __init__(self, what: str, *fields: FieldSpec):
        self.what = what
        self._fields = {f.name: f for f in fields}

    def __getattr__(self, name: str) -> FieldSpec:
        try:
            return self.__dict__["_fields"][name]
        except KeyError:
            raise AttributeError(f"{self.__dict__.get('what', 'equipment')} has no field {name}") from None

    def __getitem__(self, name: str) -> FieldSpec:
        return self._fields[name]

    def __iter__(self) -> Iterator[FieldSpec]:
        return iter(self._fields.values())

    def stored(self) -> tuple[FieldSpec, ...]:
        """The fields the store keeps (the table's columns besides ids)."""
        return tuple(f for f in self if f.stored)

    def defaults(self) -> dict[str, Any]:
        """``{name: default}`` of the fields that have one."""
        return {f.name: f.default for f in self if not f.required}


# --- kinds of check ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Positive:
    """More than 0 (or exactly 0 where ``zero_ok``); above ``absurd_above`` it is probably in
    ``small_unit`` (W for kW); ``suffix`` is added to a message (how to say "no limit")."""

    absurd_above: float
    small_unit: str
    zero_ok: bool = False
    suffix: str = ""

    def __call__(self, spec: FieldSpec, value: float) -> str | None:
        if self.zero_ok and value == 0:
            return None
        message = check_positive(spec.label, value, spec.unit, absurd_above=self.absurd_above,
                                 small_unit=self.small_unit)
        return message + self.suffix if message else None


@dataclass(frozen=True)
class Fraction:
    """A fraction of one, above 0 (or from 0 where ``allow_zero``); a percentage gets a 'did you mean'."""

    allow_zero: bool

    def __call__(self, spec: FieldSpec, value: float) -> str | None:
        return check_fraction(spec.label, value, allow_zero=self.allow_zero)


def _tilt(spec: FieldSpec, v: float) -> str | None:
    if 0 <= v <= 90:
        return None
    return f"{spec.label} must be between 0 (flat) and 90 (vertical) degrees, got {number_text(v)}"


def _azimuth(spec: FieldSpec, v: float) -> str | None:
    if 0 <= v < 360:
        return None
    hint = ": use 0 for north" if v == 360 else ""
    return (f"{spec.label} must be from 0 to below 360 degrees, clockwise from north "
            f"(90 = east, 180 = south, 270 = west), got {number_text(v)}{hint}")


def _losses(spec: FieldSpec, v: float) -> str | None:
    if 0 <= v < 100:
        return None
    return f"{spec.label} must be a percentage from 0 to below 100, got {number_text(v)}"


def _self_discharge(spec: FieldSpec, v: float) -> str | None:
    if 0 <= v < 1:
        return None
    hint = f": did you mean {number_text(v / 100)}?" if 1 <= v <= 100 else ""
    return (f"{spec.label} must be a fraction of the stored energy per hour, from 0 to below 1, "
            f"got {number_text(v)}{hint}")


def _wear_cost(spec: FieldSpec, v: float) -> str | None:
    if 0 <= v <= MAX_PLAUSIBLE_PRICE:
        return None
    return (f"{spec.label} must be from 0 to {number_text(MAX_PLAUSIBLE_PRICE)} currency per kWh discharged, "
            f"got {number_text(v)}")


#: Highest demand charge taken as real [currency/kW of peak import].
MAX_DEMAND_CHARGE = 1000.0


def _demand_charge(spec: FieldSpec, v: float) -> str | None:
    if 0 <= v <= MAX_DEMAND_CHARGE:
        return None
    return (f"{spec.label} must be from 0 to {number_text(MAX_DEMAND_CHARGE)} currency per kW of peak import, "
            f"got {number_text(v)}")


def _saved_limit(spec: FieldSpec, v: float) -> str | None:
    # A household's saved export limit may be 0 (no export allowed).
    if v >= 0:
        return None
    return f"{spec.label} must be 0 {spec.unit} or more (leave it empty for no limit), got {number_text(v)}"


def _saved_import_limit(spec: FieldSpec, v: float) -> str | None:
    # 0 would mean the home may not import at all: no schedule can serve its load.
    if v > 0:
        return None
    return f"{spec.label} must be more than 0 {spec.unit} (leave it empty for no limit), got {number_text(v)}"


def soc_order_problem(soc_min: float, soc_max: float) -> str | None:
    """The state-of-charge limits' one cross-field rule: the minimum below the maximum."""
    if soc_min < soc_max:
        return None
    return f"Minimum state of charge ({number_text(soc_min)}) must be below the maximum ({number_text(soc_max)})"


# --- the equipment --------------------------------------------------------------------------------

#: Default one-way battery efficiency [fraction]: each of charging and discharging keeps this
#: share of the energy (a kWh charged stores 0.95 kWh; a stored kWh delivers 0.95 kWh), so the
#: round trip is its square (about 0.90).
DEFAULT_ONE_WAY_EFFICIENCY = 0.95

_KW = Positive(MAX_HOUSEHOLD_KW, "W")
_PERCENT_HINT = "fraction, {:g} = {:g} %"

BATTERY = Equipment(
    "battery",
    FieldSpec("capacity_kwh", "Battery capacity", "kWh", "Usable capacity [kWh].",
              check=Positive(MAX_HOUSEHOLD_KWH, "Wh")),
    FieldSpec("max_charge_kw", "Maximum charge power", "kW", "Charging power limit (AC) [kW].", check=_KW),
    FieldSpec("max_discharge_kw", "Maximum discharge power", "kW", "Discharging power limit (AC) [kW].", check=_KW),
    FieldSpec("charge_efficiency", "Charge efficiency", "fraction",
              "One-way charging efficiency, fraction (0.95, not 95): the share of each kWh charged that is stored.",
              DEFAULT_ONE_WAY_EFFICIENCY, Fraction(allow_zero=False),
              _PERCENT_HINT.format(DEFAULT_ONE_WAY_EFFICIENCY, DEFAULT_ONE_WAY_EFFICIENCY * 100)),
    FieldSpec("discharge_efficiency", "Discharge efficiency", "fraction",
              "One-way discharging efficiency, fraction (0.95, not 95): the share of each stored kWh that is delivered.",
              DEFAULT_ONE_WAY_EFFICIENCY, Fraction(allow_zero=False),
              _PERCENT_HINT.format(DEFAULT_ONE_WAY_EFFICIENCY, DEFAULT_ONE_WAY_EFFICIENCY * 100)),
    FieldSpec("soc_min", "Minimum state of charge", "fraction",
              "Lowest state of charge, fraction of capacity (0.1 = 10 %).", 0.1, Fraction(allow_zero=True),
              "fraction of capacity, 0.1 = 10 %"),
    FieldSpec("soc_max", "Maximum state of charge", "fraction", "Highest state of charge, fraction of capacity.",
              1.0, Fraction(allow_zero=True), "fraction of capacity"),
    FieldSpec("self_discharge_per_h", "Self-discharge", "fraction per hour",
              "Share of the stored energy lost per hour, fraction (0.0001 is typical).", 0.0, _self_discharge,
              stored=False),
    FieldSpec("initial_soc_kwh", "Initial stored energy", "kWh",
              "Stored energy at the start [kWh]; null = halfway between the limits.", None, stored=False),
    FieldSpec("wear_cost_per_kwh", "Wear cost", "currency/kWh",
              "Wear cost per kWh discharged [currency/kWh].", 0.0, _wear_cost, stored=False),
)

PV = Equipment(
    "PV array",
    FieldSpec("name", "Name", "", "Name of the array, e.g. Roof.", "Roof"),
    FieldSpec("kwp", "PV peak power", "kWp", "DC peak power [kWp].", check=Positive(MAX_HOUSEHOLD_KWP, "Wp")),
    FieldSpec("tilt_deg", "Tilt", "degrees", "Tilt from horizontal [degrees]: 0 = flat, 90 = vertical.", 30.0,
              _tilt, "0 = flat, 90 = vertical"),
    FieldSpec("azimuth_deg", "Azimuth", "degrees",
              "Azimuth clockwise from north [degrees]: 90 = east, 180 = south, 270 = west.", 180.0, _azimuth,
              "90 = east, 180 = south, 270 = west"),
    FieldSpec("losses_pct", "System losses", "%", "System losses as in PVWatts [%]; 14 is typical.", 14.0,
              _losses, "14 is typical"),
    FieldSpec("inverter_kw", "Inverter power", "kW", "Inverter AC limit [kW]; null when not limited.", None, _KW),
)

#: Whether PV may be curtailed instead of exported: saved with the household, obeyed by the optimizer.
EXPORT_CURTAILABLE = FieldSpec(
    "export_curtailable", "Export curtailable", "",
    "true = at a negative export price PV may be curtailed instead of exported (the no-battery baseline and "
    "the optimized schedule alike); false = surplus PV is exported whatever the price (up to the limit).", True)

#: The grid connection as the optimizer takes it [kW, currency/kW].
GRID = Equipment(
    "grid connection",
    FieldSpec("import_limit_kw", "Import limit", "kW", "Import limit [kW]; null = no limit.", None,
              Positive(MAX_HOUSEHOLD_KW, "W", suffix=" (leave it empty for no limit)"), stored=False),
    FieldSpec("export_limit_kw", "Export limit", "kW", "Export limit [kW]; null = no limit, 0 = no export.", None,
              Positive(MAX_HOUSEHOLD_KW, "W", zero_ok=True, suffix=" (0 = no export, empty = no limit)"),
              stored=False),
    FieldSpec("allow_grid_charging", "Grid charging", "", "false = the battery charges from PV surplus only.", True,
              stored=False),
    FieldSpec("demand_charge_per_kw", "Demand charge", "currency/kW",
              "Charge on the highest import over the horizon [currency/kW].", 0.0, _demand_charge, stored=False),
    EXPORT_CURTAILABLE,
)

#: The grid connection as a household saves it. An import limit of 0 is refused as the optimizer
#: refuses it (a household that may not import has no plan); an export limit of 0 = no export.
HOUSEHOLD_GRID = Equipment(
    "household grid connection",
    FieldSpec("grid_import_limit_kw", "Grid import limit", "kW", "Grid import limit [kW]; null = no limit.", None,
              _saved_import_limit),
    FieldSpec("grid_export_limit_kw", "Grid export limit", "kW",
              "Grid export limit [kW]; null = no limit, 0 = no export.", None, _saved_limit),
    EXPORT_CURTAILABLE,
)
#: The household's names of the optimizer's grid fields.
GRID_COLUMNS = {"grid_import_limit_kw": "import_limit_kw", "grid_export_limit_kw": "export_limit_kw",
                "export_curtailable": "export_curtailable"}
