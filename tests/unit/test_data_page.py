"""The Data page's callbacks, called as plain functions against a real store on each backend."""

from __future__ import annotations

import base64
from datetime import date

import pytest

from components import ids
from components.data_forms import column_rows, form_from_spec, guess_quantity, guess_time_column, mapping_spec
from services.households import create_household
from services.ingestion.history import list_batches, quantity_units
from services.ingestion.mapping import mapping_names
from services.iot import create_device, device_for_stream, list_devices
from services.jobs import read_file
from tests.dash_tree import find

CSV = "time;Verbrauch;pv_kwh\n" + "".join(
    f"2025-05-01T{h:02d}:00:00+02:00;0,{20 + h};{f'{h - 6},5' if h >= 6 else '0'}\n" for h in range(12)
) + "2025-05-01T12:00:00+02:00;-3;0\n"


@pytest.fixture
def page(dash_app):
    import pages.data as page

    return page


@pytest.fixture
def home(db_url) -> int:
    return create_household({"name": "Page Home", "timezone": "Europe/Berlin", "latitude": 48.1,
                             "longitude": 11.6, "pv_systems": [{"kwp": 6.0}]})


def upload(text: str | bytes, mime: str = "text/csv") -> str:
    data = text.encode() if isinstance(text, str) else text
    return f"data:{mime};base64," + base64.b64encode(data).decode()


def form(home: int, **change) -> dict:
    values = {"name": "page test", "household": str(home), "layout": "wide", "time_source": "column",
              "ts_column": "time", "ts_format": "", "timezone": "", "start": "", "step": None,
              "series_column": None, "value_column": None}
    return {**values, **change}


def mapped_columns() -> tuple[list[str], dict[str, list]]:
    keys = ["Verbrauch", "pv_kwh"]
    columns = {"use": [True, True], "series": ["load", "pv"], "quantity": ["load", "pv"], "unit": ["kWh", "kWh"],
               "scale": [1, 1], "per_kwp": [False, False]}
    return keys, columns


# --- layout and empty states -----------------------------------------------------------------


def test_an_empty_store_shows_empty_states(db_url, page):
    layout = page.layout()
    assert find(layout, ids.DATA_BATCHES_EMPTY).style == {}
    assert find(layout, f"{ids.DATA_BATCHES_GRID}-wrap").style == {"display": "none"}
    assert find(layout, ids.DATA_DEVICES_EMPTY).style == {}
    assert "No households yet" in str(layout)
    assert find(layout, ids.DATA_INGEST).disabled is True


# --- upload, preview, mapping ------------------------------------------------------------------


def test_an_upload_is_previewed_and_its_columns_offered(db_url, page):
    out = page.preview_upload(upload(CSV), "meter.csv")
    file_id = out["file"].pop("file_id")
    assert out["file"] == {"filename": "meter.csv", "columns": ["time", "Verbrauch", "pv_kwh"], "kind": "csv"}
    assert read_file(file_id).content == CSV.encode()  # ingestion gets the file from the store, by id
    assert out["ts_column"] == "time" and out["time_source"] == "column" and out["ingest_disabled"] is False
    assert "separator ';', decimal ','" in str(out["preview"]) and "0,20" in str(out["preview"])
    table, keys = page.mapping_rows(out["file"], "wide", None, "time", "column", None, None, upload(CSV),
                                    quantity_units())
    assert keys == ["Verbrauch", "pv_kwh"]
    assert "pv_kwh" in str(table)


def test_a_file_over_the_limit_is_refused_with_a_clear_message(db_url, page, monkeypatch):
    monkeypatch.setattr(page, "MAX_UPLOAD_MB", 0.0001)
    out = page.preview_upload(upload(CSV), "big.csv")
    assert out["alert_open"] and out["alert_color"] == "danger" and out["ingest_disabled"]
    assert "more than the 0.0001 MB" in out["alert"] and "flask --app app ingest big.csv" in out["alert"]


def test_an_unknown_file_type_is_refused(db_url, page):
    out = page.preview_upload(upload("hello", "text/plain"), "notes.docx")
    assert out["alert_open"] and "not a file type we read" in out["alert"]


def test_long_files_list_their_series_as_rows(db_url, page):
    text = "ts,name,value\n2025-05-01T00:00Z,kitchen_temp,21\n2025-05-01T00:00Z,load,0.3\n"
    file = page.preview_upload(upload(text), "long.csv")["file"]
    _, keys = page.mapping_rows(file, "long", "name", "ts", "column", "value", None, upload(text), quantity_units())
    assert keys == ["kitchen_temp", "load"]


def test_guesses_a_person_then_confirms():
    quantities = quantity_units()
    assert guess_quantity("PV Ertrag", quantities) == "pv"
    assert guess_quantity("grid_export_kwh", quantities) == "grid_export"
    assert guess_quantity("Verbrauch", quantities) == "other"
    assert guess_time_column(["Zeitpunkt", "value"]) == "Zeitpunkt"
    assert guess_time_column(["a", "b"]) is None
    rows = column_rows(["Solar", "Room temperature"], quantities)
    assert [(r["series"], r["quantity"], r["unit"]) for r in rows] == [
        ("pv", "pv", "kWh"), ("room_temperature", "temperature", "degC")]


