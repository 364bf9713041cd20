"""The Data page in a real browser: a person uploads a CSV (semicolons, decimal commas, local times),
maps its columns, saves the mapping, ingests, and reads the batch report and the batch history."""

from __future__ import annotations

import json

import sqlalchemy as sa

from components import ids
from services.store.db import get_engine, session_scope
from services.store.models import Household
from tests.e2e.harness import goto, screenshot, wait_for_dash_idle

HOUSEHOLD = "E2E Datenhaus"
FILE_NAME = "e2e-meter-export.csv"


def column_input(field: str, index: int) -> str:
    """CSS selector of a mapping-table input: Dash renders a dict id as its sorted JSON."""
    dom_id = json.dumps(ids.data_column(field, index), sort_keys=True, separators=(",", ":"))
    return f"[id='{dom_id}']"


def _household(url: str) -> int:
    with session_scope(url) as s:
        existing = s.scalar(sa.select(Household.id).where(Household.name == HOUSEHOLD))
        if existing:
            return existing
        home = Household(name=HOUSEHOLD, timezone="Europe/Berlin", latitude=48.1, longitude=11.6)
        s.add(home)
        s.flush()
        return home.id


def _stored(url: str, household_id: int) -> dict[str, int]:
    with get_engine(url).connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT s.name, s.quantity, COUNT(*) FROM readings r JOIN series s ON s.id = r.series_id "
            "WHERE s.household_id = :h GROUP BY s.name, s.quantity"), {"h": household_id}).all()
    return {f"{name}:{quantity}": n for name, quantity, n in rows}


def test_upload_map_and_ingest_a_csv(scratch_server, page, tmp_path):
    household_id = _household(scratch_server.database_url)
    lines = ["Zeitpunkt;Verbrauch;PV Ertrag"]
    for h in range(24):
        # PV by day only (ingestion refuses output while the sun is down).
        load, pv = f"{0.2 + h / 100:.2f}".replace(".", ","), f"{max(0, 6 - abs(h - 13)) / 10:.1f}".replace(".", ",")
        lines += [f"01.05.2025 {h:02d}:{m:02d};{load};{pv}" for m in (0, 15, 30, 45)]
    lines.append("02.05.2025 00:00;-1,5;0,0")  # a meter cannot run backwards: refused with a reason
    csv_file = tmp_path / FILE_NAME
    csv_file.write_text("\n".join(lines) + "\n", encoding="utf-8")

    goto(page, scratch_server.url + "/data")
    page.locator(f"#{ids.DATA_UPLOAD} input[type=file]").set_input_files(str(csv_file))
    preview = page.locator(f"#{ids.DATA_PREVIEW} table")
    preview.wait_for()
    assert "Verbrauch" in preview.inner_text() and "0,22" in preview.inner_text()
    assert "separator ';', decimal ','" in page.locator(f"#{ids.DATA_PREVIEW}").inner_text()
    wait_for_dash_idle(page)

    page.locator(f"#{ids.DATA_HOUSEHOLD}").select_option(str(household_id))
    assert page.locator(f"#{ids.DATA_TS_COLUMN}").input_value() == "Zeitpunkt"  # found by its name
    page.locator(f"#{ids.DATA_TS_FORMAT}").fill("%d.%m.%Y %H:%M")
    # "Verbrauch" is German for consumption: the page cannot guess it, the person maps it.
    page.locator(column_input("quantity", 0)).select_option("load")
    page.locator(column_input("series", 0)).fill("load")
    page.locator(column_input("unit", 0)).fill("kWh")
    assert page.locator(column_input("quantity", 1)).input_value() == "pv"  # "PV Ertrag" was guessed
    page.locator(column_input("unit", 1)).fill("kWh")
    page.locator(f"#{ids.DATA_MAPPING_NAME}").fill("e2e meter portal")
    page.locator(f"#{ids.DATA_SAVE_MAPPING}").click()
    alert = page.locator(f"#{ids.DATA_MAPPING_ALERT}")
    alert.wait_for(state="visible")
    assert "saved" in alert.inner_text()
    screenshot(page, "light-data-mapping")

    page.locator(f"#{ids.DATA_INGEST}").click()
    summary = page.locator("#data-report-summary")
    summary.wait_for(timeout=60_000)  # a background job: the first one starts a worker process
    text = summary.inner_text()
    assert "received 194, inserted 193, updated 0, unchanged 0, rejected 1" in text, text
    report = page.locator(f"#{ids.DATA_REPORT}").inner_text()
    assert "negative" in report
    assert _stored(scratch_server.database_url, household_id) == {"load:load": 96, "pv:pv": 97}

    history = page.locator(f"#{ids.DATA_BATCHES_GRID} .ag-row").filter(has_text=FILE_NAME)
    history.first.wait_for()
    history.first.click()
    download_button = page.locator(f"#{ids.DATA_REJECTIONS_BUTTON}")
    page.wait_for_function(f"() => !document.getElementById('{ids.DATA_REJECTIONS_BUTTON}').disabled")
    with page.expect_download() as download:
        download_button.click()
    rejected = download.value.path().read_text()
    assert rejected.splitlines()[0] == "line,field,reason,raw" and rejected.count("\n") == 2
    screenshot(page, "light-data-report")
