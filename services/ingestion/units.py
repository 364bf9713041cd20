"""Units as sources give them, converted to the unit each quantity is stored in.

Stored units (:data:`~services.store.models.readings.QUANTITY_UNITS`): energies kWh of the
interval starting at ``ts``, ``power`` kW, ``battery_soc`` kWh, ``temperature`` degC,
``humidity`` %, ``irradiance`` W/m2; ``other`` keeps the unit it came with.

Every conversion is linear: ``stored = value * scale + offset``, and for an average power given
for an energy quantity, additionally times the interval length in hours (kW over 15 min =
kW * 0.25 h = kWh). ``battery_soc`` may come in % of the household's battery capacity.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from services.store.models.readings import ENERGY_QUANTITIES, QUANTITY_UNITS

#: Power units to kW.
POWER_KW = {"W": 1e-3, "kW": 1.0, "MW": 1e3}
#: Energy units to kWh.
ENERGY_KWH = {"Wh": 1e-3, "kWh": 1.0, "MWh": 1e3}
#: Temperature units to degC as (scale, offset).
TEMPERATURE_C = {"degC": (1.0, 0.0), "K": (1.0, -273.15), "degF": (5.0 / 9.0, -32.0 * 5.0 / 9.0)}
IRRADIANCE_WM2 = {"W/m2": 1.0, "kW/m2": 1e3}

#: Spellings seen in exports, mapped to the names above. Case matters only where it must
#: (mW would be milliwatts, MW megawatts), so those are not folded.
_ALIASES = {
    "w": "W", "watt": "W", "watts": "W", "kw": "kW", "kilowatt": "kW",
    "wh": "Wh", "kwh": "kWh", "MWh": "MWh", "MW": "MW",
    "°c": "degC", "c": "degC", "degc": "degC", "celsius": "degC", "deg c": "degC",
    "k": "K", "kelvin": "K", "°f": "degF", "f": "degF", "degf": "degF", "fahrenheit": "degF",
    "w/m2": "W/m2", "w/m^2": "W/m2", "w/m²": "W/m2", "wm-2": "W/m2", "kw/m2": "kW/m2", "kw/m^2": "kW/m2",
    "kw/m²": "kW/m2", "%": "%", "percent": "%", "pct": "%", "": "",
}


class UnitError(ValueError):
    """A unit that cannot be stored for a quantity; the message says what to give instead."""


@dataclass(frozen=True)
class Conversion:
    """``stored = value * scale + offset``; times hours of the interval when ``per_interval``;
    times the battery capacity [kWh] when ``per_capacity`` (SOC in % of capacity, scale 0.01)."""

    scale: float
    offset: float = 0.0
    per_interval: bool = False
    per_capacity: bool = False
    stored_unit: str = ""


def canonical_unit(unit: str) -> str:
    """The unit's standard spelling (``kwh`` -> ``kWh``, ``°C`` -> ``degC``); unknown units unchanged."""
    text = "" if unit is None else str(unit).strip()
    if text in POWER_KW or text in ENERGY_KWH or text in TEMPERATURE_C or text in IRRADIANCE_WM2:
        return text
    return _ALIASES.get(text, _ALIASES.get(text.lower(), text))


