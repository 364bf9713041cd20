"""The household form: inputs for a household, its (first) PV system and optional battery.

Every input has the id ``ids.households_field(path)`` where ``path`` is the field's
dotted path in :class:`services.households.inputs.HouseholdInput` (``battery.soc_min``,
``pv_systems.0.kwp``), so a :class:`~services.validation.ValidationProblem` lands
next to its input without a lookup table. :func:`form_values` fills the form from a
saved household, :func:`household_raw` turns the form back into input for the
household service.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html

from components import ids
from services.equipment import BATTERY, PV, FieldSpec
from services.households import HouseholdDetail
from services.households.inputs import HouseholdInput
from services.validation import iana_time_zones

PV_PATH = "pv_systems.0."
BATTERY_PATH = "battery."


@dataclass(frozen=True)
class FormField:
    """One input: ``path`` in HouseholdInput, label with unit, default for a new household, help text."""

    path: str
    label: str
    default: Any = None
    help: str | None = None
    kind: str = "number"  # number | text | timezone | tariff | curtail
    step: float | str = "any"


HOUSEHOLD_FIELDS = (
    FormField("name", "Name", kind="text"),
    FormField("timezone", "Time zone", "Europe/Berlin", kind="timezone"),
    FormField("latitude", "Latitude (°N)", help="-90 to 90, north positive"),
    FormField("longitude", "Longitude (°E)", help="-180 to 180, east positive"),
    FormField("tariff_id", "Tariff", kind="tariff"),
    FormField("export_curtailable", "At a negative feed-in price", True,
              "what the baseline and the optimizer may do with surplus PV", kind="curtail"),
)
#: The choices of ``export_curtailable``: whether the inverter may curtail instead of exporting.
CURTAIL_OPTIONS = [{"label": "Curtail PV (the inverter can limit feed-in)", "value": True},
                   {"label": "Export anyway (feed-in cannot be limited)", "value": False}]


def _equipment(prefix: str, spec: FieldSpec, label: str) -> FormField:
    """The input of an equipment field: its default (None for a required one) and hint from the definition."""
    return FormField(prefix + spec.name, label, None if spec.required else spec.default, spec.hint)


PV_FIELDS = (
    _equipment(PV_PATH, PV.kwp, "Peak power (kWp)"),
    _equipment(PV_PATH, PV.tilt_deg, "Tilt (°)"),
    _equipment(PV_PATH, PV.azimuth_deg, "Azimuth (°)"),
    _equipment(PV_PATH, PV.losses_pct, "System losses (%)"),
)
BATTERY_FIELDS = (
    _equipment(BATTERY_PATH, BATTERY.capacity_kwh, "Usable capacity (kWh)"),
    _equipment(BATTERY_PATH, BATTERY.max_charge_kw, "Max. charge power (kW)"),
    _equipment(BATTERY_PATH, BATTERY.max_discharge_kw, "Max. discharge power (kW)"),
    _equipment(BATTERY_PATH, BATTERY.charge_efficiency, "Charge efficiency"),
    _equipment(BATTERY_PATH, BATTERY.discharge_efficiency, "Discharge efficiency"),
    _equipment(BATTERY_PATH, BATTERY.soc_min, "Min. state of charge"),
    _equipment(BATTERY_PATH, BATTERY.soc_max, "Max. state of charge"),
)
FIELDS = HOUSEHOLD_FIELDS + PV_FIELDS + BATTERY_FIELDS
FIELD_PATHS = tuple(f.path for f in FIELDS)


def household_form() -> html.Div:
    """The form's inputs in three sections; PV and battery can be switched off."""
    return html.Div(
        [
            dbc.Row([_field(f) for f in HOUSEHOLD_FIELDS], className="g-3"),
            html.Hr(),
            dbc.Switch(id=ids.HOUSEHOLDS_HAS_PV, label="Rooftop PV", value=True, className="mb-2"),
            dbc.Collapse(dbc.Row([_field(f) for f in PV_FIELDS], className="g-3"),
                         id=ids.HOUSEHOLDS_PV_SECTION, is_open=True),
            html.Hr(),
            dbc.Switch(id=ids.HOUSEHOLDS_HAS_BATTERY, label="Home battery (optional)", value=False, className="mb-2"),
            dbc.Collapse(dbc.Row([_field(f) for f in BATTERY_FIELDS], className="g-3"),
                         id=ids.HOUSEHOLDS_BATTERY_SECTION, is_open=False),
        ]
    )