def test_mapping_spec_round_trips_through_the_form(home):
    keys, columns = mapped_columns()
    spec = mapping_spec(form(home, time_source="start", start="2016-07-31T23:00:00-08:00", step="3600"),
                        keys, columns)
    assert spec["time"] == {"start": "2016-07-31T23:00:00-08:00", "step_s": 3600}
    assert [c["series"] for c in spec["columns"]] == ["load", "pv"]
    back = form_from_spec(spec)
    assert (back["time_source"], back["start"], back["step"], back["household"]) == \
        ("start", "2016-07-31T23:00:00-08:00", 3600, str(home))
    columns["use"][0] = False
    assert [c["column"] for c in mapping_spec(form(home), keys, columns)["columns"]] == ["pv_kwh"]


def test_save_and_reuse_a_mapping(page, home):
    keys, columns = mapped_columns()
    refused = page.save_current_mapping(1, form(home, name=""), columns, keys)
    assert "Give the mapping a name" in refused["alert"]["children"]
    bad = page.save_current_mapping(1, form(home, ts_column=None), columns, keys)
    assert bad["alert"]["color"] == "danger" and mapping_names() == []
    saved = page.save_current_mapping(1, form(home), columns, keys)
    assert saved["alert"]["color"] == "success" and saved["saved"] == [{"label": "page test", "value": "page test"}]
    loaded = page.use_saved_mapping(1, "page test")
    assert loaded["form"]["household"] == str(home) and loaded["form"]["ts_column"] == "time"
    assert [c["series"] for c in loaded["loaded"]["columns"]] == ["load", "pv"]
    missing = page.use_saved_mapping(1, "nope")
    assert missing["alert"]["color"] == "warning" and "no mapping called 'nope'" in missing["alert"]["children"]


# --- ingestion, report, history ------------------------------------------------------------------


def test_ingest_reports_the_batch_and_lists_it(page, home):
    keys, columns = mapped_columns()
    progress = []
    file = page.preview_upload(upload(CSV), "meter.csv")["file"]  # keeps the file in the store, by id
    out = page.ingest_upload(progress.append, 1, form(home), columns, keys, file)
    summary = str(out["report"])
    assert "received 26, inserted 25, updated 0, unchanged 0, rejected 1" in summary
    assert "negative" in summary and "The valid rows are stored" in summary
    assert progress[0] == (0, "reading") and progress[-1] == (100, "done")
    rows = out["history"]["rows"]
    assert rows[0]["source"] == "meter.csv" and rows[0]["rejected"] == 1
    assert out["history"]["grid_style"] == {} and out["history"]["empty_style"] == {"display": "none"}

    again = page.ingest_upload(progress.append, 2, form(home), columns, keys, file)
    assert "inserted 0, updated 0, unchanged 25, rejected 1" in str(again["report"])

    batch_id = list_batches()[0].id
    assert page.enable_rejections_download([{"id": batch_id, "rejected": 1}]) is False
    assert page.enable_rejections_download([{"id": batch_id, "rejected": 0}]) is True
    download = page.download_rejections(1, [{"id": batch_id}])
    assert download["filename"] == f"batch-{batch_id}-rejected.csv"
    lines = download["content"].splitlines()
    assert lines[0] == "line,field,reason,raw" and len(lines) == 2 and lines[1].startswith("14,value,")


def test_ingest_with_an_invalid_mapping_says_what_to_fix_and_stores_nothing(page, home):
    keys, columns = mapped_columns()
    columns["unit"][0] = "furlongs"
    file = page.preview_upload(upload(CSV), "meter.csv")["file"]
    out = page.ingest_upload(lambda _: None, 1, form(home), columns, keys, file)
    assert out["alert"]["color"] == "danger" and "furlongs" in str(out["alert"]["children"])
    assert list_batches() == []


# --- data quality and devices --------------------------------------------------------------------


def test_quality_of_a_household_with_a_gap(page, db_url):
    from services.demo import load_demo_portfolio

    load_demo_portfolio(n_households=2, seed=7, end=date(2025, 7, 1), days=21, url=db_url)
    households = {o["label"]: o["value"] for o in page._household_options()}
    summary, figure, issues = page.show_quality(households["Huber family, Schwabing"], "dark", None)
    assert "gaps" in str(summary) and any(i["kind"] == "gap" for i in issues)
    kinds = {trace.name for trace in figure.data}
    assert kinds == {"Readings", "Gap (missing readings)"}
    assert figure.layout.template.layout.font.color == "#dee2e6"  # themed: dark mode, light text
    clean = page.show_quality(households["Müller family, Pankow"], "light", None)
    assert clean[2] == [] and "0 gaps" in str(clean[0])
    assert page.show_quality(None, "light", None)[2] == []


def test_devices_needing_review_can_be_confirmed(page, home):
    create_device(home, kind="meter", name="Main meter")
    stream = device_for_stream(home, "inv-9", "pv")
    rows = {r["name"]: r for r in page.device_rows(list_devices([home]))}
    assert rows["inv-9"]["review"] == "needs review" and rows["Main meter"]["review"] == "confirmed"
    assert page.enable_confirm([rows["inv-9"]]) is False and page.enable_confirm([rows["Main meter"]]) is True
    new_rows, is_open, message, color = page.confirm_selected_device(1, [rows["inv-9"]])
    assert is_open and color == "success" and "confirmed" in message
    assert {r["name"]: r["review"] for r in new_rows}["inv-9"] == "confirmed"
    assert [d.needs_review for d in list_devices([home]) if d.id == stream.id] == [False]
