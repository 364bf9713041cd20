"""Import many households from one CSV file: all rows are saved, or none.

One row per household, a header row naming the columns (any order, case and
surrounding spaces ignored). Comma-, semicolon- or tab-separated; with semicolons,
a decimal comma is accepted (``4,5``). UTF-8 (with or without BOM) or Windows-1252.

==============================  ========  ====================================================
column                          required  meaning [unit]
==============================  ========  ====================================================
name                            yes       unique name of the household
timezone                        yes       IANA time zone, e.g. ``Europe/Berlin``
latitude                        yes       degrees north (-90 to 90)
longitude                       yes       degrees east (-180 to 180)
tariff                          no        name of an existing tariff (empty: none)
pv_kwp                          no        PV peak power [kWp]; empty: no PV system
pv_tilt_deg                     no        tilt from horizontal [degrees], default 30
pv_azimuth_deg                  no        clockwise from north [degrees], 180 = south (default)
pv_losses_pct                   no        system losses [%], default 14
pv_inverter_kw                  no        inverter AC limit [kW]; empty: no limit
battery_capacity_kwh            no        usable capacity [kWh]; empty: no battery
battery_max_charge_kw           with bat  maximum charge power [kW]
battery_max_discharge_kw        with bat  maximum discharge power [kW]
battery_charge_efficiency       no        one-way, fraction (0.95 default)
battery_discharge_efficiency    no        one-way, fraction (0.95 default)
battery_soc_min                 no        fraction of capacity (0.1 default)
battery_soc_max                 no        fraction of capacity (1.0 default)
grid_import_limit_kw            no        [kW]; empty: no limit
grid_export_limit_kw            no        [kW]; empty: no limit, 0: no export allowed
export_curtailable              no        yes/no: may PV be curtailed at a negative feed-in price (yes)
notes                           no        free text
==============================  ========  ====================================================

The whole file is checked before anything is saved. Every problem is reported
as (line, column, reason), the header being line 1: a value the household
validation refuses, a name used twice in the file or already in the portfolio,
an unknown tariff, an unknown column. Then all households are created in one
transaction, in the caller's organisation (names and tariffs are those of that organisation),
and recorded as one audit entry ``household.import``. Importing needs role manager.
"""

from __future__ import annotations

import csv
import difflib
import io
import re
from dataclasses import dataclass
from typing import Any

import pandas as pd

from services import access
from services.access import AccessScope
from services.auth import record
from services.equipment import BATTERY, PV
from services.export import frame_to_csv
from services.households import create_household, household_ids_by_name, tariff_ids_by_name
from services.households.inputs import HouseholdInput
from services.store.db import session_scope
from services.validation import FieldProblem, ValidationProblem, number_text, parse_input

#: Ids of the new households an import's audit entry lists at most.
AUDITED_IDS = 100
REQUIRED_COLUMNS = ("name", "timezone", "latitude", "longitude")
#: ``{column: field}`` of the equipment's stored fields (:mod:`services.equipment`); a PV system's name is not imported.
PV_COLUMNS = {f"pv_{f.name}": f.name for f in PV.stored() if f.name != "name"}
BATTERY_COLUMNS = {f"battery_{f.name}": f.name for f in BATTERY.stored()}
OTHER_COLUMNS = ("tariff", "grid_import_limit_kw", "grid_export_limit_kw", "export_curtailable", "notes")
COLUMNS = REQUIRED_COLUMNS + OTHER_COLUMNS[:1] + tuple(PV_COLUMNS) + tuple(BATTERY_COLUMNS) + OTHER_COLUMNS[1:]
TEXT_COLUMNS = ("name", "timezone", "tariff", "export_curtailable", "notes")
MAX_ROWS = 5000


@dataclass(frozen=True)
class ImportResult:
    """What an import saved: the new households' ids, in file order."""

    household_ids: tuple[int, ...]

    @property
    def count(self) -> int:
        return len(self.household_ids)


