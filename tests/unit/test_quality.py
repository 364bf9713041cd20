"""Data quality: gaps, duplicates, stuck values, spikes and PV against the clear sky, on both backends,
on hand-made series, the demo portfolio's planted faults and the CityLearn homes."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from services.quality.checks import check_household, hampel, quality_counts
from services.quality.pv import PV_RATIO_FLAG, clear_day_ratio, pv_performance
from services.store.db import session_scope
from services.store.models import Reading, Series
from tests.factories import add_household

T0 = datetime(2025, 6, 2, tzinfo=timezone.utc)


def _series(name: str, quantity: str, values: list[float], *, start: datetime = T0, step_min: int = 15,
            drop: tuple[int, ...] = (), extra: list[tuple[datetime, float]] = (), kwp: float | None = None) -> int:
    """A household with one series; ``drop`` removes those steps; ``extra`` adds off-grid readings."""
    with session_scope() as s:
        hh = add_household(s, name, kwp=kwp)
        series = Series(household_id=hh.id, quantity=quantity, unit="kWh", name=quantity, resolution_s=step_min * 60)
        s.add(series)
        s.flush()
        s.add_all(Reading(series_id=series.id, ts=start + timedelta(minutes=step_min * i), value=v)
                  for i, v in enumerate(values) if i not in drop)
        s.add_all(Reading(series_id=series.id, ts=ts, value=v) for ts, v in extra)
        return hh.id


def _varying(n: int, seed: int = 1) -> list[float]:
    rng = np.random.default_rng(seed)
    return list(np.round(0.2 + 0.1 * rng.random(n), 4))


def test_gaps_are_listed_with_their_missing_intervals(db_url):
    hid = _series("Gaps", "load", _varying(96), drop=(10, 11, 12, 50))
    quality = check_household(hid)
    (load,) = quality.series
    assert load.gap_count == 2 and load.missing == 4
    first, second = load.gaps
    assert (first.start, first.end, first.missing) == (T0 + timedelta(minutes=150), T0 + timedelta(minutes=195), 3)
    assert (second.start, second.missing) == (T0 + timedelta(minutes=750), 1)
    assert load.completeness == pytest.approx(92 / 96)
    assert quality.counts()["gaps"] == 2
    gap_issues = [i for i in quality.issues if i.kind == "gap"]
    assert "3 reading(s) missing" in gap_issues[0].message


def test_a_complete_series_has_no_gaps_and_no_duplicates(db_url):
    quality = check_household(_series("Complete", "load", _varying(96)))
    assert quality.counts() == {"gaps": 0, "duplicates": 0, "stuck": 0, "spikes": 0, "implausible": 0,
                                "pv_underperforming": 0}
    assert quality.issues == ()


def test_two_readings_in_one_interval_count_as_a_duplicate(db_url):
    extra = [(T0 + timedelta(minutes=7), 0.3), (T0 + timedelta(minutes=67), 0.3), (T0 + timedelta(minutes=68), 0.3)]
    quality = check_household(_series("Drifting clock", "load", _varying(16), extra=extra))
    assert quality.series[0].duplicates == 3
    assert any(i.kind == "duplicates" for i in quality.issues)


def test_load_stuck_for_hours_is_flagged_and_short_repeats_are_not(db_url):
    values = _varying(96)
    values[20:45] = [0.5] * 25  # 25 quarter hours = 6.25 h flat
    values[60:63] = [0.7] * 3  # 45 min: a coincidence, not a fault
    quality = check_household(_series("Stuck", "load", values))
    (run,) = quality.series[0].flat_runs
    assert run.value == 0.5 and run.readings == 25
    assert (run.start, run.end) == (T0 + timedelta(minutes=300), T0 + timedelta(minutes=675))
    assert run.hours == pytest.approx(6.25)
    assert quality.counts()["stuck"] == 1


def test_pv_at_zero_all_night_is_not_stuck_but_a_frozen_non_zero_value_is(db_url):
    night = [0.0] * 40 + _varying(20) + [0.0] * 36  # 10 h of zeros: a normal night
    assert check_household(_series("Night", "pv", night)).counts()["stuck"] == 0
    frozen = [0.0] * 20 + [1.25] * 30 + [0.0] * 46  # 7.5 h at 1.25 kWh per quarter hour
    quality = check_household(_series("Frozen inverter", "pv", frozen))
    assert [r.value for r in quality.series[0].flat_runs] == [1.25]


def test_a_gap_breaks_a_flat_run(db_url):
    values = [0.4] * 40  # 10 h flat, but with a hole in the middle: two runs of under 4 h... and 5 h
    quality = check_household(_series("Holed", "load", values, drop=tuple(range(14, 20))))
    runs = quality.series[0].flat_runs
    assert [r.readings for r in runs] == [20]  # 14 before the hole (3.5 h) is too short; 20 after (5 h) is not


def test_a_spike_is_found_and_ordinary_variation_is_not(db_url):
    values = _varying(200)
    values[120] = 9.0
    quality = check_household(_series("Spiky", "load", values))
    (spike,) = quality.series[0].spikes
    assert spike.ts == T0 + timedelta(minutes=15 * 120) and spike.value == 9.0
    assert spike.expected == pytest.approx(0.25, abs=0.06)
    assert quality.counts()["spikes"] == 1


def test_hampel_ignores_a_sustained_step_and_a_flat_baseline():
    index = pd.date_range("2025-01-01", periods=100, freq="15min", tz="UTC")
    step = pd.Series([0.1] * 50 + [3.0] * 50, index=index)  # an EV starts charging: not a spike
    assert hampel(step).empty
    flat = pd.Series([20.0] * 100, index=index)
    flat.iloc[30] = 20.1  # 0.1 degC on a constant series is noise, not a spike
    assert hampel(flat).empty


def test_clear_day_ratio_uses_the_better_days_and_scales_by_coverage():
    index = pd.date_range("2025-06-01", periods=24 * 10, freq="h", tz="UTC")
    clear = pd.Series(np.where(index.hour.isin(range(6, 18)), 1.0, 0.0), index=index)
    factor = np.repeat([0.3, 0.4, 0.9, 0.5, 0.95, 0.6, 0.2, 0.92, 0.5, 0.4], 24)
    measured = clear * factor
    coverage = pd.Series(1.0, index=index)
    ratio, days, *_ = clear_day_ratio(measured, clear, coverage, "UTC")
    assert days == 10
    assert ratio == pytest.approx(np.quantile([0.3, 0.4, 0.9, 0.5, 0.95, 0.6, 0.2, 0.92, 0.5, 0.4], 0.9))
    # A day with half its sunny hours missing is left out rather than counted as a bad day.
    coverage[(index.day == 1) & (index.hour < 12)] = 0.0
    assert clear_day_ratio(measured, clear, coverage, "UTC")[1] == 9


def test_pv_check_needs_enough_days_before_a_verdict(db_url):
    hid = _series("Short", "pv", _varying(96 * 2), kwp=4.0)
    pv = pv_performance(hid)
    assert pv is not None and pv.ratio is None and not pv.flagged
    assert "not enough" in pv.message


def test_no_pv_check_without_a_pv_system(db_url):
    hid = _series("No PV system", "pv", _varying(96))
    assert pv_performance(hid) is None


# --- the demo portfolio's planted faults ------------------------------------------------------


DEMO = {"n_households": 5, "seed": 7, "end": date(2025, 7, 1), "days": 21}


@pytest.fixture
def demo(db_url):
    """Five demo households over three weeks: households 1-3 carry the planted faults."""
    from services.demo import generate_portfolio, load_demo_portfolio
    from services.demo.faults import planted_faults

    load_demo_portfolio(url=db_url, **DEMO)
    index = generate_portfolio(DEMO["n_households"], DEMO["seed"], DEMO["end"], days=DEMO["days"]).index
    with session_scope() as s:
        ids = dict(s.execute(sa.text("SELECT name, id FROM households")).all())
    return ids, planted_faults(DEMO["n_households"], index)


def test_demo_faults_are_found_and_healthy_households_are_clean(demo):
    ids, faults = demo
    counts = quality_counts(list(ids.values()))
    by_kind = {f.kind: f for f in faults}
    assert set(by_kind) == {"gap", "stuck_meter", "underperforming_pv"}
    flagged = {name: counts["by_household"][hid] for name, hid in ids.items()}

    gap = by_kind["gap"]
    gap_quality = check_household(ids[gap.household])
    load = next(s for s in gap_quality.series if s.name == "load")
    assert [(g.start, g.end) for g in load.gaps] == [(gap.start.to_pydatetime(), gap.end.to_pydatetime())]
    assert all(s.gap_count == 1 for s in gap_quality.series)

    stuck = by_kind["stuck_meter"]
    (run,) = next(s for s in check_household(ids[stuck.household]).series if s.name == "load").flat_runs
    # The run starts at the last good reading, which the stuck meter repeats.
    assert run.start <= stuck.start.to_pydatetime() and run.end == stuck.end.to_pydatetime()

    pv = check_household(ids[by_kind["underperforming_pv"].household]).pv
    assert pv.flagged and pv.ratio < 0.6

    for name, c in flagged.items():
        assert (c["gaps"] > 0) == (name == gap.household), name
        assert (c["stuck"] > 0) == (name == stuck.household), name
        assert (c["pv_underperforming"] > 0) == (name == by_kind["underperforming_pv"].household), name
        assert c["spikes"] == 0 and c["duplicates"] == 0, name
    assert counts["households"] == 5 and counts["households_with_issues"] == 3
    assert counts["pv_underperforming"] == 1 and counts["stuck"] == 1


# --- CityLearn: buildings 14 and 15 have defective PV ----------------------------------------


def test_citylearn_buildings_14_and_15_and_only_they_are_flagged(db_url, shared_data):
    from services.households.citylearn import import_citylearn
    from services.ingestion.files import ingest_file
    from services.ingestion.mapping import mapping_from_dict

    folder = shared_data / "citylearn_2022_fontana_ca"
    result = import_citylearn(folder)
    # Through the ingestion core, as a person would: no time column (row 0 starts 2016-07-31 23:00 at
    # UTC-08:00, hourly) and PV given in W per kW of installed PV, i.e. Wh per kWp in the hour.
    mapping = mapping_from_dict({
        "name": "citylearn pv", "layout": "wide", "time": {"start": "2016-07-31T23:00:00-08:00", "step_s": 3600},
        "columns": [{"column": "solar_generation", "series": "pv", "quantity": "pv", "unit": "Wh", "per_kwp": True}],
    })
    for number in range(1, 18):
        report = ingest_file(folder / f"Building_{number}.csv", mapping, refresh_rollups=False,
                             household_id=result.household_ids[f"CityLearn Building {number}"])
        assert (report.inserted, report.rejected) == (8760, 0)

    ratios = {}
    for number in range(1, 18):
        pv = pv_performance(result.household_ids[f"CityLearn Building {number}"])
        ratios[number] = pv.ratio
        assert pv.days > 300
        assert pv.flagged == (number in (14, 15)), f"building {number}: {pv.message}"
    healthy = [r for n, r in ratios.items() if n not in (14, 15)]
    # A clear margin on both sides of the threshold, so the verdict is not a coin toss.
    assert min(healthy) > PV_RATIO_FLAG + 0.15
    assert max(ratios[14], ratios[15]) < PV_RATIO_FLAG - 0.15
