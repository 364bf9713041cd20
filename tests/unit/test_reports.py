"""Report files contain what they claim: the PDF's text (pypdf), the workbook (openpyxl), the CSV
files and the HTML, over the demo portfolio on SQLite and PostgreSQL; formula cells are neutralised;
bad input gives a message. The Reports page's callbacks are in tests/unit/test_reports_page.py."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import date

import openpyxl
import pandas as pd
import pytest
import sqlalchemy as sa

from services.energy import kpis
from services.formatting import format_energy, format_money, format_ratio
from services.reports import ReportInputError, build_report_file, gather_report_data, parse_period
from services.reports.period import custom_period, month_period, year_period
from services.reports.renderer import browser_path
from services.store.db import session_scope
from services.store.models import Household

MAY = month_period("2026-05")
EVIL = '=HYPERLINK("http://example.com/x","click")'
needs_chromium = pytest.mark.skipif(browser_path() is None, reason="PDF charts need Chromium (apt-get install chromium)")


def load_demo(url: str) -> dict[str, int]:
    """Three demo households (Müller: PV + battery, flat tariff; Huber: PV + battery with a planted
    gap, time of use; Petersen: no PV, dynamic prices) from 2026-04-29 to 2026-06-03."""
    from services.demo import load_demo_portfolio

    load_demo_portfolio(n_households=3, seed=7, end=date(2026, 6, 3), days=35, url=url)
    with session_scope() as session:
        return {name.split()[0]: hid for hid, name in session.execute(sa.select(Household.id, Household.name))}


def rename(household_id: int, name: str) -> None:
    with session_scope() as session:
        session.get(Household, household_id).name = name


def pdf_text(content: bytes) -> str:
    from pypdf import PdfReader

    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


# --- PDF ---------------------------------------------------------------------------------------------


@needs_chromium
def test_pdf_shows_the_household_the_period_and_its_kpis_as_on_screen(db_url):
    homes = load_demo(db_url)
    hid = homes["Müller"]
    file = build_report_file("pdf", [hid], MAY)
    assert file.filename == f"energy-report_muller-family-pankow-{hid}_2026-05.pdf"
    assert file.content.startswith(b"%PDF") and file.mimetype == "application/pdf"
    text = pdf_text(file.content)
    totals = kpis.portfolio_totals([hid], MAY.start, MAY.end)
    assert "Müller family, Pankow" in text and "May 2026" in text
    for shown in (format_energy(totals.load_kwh), format_energy(totals.pv_kwh), format_energy(totals.export_kwh),
                  format_ratio(totals.self_consumption), format_ratio(totals.self_sufficiency),
                  format_money(totals.energy_cost, "EUR")):
        assert shown in text, f"{shown!r} is not in the PDF"
    savings = gather_report_data(hid, MAY).savings
    assert savings is not None and savings.savings > 0
    assert f"The battery saved {format_money(savings.savings, 'EUR')}" in text
    assert "Data quality" in text and "9.98 kWp" in text and "Flat 32 ct" in text


@needs_chromium
def test_several_households_give_a_zip_with_one_pdf_each(db_url):
    homes = load_demo(db_url)
    seen = []
    file = build_report_file("pdf", [homes["Petersen"], homes["Huber"]], MAY,
                             progress=lambda done, total, label: seen.append((done, total)))
    assert file.filename == "energy-report_2-households_2026-05.zip" and file.households == 2
    with zipfile.ZipFile(io.BytesIO(file.content)) as archive:
        names = sorted(archive.namelist())
        texts = {n: pdf_text(archive.read(n)) for n in names}
    assert names == [f"huber-family-schwabing-{homes['Huber']}_2026-05.pdf",
                     f"petersen-family-altona-{homes['Petersen']}_2026-05.pdf"]
    huber, petersen = texts[names[0]], texts[names[1]]
    assert "Huber family" in huber and "Petersen" not in huber  # each household sees its own report only
    assert "reading(s) missing" in huber  # the planted gap is a data-quality note
    assert "no battery" in petersen.lower()
    assert seen[-1] == (4, 4) and [d for d, _ in seen] == sorted(d for d, _ in seen)


# --- Excel -------------------------------------------------------------------------------------------


def test_workbook_has_a_sheet_per_table_with_units_and_the_kpis_numbers(db_url):
    homes = load_demo(db_url)
    ids_ = [homes["Müller"], homes["Petersen"]]
    file = build_report_file("xlsx", ids_, MAY)
    book = openpyxl.load_workbook(io.BytesIO(file.content))
    assert book.sheetnames == ["KPIs", "Daily energy", "Monthly energy", "Quality notes", "Households", "About"]
    sheet = book["KPIs"]
    headers = [c.value for c in sheet[1]]
    assert {"Consumption [kWh]", "PV [kWh]", "Grid import [kWh]", "Self-sufficiency [%]", "Energy cost [EUR]",
            "Battery savings [EUR]"} <= set(headers)
    assert sheet.freeze_panes == "A2" and sheet.column_dimensions["A"].width > 20
    rows = {row[0]: dict(zip(headers, row)) for row in sheet.iter_rows(min_row=2, values_only=True)}
    table = kpis.household_table(ids_, MAY.start, MAY.end).set_index("name")
    for name, row in rows.items():
        expected = table.loc[name]
        assert row["Consumption [kWh]"] == pytest.approx(expected["load_kwh"])
        assert row["Grid import [kWh]"] == pytest.approx(expected["import_kwh"])
        assert row["Energy cost [EUR]"] == pytest.approx(expected["energy_cost"])
        assert row["Self-sufficiency [%]"] == pytest.approx(100 * expected["self_sufficiency"])
    assert rows["Petersen family, Altona"]["Battery savings [EUR]"] is None  # no battery: blank, not 0
    daily = book["Daily energy"]
    day_headers = [c.value for c in daily[1]]
    assert day_headers[:3] == ["Household", "Day", "Consumption [kWh]"]
    values = list(daily.iter_rows(min_row=2, values_only=True))
    assert len(values) == 62 and all(isinstance(v[2], float) for v in values)  # numbers, not text
    muller_load = sum(v[2] for v in values if v[0] == "Müller family, Pankow")
    assert muller_load == pytest.approx(rows["Müller family, Pankow"]["Consumption [kWh]"])


def test_a_formula_name_stays_text_in_excel_csv_and_html(db_url):
    homes = load_demo(db_url)
    rename(homes["Müller"], EVIL)
    book = openpyxl.load_workbook(io.BytesIO(build_report_file("xlsx", [homes["Müller"]], MAY).content))
    for sheet in ("KPIs", "Daily energy", "Households"):
        cell = book[sheet]["A2"]
        assert cell.value == "'" + EVIL and cell.data_type == "s"
    assert not any(c.data_type == "f" for ws in book for row in ws.iter_rows() for c in row)

    with zipfile.ZipFile(io.BytesIO(build_report_file("csv", [homes["Müller"]], MAY).content)) as archive:
        for name in ("kpis.csv", "daily_energy.csv", "hourly_energy.csv", "households.csv"):
            frame = pd.read_csv(archive.open(name))
            assert set(frame["Household"]) == {"'" + EVIL}, name

    html = build_report_file("html", [homes["Müller"]], MAY).content.decode()
    assert EVIL not in html and "=HYPERLINK(&#34;http://example.com/x&#34;" in html  # escaped, never markup


# --- CSV ---------------------------------------------------------------------------------------------


def test_csv_files_parse_and_their_totals_match_the_kpis(db_url):
    homes = load_demo(db_url)
    hid = homes["Huber"]
    file = build_report_file("csv", [hid], MAY)
    assert file.filename == f"energy-data_huber-family-schwabing-{hid}_2026-05.zip"
    with zipfile.ZipFile(io.BytesIO(file.content)) as archive:
        frames = {name: pd.read_csv(archive.open(name)) for name in archive.namelist()}
    assert set(frames) == {"kpis.csv", "daily_energy.csv", "monthly_energy.csv", "hourly_energy.csv",
                           "quality_notes.csv", "households.csv"}
    totals = kpis.portfolio_totals([hid], MAY.start, MAY.end)
    daily, hourly, kpi = frames["daily_energy.csv"], frames["hourly_energy.csv"], frames["kpis.csv"].iloc[0]
    assert daily["Consumption [kWh]"].sum() == pytest.approx(totals.load_kwh, rel=1e-5)
    assert daily["Energy cost [EUR]"].sum() == pytest.approx(totals.energy_cost, rel=1e-5, abs=1e-4)
    assert frames["monthly_energy.csv"]["PV [kWh]"].sum() == pytest.approx(totals.pv_kwh, rel=1e-5)
    assert kpi["Grid import [kWh]"] == pytest.approx(totals.import_kwh, rel=1e-5)
    # The hourly series are the metered readings themselves: they add up to the same month.
    assert hourly["Consumption [kWh]"].sum() == pytest.approx(totals.load_kwh, rel=1e-4)
    times = pd.to_datetime(hourly["Time"], utc=False)
    assert str(hourly["Time"].iloc[0]) == "2026-05-01T00:00:00+02:00" and times.is_monotonic_increasing
    assert frames["quality_notes.csv"]["Kind"].eq("gap").any()


def test_a_year_has_no_hourly_csv_but_monthly_rows(db_url):
    homes = load_demo(db_url)
    with zipfile.ZipFile(io.BytesIO(build_report_file("csv", [homes["Müller"]], year_period("2026")).content)) as z:
        assert "hourly_energy.csv" not in z.namelist()
        monthly = pd.read_csv(z.open("monthly_energy.csv"))
    assert list(monthly["Month"]) == ["2026-04-01", "2026-05-01", "2026-06-01"]  # data from 29 April


# --- HTML --------------------------------------------------------------------------------------------


def test_html_report_is_self_contained_and_holds_the_data(db_url):
    homes = load_demo(db_url)
    hid = homes["Müller"]
    html = build_report_file("html", [hid, homes["Huber"]], MAY).content.decode("utf-8")
    totals = kpis.portfolio_totals([hid], MAY.start, MAY.end)
    assert "Müller family, Pankow" in html and "Huber family, Schwabing" in html
    assert format_energy(totals.load_kwh) in html and 'id="portfolio"' in html
    assert re.search(r"<script[^>]*\bsrc\s*=", html) is None, "a script is loaded from elsewhere"
    assert re.search(r"<link[^>]*\bhref\s*=\s*[\"']?https?:", html) is None, "a stylesheet is loaded from elsewhere"
    assert "Plotly.newPlot" in html and len(html) > 3_000_000  # plotly.js itself is inlined
    assert html.count('class="plotly-graph-div"') == 6  # three charts per household


# --- savings and flows on hand-made series ----------------------------------------------------------


def test_battery_savings_compare_the_metered_steps_with_no_battery():
    from services.reports.metered import battery_savings, flow_totals

    # Two steps: midday the battery stores 2 kWh of PV surplus, evening it covers 1.8 kWh of load.
    flows = pd.DataFrame({
        "load": [1.0, 2.0], "pv": [4.0, 0.0], "grid_import": [0.0, 0.2], "grid_export": [1.0, 0.0],
        "battery_charge": [2.0, 0.0], "battery_discharge": [0.0, 1.8],
    })
    s = battery_savings(flows, [0.30, 0.40], export_price=0.08, export_limit_kwh=None, step_label="15 min")
    assert s.cost_with == pytest.approx(0.2 * 0.40 - 1.0 * 0.08)
    assert s.import_without_kwh == pytest.approx(2.0) and s.export_without_kwh == pytest.approx(3.0)
    assert s.cost_without == pytest.approx(2.0 * 0.40 - 3.0 * 0.08)
    assert s.savings == pytest.approx((0.80 - 0.24) - (0.08 - 0.08))
    assert s.import_avoided_kwh == pytest.approx(1.8)
    limited = battery_savings(flows, [0.30, 0.40], 0.08, export_limit_kwh=1.5, step_label="15 min")
    assert limited.export_without_kwh == pytest.approx(1.5)  # the rest is curtailed, not paid

    split = flow_totals(flows)
    assert split.pv_to_home + split.pv_to_battery + split.pv_to_grid == pytest.approx(4.0)
    assert split.pv_to_home + split.battery_to_home + split.grid_to_home == pytest.approx(3.0)
    assert (split.pv_to_battery, split.battery_to_home, split.grid_to_home) == pytest.approx((2.0, 1.8, 0.2))


def test_metered_cost_with_the_battery_is_the_kpi_cost(db_url):
    homes = load_demo(db_url)
    for name in ("Müller", "Huber"):
        report = gather_report_data(homes[name], MAY)
        assert report.savings.cost_with == pytest.approx(report.totals.energy_cost, rel=1e-6, abs=1e-6)
        assert report.savings.step_label == "15 min"
    assert gather_report_data(homes["Petersen"], MAY).savings is None


# --- periods and bad input ---------------------------------------------------------------------------


def test_periods_are_named_and_parsed_strictly():
    assert (MAY.start, MAY.end, MAY.label, MAY.slug, MAY.days) == (date(2026, 5, 1), date(2026, 5, 31), "May 2026",
                                                                    "2026-05", 31)
    assert month_period("2024-02").end == date(2024, 2, 29)
    assert year_period("2026").label == "Year 2026"
    custom = custom_period(date(2026, 5, 20), date(2026, 5, 3))  # the wrong way round: swapped
    assert (custom.start, custom.end, custom.slug) == (date(2026, 5, 3), date(2026, 5, 20), "2026-05-03_2026-05-20")
    for bad, message in ((lambda: parse_period(None), "kind of period"),
                         (lambda: parse_period("month", month=None), "Choose a month"),
                         (lambda: parse_period("month", month="2026-13"), "Choose a month"),
                         (lambda: parse_period("year", year="last"), "Choose a year"),
                         (lambda: parse_period("custom", start=date(2026, 5, 1)), "first and a last day"),
                         (lambda: custom_period(date(2020, 1, 1), date(2026, 1, 1)), "at most")):
        with pytest.raises(ReportInputError, match=message):
            bad()


def test_bad_choices_give_messages_not_exceptions(db_url):
    homes = load_demo(db_url)
    with pytest.raises(ReportInputError, match="at least one household"):
        build_report_file("xlsx", [], MAY)
    with pytest.raises(ReportInputError, match="Choose a format"):
        build_report_file("docx", [homes["Müller"]], MAY)
    with pytest.raises(ReportInputError, match=r"has no data in March 2026: its data runs from 2026-04-2\d to 2026-06-0\d"):
        build_report_file("pdf", [homes["Müller"]], month_period("2026-03"))
    with pytest.raises(ReportInputError, match="None of the chosen households has data in Year 2025"):
        build_report_file("csv", [homes["Müller"], homes["Huber"]], year_period(2025))
    with pytest.raises(ReportInputError, match="does not exist"):
        build_report_file("xlsx", [99999], MAY)


def test_a_household_without_data_is_left_out_and_named(db_url):
    homes = load_demo(db_url)
    from tests.factories import add_household

    with session_scope() as session:
        empty = add_household(session, "New home, no meters yet").id
    file = build_report_file("xlsx", [homes["Müller"], empty], MAY)
    assert file.households == 1 and file.skipped == ("New home, no meters yet",)
    names = [r[0] for r in openpyxl.load_workbook(io.BytesIO(file.content))["KPIs"].iter_rows(min_row=2, values_only=True)]
    assert names == ["Müller family, Pankow"]


def test_report_formats_read_like_the_app():
    """Reports and pages format numbers with the same functions, so a PDF reads like the screen."""
    from components import format as app_format
    from services import formatting

    for name in ("format_energy", "format_money", "format_ratio", "format_price"):
        assert getattr(app_format, name) is getattr(formatting, name)
    assert formatting.format_energy(10_000.0) == "10.0 MWh" and formatting.format_energy(812.4) == "812 kWh"
    assert formatting.format_price(0.32, "EUR") == "0.320 EUR/kWh" and formatting.format_ratio(None) == "—"


@needs_chromium
def test_charts_are_drawn_offline_by_the_local_chromium():
    import plotly.graph_objects as go

    from services.reports.renderer import ChartRenderer, plotly_js_path

    renderer = ChartRenderer()
    try:
        fig = go.Figure(go.Bar(x=["a", "b"], y=[1, 2]), layout=dict(width=300, height=200))
        svg, png = renderer.render([fig]), renderer.render([fig], fmt="png")
        assert svg[0].lstrip().startswith(b"<svg") and png[0].startswith(b"\x89PNG")
        # The page kaleido draws in loads plotly.js from the plotly package and no MathJax at all.
        from urllib.parse import urlparse

        index = open(urlparse(renderer._kaleido._index).path).read()
        scripts = re.findall(r"<script[^>]*src=\"([^\"]+)\"", index)
        assert scripts and not any(s.startswith(("http:", "https:", "//")) for s in scripts), scripts
        assert str(plotly_js_path()) in scripts[0] and "mathjax" not in index.lower()
    finally:
        renderer.close()


def test_a_report_reads_its_household_once(db_url, monkeypatch):
    """The report's data and its quality notes share one read of the household."""
    import services.households.records as records
    import services.quality.checks as checks
    import services.reports.data as data

    hid = load_demo(db_url)["Müller"]
    reads = []
    real = records.get_household

    def counted(household_id, **kwargs):
        reads.append(household_id)
        return real(household_id, **kwargs)

    monkeypatch.setattr(data, "get_household", counted)
    monkeypatch.setattr(checks, "get_household", counted)
    report = gather_report_data(hid, MAY)
    assert report.household.id == hid and report.quality is not None
    assert reads == [hid]
