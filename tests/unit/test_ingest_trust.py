"""Numbers users can trust from real meters (issue 11), on both backends: meter registers get the
checks interval readings get, one glitch costs one reading, resets and rollovers are reported,
every rejection is counted by reason with examples of each, and times and values that are not
what they claim are per-row rejections, never a failed batch."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from services.ingestion import IngestOptions, ReadingIn, ingest_frame, ingest_readings
from services.ingestion.rejections import RejectionTally
from services.store.db import session_scope
from services.store.models import (
    DailyEnergy,
    Household,
    IngestionBatch,
    IngestionRejection,
    PVSystem,
    Reading,
    Series,
)
from tests.factories import add_household

T0 = datetime(2024, 6, 1, tzinfo=UTC)


@pytest.fixture
def home(db_url) -> int:
    """A Berlin household (52.5 N, 13.4 E) with 5 kWp of PV."""
    with session_scope() as session:
        return add_household(session, "Trust home", kwp=5.0).id


def _register(home: int, ts, value, series: str = "meter", quantity: str = "load") -> ReadingIn:
    return ReadingIn(household_id=home, series=series, quantity=quantity, ts=ts, value=value, unit="kWh",
                     cumulative=True)


def _quarters(start: datetime, n: int) -> list[str]:
    return [(start + timedelta(minutes=15 * i)).isoformat() for i in range(n)]


def _energy(name: str) -> list[tuple[datetime, float]]:
    with session_scope() as session:
        return [tuple(r) for r in session.execute(
            sa.select(Reading.ts, Reading.value).join(Series).where(Series.name == name).order_by(Reading.ts)).all()]


# --- 1. registers get every plausibility check -----------------------------------------------------


def test_register_energy_at_night_or_above_the_pv_rating_is_refused(home):
    night = datetime(2024, 6, 1, 22, tzinfo=UTC)  # midnight in Berlin
    values = [1000.0, 1026.0, 1099.0]  # 26 and 73 kWh per hour at night on 5 kWp
    report = ingest_readings([_register(home, (night + timedelta(hours=i)).isoformat(), v, "pv", "pv")
                              for i, v in enumerate(values)], source="t", channel="api")
    assert report.rejected == 2
    assert all("from the meter register" in r.reason for r in report.rejections)
    assert "sun is below the horizon" in report.rejections[0].reason
    assert _energy("pv") == []
    noon = datetime(2024, 6, 2, 11, tzinfo=UTC)
    day = ingest_readings([_register(home, (noon + timedelta(hours=i)).isoformat(), v, "pv", "pv")
                           for i, v in enumerate([2000.0, 2004.0, 2030.0])], source="t", channel="api")
    # 4 kWh in an hour is fine on 5 kWp, 26 kWh is more than 5 kWp * 1.3 can make.
    assert day.rejected == 1 and "more than a 5 kWp array can produce" in day.rejections[0].reason
    assert [v for _, v in _energy("pv")] == [4.0]


def test_register_energy_above_the_generic_and_grid_limits_is_refused(home):
    report = ingest_readings([_register(home, t, v, "import", "grid_import") for t, v in
                              zip(["2024-06-01T10:00:00Z", "2024-06-01T11:00:00Z"], [100.0, 904.0])],
                             source="t", channel="api")
    assert report.rejected == 1
    assert "804 kWh in 1 hour is more than a plausible grid_import value (at most 250 kWh" in \
        report.rejections[0].reason
    with session_scope() as session:
        session.execute(sa.update(Household).where(Household.id == home).values(grid_import_limit_kw=10.0))
    limited = ingest_readings([_register(home, t, v, "import2", "grid_import") for t, v in
                               zip(["2024-06-01T10:00:00Z", "2024-06-01T11:00:00Z"], [100.0, 115.0])],
                              source="t", channel="api")
    assert limited.rejected == 1 and "more than the household's 10 kW grid connection allows" in \
        limited.rejections[0].reason


def test_a_reading_alone_gets_the_checks_of_a_pair(db_url):
    with session_scope() as session:
        big = add_household(session, "10.7 kWp", kwp=10.7).id

    def pv(ts, value):
        return ReadingIn(household_id=big, series="pv", quantity="pv", ts=ts, value=value, unit="kWh")

    noon = "2024-06-01T10:00:00Z"
    pair = ingest_readings([pv("2024-06-01T09:45:00Z", 1.0), pv(noon, 50.0)], source="t", channel="api")
    assert pair.rejected == 1
    # Alone, next to the stored reading 15 minutes before it: the same refusal.
    alone = ingest_readings([pv(noon, 50.0)], source="t", channel="api")
    assert alone.rejected == 1 and "in 15 min is more than a 10.7 kWp array" in alone.rejections[0].reason
    # Alone in a new series of a new household: the interval is unknown, one hour is assumed and said.
    with session_scope() as session:
        other = add_household(session, "new", kwp=10.7).id
    first = ingest_readings([ReadingIn(household_id=other, series="pv", quantity="pv", ts=noon, value=50.0,
                                       unit="kWh")], source="t", channel="api")
    assert first.rejected == 1 and "60 min was assumed" in first.rejections[0].reason


# --- 2. one glitch costs one reading ----------------------------------------------------------------


def test_one_register_glitch_is_refused_alone_and_the_weeks_after_it_are_kept(home):
    n = 600
    values = 5000.0 + 0.25 * np.arange(n)
    values[100] += 1000.0  # one reading 1,000 kWh too high
    readings = [_register(home, t, float(v)) for t, v in zip(_quarters(T0, n), values)]
    report = ingest_readings(readings, source="t", channel="api")
    assert report.rejected == 1
    assert report.rejections[0].line == 101
    assert "glitch of this reading alone" in report.rejections[0].reason
    energy = _energy("meter")
    assert len(energy) == n - 1 and sum(v for _, v in energy) == pytest.approx(0.25 * (n - 1))
    assert max(v for _, v in energy) == pytest.approx(0.25)


def test_a_small_glitch_at_the_end_of_a_batch_is_undone_by_the_next_batch(home):
    first = [_register(home, t, v) for t, v in zip(_quarters(T0, 4), [100.0, 100.5, 101.0, 110.0])]
    assert ingest_readings(first, source="t", channel="mqtt").rejected == 0  # 9 kWh in 15 min is plausible
    second = [_register(home, t, v) for t, v in zip(_quarters(T0 + timedelta(hours=1), 4), [101.5, 102.0, 102.5, 103.0])]
    report = ingest_readings(second, source="t", channel="mqtt")
    assert report.rejected == 0
    energy = dict(_energy("meter"))
    assert sum(energy.values()) == pytest.approx(3.0)  # 100 -> 103, the glitch's 9 kWh gone
    assert max(energy.values()) == pytest.approx(0.5)


def test_a_drop_that_the_next_reading_climbs_back_from_is_a_glitch_not_a_reset(home):
    values = [5000.0, 5000.5, 3.0, 5001.5, 5002.0]
    report = ingest_readings([_register(home, t, v) for t, v in zip(_quarters(T0, 5), values)],
                             source="t", channel="api")
    assert report.rejected == 1 and report.rejections[0].line == 3
    assert report.meter_events == []
    assert sum(v for _, v in _energy("meter")) == pytest.approx(2.0)


# --- 3. resets and rollovers are reported -----------------------------------------------------------


def test_resets_and_rollovers_are_reported_with_counts_and_times(home):
    reset = [_register(home, t, v) for t, v in zip(_quarters(T0, 4), [5230.0, 5231.0, 0.2, 0.7])]
    rollover = [_register(home, t, v, "export", "grid_export")
                for t, v in zip(_quarters(T0, 3), [99999.5, 99999.8, 0.3])]
    report = ingest_readings(reset + rollover, source="t", channel="api",
                             options=IngestOptions(counter_max=99999.9))
    assert report.rejected == 0
    assert report.event_counts() == {"reset": 1, "rollover": 1}
    assert "1 meter reset, 1 meter rollover" in report.summary()
    by_kind = {e.kind: e for e in report.meter_events}
    assert by_kind["reset"].at == T0 + timedelta(minutes=30) and by_kind["reset"].value_before == 5231.0
    assert by_kind["rollover"].series == "export"
    with session_scope() as session:
        batch = session.get(IngestionBatch, report.batch_id)
        assert batch.meter_event_count == 2 and "1 meter reset" in batch.message
        assert {e["kind"] for e in batch.meter_events} == {"reset", "rollover"}
    # Sending the same readings again reports nothing new as stored, and the events again (they are in it).
    assert ingest_readings(reset, source="t", channel="api").inserted == 0


def test_the_data_page_shows_meter_events_and_reasons(home, dash_app):
    from components.data_sections import batch_report, batch_rows
    from services.ingestion.history import list_batches

    readings = [_register(home, t, v) for t, v in zip(_quarters(T0, 4), [5230.0, 5231.0, 0.2, 0.7])]
    readings.append(ReadingIn(household_id=home, series="load", quantity="load", ts="now", value=1.0, unit="kWh"))
    report = ingest_readings(readings, source="t", channel="api")
    shown = str(batch_report(report.as_result()))
    assert "Meter registers: 1 reset" in shown and "reset to zero between 2024-06-01 00:15 and" in shown
    assert "1 x ts: 'now' is not a date and time" in shown
    row = batch_rows(list_batches())[0]
    assert row["meter_events"] == 1 and "reset to zero" in row["events"]
    assert row["reasons"].startswith("1 x ts: 'now'")


# --- 10. every rejection counted, examples of every reason kept -------------------------------------


def test_rejections_are_counted_by_reason_and_every_reason_keeps_examples(home):
    n = 12_000
    frame = pd.DataFrame({"household_id": home, "series": "load", "quantity": "load",
                          "ts": pd.date_range("2024-01-01", periods=n + 3, freq="15min", tz="UTC").strftime(
                              "%Y-%m-%dT%H:%M:%SZ"), "value": [""] * n + ["0.5", "0.5", "0.5"], "unit": "kWh"})
    frame.loc[n:, "ts"] = ["2024-03-31 02:15", "2024-03-31 02:30", "2024-03-31 02:45"]  # no such time in Berlin
    report = ingest_frame(frame, source="big.csv", channel="file")
    assert report.rejected == n + 3
    counts = {(r.field, r.count) for r in report.rejected_by_reason}
    assert counts == {("value", n), ("ts", 3)}
    kept = [r for r in report.rejections if r.field == "ts"]
    assert [r.line for r in kept] == [n + 1, n + 2, n + 3]
    assert len(report.rejections) == IngestOptions().max_rejections + 3  # the cap, and the 3 beyond it
    with session_scope() as session:
        stored = session.execute(sa.select(IngestionRejection.field, sa.func.count()).where(
            IngestionRejection.batch_id == report.batch_id).group_by(IngestionRejection.field)).all()
        batch = session.get(IngestionBatch, report.batch_id)
    assert dict(stored)["ts"] == 3
    assert {r["field"]: r["count"] for r in batch.rejected_by_reason} == {"value": n, "ts": 3}
    assert "covering all 2 reasons" in batch.message


def test_tally_keeps_the_first_of_each_kind_beyond_the_cap():
    tally = RejectionTally(max_rejections=5, max_per_reason=3)
    first = tally.choose(np.array(["value"] * 10, dtype=object),
                         np.array([f"{i} is not a number" for i in range(10)], dtype=object))
    later = tally.choose(np.array(["ts"], dtype=object), np.array(["'x' is not a time"], dtype=object))
    assert first.sum() == 10 and later.tolist() == [True]  # the first 20 of a kind are always kept
    assert [(r.field, r.count) for r in tally.by_reason()] == [("value", 10), ("ts", 1)]


def test_cli_message_counts_every_reason(home, tmp_path, dash_app):
    import json

    spec = tmp_path / "mapping.json"
    spec.write_text(json.dumps({"layout": "wide", "time": {"column": "time"},
                                "columns": [{"column": "kwh", "series": "load", "quantity": "load", "unit": "kWh"}]}))
    rows = [f"2024-06-01T{h:02d}:00:00Z," for h in range(24)] + ["2024-03-31T02:30:00,0.5", "2099-01-01T00:00:00Z,1"]
    data = tmp_path / "data.csv"
    data.write_text("time,kwh\n" + "\n".join(rows) + "\n", encoding="utf-8")
    runner = dash_app.server.test_cli_runner()
    assert runner.invoke(args=["mapping-save", "trust", str(spec)]).exit_code == 0
    result = runner.invoke(args=["ingest", str(data), "--mapping", "trust", "--household", str(home)])
    assert result.exit_code == 0, result.output
    assert "rejected 26" in result.output
    assert "24 x value: the value is empty" in result.output
    assert "1 x ts: 2024-03-31 02:30:00 does not exist in Europe/Berlin" in result.output
    assert "more than a day after now" in result.output
    assert "more rejected rows are listed" not in result.output


# --- 11. timestamps ---------------------------------------------------------------------------------


def test_future_readings_words_and_booleans_are_not_times(home):
    now = datetime.now(UTC)

    def load(ts, line):
        return ReadingIn(household_id=home, series="load", quantity="load", ts=ts, value=0.1, unit="kWh", line=line)

    readings = [load((now + timedelta(days=3)).isoformat(), 1), load((now + timedelta(hours=2)).isoformat(), 2),
                load("now", 3), load("today", 4), load(True, 5), load(1, 6), load({"t": 1}, 7)]
    report = ingest_readings(readings, source="t", channel="api")
    reasons = {r.line: r.reason for r in report.rejections}
    assert sorted(reasons) == [1, 3, 4, 5, 6, 7] and report.inserted == 1
    assert "more than a day after now" in reasons[1]
    assert "'now' is not a date and time" in reasons[3]
    assert "the ts true is not a time" in reasons[5]
    assert "outside 1990-2099" in reasons[6]


def test_a_future_day_in_the_store_does_not_move_the_default_window(home):
    from services.energy import kpis

    with session_scope() as session:
        session.add_all([DailyEnergy(household_id=home, day=date(2024, 6, d), load_kwh=10.0) for d in (1, 2, 3)])
        session.add(DailyEnergy(household_id=home, day=date(2099, 1, 1), load_kwh=1.0))
    assert kpis.data_period([home], today=date(2024, 6, 3)) == (date(2024, 6, 1), date(2024, 6, 3))
    start, end = kpis.resolve_period("last_7_days", kpis.data_period([home]))
    assert end == date(2024, 6, 3)
    assert kpis.portfolio_totals([home], start, end).load_kwh == pytest.approx(30.0)


# --- values that are not numbers, text that no store can keep ---------------------------------------


@pytest.mark.parametrize("field, bad, expected", [
    ("value", True, "the value true is not a number"),
    ("value", {"kWh": 1}, "the value an object {...} is not a number"),
    ("value", [1, 2], "the value a list [...] is not a number"),
    ("value", "1.5\x00", "the value '1.5\\x00' holds a control character"),
    ("unit", {}, "the unit {} is not text"),
    ("unit", "kWh\x00", "holds a control character"),
    ("series", "load\x00", "holds a control character"),
    ("series", "lo\ud800ad", "holds a control character"),
    ("series", "load\nx", "holds a control character"),
    ("quantity", ["load"], "the quantity a list [...] is not text"),
    ("ts", "2024-06-01T00:30:00\x00Z", "is not a date and time we can read"),
    ("ts", "2024-06-01T00:30:00\ud800", "is not a date and time we can read"),
    ("household_id", True, "the household_id true is not a whole number"),
    ("device_id", "x", "the device_id 'x' is not a whole number"),
    ("device_id", 999_999, "device 999999 does not exist in household"),
    ("cumulative", "no", "the cumulative 'no' is not true or false"),
    ("cumulative", True, "series 'load' gets interval readings in this batch and this row is a meter register"),
])
def test_cells_of_the_wrong_kind_are_per_row_rejections_and_the_batch_is_kept(home, field, bad, expected):
    good = {"household_id": home, "series": "load", "quantity": "load", "ts": "2024-06-01T00:00:00Z",
            "value": 0.5, "unit": "kWh", "device_id": None, "cumulative": False}
    wrong = {**good, "ts": "2024-06-01T00:30:00Z", field: bad}
    frame = pd.DataFrame({k: pd.Series([good[k], wrong[k], {**good, "ts": "2024-06-01T00:15:00Z"}[k]], dtype=object)
                          for k in good})
    report = ingest_frame(frame, source="fuzz\x00er", channel="api")
    assert (report.status, report.inserted, report.rejected) == ("done", 2, 1)
    assert report.rejections[0].line == 2 and expected in report.rejections[0].reason
    with session_scope() as session:
        stored = session.execute(sa.select(IngestionRejection.reason, IngestionRejection.raw)
                                 .where(IngestionRejection.batch_id == report.batch_id)).one()
        batch = session.get(IngestionBatch, report.batch_id)
    assert "\x00" not in stored.raw and "\x00" not in stored.reason
    assert batch.source == "fuzz\\x00er"


# --- real data: a year of NREL PVDAQ system 50 as a meter register with one glitch -----------------


def test_pvdaq_year_as_a_register_with_one_glitch_keeps_every_genuine_reading(db_url, shared_data):
    source = pd.read_parquet(shared_data / "pvdaq_system50_golden_co" / "system_50_ac_power_2_full_DST.parquet")
    year = source[pd.DatetimeIndex(source["measured_on"]).year == 2012].reset_index(drop=True)
    kwh = year["ac_power_2"].fillna(0.0).to_numpy(dtype=float) / 1000 * 0.25  # W over 15 min -> kWh
    register = pd.Series(10_000.0 + np.cumsum(kwh))[year["ac_power_2"].notna().to_numpy()]
    glitch = register.index[len(register) // 2]
    values = register.copy()
    values[glitch] += 1000.0  # one reading 1,000 kWh too high, as in the issue
    with session_scope() as session:
        household = Household(name="PVDAQ 50", timezone="America/Denver", latitude=39.7406, longitude=-105.1775)
        session.add(household)
        session.flush()
        session.add(PVSystem(household_id=household.id, kwp=3.5))
        household_id = household.id
    frame = pd.DataFrame({"household_id": household_id, "series": "pv", "quantity": "pv",
                          "ts": year["measured_on"].iloc[register.index].reset_index(drop=True),
                          "value": values.to_numpy(), "unit": "kWh", "cumulative": True})
    report = ingest_frame(frame, source="pvdaq-register", channel="file")
    assert report.rejected == 1 and "glitch" in report.rejections[0].reason
    energy = _energy("pv")
    assert sum(v for _, v in energy) == pytest.approx(register.iloc[-1] - register.iloc[0], rel=1e-9)
    assert max(v for _, v in energy) < 3.5 * 0.25 * 1.3  # no interval holds the glitch


GARBAGE = [True, {}, {"a": 1}, [1], "", "\x00", "a\ud800", "\x07", "1e400", float("inf"), 2**63, -2**70, b"raw",
           1 + 2j, "9999-12-31T00:00:00Z", "0001-01-01T00:00:00Z", "x" * 500]


@pytest.mark.parametrize("field", ["household_id", "series", "quantity", "ts", "value", "unit", "line", "device_id",
                                   "cumulative", "interval_s"])
def test_no_value_in_any_field_fails_the_batch(home, field):
    good = {"household_id": home, "series": "load", "quantity": "load", "ts": "2024-06-01T00:00:00Z", "value": 0.5,
            "unit": "kWh", "line": None, "device_id": None, "cumulative": False, "interval_s": None}
    for number, bad in enumerate(GARBAGE):
        rows = [good, {**good, "ts": f"2024-06-02T{number % 24:02d}:15:00Z", field: bad}]
        frame = pd.DataFrame({k: pd.Series([r[k] for r in rows], dtype=object) for k in good})
        report = ingest_frame(frame, source="fuzz", channel="api")
        assert report.status == "done" and report.received == 2, (field, bad)
        assert report.stored + report.rejected == 2, (field, bad, report.summary())
