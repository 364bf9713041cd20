"""The Reports page (/reports): layout and callbacks called as plain functions, on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import io

import openpyxl
import pytest

from components import ids
from services.jobs import get_job
from tests.dash_tree import find
from tests.unit.test_reports import load_demo


@pytest.fixture
def page(dash_app):
    import pages.reports as page

    return page


def text_of(component) -> str:
    return str(component.to_plotly_json() if hasattr(component, "to_plotly_json") else component)


def test_without_households_or_data_the_page_says_what_to_do(db_url, page):
    assert "No households yet" in text_of(page.layout()) and find(page.layout(), ids.REPORTS_HOUSEHOLDS) is None
    from services.store.db import session_scope
    from tests.factories import add_household

    with session_scope() as session:
        add_household(session, "Quiet home")
    layout = page.layout()
    assert "No energy data yet" in text_of(layout) and "Data page" in text_of(layout)


def test_layout_offers_visible_households_months_and_years(db_url, page):
    homes = load_demo(db_url)
    layout = page.layout()
    households = find(layout, ids.REPORTS_HOUSEHOLDS)
    assert {o["value"] for o in households.options} == set(homes.values()) and len(households.value) == 1
    month = find(layout, ids.REPORTS_MONTH)
    assert [o["value"] for o in month.options] == ["2026-06", "2026-05", "2026-04"] and month.value == "2026-05"
    assert find(layout, ids.REPORTS_YEAR).value == "2026"
    for fmt in ids.REPORTS_FORMATS:
        assert find(layout, ids.reports_button(fmt)) is not None
    assert page.show_period_fields("year") == ({"display": "none"}, {}, {"display": "none"})


def test_one_household_downloads_directly_and_many_go_to_the_background(db_url, page):
    homes = load_demo(db_url)
    status, one, many = page.plan_request("xlsx", [homes["Huber"]], "month", "2026-05", None, None, None)
    assert one["households"] == [homes["Huber"]] and one["fmt"] == "xlsx" and many is page.no_update
    download, message = page.build_one(one)
    assert download["filename"] == f"energy-report_huber-family-schwabing-{homes['Huber']}_2026-05.xlsx"
    book = openpyxl.load_workbook(io.BytesIO(base64.b64decode(download["content"])))
    assert book["KPIs"]["A2"].value == "Huber family, Schwabing"
    assert "Ready" in text_of(message)

    status, one, many = page.plan_request("csv", list(homes.values()), "custom", None, None,
                                          "2026-05-03", "2026-05-09T00:00:00")
    assert one is page.no_update and many["start"] == "2026-05-03" and many["end"] == "2026-05-09"
    progress = []
    stored, message = page.build_many(progress.append, many)
    download = page.send_many(stored)  # the file waits in the store, the job's result names it
    assert download["filename"] == "energy-data_3-households_2026-05-03_2026-05-09.zip"
    assert get_job(stored["job_id"]).result_file_id == stored["file_id"]
    assert progress[-1][0] == 100 and "Writing file" in progress[-1][1]
    assert "3 households" in text_of(message)


def test_bad_choices_are_messages(db_url, page):
    homes = load_demo(db_url)
    for households, kind, month, start, end, expected in (
        ([], "month", "2026-05", None, None, "Choose at least one household"),
        (None, "month", "2026-05", None, None, "Choose at least one household"),
        ([homes["Müller"]], "month", None, None, None, "Choose a month"),
        ([homes["Müller"]], "custom", None, "2026-05-03", None, "first and a last day"),
        ([99999], "month", "2026-05", None, None, "not available any more"),
    ):
        status, one, many = page.plan_request("pdf", households, kind, month, None, start, end)
        assert expected in text_of(status) and one is page.no_update and many is page.no_update

    _, one, _ = page.plan_request("pdf", [homes["Müller"]], "month", "2026-03", None, None, None)
    download, message = page.build_one(one)  # a month without data
    assert download is page.no_update and "has no data in March 2026" in text_of(message)
    download, message = page.build_one({**one, "households": [99999]})  # a forged request
    assert download is page.no_update and "not available any more" in text_of(message)
    stored, message = page.build_many(lambda _: None, {**one, "start": "yesterday"})
    assert stored is page.no_update and "Choose the period again" in text_of(message)


def test_select_all_and_none_are_the_visible_households(db_url, page, monkeypatch):
    homes = load_demo(db_url)
    monkeypatch.setattr(page, "ctx", type("Ctx", (), {"triggered_id": ids.REPORTS_SELECT_ALL})())
    assert sorted(page.select_households(1, None)) == sorted(homes.values())
    monkeypatch.setattr(page, "ctx", type("Ctx", (), {"triggered_id": ids.REPORTS_SELECT_NONE})())
    assert page.select_households(1, 1) == []
