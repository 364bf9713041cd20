"""Number formats for pages: the one set of rules in :mod:`services.formatting`, shared with reports."""

from services.formatting import (
    MISSING,
    format_energy,
    format_money,
    format_power,
    format_price,
    format_ratio,
    format_value,
)

__all__ = ["MISSING", "format_energy", "format_money", "format_power", "format_price", "format_ratio", "format_value"]
