"""A report's numbers as the words and formatted values the PDF and HTML templates show.

Both templates read the same :func:`report_context`, so a KPI reads the same in the PDF, in the
interactive HTML and on the app's pages (formats of :mod:`services.formatting`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pandas as pd
from jinja2 import Environment, FileSystemLoader, select_autoescape

from services.energy.kpi_definitions import KPI_DEFINITIONS
from services.formatting import MISSING, format_energy, format_money, format_price, format_ratio
from services.reports.data import QualityNote, ReportData
from services.reports.metered import savings_method

#: Quality notes listed in a report; the rest are counted.
MAX_NOTES = 12


@dataclass(frozen=True)
class Kpi:
    """One KPI tile: ``key`` (as in ``KPI_DEFINITIONS``), label, formatted value, a short note."""

    key: str
    label: str
    value: str
    note: str = ""


def kpis(report: ReportData) -> list[Kpi]:
    """The seven energy KPIs of :mod:`services.energy.kpis` and the battery savings (or the average import price)."""
    t, c = report.totals, report.currency
    d = KPI_DEFINITIONS
    tiles = [
        Kpi("load_kwh", d["load_kwh"].label, format_energy(t.load_kwh),
            "derived: PV + import − export" if "load" in report.derived else ""),
        Kpi("pv_kwh", d["pv_kwh"].label, format_energy(t.pv_kwh),
            f"{t.pv_kwh / report.household.pv_kwp:,.0f} kWh per kWp" if report.household.pv_kwp else "no PV"),
        Kpi("import_kwh", d["import_kwh"].label, format_energy(t.import_kwh),
            "derived: consumption − PV" if "grid_import" in report.derived else ""),
        Kpi("export_kwh", d["export_kwh"].label, format_energy(t.export_kwh),
            "derived: PV − consumption" if "grid_export" in report.derived else ""),
        Kpi("self_consumption", d["self_consumption"].label, format_ratio(t.self_consumption), "of PV used on site"),
        Kpi("self_sufficiency", d["self_sufficiency"].label, format_ratio(t.self_sufficiency),
            "of consumption not bought"),
        Kpi("energy_cost", d["energy_cost"].label, format_money(t.energy_cost, c),
            f"import {format_money(t.import_cost, c)} − feed-in {format_money(t.export_revenue, c)}"),
    ]
    if report.savings is not None:
        tiles.append(Kpi("battery_savings", "Battery savings", format_money(report.savings.savings, c),
                         f"{format_energy(report.savings.import_avoided_kwh)} less import"))
    else:
        tiles.append(Kpi("average_price", "Average import price", format_price(report.average_import_price, c),
                         "import cost ÷ grid import"))
    return tiles


def definitions() -> list[tuple[str, str]]:
    """(label, formula) of each KPI, for the report's glossary."""
    return [(d.label, d.formula) for d in KPI_DEFINITIONS.values()]


def household_facts(report: ReportData) -> list[tuple[str, str]]:
    """The household as saved: location, PV systems, battery, tariff, grid limits, as (label, text) rows."""
    h, c = report.household, report.currency
    rows = [("Location", f"{h.latitude:.4f}° N, {h.longitude:.4f}° E · time zone {h.timezone}")]
    if h.pv_systems:
        for pv in h.pv_systems:
            inverter = f", inverter {pv.inverter_kw:g} kW" if pv.inverter_kw else ""
            rows.append((f"PV: {pv.name}", f"{pv.kwp:g} kWp, tilt {pv.tilt_deg:g}°, azimuth {pv.azimuth_deg:g}° "
                                            f"(180° = south), losses {pv.losses_pct:g} %{inverter}"))
    else:
        rows.append(("PV", "none"))
    b = h.battery
    rows.append(("Battery", "none" if b is None else
                 f"{b.capacity_kwh:g} kWh, charge {b.max_charge_kw:g} kW / discharge {b.max_discharge_kw:g} kW, "
                 f"efficiency {b.charge_efficiency:.0%} / {b.discharge_efficiency:.0%}, "
                 f"state of charge {b.soc_min:.0%}–{b.soc_max:.0%}"))
    tariff = report.tariff
    if tariff is None:
        rows.append(("Tariff", "none saved: costs read as zero"))
    else:
        rows.append(("Tariff", f"{tariff.name} ({tariff.kind_label}); import {format_price(tariff.import_price, c)}"
                               f"{' by default' if tariff.kind != 'flat' else ''}, feed-in "
                               f"{format_price(tariff.export_price, c)}"))
    rows.append(("Average import price paid", format_price(report.average_import_price, c)))
    limits = []
    if h.grid_import_limit_kw is not None:
        limits.append(f"import ≤ {h.grid_import_limit_kw:g} kW")
    if h.grid_export_limit_kw is not None:
        limits.append(f"export ≤ {h.grid_export_limit_kw:g} kW")
    rows.append(("Grid connection", ", ".join(limits) if limits else "no limits saved"))
    return rows


