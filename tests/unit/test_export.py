"""Spreadsheet-safe exports: formula neutralisation and CSV text."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from components.downloads import send_csv
from services.export import frame_to_csv, neutralise_cell, neutralise_frame


@pytest.mark.parametrize("text", ["=1+1", "+SUM(A1)", "-2+3", "@cmd", "\tx", "\rx", "=HYPERLINK(\"http://x\")"])
def test_text_a_spreadsheet_would_evaluate_gets_an_apostrophe(text):
    assert neutralise_cell(text) == "'" + text


@pytest.mark.parametrize("value", ["Huber", "a=b", "", 3.5, -3.5, 0, None])
def test_other_values_are_unchanged(value):
    assert neutralise_cell(value) == value


def test_frame_neutralises_text_and_headers_but_keeps_negative_numbers():
    frame = pd.DataFrame({"name": ["=evil()", "Petersen"], "net_kwh": [-1.5, 2.0], "=col": ["x", "y"]})
    safe = neutralise_frame(frame)
    assert list(safe.columns) == ["name", "net_kwh", "'=col"]
    assert safe["name"].tolist() == ["'=evil()", "Petersen"]
    assert safe["net_kwh"].tolist() == [-1.5, 2.0]
    assert frame["name"].iloc[0] == "=evil()"  # the input is not modified


def test_csv_round_trips_numbers_and_times():
    ts = pd.date_range("2026-06-01", periods=2, freq="h", tz="UTC")
    frame = pd.DataFrame({"ts": ts, "pv_kwh": [0.125, 1.5], "note": ["-x", "ok"]})
    back = pd.read_csv(io.StringIO(frame_to_csv(frame)))
    assert back["pv_kwh"].tolist() == [0.125, 1.5]
    assert back["ts"].iloc[0] == "2026-06-01T00:00:00+0000"
    assert back["note"].tolist() == ["'-x", "ok"]


def test_send_csv_payload_names_the_file_and_carries_the_text():
    payload = send_csv(pd.DataFrame({"a": ["=1"]}), "x.csv")
    assert payload["filename"] == "x.csv"
    assert payload["content"].splitlines() == ["a", "'=1"]


@pytest.mark.parametrize(("text", "safe"), [
    ("Huber;=HYPERLINK(\"http://x\")", "Huber;'=HYPERLINK(\"http://x\")"),  # a ;-reader starts a cell at ;
    ("a,+1", "a,'+1"), ("x;@y,-z", "x;'@y,'-z"), ("a; -1", "a; -1"), ("a;b", "a;b"),
])
def test_text_is_neutralised_after_either_separator_too(text, safe):
    assert neutralise_cell(text) == safe


@pytest.mark.parametrize("sep", [",", ";"])
def test_no_cell_of_either_reader_starts_a_formula(sep):
    frame = pd.DataFrame({"name": ["Huber;=1+1", "Kim,@SUM(A1)", "=2"], "kwh": [-1.5, 2.25, 3.0]})
    text = frame_to_csv(frame, sep=sep)
    for reader_sep in (",", ";"):  # the file read by a spreadsheet of either locale, quotes ignored
        cells = [cell for line in text.splitlines() for cell in line.replace('"', "").split(reader_sep)]
        assert not [c for c in cells if c.startswith(("=", "+", "@", "\t", "\r"))], (reader_sep, cells)
    back = pd.read_csv(io.StringIO(text), sep=sep, decimal="." if sep == "," else ",")
    assert back["kwh"].tolist() == [-1.5, 2.25, 3.0]  # numbers stay numbers, negative ones too
    assert back["name"].tolist() == ["Huber;'=1+1", "Kim,'@SUM(A1)", "'=2"]


def test_every_csv_the_app_writes_goes_through_services_export():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    writers = ("csv.writer(", "csv.DictWriter(", ".to_csv(", "send_data_frame(")
    offenders = [f"{path.relative_to(root)}: {w}" for folder in ("services", "pages", "components", "api")
                 for path in (root / folder).rglob("*.py") if path.name != "export.py"
                 for w in writers if w in path.read_text(encoding="utf-8")]
    assert not offenders, offenders