def tariff_options(tariffs) -> list[dict[str, Any]]:
    """Dropdown options from :func:`services.households.list_tariffs` rows."""
    return [{"label": f"{t.name} ({t.kind}, {t.currency})", "value": t.id} for t in tariffs]


def form_values(detail: HouseholdDetail | None) -> tuple[dict[str, Any], bool, bool]:
    """``(values by path, has PV, has battery)`` to show ``detail``; defaults for a new household."""
    values = {f.path: f.default for f in FIELDS}
    if detail is None:
        return values, True, False
    saved = detail.to_input().model_dump()
    for path in FIELD_PATHS:
        value = _lookup(saved, path)
        if value is not None:
            values[path] = value
    return values, bool(detail.pv_systems), detail.battery is not None


def household_raw(values: dict[str, Any], has_pv: bool, has_battery: bool,
                  keep: HouseholdInput | None = None) -> dict[str, Any]:
    """Input for the household service from the form. Fields the form does not show (notes,
    grid limits, PV systems after the first) are taken from ``keep``, the household as saved."""
    raw: dict[str, Any] = keep.model_dump() if keep is not None else {}
    for f in HOUSEHOLD_FIELDS:
        raw[f.path] = _clean(values.get(f.path))
    if raw.get("export_curtailable") is None:  # not chosen: the default
        raw.pop("export_curtailable", None)
    others = raw.get("pv_systems", [])[1:]
    first = {f.path[len(PV_PATH):]: _clean(values.get(f.path)) for f in PV_FIELDS}
    raw["pv_systems"] = ([_without_none(first)] if has_pv else []) + others
    battery = {f.path[len(BATTERY_PATH):]: _clean(values.get(f.path)) for f in BATTERY_FIELDS}
    raw["battery"] = _without_none(battery) if has_battery else None
    return raw


def extra_pv_note(detail: HouseholdDetail | None) -> str | None:
    """A sentence saying that PV systems after the first are kept as they are, if there are any."""
    if detail is None or len(detail.pv_systems) < 2:
        return None
    return (f"This household has {len(detail.pv_systems)} PV systems; the form edits the first "
            "and keeps the others as they are.")


def _field(f: FormField) -> dbc.Col:
    field_id = ids.households_field(f.path)
    if f.kind == "timezone":
        control = dcc.Dropdown(id=field_id, options=list(iana_time_zones()), value=f.default, clearable=False,
                               placeholder="Type to search, e.g. Berlin")
    elif f.kind == "tariff":
        control = dcc.Dropdown(id=field_id, options=[], value=None, placeholder="No tariff")
    elif f.kind == "curtail":
        control = dcc.Dropdown(id=field_id, options=CURTAIL_OPTIONS, value=f.default, clearable=False)
    elif f.kind == "text":
        control = dbc.Input(id=field_id, type="text", value=f.default, maxLength=120)
    else:
        control = dbc.Input(id=field_id, type="number", value=f.default, step=f.step, inputMode="decimal")
    parts = [dbc.Label(f.label, html_for=_dom_id(field_id)), control,
             dbc.FormFeedback(id=ids.households_feedback(f.path), type="invalid")]
    if f.help:
        parts.append(dbc.FormText(f.help))
    return dbc.Col(html.Div(parts, className="has-validation"), xs=12, sm=6, lg=4)


def _dom_id(component_id: dict[str, str]) -> str:
    # Dash renders a dict id as its sorted JSON; the label points at that so a tap focuses the input.
    return json.dumps(component_id, sort_keys=True, separators=(",", ":"))


def _lookup(tree: Any, path: str) -> Any:
    """The value at a dotted path (``pv_systems.0.kwp``) of nested dicts and lists, or None."""
    node = tree
    for part in path.split("."):
        if isinstance(node, list):
            node = node[int(part)] if int(part) < len(node) else None
        elif isinstance(node, dict):
            node = node.get(part)
        else:
            return None
    return node


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def _without_none(fields: dict[str, Any]) -> dict[str, Any]:
    # An emptied optional input means "use the default", not "null".
    return {k: v for k, v in fields.items() if v is not None}
