"""The report's tables as DataFrames whose headers carry their units (``PV [kWh]``).

The Excel workbook writes one sheet per table, the CSV export one file per table: both read
these frames, so a number is the same in every file. Text cells are left as they are here;
the writers neutralise them (:mod:`services.export`). Ratios are percentages [0-100].
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from services.energy.balance import derived_label
from services.reports.data import ReportData
from services.reports.summary import note_span

#: Energy columns of ``daily_energy`` and their headers [kWh].
ENERGY_HEADERS = {
    "load_kwh": "Consumption [kWh]",
    "pv_kwh": "PV [kWh]",
    "import_kwh": "Grid import [kWh]",
    "export_kwh": "Grid export [kWh]",
    "charge_kwh": "Battery charge [kWh]",
    "discharge_kwh": "Battery discharge [kWh]",
}
#: Flow quantities of the hourly series and their headers [kWh per hour].
FLOW_HEADERS = {
    "load": "Consumption [kWh]",
    "pv": "PV [kWh]",
    "grid_import": "Grid import [kWh]",
    "grid_export": "Grid export [kWh]",
    "battery_charge": "Battery charge [kWh]",
    "battery_discharge": "Battery discharge [kWh]",
}


def _money_headers(currency: str) -> dict[str, str]:
    return {"import_cost": f"Import cost [{currency}]", "export_revenue": f"Feed-in revenue [{currency}]",
            "energy_cost": f"Energy cost [{currency}]"}


def _percent(fraction: float | None) -> float | None:
    return None if fraction is None else 100.0 * fraction


def kpi_table(reports: Sequence[ReportData]) -> pd.DataFrame:
    """One row per household: period totals, ratios [%], costs and battery savings [currency]."""
    rows = []
    for r in reports:
        t, c, s = r.totals, r.currency, r.savings
        rows.append({
            "Household": r.household.name,
            "First day": r.period.start,
            "Last day": r.period.end,
            "Days with data": t.days,
            **{header: getattr(t, column) for column, header in ENERGY_HEADERS.items()},
            "Self-consumption [%]": _percent(t.self_consumption),
            "Self-sufficiency [%]": _percent(t.self_sufficiency),
            f"Import cost [{c}]": t.import_cost,
            f"Feed-in revenue [{c}]": t.export_revenue,
            f"Energy cost [{c}]": t.energy_cost,
            f"Cost without battery [{c}]": None if s is None else s.cost_without,
            f"Battery savings [{c}]": None if s is None else s.savings,
            "Grid import without battery [kWh]": None if s is None else s.import_without_kwh,
            f"Average import price [{c}/kWh]": r.average_import_price,
            "PV size [kWp]": r.household.pv_kwp,
            "Battery capacity [kWh]": None if r.household.battery is None else r.household.battery.capacity_kwh,
            "Tariff": "" if r.tariff is None else r.tariff.name,
            "Quality findings": len(r.problems),
            "Derived (not metered)": derived_label(r.derived).removeprefix("derived: "),
        })
    return pd.DataFrame(rows)


def _per_household(reports: Sequence[ReportData], attribute: str, index_name: str) -> pd.DataFrame:
    parts = []
    for r in reports:
        frame = getattr(r, attribute)
        if frame.empty:
            continue
        headers = {**ENERGY_HEADERS, **_money_headers(r.currency)}
        part = frame.reindex(columns=list(headers)).rename(columns=headers).reset_index(drop=True)
        part.insert(0, index_name, list(frame.index))
        part.insert(0, "Household", r.household.name)
        parts.append(part)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def daily_table(reports: Sequence[ReportData]) -> pd.DataFrame:
    """Energy [kWh] and money [currency] per household and local day."""
    return _per_household(reports, "daily", "Day")


def monthly_table(reports: Sequence[ReportData]) -> pd.DataFrame:
    """Energy [kWh] and money [currency] per household and calendar month (its first day)."""
    return _per_household(reports, "monthly", "Month")


def hourly_table(reports: Sequence[ReportData]) -> pd.DataFrame:
    """Metered energy per household and hour [kWh per hour]; ``Time`` is the hour's start in local
    time with its UTC offset. Empty when no report has hourly series (long periods)."""
    parts = []
    for r in reports:
        if r.hourly.empty:
            continue
        part = r.hourly.reindex(columns=list(FLOW_HEADERS)).rename(columns=FLOW_HEADERS).reset_index(drop=True)
        part.insert(0, "Time", [t.isoformat() for t in r.hourly.index])  # ISO 8601 with the local offset
        part.insert(0, "Household", r.household.name)
        parts.append(part)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def quality_table(reports: Sequence[ReportData]) -> pd.DataFrame:
    """Every data-quality finding: household, kind, series, when (local time) and what to do."""
    rows = [{"Household": r.household.name, "Kind": n.kind, "Series": n.series,
             "When (local time)": note_span(n, r.household.timezone), "Note": n.message}
            for r in reports for n in r.quality]
    return pd.DataFrame(rows, columns=["Household", "Kind", "Series", "When (local time)", "Note"])


def households_table(reports: Sequence[ReportData]) -> pd.DataFrame:
    """The households as saved: location, PV, battery, tariff and grid limits, with units."""
    rows = []
    for r in reports:
        h, b, t, c = r.household, r.household.battery, r.tariff, r.currency
        rows.append({
            "Household": h.name, "Time zone": h.timezone, "Latitude [°N]": h.latitude, "Longitude [°E]": h.longitude,
            "PV size [kWp]": h.pv_kwp, "PV systems": len(h.pv_systems),
            "Battery capacity [kWh]": None if b is None else b.capacity_kwh,
            "Battery charge power [kW]": None if b is None else b.max_charge_kw,
            "Battery discharge power [kW]": None if b is None else b.max_discharge_kw,
            "Tariff": "" if t is None else t.name, "Tariff kind": "" if t is None else t.kind_label,
            f"Import price [{c}/kWh]": None if t is None else t.import_price,
            f"Feed-in price [{c}/kWh]": None if t is None else t.export_price,
            "Grid import limit [kW]": h.grid_import_limit_kw, "Grid export limit [kW]": h.grid_export_limit_kw,
            "Notes": h.notes or "",
        })
    return pd.DataFrame(rows)
