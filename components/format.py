"""Number formats for pages: the one set of rules in :mod:`services.formatting`, shared with reports;
and :func:`plot_text` for names shown in charts."""

import html

from services.formatting import (
    MISSING,
    format_energy,
    format_money,
    format_power,
    format_price,
    format_ratio,
    format_value,
)

__all__ = ["MISSING", "format_energy", "format_money", "format_power", "format_price", "format_ratio", "format_value",
           "plot_text"]


def plot_text(value: object) -> str:
    """``value`` as text that Plotly shows as written: hover labels, legends and tick labels render
    a subset of HTML (``<b>``, ``<a href>``, ``<span style>``), so a household or series name such
    as ``<a href=...>`` must arrive escaped (Plotly turns ``&lt;`` back into ``<`` on screen)."""
    return html.escape(str(value), quote=True)
