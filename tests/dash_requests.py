"""The body a browser POSTs to ``/_dash-update-component`` to fire one server-side callback."""

from __future__ import annotations

import json


def callback_body(dependencies: list[dict], input_id: str, input_prop: str, value) -> dict:
    """The request for the server-side callback whose single input is ``input_id.input_prop``.

    ``dependencies`` is the app's ``GET /_dash-dependencies``; its state values are sent as None.
    """
    deps = [d for d in dependencies if not d.get("clientside_function")
            and [(i["id"], i["property"]) for i in d["inputs"]] == [(input_id, input_prop)]]
    assert deps, f"no server-side callback has the single input {input_id}.{input_prop}"
    dep = deps[0]
    outputs = [_output(piece) for piece in dep["output"].strip(".").split("...")]
    return {
        "output": dep["output"],
        "outputs": outputs if dep["output"].startswith("..") else outputs[0],
        "inputs": [{"id": input_id, "property": input_prop, "value": value}],
        "changedPropIds": [f"{input_id}.{input_prop}"],
        "state": [{**s, "value": None} for s in dep["state"]],
    }


def _output(piece: str) -> dict:
    component, _, prop = piece.rpartition(".")
    return {"id": json.loads(component) if component.startswith("{") else component, "property": prop}
