"""Text and ids checked where they arrive: control characters refused with the field named, ids from
the browser re-checked, and names escaped where Plotly would render them as HTML."""

from __future__ import annotations

import pandas as pd
import pytest
from dash.exceptions import PreventUpdate

from components.figures.portfolio import household_map_figure
from components.figures.quality import gap_timeline_figure
from services.access import browser_id, visible_household_id
from services.households.inputs import HouseholdInput
from services.text_checks import printable, text_problem
from services.validation import ValidationProblem, parse_input

HOME = {"name": "Home", "timezone": "Europe/Berlin", "latitude": 52.5, "longitude": 13.4}


@pytest.mark.parametrize(("text", "words"), [
    ("a\x00b", "NUL byte (\\x00) at position 2"), ("\ud800", "lone surrogate (\\ud800)"),
    ("bell\x07", "control character (\\x07) at position 5"), ("a\x9bb", "control character (\\x9b)"),
    ("two\nlines", "control character (\\x0a)"),
])
def test_text_with_characters_a_person_cannot_see_is_refused_with_where(text, words):
    assert words in text_problem(text)


def test_printable_text_passes_and_notes_may_have_line_breaks():
    assert text_problem("Müller-Lüdenscheidt ☀ 5 kWp") is None
    assert text_problem("first line\nsecond\tline\r\n", multiline=True) is None
    assert printable("a\x00b\ud800") == "a\\x00b\\ud800"


@pytest.mark.parametrize(("field", "value"), [("name", "Huber\x1b[31m"), ("name", "Huber\x00"),
                                              ("notes", "ok\x07"), ("timezone", "Europe/Berlin\x00")])
def test_a_household_with_a_control_character_is_refused_naming_the_field(field, value):
    with pytest.raises(ValidationProblem) as caught:
        parse_input(HouseholdInput, {**HOME, field: value})
    assert field in caught.value.by_field()
    if field != "timezone":
        assert "remove it" in caught.value.by_field()[field]


def test_a_device_name_with_a_control_character_is_refused(db_url):
    from services.households import create_household
    from services.iot import create_device

    home = create_household(HOME)
    with pytest.raises(ValidationProblem) as caught:
        create_device(home, kind="meter", name="Meter\x07")
    assert "control character" in caught.value.by_field()["name"]


@pytest.mark.parametrize(("value", "expected"), [
    (7, 7), ("7", 7), (" 12 ", 12), (True, None), (False, None), (1.0, None), ("1.5", None), ("1; drop", None),
    ({"a": 1}, None), ([1], None), (None, None), (0, None), (-3, None), (2**31, None), ("٣", None),
])
def test_ids_from_the_browser_are_whole_numbers_in_range_or_nothing(value, expected):
    assert browser_id(value) == expected


def test_a_visible_household_id_must_exist(db_url):
    from services.households import create_household

    home = create_household(HOME)
    assert visible_household_id(str(home)) == home
    assert visible_household_id(home + 1) is None
    assert visible_household_id(True) is None


EVIL = '<a href="https://evil.example">Huber</a><img src=x onerror=alert(1)>'


def test_household_names_reach_the_map_hover_escaped():
    frame = pd.DataFrame({"household_id": [1], "name": [EVIL], "latitude": [52.5], "longitude": [13.4],
                          "pv_kwh": [10.0]})
    fig = household_map_figure(frame, "pv_kwh", "PV", "kWh", "light")
    (text,) = fig.data[0].text
    assert "<" not in text and text.startswith("&lt;a href=")


def test_series_names_reach_the_quality_timeline_escaped():
    start = pd.Timestamp("2026-06-01", tz="UTC")
    spans = pd.DataFrame({"series": [EVIL], "kind": ["gap"], "start": [start], "end": [start + pd.Timedelta("1h")],
                          "label": ["<b>1 h</b>"]})
    fig = gap_timeline_figure(spans, "Europe/Berlin", "light")
    assert "<" not in fig.data[0].y[0] and "<" not in fig.data[0].customdata[0][0]


def test_ids_the_browser_sends_back_to_pages_are_checked(dash_app, db_url):
    from pages.overview import open_household_from_map
    from pages.reports import ReportInputError, visible_choice
    from services.households import create_household

    home = create_household(HOME)
    assert open_household_from_map({"points": [{"customdata": [home, "10 kWh"]}]}) == f"/household/{home}"
    with pytest.raises(PreventUpdate):
        open_household_from_map({"points": [{"customdata": [True, "10 kWh"]}]})
    assert visible_choice([home, str(home)]) == [home]
    for chosen in ([True], [{"id": home}], [1.5], "1"):
        with pytest.raises(ReportInputError, match="Choose households from the list"):
            visible_choice(chosen)


def test_a_failed_callback_tells_the_person_what_to_do():
    from components.callback_errors import error_message
    from services.validation import FieldProblem

    assert "reference ab12" in error_message(TypeError("int() argument"), "ab12")
    assert "Reload the page" in error_message(TypeError("int() argument"), "ab12")
    refused = error_message(ValidationProblem([FieldProblem("name", "Name must not be empty")]), "cd34")
    assert refused.startswith("name: Name must not be empty") and "cd34" in refused
