"""The Households page's callbacks, called as plain functions against a real store on each backend."""

import base64

import pytest

from components import ids
from components.household_form import FIELD_PATHS
from services.households import create_household, create_tariff, get_household, list_households
from tests.dash_tree import find


@pytest.fixture
def page(dash_app):
    import pages.households as page

    return page


def form_for_new(page) -> dict:
    opened = page.open_new_form(1)
    assert opened["is_open"] is True and opened["editing"] is None
    return opened


def upload(text: str) -> str:
    return "data:text/csv;base64," + base64.b64encode(text.encode()).decode()


def test_empty_portfolio_shows_the_empty_state(db_url, page):
    layout = page.layout()
    assert page.EMPTY_MESSAGE in str(find(layout, ids.HOUSEHOLDS_EMPTY))
    assert find(layout, ids.HOUSEHOLDS_EMPTY).style == page.SHOWN
    assert find(layout, ids.HOUSEHOLDS_GRID_WRAP).style == page.HIDDEN


def test_a_filled_portfolio_shows_the_grid_in_natural_order(db_url, page):
    for name in ("Home 10", "Home 2", "apartment 1"):
        create_household({"name": name, "timezone": "UTC", "latitude": 0, "longitude": 0})
    layout = page.layout()
    assert find(layout, ids.HOUSEHOLDS_EMPTY).style == page.HIDDEN
    assert [r["name"] for r in find(layout, ids.HOUSEHOLDS_GRID).rowData] == ["apartment 1", "Home 2", "Home 10"]


def test_create_through_the_form_appears_in_the_table(db_url, page):
    tariff_id = create_tariff({"name": "Flat 32 ct", "import_price": 0.32})
    opened = form_for_new(page)
    assert [o["value"] for o in opened["tariffs"]] == [tariff_id]
    values = dict(opened["values"])
    assert values["pv_systems.0.tilt_deg"] == 30 and values["battery.charge_efficiency"] == 0.95
    values.update({"name": "  Sonnenhof ", "timezone": "Europe/Berlin", "latitude": 52.5, "longitude": 13.4,
                   "tariff_id": tariff_id, "pv_systems.0.kwp": 7.5, "battery.capacity_kwh": 10,
                   "battery.max_charge_kw": 5, "battery.max_discharge_kw": 5})

    out = page.save_household(1, None, values, True, True)

    assert out["is_open"] is False
    assert out["page_alert"] == {"is_open": True, "color": "success", "children": "Household Sonnenhof created."}
    [row] = out["table"]["rows"]
    assert row["name"] == "Sonnenhof" and row["pv_kwp"] == 7.5 and row["battery_kwh"] == 10
    assert row["tariff"] == "Flat 32 ct" and row["details"] == f"[Open](/household/{row['id']})"
    assert out["table"]["grid_style"] == page.SHOWN and out["table"]["empty_style"] == page.HIDDEN


def test_problems_are_shown_next_to_their_fields_and_nothing_is_saved(db_url, page):
    values = dict(form_for_new(page)["values"])
    values.update({"name": "Bad", "timezone": "Europe/Berlin", "latitude": 52.5, "longitude": 13.4,
                   "pv_systems.0.kwp": 5, "battery.capacity_kwh": 10, "battery.max_charge_kw": 5,
                   "battery.max_discharge_kw": 5, "battery.charge_efficiency": 95, "battery.soc_min": 10})

    out = page.save_household(1, None, values, True, True)

    assert out["is_open"] is True
    assert {p for p, bad in out["invalid"].items() if bad} == {"battery.charge_efficiency", "battery.soc_min"}
    assert out["feedback"]["battery.charge_efficiency"].endswith("got 95: did you mean 0.95?")
    assert out["feedback"]["name"] is None
    assert out["alert_open"] is True and out["alert_color"] == "danger"
    assert "did you mean 0.1?" in str(out["alert"])  # listed too, in case the field is scrolled away
    assert list_households() == []


