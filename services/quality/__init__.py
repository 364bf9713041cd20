"""Data quality: what is wrong with a household's stored readings, and the alerts it raises.

- :mod:`~services.quality.checks`: gaps, duplicates, stuck values, spikes per series, summarised
  per household (:func:`check_household`, :func:`timeline_spans`) and as counts over many
  (:func:`quality_counts`);
- :mod:`~services.quality.limits`: readings no meter can give (PV at night or above its rating,
  grid flows above the connection);
- :mod:`~services.quality.pv`: PV energy against a pvlib clear-sky expectation (:func:`pv_performance`);
- :mod:`~services.quality.alerts`: the portfolio's alerts from all of these (:func:`portfolio_alerts`).
"""

from services.quality.alerts import ACTIONS, SEVERITIES, Alert, AlertReport, portfolio_alerts, quality_alerts
from services.quality.checks import (
    QUALITY_LABELS,
    HouseholdQuality,
    Issue,
    check_household,
    quality_counts,
    timeline_spans,
)
from services.quality.pv import PVPerformance, pv_performance

__all__ = [
    "ACTIONS",
    "QUALITY_LABELS",
    "SEVERITIES",
    "Alert",
    "AlertReport",
    "HouseholdQuality",
    "Issue",
    "PVPerformance",
    "check_household",
    "portfolio_alerts",
    "pv_performance",
    "quality_alerts",
    "quality_counts",
    "timeline_spans",
]