def csv_template() -> str:
    """A CSV with every column and one example row, to fill in."""
    example = {
        "name": "Example home", "timezone": "Europe/Berlin", "latitude": "52.52", "longitude": "13.40",
        "pv_kwp": "7.5", "battery_capacity_kwh": "10", "battery_max_charge_kw": "5", "battery_max_discharge_kw": "5",
        # the defaults, as a person writes them (angles whole, fractions with their point)
        **{f"pv_{f.name}": number_text(f.default) for f in (PV.tilt_deg, PV.azimuth_deg, PV.losses_pct)},
        **{f"battery_{f.name}": str(f.default) for f in (BATTERY.charge_efficiency, BATTERY.discharge_efficiency,
                                                         BATTERY.soc_min, BATTERY.soc_max)},
    }
    return frame_to_csv(pd.DataFrame([example], columns=list(COLUMNS)).fillna(""))


def import_households_csv(content: str | bytes, *, scope: AccessScope | None = None) -> ImportResult:
    """Check a whole CSV of households (see the module docstring), then save all of them.

    Parameters
    ----------
    content : str or bytes
        The file's text (bytes are decoded as UTF-8, else Windows-1252).

    Returns
    -------
    ImportResult
        The ids of the created households, in file order.

    Raises
    ------
    ValidationProblem
        Nothing saved; ``problems`` has one :class:`FieldProblem` per bad value with ``line``
        (header = line 1) and ``field`` = the column name.
    Forbidden
        The caller's role is below manager (nothing checked or saved).
    """
    scope = access.require_role("manager", scope)
    rows = parse_households_csv(content, scope=scope)
    with session_scope() as session:
        ids = []
        for line, data in rows:
            try:
                ids.append(create_household(data, session=session, scope=scope))
            except ValidationProblem as exc:  # a name taken since the check: still all or nothing
                raise ValidationProblem([_on_line(p, line) for p in exc.problems]) from None
    record(scope, "household.import", "households", None, {"count": len(ids), "ids": ids[:AUDITED_IDS]})
    return ImportResult(tuple(ids))


def parse_households_csv(content: str | bytes, *, scope: AccessScope | None = None) -> list[tuple[int, HouseholdInput]]:
    """Check every row of the file against the organisation's portfolio; ``[(line, HouseholdInput)]``
    when all are good, else raise :class:`ValidationProblem` listing every problem found."""
    text = _decode(content)
    if not text.strip():
        raise ValidationProblem([FieldProblem("", "The file is empty: start from the template", line=1)])
    delimiter = _delimiter(text)
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = [_column_name(c) for c in next(reader)]
    problems = _header_problems(header)
    if problems:
        raise ValidationProblem(problems)

    tariffs = tariff_ids_by_name(scope=scope)
    tariffs_lower = {name.lower(): tid for name, tid in tariffs.items()}
    parsed: list[tuple[int, HouseholdInput]] = []
    first_line_of: dict[str, int] = {}
    line = reader.line_num + 1
    for values in reader:
        start_line, line = line, reader.line_num + 1
        if not any(v.strip() for v in values):
            continue
        if len(parsed) + len(problems) >= MAX_ROWS:
            problems.append(FieldProblem("", f"More than {MAX_ROWS} households: split the file", line=start_line))
            break
        if len(values) > len(header):
            problems.append(FieldProblem(
                "", f"{len(values)} values but {len(header)} columns: is a value missing its quotes?", line=start_line))
            continue
        row = {column: value.strip() for column, value in zip(header, values)}
        raw, row_problems = _household_fields(row, tariffs_lower, tariffs, delimiter == ";")
        key = row.get("name", "").lower()
        if key and key in first_line_of:
            row_problems.append(FieldProblem(
                "name", f"{row['name']} is also on line {first_line_of[key]}: names must be unique"))
        elif key:
            first_line_of[key] = start_line
        if not row_problems:
            try:
                parsed.append((start_line, parse_input(HouseholdInput, raw)))
            except ValidationProblem as exc:
                row_problems = [_to_column(p) for p in exc.problems]
        problems += [_on_line(p, start_line) for p in row_problems]

    taken = household_ids_by_name([data.name for _, data in parsed], scope=scope)
    for line_no, data in parsed:
        if data.name in taken:
            problems.append(FieldProblem("name", f"A household named {data.name} already exists", line=line_no))
    if not parsed and not problems:
        problems.append(FieldProblem("", "The file has a header but no households", line=2))
    if problems:
        raise ValidationProblem(sorted(problems, key=lambda p: (p.line or 0)))
    return parsed


