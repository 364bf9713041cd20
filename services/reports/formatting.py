"""Number formats of the report files, the same as the app's (``components/format.py``).

A PDF shows ``812 kWh``, ``12.4 MWh``, ``63 %`` and ``1,234 EUR`` exactly as the pages do, so
a manager can compare a report with the screen. Services may not import ``components``,
hence this copy of the rules; keep the two in step (the tests pin both to the same strings).
"""

from __future__ import annotations

import math

MISSING = "—"


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
