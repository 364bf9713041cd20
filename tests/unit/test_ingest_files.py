"""Files through mappings: CSV dialects, Excel, Parquet, wide and long, saved mappings and the CLI."""

from __future__ import annotations

import json
from datetime import datetime

import pandas as pd
import pytest
import sqlalchemy as sa

from services.ingestion.files import frames_from_file, ingest_file, preview_file, sniff_csv
from services.ingestion.mapping import Mapping, load_mapping, mapping_from_dict, mapping_names, save_mapping
from services.store.db import session_scope
from services.store.models import Reading, Series
from tests.factories import add_household


@pytest.fixture
def home(db_url) -> int:
    with session_scope() as session:
        return add_household(session, "File home", kwp=5.0).id


def _values(name: str) -> list[tuple[datetime, float]]:
    with session_scope() as session:
        rows = session.execute(sa.select(Reading.ts, Reading.value).join(Series).where(Series.name == name)
                               .order_by(Reading.ts)).all()
    return [(ts, value) for ts, value in rows]


def _wide_mapping(**time) -> Mapping:
    return mapping_from_dict({
        "name": "wide", "layout": "wide", "time": time or {"column": "time"},
        "columns": [{"column": "Verbrauch", "series": "load", "quantity": "load", "unit": "Wh"},
                    {"column": "PV", "series": "pv", "quantity": "pv", "unit": "W", "interval_s": 900}],
    })


@pytest.mark.parametrize("text, expected", [
    ("time,load\n2024-01-01,1.5\n2024-01-02,2.5\n", (",", ".")),
    ("time;load\n2024-01-01;1,5\n2024-01-02;2,5\n", (";", ",")),
    ("time;load\n2024-01-01;1.5\n2024-01-02;2.5\n", (";", ".")),
    ("time\tload\n2024-01-01\t1,5\n", ("\t", ",")),
])
def test_sniffing_separator_and_decimal_mark(text, expected):
    assert sniff_csv(text) == expected


def test_semicolon_csv_with_decimal_comma_and_local_times(home, tmp_path):
    path = tmp_path / "export.csv"
    path.write_text("time;Verbrauch;PV\n2024-06-01 10:00;250,5;1200\n2024-06-01 10:15;300;2000,0\n", encoding="utf-8")
    report = ingest_file(path, _wide_mapping(column="time", timezone="Europe/Berlin"), household_id=home)
    assert (report.received, report.inserted, report.rejected) == (4, 4, 0)
    load = _values("load")
    assert load[0][0] == datetime.fromisoformat("2024-06-01T08:00:00+00:00")
    assert [v for _, v in load] == pytest.approx([0.2505, 0.3])
    assert [v for _, v in _values("pv")] == pytest.approx([0.3, 0.5])  # W averaged over 15 min -> kWh


def test_long_csv_rejects_unmapped_series_with_the_file_line(home, tmp_path):
    path = tmp_path / "long.csv"
    path.write_text("timestamp,series,value\n"
                    "2024-06-01T00:00:00Z,main,0.4\n"
                    "2024-06-01T00:00:00Z,garage,0.1\n"
                    "2024-06-01T00:15:00Z,main,-0.2\n", encoding="utf-8")
    mapping = mapping_from_dict({"name": "long", "layout": "long", "series_column": "series", "value_column": "value",
                                 "time": {"column": "timestamp"}, "household_id": home,
                                 "columns": [{"column": "main", "series": "load", "quantity": "load", "unit": "kWh"}]})
    report = ingest_file(path, mapping)
    assert (report.inserted, report.rejected) == (1, 2)
    assert [(r.line, r.field) for r in report.rejections] == [(3, "series"), (4, "value")]
    assert "this series is not in mapping 'long'" in report.rejections[0].reason
    assert report.rejections[1].raw == "2024-06-01T00:15:00Z,load,-0.2,kWh"


def test_file_without_time_column_uses_start_and_step(home, tmp_path):
    path = tmp_path / "no_time.csv"
    path.write_text("Verbrauch,PV\n100,0\n200,400\n300,800\n", encoding="utf-8")
    mapping = _wide_mapping(start="2016-07-31T23:00:00-08:00", step_s=3600)
    report = ingest_file(path, mapping, household_id=home, chunk_rows=2)  # two chunks
    assert report.inserted == 6
    assert [ts.isoformat() for ts, _ in _values("load")] == [
        "2016-08-01T07:00:00+00:00", "2016-08-01T08:00:00+00:00", "2016-08-01T09:00:00+00:00"]