def savings_rows(report: ReportData) -> list[tuple[str, str, str]]:
    """(quantity, with the battery, without it) rows of the battery comparison; empty without a battery."""
    s, c = report.savings, report.currency
    if s is None:
        return []
    return [
        ("Grid import", format_energy(s.import_with_kwh), format_energy(s.import_without_kwh)),
        ("Grid export", format_energy(s.export_with_kwh), format_energy(s.export_without_kwh)),
        ("Energy cost", format_money(s.cost_with, c), format_money(s.cost_without, c)),
    ]


def coverage(report: ReportData) -> str:
    """How much of the period has data, in words."""
    if not report.has_data:
        return "No data in this period."
    first, last = report.covered
    days = report.totals.days
    text = f"Data on {days} of {report.period.days} days"
    if days < report.period.days:
        text += f" (from {first.isoformat()} to {last.isoformat()}); totals cover those days only"
    return text + "."


def quality_lines(report: ReportData) -> tuple[list[str], int]:
    """Up to :data:`MAX_NOTES` quality messages (faults first), each after its span in the household's
    local time, and how many more there are."""
    notes = sorted(report.quality, key=lambda n: n.kind == "info")
    zone = report.household.timezone
    lines = []
    for note in notes[:MAX_NOTES]:
        when = note_span(note, zone)
        lines.append(f"{when}: {note.message}" if when else note.message)
    return lines, max(len(notes) - MAX_NOTES, 0)


def note_span(note: QualityNote, timezone: str) -> str:
    """``28 May 09:00 – 31 May 21:00`` in local time, or "" for a finding without a span."""
    if note.start is None:
        return ""
    start = pd.Timestamp(note.start).tz_convert(timezone)
    if note.end is None or note.end == note.start:
        return f"{start:%d %b %H:%M}"
    end = pd.Timestamp(note.end).tz_convert(timezone)
    return f"{start:%d %b %H:%M} – {end:%d %b %H:%M}"


def report_context(report: ReportData) -> dict:
    """Everything the PDF and HTML templates show about one household, formatted."""
    lines, more = quality_lines(report)
    return {
        "name": report.household.name,
        "period": report.period.label,
        "first_day": report.period.start.isoformat(),
        "last_day": report.period.end.isoformat(),
        "generated": report.generated_at.strftime("%Y-%m-%d %H:%M UTC"),
        "kpis": kpis(report),
        "facts": household_facts(report),
        "savings_rows": savings_rows(report),
        "savings": None if report.savings is None else format_money(report.savings.savings, report.currency),
        "savings_step": None if report.savings is None else report.savings.step_label,
        "savings_method": report.savings.method if report.savings else savings_method(
            report.household.export_curtailable),
        "data_notes": list(report.flow_notes),
        "coverage": coverage(report),
        "problems": len(report.problems),
        "quality": lines,
        "quality_more": more,
        "definitions": definitions(),
        "notes": report.household.notes or "",
        "missing": MISSING,
    }


#: The Jinja2 templates of the PDF and HTML reports.
TEMPLATES = Path(__file__).resolve().parent / "templates"


@lru_cache(maxsize=1)
def jinja() -> Environment:
    """The template environment (HTML-escaping every value: household names and notes come from users)."""
    return Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["html", "j2"]),
                       trim_blocks=True, lstrip_blocks=True)
