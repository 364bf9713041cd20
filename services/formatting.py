"""Number formats used everywhere: energy, power, ratios and money read the same on every page,
in every report file (PDF, Excel, HTML) and in the API's human-readable texts.

Pure functions with no Dash in them, so that services (reports) and components share one copy;
``components/format.py`` re-exports them for pages."""

from __future__ import annotations

import math

MISSING = "—"

#: What each metered energy quantity is called on pages, charts and reports.
QUANTITY_LABELS = {
    "load": "Consumption",
    "pv": "PV generation",
    "grid_import": "Grid import",
    "grid_export": "Grid export",
    "battery_charge": "Battery charge",
    "battery_discharge": "Battery discharge",
}


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def format_energy(kwh: float | None) -> str:
    """Energy with a unit that keeps the number short: ``812 kWh``, ``12.4 MWh``."""
    if _missing(kwh):
        return MISSING
    if abs(kwh) >= 10_000:
        return f"{kwh / 1000:,.1f} MWh"
    if abs(kwh) >= 100:
        return f"{kwh:,.0f} kWh"
    return f"{kwh:,.1f} kWh"


def format_ratio(fraction: float | None) -> str:
    """A fraction as a percentage: ``0.634`` -> ``63 %``."""
    return MISSING if _missing(fraction) else f"{fraction * 100:.0f} %"


def format_money(amount: float | None, currency: str = "EUR") -> str:
    """Money with the currency code: ``1,234 EUR``; two decimals below 100."""
    if _missing(amount):
        return MISSING
    digits = 0 if abs(amount) >= 100 else 2
    return f"{amount:,.{digits}f} {currency}"


def format_price(per_kwh: float | None, currency: str = "EUR") -> str:
    """A price per kWh with three decimals: ``0.320 EUR/kWh``."""
    return MISSING if _missing(per_kwh) else f"{per_kwh:.3f} {currency}/kWh"

def format_power(kw: float | None) -> str:
    """Power in kW with one decimal."""
    return MISSING if _missing(kw) else f"{kw:,.1f} kW"


def format_value(value: float | None, unit: str, currency: str = "EUR") -> str:
    """A KPI value in its unit: ``kWh`` as :func:`format_energy`, ``%`` (a fraction) as
    :func:`format_ratio`, ``currency`` as :func:`format_money`, any other unit with one decimal
    (``812.4 kWh/kWp``)."""
    if unit == "kWh":
        return format_energy(value)
    if unit == "%":
        return format_ratio(value)
    if unit == "currency":
        return format_money(value, currency)
    return MISSING if _missing(value) else f"{value:,.1f} {unit}"
