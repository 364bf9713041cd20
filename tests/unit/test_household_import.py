"""CSV import of households: every bad row listed with line and column, and all rows saved or none."""

import pytest

from services.households import create_household, create_tariff, get_household, list_households
from services.households.import_csv import COLUMNS, csv_template, import_households_csv
from services.validation import ValidationProblem

HEADER = "name,timezone,latitude,longitude,tariff,pv_kwp,battery_capacity_kwh,battery_max_charge_kw,battery_max_discharge_kw,battery_soc_min\n"


def problems_of(content) -> list[tuple[int, str, str]]:
    with pytest.raises(ValidationProblem) as caught:
        import_households_csv(content)
    return [(p.line, p.field, p.message) for p in caught.value.problems]


def test_a_good_file_creates_every_household(db_url):
    create_tariff({"name": "Flat 32 ct", "import_price": 0.32})
    content = HEADER + (
        "Alpha,Europe/Berlin,52.5,13.4,flat 32 ct,7.5,10,5,5,0.1\n"
        "\n"  # blank lines are skipped
        "Beta,Europe/Vienna,48.2,16.4,,,,,,\n"
    )
    result = import_households_csv(content.encode("utf-8-sig"))
    assert result.count == 2
    alpha, beta = (get_household(i) for i in result.household_ids)
    assert (alpha.name, alpha.tariff_name, alpha.pv_kwp, alpha.battery.capacity_kwh) == ("Alpha", "Flat 32 ct", 7.5, 10)
    assert (beta.name, beta.pv_systems, beta.battery, beta.tariff_id) == ("Beta", (), None, None)


def test_bad_rows_are_all_listed_and_nothing_is_saved(db_url):
    create_household({"name": "Existing", "timezone": "UTC", "latitude": 0, "longitude": 0})
    content = HEADER + (
        "Good,Europe/Berlin,52.5,13.4,,5,,,,\n"           # line 2
        "Bad tz,Europe/Berln,52.5,13.4,,5,,,,\n"          # line 3
        "Bad soc,Europe/Berlin,52.5,13.4,,5,10,5,5,20\n"  # line 4
        "good,Europe/Berlin,52.5,13.4,,5,,,,\n"           # line 5: same name as line 2
        "existing,UTC,1,1,,,,,,\n"                        # line 6: in the portfolio already
        "No tariff,UTC,1,1,Flat 23,,,,,\n"                # line 7
        "Half battery,UTC,1,1,,,10,,,\n"                  # line 8
    )
    got = problems_of(content)
    assert got == [
        (3, "timezone", "Europe/Berln is not a time zone: did you mean Europe/Berlin?"),
        (4, "battery_soc_min", "Minimum state of charge must be between 0 and 1, got 20: did you mean 0.2?"),
        (5, "name", "good is also on line 2: names must be unique"),
        (6, "name", "A household named existing already exists"),
        (7, "tariff", "There is no tariff named Flat 23: create the tariff first"),
        (8, "battery_max_charge_kw", "Maximum charge power (kW) is required"),
        (8, "battery_max_discharge_kw", "Maximum discharge power (kW) is required"),
    ]
    assert [h.name for h in list_households()] == ["Existing"]


def test_header_problems_are_on_line_one(db_url):
    got = problems_of("name;time zone;latitude;pv_kpw\nA;UTC;1;2\n")
    assert (1, "pv_kpw", "Unknown column pv_kpw: did you mean pv_kwp?") in got
    assert (1, "longitude", "Column longitude is missing: it is required") in got
    assert all(line == 1 for line, _, _ in got)  # rows are not checked against a broken header


def test_semicolons_with_decimal_commas_and_quoted_multiline_notes(db_url):
    content = (
        "Name;Timezone;Latitude;Longitude;PV_kWp;Notes\n"
        'Gamma;Europe/Berlin;52,5;13,4;7,5;"two\nlines"\n'
        "Delta;Europe/Berlin;52,5;13,4;-1;\n"  # line 4: the quoted notes above span lines 2-3
    )
    assert problems_of(content) == [(4, "pv_kwp", "PV peak power must be more than 0 kWp, got -1")]
    assert list_households() == []
    result = import_households_csv(content.replace("-1", "3"))
    gamma = get_household(result.household_ids[0])
    assert (gamma.latitude, gamma.pv_kwp, gamma.notes) == (52.5, 7.5, "two\nlines")


def test_empty_files_say_what_to_do(db_url):
    assert problems_of("") == [(1, "", "The file is empty: start from the template")]
    assert problems_of("name,timezone,latitude,longitude\n") == [(2, "", "The file has a header but no households")]


def test_the_template_imports_as_is(db_url):
    assert csv_template().splitlines()[0].split(",") == list(COLUMNS)
    result = import_households_csv(csv_template())
    home = get_household(result.household_ids[0])
    assert (home.name, home.pv_kwp, home.battery.capacity_kwh, home.battery.soc_max) == ("Example home", 7.5, 10, 1.0)