def test_switching_the_battery_off_ignores_its_fields(db_url, page):
    values = dict(form_for_new(page)["values"])
    values.update({"name": "No battery", "timezone": "UTC", "latitude": 1, "longitude": 2,
                   "pv_systems.0.kwp": None, "battery.charge_efficiency": 95})
    out = page.save_household(1, None, values, False, False)
    assert out["is_open"] is False
    home = get_household(out["table"]["rows"][0]["id"])
    assert home.battery is None and home.pv_systems == ()


def test_edit_prefills_and_keeps_what_the_form_does_not_show(db_url, page):
    hid = create_household({"name": "Two roofs", "timezone": "Europe/Vienna", "latitude": 48.2, "longitude": 16.4,
                            "notes": "gate code 1234", "pv_systems": [{"kwp": 6}, {"name": "Carport", "kwp": 3}],
                            "battery": {"capacity_kwh": 8, "max_charge_kw": 4, "max_discharge_kw": 4}})
    row = page.table_rows()[0]
    opened = page.open_edit_form(1, [row])
    assert opened["editing"] == hid and opened["title"] == "Edit Two roofs"
    assert opened["values"]["pv_systems.0.kwp"] == 6 and opened["values"]["battery.capacity_kwh"] == 8
    assert opened["has_battery"] is True and "keeps the others" in opened["alert"]

    values = {**opened["values"], "name": "Two roofs (renovated)", "pv_systems.0.kwp": 6.5}
    out = page.save_household(1, hid, values, True, True)

    assert out["page_alert"]["children"] == "Household Two roofs (renovated) saved."
    home = get_household(hid)
    assert [p.kwp for p in home.pv_systems] == [6.5, 3] and home.notes == "gate code 1234"
    assert out["table"]["rows"][0]["pv_kwp"] == 9.5


def test_duplicate_name_is_marked_on_the_name_field(db_url, page):
    create_household({"name": "Taken", "timezone": "UTC", "latitude": 0, "longitude": 0})
    values = {**form_for_new(page)["values"], "name": "taken", "latitude": 0, "longitude": 0, "pv_systems.0.kwp": 4}
    out = page.save_household(1, None, values, True, False)
    assert out["invalid"]["name"] is True
    assert out["feedback"]["name"].startswith("A household named taken already exists")


def test_delete_asks_then_removes(db_url, page):
    create_household({"name": "Gone soon", "timezone": "UTC", "latitude": 0, "longitude": 0})
    row = page.table_rows()[0]
    is_open, text = page.ask_delete(1, [row])
    assert is_open is True and "Delete Gone soon" in text
    out = page.confirm_delete(1, [row])
    assert out["confirm_open"] is False and out["page_alert"]["children"] == "Household Gone soon deleted."
    assert out["table"]["rows"] == [] and out["table"]["empty_style"] == page.SHOWN
    assert list_households() == []


def test_csv_upload_imports_all_or_reports_every_problem(db_url, page):
    good = "name,timezone,latitude,longitude,pv_kwp\nA,Europe/Berlin,52,13,5\nB,Europe/Berlin,52,13,6\n"
    out = page.import_csv(upload(good), "homes.csv")
    assert out["page_alert"]["children"] == "Imported 2 households from homes.csv."
    assert [r["name"] for r in out["table"]["rows"]] == ["A", "B"]

    bad = "name,timezone,latitude,longitude,pv_kwp\nC,Europe/Berln,52,13,5\nD,UTC,95,13,5\n"
    out = page.import_csv(upload(bad), "more.csv")
    assert out["page_alert"]["color"] == "danger"
    text = str(out["page_alert"]["children"])
    assert "Nothing was imported from more.csv: 2 problems to fix." in text
    assert "did you mean Europe/Berlin?" in text and "Latitude must be between -90 and 90" in text
    assert [h.name for h in list_households()] == ["A", "B"]


def test_template_download_and_form_ids(dash_app, page):
    sent = page.download_template(1)
    assert sent["filename"] == "households_template.csv" and sent["content"].startswith("name,timezone,")
    assert "battery.soc_min" in FIELD_PATHS and "pv_systems.0.kwp" in FIELD_PATHS
