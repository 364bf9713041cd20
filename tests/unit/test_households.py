"""The household service on SQLite and PostgreSQL: round trips, cascades, and nothing half-saved."""

from datetime import datetime, timezone

import pytest
import sqlalchemy as sa

from services.households import (
    HouseholdNotFound,
    create_household,
    create_tariff,
    delete_household,
    get_household,
    household_ids_by_name,
    list_households,
    list_tariffs,
    update_household,
)
from services.store.db import session_scope
from services.store.models import Battery, Household, PVSystem, Reading, Series, Tariff, TariffPeriod, TariffPrice
from services.validation import ValidationProblem

HOME = {
    "name": "Sonnenhof", "timezone": "Europe/Berlin", "latitude": 52.52, "longitude": 13.40,
    "pv_systems": [{"kwp": 7.5, "tilt_deg": 35, "azimuth_deg": 170}, {"name": "Garage", "kwp": 2.5}],
    "battery": {"capacity_kwh": 10, "max_charge_kw": 5, "max_discharge_kw": 4.5},
}


def counts() -> dict[str, int]:
    with session_scope() as s:
        return {model.__name__: s.scalar(sa.select(sa.func.count()).select_from(model))
                for model in (Household, PVSystem, Battery, Tariff, TariffPeriod, TariffPrice)}


def test_create_read_update_delete_round_trip(db_url):
    tariff_id = create_tariff({"name": "Flat 32 ct", "import_price": 0.32, "export_price": 0.08})
    hid = create_household({**HOME, "tariff_id": tariff_id})

    detail = get_household(hid)
    assert (detail.name, detail.timezone, detail.latitude, detail.longitude) == ("Sonnenhof", "Europe/Berlin", 52.52, 13.4)
    assert [(p.name, p.kwp, p.tilt_deg, p.azimuth_deg) for p in detail.pv_systems] == [
        ("Roof", 7.5, 35, 170), ("Garage", 2.5, 30, 180)]
    assert detail.pv_kwp == 10.0
    assert (detail.battery.capacity_kwh, detail.battery.max_discharge_kw, detail.battery.soc_min) == (10, 4.5, 0.1)
    assert detail.tariff_name == "Flat 32 ct"
    assert detail.created_at.tzinfo is not None

    [summary] = list_households()
    assert (summary.id, summary.pv_kwp, summary.battery_kwh, summary.tariff_name) == (hid, 10.0, 10.0, "Flat 32 ct")

    first_pv_id = detail.pv_systems[0].id
    changed = detail.to_input().model_copy(update={
        "name": "Sonnenhof II", "pv_systems": detail.to_input().pv_systems[:1], "battery": None, "tariff_id": None})
    update_household(hid, changed)
    after = get_household(hid)
    assert after.name == "Sonnenhof II" and after.battery is None and after.tariff_name is None
    assert [p.id for p in after.pv_systems] == [first_pv_id]  # updated in place, the second removed
    assert counts()["PVSystem"] == 1 and counts()["Battery"] == 0

    delete_household(hid)
    assert list_households() == []
    with pytest.raises(HouseholdNotFound):
        get_household(hid)


def test_delete_cascades_to_pv_battery_series_and_readings(db_url):
    hid = create_household(HOME)
    other = create_household({**HOME, "name": "Neighbour"})
    with session_scope() as s:
        series = Series(household_id=hid, quantity="load", unit="kWh", name="load", resolution_s=900)
        s.add(series)
        s.flush()
        s.add(Reading(series_id=series.id, ts=datetime(2025, 1, 1, tzinfo=timezone.utc), value=0.3))
    delete_household(hid)
    assert counts()["PVSystem"] == 2 and counts()["Battery"] == 1  # the neighbour's remain
    with session_scope() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Series)) == 0
        assert s.scalar(sa.select(sa.func.count()).select_from(Reading)) == 0
    assert [h.id for h in list_households()] == [other]


def test_invalid_battery_saves_nothing(db_url):
    before = counts()
    with pytest.raises(ValidationProblem) as caught:
        create_household({**HOME, "battery": {**HOME["battery"], "discharge_efficiency": 95}})
    assert caught.value.by_field() == {
        "battery.discharge_efficiency": "Discharge efficiency must be between 0 and 1, got 95: did you mean 0.95?"}
    assert counts() == before


