"""What-if: a household's stored inputs read once, then only the settings change.

A page keeps :func:`inputs_to_json` of :class:`~.inputs.HouseholdInputs` in the browser and, on
every slider move, builds the request with :func:`whatif_request` without touching the database;
:func:`~.service.schedule_battery` then re-solves the program kept for that horizon's shape by
changing its parameters only. Units as in :mod:`.problem`.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np

from services.optimization.inputs import HouseholdInputs, stored_energy_value, unpriced_note
from services.optimization.problem import BatteryParams, GridParams, Prices, ScheduleRequest


def inputs_to_json(inputs: HouseholdInputs) -> dict:
    """The inputs as JSON-ready data (for a page to keep in the browser): series as lists [kW,
    currency/kWh], battery and grid settings, sources and notes. :func:`whatif_request` reads it."""
    r = inputs.request
    return {
        "household_id": inputs.household_id,
        "household_name": inputs.household_name,
        "start": r.start.isoformat(),
        "dt_h": r.dt_h,
        "timezone": r.timezone,
        "currency": r.prices.currency,
        "pv_kw": r.pv_kw.tolist(),
        "load_kw": r.load_kw.tolist(),
        "import_price": r.prices.import_per_kwh.tolist(),
        "export_price": r.prices.export_per_kwh.tolist(),
        "battery": {k: getattr(r.battery, k) for k in r.battery.__dataclass_fields__},
        "grid": {k: getattr(r.grid, k) for k in r.grid.__dataclass_fields__},
        "objective": r.objective,
        "tariff_id": inputs.tariff_id,
        "unpriced_steps": list(inputs.unpriced_steps),
        "sources": {"pv": inputs.pv_source, "load": inputs.load_source, "soc": inputs.soc_source,
                    "prices": inputs.prices_source, "summary": inputs.source},
        "notes": list(inputs.notes),
    }


def whatif_request(
    base: dict,
    *,
    capacity_kwh: float,
    power_kw: float,
    efficiency: float,
    initial_soc_fraction: float,
    pv_scale: float = 1.0,
    export_limit_kw: float | None = None,
    hours: float | None = None,
) -> ScheduleRequest:
    """The request of :func:`inputs_to_json`'s ``base`` with what-if settings; no database needed.

    capacity_kwh [kWh] and power_kw [kW, charge and discharge alike] size the battery;
    efficiency is one-way (fraction, for charge and discharge alike); initial_soc_fraction is the
    stored energy at the start as a fraction of capacity, kept within the battery's SOC limits;
    pv_scale multiplies the PV series (2 = twice the array); export_limit_kw None = no limit;
    hours shortens the horizon (default: all of ``base``). Energy left at the end is valued at the
    horizon's mean import price, as for stored households (:func:`~.inputs.stored_energy_value`).
    """
    dt_h = base["dt_h"]
    steps = len(base["load_kw"]) if hours is None else max(1, min(len(base["load_kw"]), int(round(hours / dt_h))))
    stored = base["battery"]
    fraction = min(max(initial_soc_fraction, stored["soc_min"]), stored["soc_max"])
    # Fields an older ``base`` lacks take the definitions' defaults (:mod:`services.equipment`).
    battery = BatteryParams(**{
        **stored, "capacity_kwh": capacity_kwh, "max_charge_kw": power_kw, "max_discharge_kw": power_kw,
        "charge_efficiency": efficiency, "discharge_efficiency": efficiency, "initial_soc_kwh": fraction * capacity_kwh,
    })
    grid = GridParams(**{**base["grid"], "export_limit_kw": export_limit_kw})
    pv = np.asarray(base["pv_kw"][:steps], dtype=float) * pv_scale
    prices = Prices(base["import_price"][:steps], base["export_price"][:steps], base["currency"])
    return ScheduleRequest(
        pv, base["load_kw"][:steps], prices, battery, grid, dt_h=dt_h, objective=base.get("objective", "cost"),
        terminal="value", terminal_value_per_kwh=stored_energy_value(prices, steps),
        start=datetime.fromisoformat(base["start"]), timezone=base["timezone"],
    )


def whatif_notes(base: dict, steps: int) -> list[str]:
    """The notes of ``base`` that apply to its first ``steps`` steps."""
    notes = [n for n in base["notes"] if "published dynamic price" not in n]
    unpriced = sum(1 for t in base.get("unpriced_steps", []) if t < steps)
    if unpriced:
        notes.append(unpriced_note(unpriced, steps))
    return notes