def test_excel_workbook_with_datetime_cells(home, tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "Daten"
    sheet.append(["time", "Verbrauch", "PV"])
    sheet.append([datetime(2024, 6, 1, 12, 0), 500, 1000])
    sheet.append([datetime(2024, 6, 1, 12, 15), 600, None])
    path = tmp_path / "export.xlsx"
    book.save(path)
    mapping = _wide_mapping(column="time", timezone="Europe/Berlin").model_copy(update={"sheet": "Daten"})
    report = ingest_file(path, mapping, household_id=home)
    assert (report.inserted, report.rejected) == (3, 1)
    assert report.rejections[0].line == 3
    assert report.rejections[0].reason == "the value is empty: leave the row out, or give a number"
    assert _values("load")[0] == (datetime.fromisoformat("2024-06-01T10:00:00+00:00"), 0.5)


def test_parquet_long_file_with_aware_times(home, tmp_path):
    frame = pd.DataFrame({
        "measured_on": pd.date_range("2024-06-01", periods=4, freq="15min", tz="UTC-07:00"),
        "name": ["temp"] * 4, "reading": [20.5, 21.0, 21.5, 22.0]})
    path = tmp_path / "sensors.parquet"
    frame.to_parquet(path)
    mapping = mapping_from_dict({"name": "pq", "layout": "long", "series_column": "name", "value_column": "reading",
                                 "time": {"column": "measured_on"}, "household_id": home,
                                 "columns": [{"column": "temp", "series": "living/temperature",
                                              "quantity": "temperature", "unit": "degC"}]})
    assert ingest_file(path, mapping).inserted == 4
    assert _values("living/temperature")[0][0] == datetime.fromisoformat("2024-06-01T07:00:00+00:00")


def test_upload_bytes_and_a_missing_column_is_named(home):
    content = b"when,Verbrauch\n2024-06-01T00:00:00Z,1\n"
    with pytest.raises(ValueError, match="the file has no column 'time', 'PV' that mapping 'wide' reads"):
        list(frames_from_file(content, _wide_mapping(), filename="upload.csv", household_id=home))
    with pytest.raises(ValueError, match="is not a file type we read"):
        ingest_file(content, _wide_mapping(), filename="upload.pdf", household_id=home)


def test_preview_shows_first_rows_and_sniffed_dialect(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("time;load\n" + "".join(f"2024-01-01 00:{m:02d};1,{m}\n" for m in range(0, 60, 5)),
                    encoding="utf-8")
    preview = preview_file(path, rows=3)
    assert (preview.kind, preview.separator, preview.decimal) == ("csv", ";", ",")
    assert preview.columns == ["time", "load"]
    assert preview.rows["load"].tolist() == ["1,0", "1,5", "1,10"]


@pytest.mark.parametrize("spec, message", [
    ({"time": {}}, "give the first row's start time and the step"),
    ({"time": {"column": "t", "timezone": "Mars/Base"}}, "unknown time zone 'Mars/Base'"),
    ({"time": {"start": "2016-07-31T23:00:00", "step_s": 3600}}, "has no UTC offset"),
    ({"columns": [{"column": "p", "quantity": "pv", "unit": "kW"}]}, "set interval_s"),
    ({"columns": [{"column": "p", "quantity": "pv", "unit": "kW/m2"}]}, "pv is energy"),
    ({"layout": "long"}, "a long file needs series_column and value_column"),
])
def test_mapping_problems_are_explained(spec, message):
    base = {"name": "m", "time": {"column": "t"}, "columns": [{"column": "x", "quantity": "load", "unit": "kWh"}]}
    with pytest.raises(ValueError, match=message):
        mapping_from_dict({**base, **spec})


def test_mappings_are_saved_replaced_and_reused(db_url):
    save_mapping(_wide_mapping())
    save_mapping(_wide_mapping().model_copy(update={"household_id": 7}))
    assert mapping_names() == ["wide"]
    assert load_mapping("wide").household_id == 7
    with pytest.raises(LookupError, match="no mapping called 'other' \\(saved mappings: wide\\)"):
        load_mapping("other")


def test_cli_saves_a_mapping_and_ingests_a_file(home, tmp_path, dash_app):
    spec = tmp_path / "mapping.json"
    spec.write_text(json.dumps({"layout": "wide", "time": {"column": "time"},
                                "columns": [{"column": "Verbrauch", "series": "load", "quantity": "load",
                                             "unit": "kWh"}]}), encoding="utf-8")
    data = tmp_path / "data.csv"
    data.write_text("time,Verbrauch\n2024-06-01T00:00:00Z,0.5\n2024-06-01T00:15:00Z,-1\n", encoding="utf-8")
    runner = dash_app.server.test_cli_runner()
    saved = runner.invoke(args=["mapping-save", "meter-export", str(spec)])
    assert saved.exit_code == 0, saved.output
    result = runner.invoke(args=["ingest", str(data), "--mapping", "meter-export", "--household", str(home)])
    assert result.exit_code == 0, result.output
    assert "received 2, inserted 1, updated 0, unchanged 0, rejected 1" in result.output
    assert "line 3, value: value -1 kWh is negative" in result.output
    missing = runner.invoke(args=["ingest", str(data), "--mapping", "nope"])
    assert missing.exit_code != 0
    assert "no mapping called 'nope'" in missing.output