def test_a_household_saved_before_a_rule_can_still_be_opened(db_url):
    hid = create_household(HOME)
    with session_scope() as s:  # as if saved by an older version that allowed percentages
        s.scalars(sa.select(Battery).where(Battery.household_id == hid)).one().charge_efficiency = 95
    raw = get_household(hid).to_input().model_dump()
    assert raw["battery"]["charge_efficiency"] == 95
    with pytest.raises(ValidationProblem, match="did you mean 0.95"):
        update_household(hid, raw)


def test_invalid_update_changes_nothing(db_url):
    hid = create_household(HOME)
    before = get_household(hid)
    with pytest.raises(ValidationProblem):
        update_household(hid, {**HOME, "name": "Renamed", "pv_systems": [{"kwp": -1}]})
    assert get_household(hid) == before


def test_duplicate_name_is_refused_even_in_other_case(db_url):
    create_household(HOME)
    for name in ("Sonnenhof", "sonnenhof"):
        with pytest.raises(ValidationProblem) as caught:
            create_household({**HOME, "name": name})
        assert caught.value.by_field()["name"].startswith(f"A household named {name} already exists")
    assert len(list_households()) == 1
    second = create_household({**HOME, "name": "Other"})
    with pytest.raises(ValidationProblem):
        update_household(second, {**HOME, "name": "SONNENHOF"})
    update_household(second, {**HOME, "name": "Other"})  # keeping its own name is fine
    assert household_ids_by_name(["sonnenhof", "Nobody"]) == {"sonnenhof": list_households()[1].id}


def test_unknown_tariff_and_unknown_household(db_url):
    with pytest.raises(ValidationProblem, match="Tariff 999 does not exist"):
        create_household({**HOME, "tariff_id": 999})
    assert counts()["Household"] == 0
    with pytest.raises(HouseholdNotFound):
        update_household(12345, HOME)
    with pytest.raises(HouseholdNotFound):
        delete_household(12345)


def test_list_households_by_id_and_without_pv(db_url):
    a = create_household({**HOME, "name": "B home", "pv_systems": [], "battery": None})
    b = create_household({**HOME, "name": "A home"})
    assert [h.name for h in list_households()] == ["A home", "B home"]
    [only] = list_households([a])
    assert (only.id, only.pv_kwp, only.battery_kwh) == (a, 0.0, None)
    assert [h.id for h in list_households([a, b])] == [b, a]


def test_tariffs_of_each_kind(db_url):
    tou = create_tariff({"name": "TOU", "kind": "tou", "currency": "usd", "import_price": 0.21,
                         "periods": [{"start_minute": 900, "end_minute": 1200, "weekdays": 0b0011111,
                                      "import_price": 0.5}]})
    dyn = create_tariff({"name": "Spot", "kind": "dynamic", "import_price": 0.3, "prices": [
        {"ts": datetime(2025, 1, 1, h, tzinfo=timezone.utc), "import_price": 0.1 * h} for h in range(3)]})
    create_household({**HOME, "tariff_id": tou})
    listed = {t.name: t for t in list_tariffs()}
    assert (listed["TOU"].kind, listed["TOU"].currency, listed["TOU"].household_count) == ("tou", "USD", 1)
    assert listed["Spot"].household_count == 0
    with session_scope() as s:
        period = s.scalars(sa.select(TariffPeriod).where(TariffPeriod.tariff_id == tou)).one()
        assert (period.start_minute, period.end_minute, period.weekdays, period.import_price) == (900, 1200, 31, 0.5)
        prices = s.execute(sa.select(TariffPrice.ts, TariffPrice.import_price)
                           .where(TariffPrice.tariff_id == dyn).order_by(TariffPrice.ts)).all()
    assert [p for _, p in prices] == pytest.approx([0.0, 0.1, 0.2])
    assert prices[1][0] == datetime(2025, 1, 1, 1, tzinfo=timezone.utc)
    with pytest.raises(ValidationProblem, match="A tariff named tou already exists"):
        create_tariff({"name": "tou", "import_price": 0.3})
