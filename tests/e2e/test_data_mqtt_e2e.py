"""The Data page's MQTT rejections card in a real browser: a person sees which messages the
listener set aside (topic, reason, payload with a NUL shown escaped) and refreshes the list."""

from __future__ import annotations

from components import ids
from services import config
from services.iot.rejections import MessageRejection, record_mqtt_rejections
from tests.e2e.harness import goto, screenshot, wait_for_dash_idle


def _record(url: str, topic: str, payload: bytes, reason: str, monkeypatch) -> None:
    monkeypatch.setenv("DATABASE_URL", url)
    config.get_settings.cache_clear()
    record_mqtt_rejections([MessageRejection(topic, payload, "message", reason)])
    config.get_settings.cache_clear()


def _household(url: str, monkeypatch) -> int:
    """A household of the e2e admin's organisation: rejections are shown to the organisation of
    the household their topic names (those naming none, to the operator only)."""
    import uuid

    from services.households import create_household

    monkeypatch.setenv("DATABASE_URL", url)
    config.get_settings.cache_clear()
    home = create_household({"name": f"MQTT card {uuid.uuid4().hex[:6]}", "timezone": "Europe/Berlin",
                             "latitude": 52.5, "longitude": 13.4})
    config.get_settings.cache_clear()
    return home


def test_the_mqtt_rejections_card_lists_what_was_set_aside(scratch_server, page, monkeypatch):
    url = scratch_server.database_url
    home = _household(url, monkeypatch)
    _record(url, f"energy/{home}/meter-1/load", b'{"ts": 1, "value": "0.4\x00"}', "storing this message failed (NUL)",
            monkeypatch)
    goto(page, scratch_server.url + "/data")
    grid = page.locator(f"#{ids.DATA_MQTT_REJECTIONS_GRID}")
    grid.locator(".ag-row").first.wait_for()
    text = grid.inner_text()
    assert f"energy/{home}/meter-1/load" in text and "storing this message failed (NUL)" in text
    assert '"0.4\\x00"' in text

    _record(url, f"energy/{home}/meter-2/load", b"not json", "the payload should be JSON", monkeypatch)
    page.locator(f"#{ids.DATA_MQTT_REJECTIONS_REFRESH}").click()
    grid.locator(".ag-row", has_text=f"energy/{home}/meter-2/load").wait_for()
    wait_for_dash_idle(page)
    assert grid.locator(".ag-center-cols-container .ag-row").count() == 2
    screenshot(page, "data-mqtt-rejections")
