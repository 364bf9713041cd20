"""Portfolio alerts (services/alerts.py) on both backends: the demo portfolio's planted faults
(services/demo/faults.py) are found with the right severity, household and period, healthy
households raise none; and the PV comparison with the neighbours on hand-made months."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pandas as pd
import pytest
import sqlalchemy as sa

from services.quality.alerts import (
    ACTIONS,
    Alert,
    merge_pv_alerts,
    peer_pv_alerts,
    portfolio_alerts,
)
from services.store.db import session_scope

# Four households over the 120 days up to 1 December 2025: Huber (index 1) loses 3.5 days of
# readings from the day 45 % into the period, Petersen's (2) load meter sticks for 36 h from the
# day 70 % in, Gruber's (3) PV delivers 45 %; Müller (0) is healthy.
DEMO = {"n_households": 4, "seed": 11, "end": date(2025, 12, 1), "days": 120}
GAP, STUCK, PV, HEALTHY = ("Huber family, Schwabing", "Petersen family, Altona", "Gruber family, Döbling",
                           "Müller family, Pankow")


@pytest.fixture
def demo_ids(db_url) -> dict[str, int]:
    from services.demo import load_demo_portfolio

    load_demo_portfolio(url=db_url, **DEMO)
    with session_scope() as s:
        return dict(s.execute(sa.text("SELECT name, id FROM households")).all())


def test_the_planted_faults_are_found_and_the_healthy_household_has_no_alert(demo_ids):
    report = portfolio_alerts(list(demo_ids.values()))
    by_household = {}
    for alert in report.alerts:
        by_household.setdefault(alert.household, []).append(alert)

    assert HEALTHY not in by_household, f"a healthy household was flagged: {by_household.get(HEALTHY)}"
    assert [a.kind for a in by_household[GAP]] == ["gap"]
    assert [a.kind for a in by_household[STUCK]] == ["stuck"]
    assert [a.kind for a in by_household[PV]] == ["pv"]  # clear sky and neighbours: one alert, not two

    gap = by_household[GAP][0]
    assert gap.severity == "high" and gap.title == "Readings missing for 3.5 days"
    # 45 % of 120 days after 3 August is 26 September; the logger is down for 84 h.
    assert gap.start.date() == date(2025, 9, 26) and (gap.end - gap.start).total_seconds() / 3600 >= 83
    stuck = by_household[STUCK][0]
    assert stuck.severity == "high" and "load" in stuck.title and stuck.start.date() == date(2025, 10, 26)
    pv = by_household[PV][0]
    assert pv.severity == "high"
    assert "clear sky allows" in pv.detail and "other PV households nearby" in pv.detail  # both findings
    assert all(a.household_id == demo_ids[a.household] for a in report.alerts)
    assert [a.severity for a in report.alerts] == sorted((a.severity for a in report.alerts),
                                                         key=("high", "medium", "low").index)
    assert all(a.action == ACTIONS[a.kind] for a in report.alerts)


def test_counts_for_the_quality_card_come_from_the_same_checks(demo_ids):
    counts = portfolio_alerts(list(demo_ids.values())).counts
    assert counts["households"] == 4 and counts["households_with_issues"] == 3
    assert counts["stuck"] == 1 and counts["pv_underperforming"] == 1 and counts["gaps"] >= 1
    assert counts["by_household"][demo_ids[HEALTHY]] == {"gaps": 0, "duplicates": 0, "stuck": 0, "spikes": 0,
                                                         "implausible": 0, "pv_underperforming": 0}


def test_a_period_without_the_gap_and_stuck_meter_only_reports_the_pv(demo_ids):
    november = (datetime(2025, 11, 1, tzinfo=timezone.utc), datetime(2025, 12, 1, tzinfo=timezone.utc))
    report = portfolio_alerts(list(demo_ids.values()), *november)
    assert [(a.household, a.kind) for a in report.alerts] == [(PV, "pv")]
    assert report.frame().loc[0, "household"] == PV  # the CSV rows


def test_unknown_households_are_skipped_and_no_households_mean_no_alerts(db_url):
    report = portfolio_alerts([12345])
    assert report.alerts == () and report.counts["households"] == 0
    assert list(report.frame().columns) == list(Alert.__dataclass_fields__)


def _months(rows) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["household_id", "month", "days", "pv_yield_kwh_per_kwp", "pv_peer_median"])
    frame["month"] = pd.to_datetime(frame["month"])
    frame["pv_vs_peers"] = frame["pv_yield_kwh_per_kwp"] / frame["pv_peer_median"]
    return frame


def test_neighbours_comparison_judges_sunny_months_only():
    monthly = _months([
        # Household 1: an east-west roof, far behind in winter, fine over the sunny months.
        (1, "2025-06-01", 30, 120.0, 130.0), (1, "2025-07-01", 31, 115.0, 125.0), (1, "2025-12-01", 31, 5.0, 15.0),
        # Household 2: half of its neighbours all summer.
        (2, "2025-06-01", 30, 60.0, 130.0), (2, "2025-07-01", 31, 62.0, 125.0),
        # Household 3: below in a month of 5 days only (too short to judge).
        (3, "2025-08-01", 5, 5.0, 20.0),
    ])
    alerts = peer_pv_alerts(monthly, {2: "Two"})
    assert [(a.household_id, a.household, a.kind) for a in alerts] == [(2, "Two", "pv")]
    assert alerts[0].severity == "high"  # 122 / 255 = 48 %, below half
    assert "122 kWh/kWp over Jun 2025 to Jul 2025 (2 sunny month(s)) against 255 kWh/kWp" in alerts[0].detail
    assert alerts[0].start == datetime(2025, 6, 1, tzinfo=timezone.utc)
    assert alerts[0].end == datetime(2025, 8, 1, tzinfo=timezone.utc)
    medium = peer_pv_alerts(_months([(4, "2025-06-01", 30, 80.0, 130.0)]), {})
    assert medium[0].severity == "medium" and medium[0].household == "Household 4"  # 62 %
    assert peer_pv_alerts(pd.DataFrame(), {}) == []


def test_clear_sky_and_neighbour_verdicts_merge_into_the_more_severe():
    sky = Alert(1, "One", "medium", "pv", "PV at 55% of the clear-sky expectation", "sky detail.", ACTIONS["pv"])
    gap = Alert(1, "One", "high", "gap", "gap", "gap detail.", ACTIONS["gap"])
    peer = Alert(1, "One", "high", "pv", "PV at 40% of its neighbours' yield", "peer detail.", ACTIONS["pv"])
    other = Alert(2, "Two", "medium", "pv", "PV at 60% of its neighbours' yield", "other.", ACTIONS["pv"])
    merged = merge_pv_alerts([sky, gap], [peer, other])
    assert [(a.household_id, a.kind) for a in merged] == [(1, "pv"), (1, "gap"), (2, "pv")]
    assert merged[0].severity == "high" and merged[0].title == peer.title
    assert merged[0].detail == "sky detail. peer detail."