def conversion_for(quantity: str, unit: str) -> Conversion:
    """How a value of ``quantity`` in ``unit`` becomes the stored unit.

    Raises
    ------
    UnitError
        When ``unit`` does not fit ``quantity``, with what would.
    """
    if quantity not in QUANTITY_UNITS:
        raise UnitError(f"unknown quantity {quantity!r}: use one of {', '.join(QUANTITY_UNITS)}")
    unit = canonical_unit(unit)
    stored = QUANTITY_UNITS[quantity]
    if quantity in ENERGY_QUANTITIES or quantity == "battery_soc":
        if unit in ENERGY_KWH:
            return Conversion(ENERGY_KWH[unit], stored_unit=stored)
        if unit in POWER_KW and quantity != "battery_soc":
            return Conversion(POWER_KW[unit], per_interval=True, stored_unit=stored)
        if unit == "%" and quantity == "battery_soc":
            return Conversion(0.01, per_capacity=True, stored_unit=stored)
        extra = " or % of the battery capacity" if quantity == "battery_soc" else \
            ", or an average power (W, kW, MW) with the interval length"
        raise UnitError(f"{quantity} is energy: give it in Wh, kWh or MWh{extra}; got {unit or 'no unit'!r}")
    if quantity == "power":
        if unit in POWER_KW:
            return Conversion(POWER_KW[unit], stored_unit=stored)
        hint = ": that is energy; use quantity load, pv, grid_import ... for energy" if unit in ENERGY_KWH else ""
        raise UnitError(f"power must be in W, kW or MW, got {unit or 'no unit'!r}{hint}")
    if quantity == "temperature":
        if unit in TEMPERATURE_C:
            scale, offset = TEMPERATURE_C[unit]
            return Conversion(scale, offset, stored_unit=stored)
        raise UnitError(f"temperature must be in degC, K or degF, got {unit or 'no unit'!r}")
    if quantity == "humidity":
        if unit == "%":
            return Conversion(1.0, stored_unit=stored)
        raise UnitError(f"humidity must be relative humidity in %, got {unit or 'no unit'!r}")
    if quantity == "irradiance":
        if unit in IRRADIANCE_WM2:
            return Conversion(IRRADIANCE_WM2[unit], stored_unit=stored)
        raise UnitError(f"irradiance must be in W/m2 or kW/m2, got {unit or 'no unit'!r}")
    return Conversion(1.0, stored_unit=unit)  # 'other': stored as given


@dataclass(frozen=True)
class Converted:
    """Values in the stored unit (NaN where ``bad``), the stored unit per row, and a reason
    for each bad row in order."""

    values: np.ndarray
    stored_units: np.ndarray
    bad: np.ndarray
    reasons: list[str]


def convert(values: np.ndarray, quantity_codes: np.ndarray, quantities: list[str], unit_codes: np.ndarray,
            units: list[str], interval_s: np.ndarray, capacity_kwh: np.ndarray) -> Converted:
    """Convert each value to its quantity's stored unit.

    Parameters
    ----------
    values : ndarray of float
        As given.
    quantity_codes, unit_codes : ndarray of int
        Per row, an index into ``quantities`` / ``units`` (-1: missing).
    quantities, units : list of str
        The distinct quantity names and units of the rows.
    interval_s : ndarray of float
        Interval length [s] per row, NaN where unknown (needed only for power given as energy).
    capacity_kwh : ndarray of float
        The household's battery capacity [kWh] per row, NaN without a battery (needed only for
        ``battery_soc`` in %).
    """
    n = len(values)
    out = np.full(n, np.nan)
    stored_units = np.empty(n, dtype=object)
    reasons = np.empty(n, dtype=object)
    bad = np.zeros(n, dtype=bool)
    # One pass per distinct (quantity, unit): a batch has a handful, however many rows.
    pair = quantity_codes.astype(np.int64) * (len(units) + 1) + unit_codes
    codes, pairs = pd.factorize(pair)
    for code, packed in enumerate(pairs):
        rows = codes == code
        q_code, u_code = divmod(int(packed), len(units) + 1)
        quantity = quantities[q_code] if 0 <= q_code < len(quantities) else ""
        unit = units[u_code] if 0 <= u_code < len(units) else ""
        try:
            conv = conversion_for(quantity, unit)
        except UnitError as exc:
            bad[rows] = True
            reasons[rows] = str(exc)
            continue
        stored_units[rows] = conv.stored_unit
        result = values[rows] * conv.scale + conv.offset
        if conv.per_interval:
            hours = interval_s[rows] / 3600.0
            missing = ~np.isfinite(hours)
            result = result * hours
            if missing.any():
                idx = np.flatnonzero(rows)[missing]
                bad[idx] = True
                reasons[idx] = (f"{quantity} is energy per interval but came as a power in {unit}: set the "
                                "interval length (seconds) in the mapping so average power can be turned "
                                "into kWh, or give the energy in kWh")
        if conv.per_capacity:
            capacity = capacity_kwh[rows]
            result = result * capacity
            missing = ~np.isfinite(capacity)
            if missing.any():
                idx = np.flatnonzero(rows)[missing]
                bad[idx] = True
                reasons[idx] = ("battery_soc in % needs the household's battery capacity: add the battery "
                                "to the household first, or give the state of charge in kWh")
        out[rows] = result
    out[bad] = np.nan
    return Converted(values=out, stored_units=stored_units, bad=bad, reasons=[str(r) for r in reasons[bad]])