# --- internals ---------------------------------------------------------------------------------


def _decode(content: str | bytes) -> str:
    if isinstance(content, str):
        return content.lstrip("\ufeff")
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        return content.decode("cp1252", errors="replace")


def _delimiter(text: str) -> str:
    header = text.splitlines()[0]
    counts = {d: header.count(d) for d in (",", ";", "\t")}
    return max(counts, key=counts.get) if max(counts.values()) else ","


def _column_name(raw: str) -> str:
    return re.sub(r"\s+", "_", raw.strip().lower())


def _header_problems(header: list[str]) -> list[FieldProblem]:
    problems = []
    for column in header:
        if column and column not in COLUMNS:
            close = difflib.get_close_matches(column, COLUMNS, n=1)
            hint = f": did you mean {close[0]}?" if close else f" (known columns: {', '.join(COLUMNS)})"
            problems.append(FieldProblem(column, f"Unknown column {column}{hint}", line=1))
    for column in sorted({c for c in header if c and header.count(c) > 1}):
        problems.append(FieldProblem(column, f"Column {column} appears more than once", line=1))
    for column in REQUIRED_COLUMNS:
        if column not in header:
            problems.append(FieldProblem(column, f"Column {column} is missing: it is required", line=1))
    return problems


def _household_fields(row: dict[str, str], tariffs_lower: dict[str, int], tariffs: dict[str, int],
                      decimal_comma: bool) -> tuple[dict[str, Any], list[FieldProblem]]:
    """The row as HouseholdInput fields (empty cells left out, so defaults apply)."""
    def value(column: str) -> str | None:
        cell = row.get(column, "")
        if not cell:
            return None
        return cell.replace(",", ".") if decimal_comma and column not in TEXT_COLUMNS else cell

    problems = []
    raw: dict[str, Any] = {k: value(k) for k in ("name", "timezone", "latitude", "longitude",
                                                  "grid_import_limit_kw", "grid_export_limit_kw",
                                                  "export_curtailable")}
    raw = {k: v for k, v in raw.items() if v is not None or k in REQUIRED_COLUMNS}
    if value("notes"):
        raw["notes"] = value("notes")
    tariff = value("tariff")
    if tariff:
        if tariff.lower() in tariffs_lower:
            raw["tariff_id"] = tariffs_lower[tariff.lower()]
        else:
            close = difflib.get_close_matches(tariff, list(tariffs), n=1)
            known = f"did you mean {close[0]}?" if close else (
                f"known tariffs: {', '.join(sorted(tariffs))}" if tariffs else "create the tariff first")
            problems.append(FieldProblem("tariff", f"There is no tariff named {tariff}: {known}"))
    pv = {field: value(column) for column, field in PV_COLUMNS.items() if value(column) is not None}
    if pv:
        if "kwp" not in pv:
            problems.append(FieldProblem("pv_kwp", "PV peak power is required when other PV columns are filled"))
        raw["pv_systems"] = [pv]
    battery = {field: value(column) for column, field in BATTERY_COLUMNS.items() if value(column) is not None}
    if battery:
        raw["battery"] = battery
    return raw, problems


def _to_column(problem: FieldProblem) -> FieldProblem:
    """``pv_systems.0.kwp`` -> ``pv_kwp``, ``battery.soc_min`` -> ``battery_soc_min``: the file's column."""
    parts = problem.field.split(".")
    if parts[0] == "pv_systems":
        column = "pv_" + parts[-1] if len(parts) > 2 else "pv_kwp"
    elif parts[0] == "battery":
        column = "battery_" + parts[-1] if len(parts) > 1 else "battery_capacity_kwh"
    elif parts[0] == "tariff_id":
        column = "tariff"
    else:
        column = problem.field
    return FieldProblem(column, problem.message, problem.line)


def _on_line(problem: FieldProblem, line: int) -> FieldProblem:
    return FieldProblem(_to_column(problem).field, problem.message, line)

