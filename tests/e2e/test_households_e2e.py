"""The Households page in a real browser: a person creates a household through the form,
is told what to fix when a value is wrong (and nothing is saved), sees the new row in the
table, and follows its link to the household's page."""

from __future__ import annotations

import json

from components import ids
from tests.e2e.harness import goto, household_ids, screenshot, wait_for_dash_idle

NAME = "E2E Sonnenhof 7"


def field(path: str) -> str:
    """CSS selector of the form input for ``path``: Dash renders a dict id as its sorted JSON."""
    dom_id = json.dumps(ids.households_field(path), sort_keys=True, separators=(",", ":"))
    return f"[id='{dom_id}']"


def feedback(path: str) -> str:
    dom_id = json.dumps(ids.households_feedback(path), sort_keys=True, separators=(",", ":"))
    return f"[id='{dom_id}']"


def _household_count(server) -> int:
    return len(household_ids(server.database_url))


def test_create_a_household_through_the_form(scratch_server, page):
    goto(page, scratch_server.url + "/households")
    households_before = _household_count(scratch_server)

    page.locator(f"#{ids.HOUSEHOLDS_NEW}").click()
    page.locator(field("name")).wait_for(state="visible")
    page.locator(field("name")).fill(NAME)
    page.locator(field("latitude")).fill("95")  # a typo a person makes: the form must say so
    page.locator(field("longitude")).fill("11.6")
    page.locator(field("pv_systems.0.kwp")).fill("8.2")
    page.locator(f"#{ids.HOUSEHOLDS_HAS_BATTERY}").check()
    page.locator(field("battery.capacity_kwh")).wait_for(state="visible")
    page.locator(field("battery.capacity_kwh")).fill("10")
    page.locator(field("battery.max_charge_kw")).fill("5")
    page.locator(field("battery.max_discharge_kw")).fill("5")

    page.locator(f"#{ids.HOUSEHOLDS_FORM_SAVE}").click()
    message = page.locator(feedback("latitude"))
    message.wait_for(state="visible")
    assert "between -90 and 90" in message.inner_text()
    assert "95" in message.inner_text()
    assert page.locator(field("latitude")).get_attribute("class").count("is-invalid") == 1
    assert _household_count(scratch_server) == households_before, "a refused form saved something"
    screenshot(page, "light-households-form-error")

    page.locator(field("latitude")).fill("48.1")
    page.locator(f"#{ids.HOUSEHOLDS_FORM_SAVE}").click()
    page.locator(f"#{ids.HOUSEHOLDS_FORM_MODAL}").wait_for(state="hidden")
    wait_for_dash_idle(page)
    assert f"Household {NAME} created." in page.locator(f"#{ids.HOUSEHOLDS_ALERT}").inner_text()
    assert _household_count(scratch_server) == households_before + 1

    row = page.locator(f"#{ids.HOUSEHOLDS_GRID} .ag-row").filter(has_text=NAME)
    row.first.wait_for()
    row_index = row.first.get_attribute("row-index")
    # The grid splits a row over its containers (pinned and scrolling); the link is in one of them.
    link = page.locator(f"#{ids.HOUSEHOLDS_GRID} .ag-row[row-index='{row_index}'] a[href^='/household/']")
    assert link.count() == 1
    screenshot(page, "light-households-created")

    href = link.get_attribute("href")
    household_id = int(href.rsplit("/", 1)[-1])
    assert household_id in household_ids(scratch_server.database_url)
    link.click()
    page.wait_for_url(f"{scratch_server.url}/household/{household_id}")
    wait_for_dash_idle(page)
    content = page.locator("#_pages_content").inner_text()
    assert "Page not found" not in content
    assert NAME in content, "the household page does not name the household"
    screenshot(page, "light-household-new")
