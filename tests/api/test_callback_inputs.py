"""Every server-side callback of ``/_dash-dependencies`` gets wrongly typed inputs, as a crafted or
stale browser could send them: a dict where a number belongs, a string id, null, a list, ``true``.

Each must get a handled answer (an update, or "nothing to update"), never a bare 500; a callback
that fails anyway shows the app's own message (reference included) instead of crashing.
Background callbacks are left out: they answer with a job at once and run in a worker.
"""

from __future__ import annotations

import json

import pytest

from components import ids
from services.households import create_household
from tests.optimize_helpers import add_battery_home

BAD_VALUES = {"dict": {"a": 1}, "string": "x';--", "null": None, "list": [1, "a"], "true": True}
WILDCARDS = ("MATCH", "ALL", "ALLSMALLER")


def _concrete(id_, bad):
    """``id_`` (text, or a pattern's JSON) with every wildcard replaced by ``bad``; and whether the
    pattern asks for a list (ALL/ALLSMALLER)."""
    if not id_.startswith("{"):
        return id_, False
    pattern = json.loads(id_)
    many = any(v in (["ALL"], ["ALLSMALLER"]) for v in pattern.values())
    return {k: (bad if isinstance(v, list) and v and v[0] in WILDCARDS else v) for k, v in pattern.items()}, many


def _prop_id(id_, prop) -> str:
    text = id_ if isinstance(id_, str) else json.dumps(id_, sort_keys=True, separators=(",", ":"))
    return f"{text}.{prop}"


def _entries(items, bad, value=True):
    out = []
    for item in items:
        id_, many = _concrete(item["id"], bad if not isinstance(bad, (dict, list)) else "x")
        entry = {"id": id_, "property": item["property"], **({"value": bad} if value else {})}
        out.append([entry] if many else entry)
    return out


def _outputs(output: str, bad):
    specs = output.strip(".").split("...") if output.startswith("..") else [output]
    items = []
    for spec in specs:
        id_, prop = spec.rsplit(".", 1)
        items.append({"id": id_, "property": prop})
    outputs = _entries(items, bad, value=False)
    return outputs if output.startswith("..") else outputs[0]


def _body(dep: dict, bad) -> dict:
    inputs = _entries(dep["inputs"], bad)
    first = inputs[0][0] if isinstance(inputs[0], list) else inputs[0]
    return {"output": dep["output"], "outputs": _outputs(dep["output"], bad), "inputs": inputs,
            "state": _entries(dep["state"], bad), "changedPropIds": [_prop_id(first["id"], first["property"])]}


def _server_callbacks(client) -> list[dict]:
    deps = client.get("/_dash-dependencies").get_json()
    return [d for d in deps if not d.get("clientside_function") and not d.get("background") and d["inputs"]]


def test_every_server_callback_is_probed(client):
    callbacks = _server_callbacks(client)
    assert len(callbacks) >= 50  # the pages' callbacks, less the clientside and background ones


@pytest.mark.parametrize("kind", list(BAD_VALUES))
def test_wrongly_typed_callback_inputs_get_a_handled_answer(client, db_url, kind, caplog):
    add_battery_home()
    create_household({"name": "Bare flat", "timezone": "Europe/Vienna", "latitude": 48.2, "longitude": 16.4})
    caplog.set_level("CRITICAL")
    failures, told = [], 0
    for dep in _server_callbacks(client):
        response = client.post("/_dash-update-component", json=_body(dep, BAD_VALUES[kind]))
        if response.status_code >= 500:
            failures.append(f"{dep['output']}: {response.status_code}")
            continue
        assert response.status_code in (200, 204), (dep["output"], response.status_code)
        if response.status_code == 200:
            toast = response.get_json().get("sideUpdate", {}).get(ids.CALLBACK_ERROR)
            if toast:
                assert toast["is_open"] and "reference" in toast["children"]
                told += 1
    assert not failures, f"{len(failures)} callbacks answered 5xx:\n" + "\n".join(failures)
    if kind != "null":  # null is what a fresh page sends: most callbacks expect it
        assert told > 0, "no callback failed on these values, so the handler was not exercised"
