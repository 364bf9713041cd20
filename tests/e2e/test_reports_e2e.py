"""The Reports page in a real browser over the small demo portfolio (60 days to 29 June 2026): a
person picks a household and a month and downloads its PDF and Excel report, then asks for all
households and watches the background job's progress bar until the ZIP arrives."""

from __future__ import annotations

import io
import zipfile

import openpyxl
from pypdf import PdfReader

from components import ids
from tests.e2e.harness import goto, screenshot, wait_for_dash_idle

JOB_TIMEOUT_MS = 180_000  # four PDFs in a background process on two busy cores: seconds, but allow for a slow CI


def _open(server, page) -> None:
    goto(page, f"{server.url}/reports")
    page.locator(f"#{ids.reports_button('pdf')}").wait_for()


def _choose_option(page, dropdown_id: str, label: str) -> None:
    page.locator(f"#{dropdown_id}").click()
    page.get_by_role("option", name=label, exact=True).click()
    page.keyboard.press("Escape")
    wait_for_dash_idle(page)


def _download(page, fmt: str, timeout_ms: int = 60_000):
    with page.expect_download(timeout=timeout_ms) as info:
        page.locator(f"#{ids.reports_button(fmt)}").click()
    download = info.value
    return download.suggested_filename, open(download.path(), "rb").read()


def test_one_household_month_pdf_and_excel_through_the_page(demo_server, page):
    _open(demo_server, page)
    page.locator(f"#{ids.REPORTS_SELECT_NONE}").click()
    wait_for_dash_idle(page)
    _choose_option(page, ids.REPORTS_HOUSEHOLDS, "Müller family, Pankow")
    _choose_option(page, ids.REPORTS_MONTH, "June 2026")

    name, content = _download(page, "pdf")
    assert name.startswith("energy-report_muller-family-pankow-") and name.endswith("_2026-06.pdf")
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(content)).pages)
    assert "Müller family, Pankow" in text and "June 2026" in text
    assert "Self-sufficiency" in text and "kWh" in text and "EUR" in text and "The battery saved" in text
    status = page.locator(f"#{ids.REPORTS_STATUS}")
    status.get_by_text("Ready:").wait_for()
    assert name in status.inner_text()

    name, content = _download(page, "xlsx")
    assert name.endswith("_2026-06.xlsx")
    book = openpyxl.load_workbook(io.BytesIO(content))
    assert book.sheetnames[:2] == ["KPIs", "Daily energy"]
    kpi = book["KPIs"]
    assert kpi["A2"].value == "Müller family, Pankow" and "Consumption [kWh]" in [c.value for c in kpi[1]]
    assert book["Daily energy"].max_row == 1 + 29  # 1 to 29 June
    screenshot(page, "light-reports")


def test_several_households_are_built_in_the_background_with_progress(demo_server, page):
    _open(demo_server, page)
    page.locator(f"#{ids.REPORTS_SELECT_ALL}").click()
    wait_for_dash_idle(page)
    progress = page.locator(f"#{ids.REPORTS_PROGRESS}")
    with page.expect_download(timeout=JOB_TIMEOUT_MS) as info:
        page.locator(f"#{ids.reports_button('pdf')}").click()
        progress.wait_for(state="visible")
        assert page.locator(f"#{ids.reports_button('xlsx')}").is_disabled()  # one job at a time
        page.wait_for_function(f"() => /\\d+\\/8/.test(document.querySelector('#{ids.REPORTS_PROGRESS}').innerText)")
        screenshot(page, "light-reports-progress")
    download = info.value
    assert download.suggested_filename == "energy-report_4-households_2026-05.zip"
    with zipfile.ZipFile(download.path()) as archive:
        names = archive.namelist()
        assert len(names) == 4 and all(n.endswith("_2026-05.pdf") for n in names)
        first = PdfReader(io.BytesIO(archive.read(sorted(names)[0]))).pages[0].extract_text()
    assert "May 2026" in first
    job = page.locator(f"#{ids.REPORTS_JOB_STATUS}")
    job.get_by_text("Ready:").wait_for()
    assert "4 households" in job.inner_text()
    progress.wait_for(state="hidden")
    assert page.locator(f"#{ids.reports_button('xlsx')}").is_enabled()


def test_no_household_chosen_is_a_message(demo_server, page):
    _open(demo_server, page)
    page.locator(f"#{ids.REPORTS_SELECT_NONE}").click()
    wait_for_dash_idle(page)
    page.locator(f"#{ids.reports_button('csv')}").click()
    page.locator(f"#{ids.REPORTS_STATUS}").get_by_text("Choose at least one household").wait_for()


def test_the_page_fits_a_phone(demo_server, new_page):
    page = new_page(viewport={"width": 390, "height": 844})
    _open(demo_server, page)
    overflow = page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the page is {overflow} px wider than a 390 px phone"
    screenshot(page, "phone-reports")


def test_without_data_the_page_says_where_to_add_it(empty_server, page):
    goto(page, empty_server.url + "/reports")
    text = page.locator("#_pages_content").inner_text()
    assert "No households yet" in text and "Households page" in text
