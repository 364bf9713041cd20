"""The Data page's MQTT rejections card, its callbacks called as plain functions on each backend."""

from __future__ import annotations

import pytest

from components import ids
from components.theme import HIDDEN, SHOWN
from services.iot.rejections import MessageRejection, record_mqtt_rejections
from tests.dash_tree import find


@pytest.fixture
def page(dash_app):
    import pages.data as page

    return page


def test_the_card_shows_the_newest_rejections_with_topic_payload_and_reason(db_url, page):
    layout = page.layout()
    assert find(layout, ids.DATA_MQTT_REJECTIONS_EMPTY).style == SHOWN
    assert find(layout, ids.DATA_MQTT_REJECTIONS_GRID).rowData == []

    record_mqtt_rejections([
        MessageRejection("energy/7/meter-1/load", b'{"ts": 1, "value": "1\x00"}', "message", "storing failed"),
        MessageRejection("energy/8/meter-1/load", b"=HYPERLINK(\"x\")" + b"y" * 1000, "payload", "not JSON"),
    ])
    rows, grid_style, empty_style = page.refresh_mqtt_rejections(1)
    assert (grid_style, empty_style) == (SHOWN, HIDDEN)
    assert [r["topic"] for r in rows] == ["energy/8/meter-1/load", "energy/7/meter-1/load"]  # newest first
    assert rows[1]["payload"] == '{"ts": 1, "value": "1\\x00"}'  # the NUL shown escaped, storable everywhere
    assert len(rows[0]["payload"]) <= 300 and rows[0]["reason"] == "not JSON" and rows[0]["when"] != "—"
    layout = page.layout()
    assert len(find(layout, ids.DATA_MQTT_REJECTIONS_GRID).rowData) == 2
    assert find(layout, ids.DATA_MQTT_REJECTIONS_EMPTY).style == HIDDEN
