"""The household explorer: one home's flows, KPIs, comparison, heatmap and cost over a chosen period.

- :mod:`.periods`: presets, the comparison period and the step of the charts (pure date logic);
- :mod:`.data`: the store reads, aggregated in SQL at the step on screen;
- :mod:`.tables`: the data behind each chart as a CSV-ready table.
"""

from services.explorer.data import (
    COST_COLUMNS,
    VIEWS,
    Comparison,
    ComparisonCurves,
    CostSeries,
    Exploration,
    HouseholdBasics,
    HouseholdUnavailable,
    comparison_curves,
    consumption_heatmap,
    cost_over_period,
    explore,
    flows_at,
    household_basics,
    in_view,
)
from services.explorer.periods import (
    COMPARISONS,
    MAX_POINTS,
    PRESETS,
    RESOLUTIONS,
    Resolution,
    ResolutionChoice,
    choose_resolution,
    comparison_period,
    local_today,
    matching_preset,
    resolve_preset,
)
from services.explorer.tables import (
    FLOW_ENDS,
    comparison_table,
    cost_table,
    flows_table,
    heatmap_table,
    kpi_table,
    sankey_table,
)

__all__ = [
    "COMPARISONS",
    "COST_COLUMNS",
    "FLOW_ENDS",
    "MAX_POINTS",
    "PRESETS",
    "RESOLUTIONS",
    "VIEWS",
    "Comparison",
    "ComparisonCurves",
    "CostSeries",
    "Exploration",
    "HouseholdBasics",
    "HouseholdUnavailable",
    "Resolution",
    "ResolutionChoice",
    "choose_resolution",
    "comparison_curves",
    "comparison_period",
    "comparison_table",
    "consumption_heatmap",
    "cost_over_period",
    "cost_table",
    "explore",
    "flows_at",
    "flows_table",
    "heatmap_table",
    "household_basics",
    "in_view",
    "kpi_table",
    "local_today",
    "matching_preset",
    "resolve_preset",
    "sankey_table",
]
