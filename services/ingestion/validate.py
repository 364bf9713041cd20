"""Values read and checked: numbers (decimal comma allowed), within what the quantity and the
household's equipment make possible. Each refusal says why and how to fix it.

Limits are in the stored unit (kW, degC, %, W/m2); for energies they are an average power [kW]
over the interval, so the limit in kWh scales with the interval's length (250 kW for 15 min is
62.5 kWh, for an hour 250 kWh). Beyond the generic limits, a household's ratings bound what it
can measure: PV energy in an interval at most ``kWp * hours * PV_MARGIN`` and next to nothing
while the sun is below the horizon at the household's site, battery charge or discharge at most
its power times the interval (``BATTERY_MARGIN``), grid import and export at most the connection's
limit times the interval (``GRID_MARGIN``), state of charge at most its capacity (``SOC_MARGIN``).

The same checks apply to interval readings and to the interval energy derived from meter
registers (:mod:`.counters`), however many readings a batch has.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from services.ingestion.sun import dark_throughout
from services.store.models.readings import ENERGY_QUANTITIES

#: Largest plausible value per quantity in the stored unit; a bigger one is nearly always a unit slip
#: (Wh written as kWh). Energies: the average power over the interval [kW] (kWh per hour; a home's
#: connection is rarely above 50 kW); power [kW]; temperature [degC]; irradiance [W/m2].
DEFAULT_MAX_VALUE: dict[str, float] = {
    **{q: 250.0 for q in ENERGY_QUANTITIES},
    "battery_soc": 1000.0, "power": 10_000.0, "temperature": 100.0, "humidity": 100.0, "irradiance": 2000.0,
}
#: Smallest plausible value per quantity. Energies flow one way per series (the direction is in the
#: quantity), so they are never negative. Power samples may be (export). Pyranometers read a little
#: below zero at night, which is noise, not an error.
DEFAULT_MIN_VALUE: dict[str, float] = {
    **{q: 0.0 for q in ENERGY_QUANTITIES},
    "battery_soc": 0.0, "power": -10_000.0, "temperature": -90.0, "humidity": 0.0, "irradiance": -20.0,
}
#: Headroom over the rating: cold, clear days with cloud edges lift PV above its STC rating for a while.
PV_MARGIN = 1.3
BATTERY_MARGIN = 1.25
SOC_MARGIN = 1.05
GRID_MARGIN = 1.1
#: PV output allowed while the sun stays below the horizon (-3 deg: twilight) for a whole interval:
#: this share of the rating per hour, or NIGHT_PV_KWH_PER_H without a known rating. Generous on
#: purpose: real data with interval-end or daylight-saving time stamps shows dusk output of up to
#: 9 % of the rating in the first "dark" quarter hour (NREL PVDAQ system 50); the check is there
#: for what is plainly no PV (26-73 kWh in a night hour on 5 kWp, from a meter register's glitch).
NIGHT_PV_SHARE = 0.1
NIGHT_PV_KWH_PER_H = 0.5
#: Interval assumed for a rating check when a reading's interval cannot be told [s] (said in the reason).
ASSUMED_STEP_S = 3600

_NEGATIVE = {
    "load": "a consumption meter cannot run backwards; energy sent to the grid belongs in grid_export",
    "pv": "PV generation cannot be negative; the inverter's night-time draw belongs in load",
    "grid_import": "grid import is counted one way; energy sent to the grid belongs in grid_export",
    "grid_export": "grid export is counted one way; energy taken from the grid belongs in grid_import",
    "battery_charge": "charging is counted one way; energy out of the battery belongs in battery_discharge",
    "battery_discharge": "discharging is counted one way; energy into the battery belongs in battery_charge",
    "battery_soc": "a battery cannot hold less than nothing",
    "humidity": "relative humidity is between 0 and 100 %",
}


@dataclass(frozen=True)
class Checked:
    """Rows refused (``bad``) with a reason each, in row order, and the field at fault."""

    bad: np.ndarray
    reasons: list[str]


def parse_values(values: pd.Series) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Numbers from ``values``: floats as they are, strings with a decimal point or comma (``'3,25'``).

    Returns ``(numbers, bad, reasons)``: NaN and ``bad`` where empty or not a number.
    """
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        numbers = values.to_numpy(dtype=np.float64, na_value=np.nan)
        text = None
    else:
        text = values.astype("str").str.strip()
        # A comma is the decimal mark only where there is no point; '1.234,5' (thousands) is refused.
        commas = text.str.contains(",", regex=False).fillna(False) & ~text.str.contains(".", regex=False).fillna(False)
        if commas.any():
            text = text.where(~commas, text.str.replace(",", ".", regex=False))
        numbers = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    bad = ~np.isfinite(numbers)
    reasons = []
    if bad.any():
        raw = values.to_numpy(dtype=object)[bad]
        for value in raw:
            if value is None or (isinstance(value, float) and np.isnan(value)) or str(value).strip() in ("", "nan", "<NA>"):
                reasons.append("the value is empty: leave the row out, or give a number")
            elif isinstance(value, float) and np.isinf(value):
                reasons.append(f"the value {value} is not a finite number")
            else:
                reasons.append(f"{value!r} is not a number: write it like 3.25 or 3,25 (no thousands separator)")
    return numbers, bad, reasons


def check_values(values: np.ndarray, quantities: np.ndarray, stored_units: np.ndarray, step_s: np.ndarray,
                 pv_kwp: np.ndarray, charge_kw: np.ndarray, discharge_kw: np.ndarray, capacity_kwh: np.ndarray,
                 max_value: dict[str, float] | None = None, *, start_s: np.ndarray | None = None,
                 latitude: np.ndarray | None = None, longitude: np.ndarray | None = None,
                 import_kw: np.ndarray | None = None, export_kw: np.ndarray | None = None) -> Checked:
    """Refuse values outside the quantity's limits or beyond the household's ratings.

    Parameters
    ----------
    values : ndarray of float
        In the stored unit.
    quantities, stored_units : ndarray of str
        Per row.
    step_s : ndarray of float
        Interval length per row [s], NaN where unknown (rating checks of energies then skipped,
        and the generic limit of energies read per hour).
    pv_kwp, charge_kw, discharge_kw, capacity_kwh : ndarray of float
        The household's PV peak power [kWp], battery charge and discharge power [kW] and battery
        capacity [kWh] per row; NaN where the household has none.
    max_value : dict, optional
        Per-quantity overrides of :data:`DEFAULT_MAX_VALUE` (energies: average kW over the interval).
    start_s : ndarray of int, optional
        Start of each interval [UTC Unix seconds], for the night check of PV (with ``latitude`` and
        ``longitude`` [deg] per row; NaN or None skips it).
    import_kw, export_kw : ndarray of float, optional
        The household's grid connection limits [kW] per row; NaN (or 0 for export) means none.
    """
    limits = {**DEFAULT_MAX_VALUE, **(max_value or {})}
    n = len(values)
    bad = np.zeros(n, dtype=bool)
    reasons = np.empty(n, dtype=object)
    hours = np.asarray(step_s, dtype=np.float64) / 3600.0
    # Energies are limited per hour: scale by the interval, or take the limit as it is where unknown.
    per_interval = np.where(np.isfinite(hours), hours, 1.0)

    def refuse(mask: np.ndarray, make) -> None:
        mask = mask & ~bad
        for i in np.flatnonzero(mask):
            reasons[i] = make(i)
        bad[mask] = True

    codes, names = pd.factorize(quantities)
    for code, quantity in enumerate(names):
        rows = codes == code
        low = DEFAULT_MIN_VALUE.get(quantity, -np.inf)
        refuse(rows & (values < low), lambda i, q=quantity, lo=low: _too_low(q, values[i], stored_units[i], lo))
        if quantity in ENERGY_QUANTITIES:
            high = limits.get(quantity, np.inf) * per_interval
            refuse(rows & (values > high), lambda i, q=quantity, hi=high: (
                f"{_show(values[i], stored_units[i])} in {_duration(per_interval[i] * 3600)} is more than a "
                f"plausible {q} value (at most {_show(hi[i], 'kWh')}, an average {limits[q]:g} kW): check the "
                "unit (Wh or kWh? W or kW?) or the scale factor in the mapping"))
        else:
            high = limits.get(quantity, np.inf)
            refuse(rows & (values > high), lambda i, q=quantity, hi=high: (
                f"{_show(values[i], stored_units[i])} is more than a plausible {q} value (at most "
                f"{_show(hi, stored_units[i])}): check the unit (Wh or kWh? W or kW?) or the scale factor "
                "in the mapping"))
    with np.errstate(invalid="ignore"):
        of = {q: codes == c for c, q in enumerate(names)}
        nothing = np.zeros(n, dtype=bool)
        if start_s is not None and latitude is not None and longitude is not None:
            is_pv = of.get("pv", nothing) & (values > 0) & ~bad
            if is_pv.any():
                rows = np.flatnonzero(is_pv)
                dark = np.zeros(n, dtype=bool)
                dark[rows] = dark_throughout(np.asarray(start_s)[rows], np.asarray(step_s)[rows],
                                             np.asarray(latitude)[rows], np.asarray(longitude)[rows])
                noise = np.where(np.isfinite(pv_kwp), pv_kwp * NIGHT_PV_SHARE, NIGHT_PV_KWH_PER_H) * hours
                refuse(dark & (values > noise), lambda i: (
                    f"PV {values[i]:.3g} kWh in {_duration(step_s[i])} while the sun is below the horizon at the "
                    f"household's site ({_utc_text(start_s[i])} UTC): check the time zone or UTC offset of the "
                    "timestamps, or the household's location"))
        pv_cap = pv_kwp * hours * PV_MARGIN
        refuse(of.get("pv", nothing) & (values > pv_cap), lambda i: (
            f"PV {values[i]:.3g} kWh in {_duration(step_s[i])} is more than a {pv_kwp[i]:g} kWp array can "
            f"produce (at most {pv_cap[i]:.3g} kWh): check the unit and scale, or the PV system's peak power"))
        for quantity, limit in (("grid_import", import_kw), ("grid_export", export_kw)):
            if limit is None:
                continue
            limit = np.where(np.asarray(limit, dtype=np.float64) > 0, limit, np.nan)
            cap = limit * hours * GRID_MARGIN
            refuse(of.get(quantity, nothing) & (values > cap), lambda i, q=quantity, lim=limit, c=cap: (
                f"{q.replace('_', ' ')} of {values[i]:.3g} kWh in {_duration(step_s[i])} is more than the "
                f"household's {lim[i]:g} kW grid connection allows (at most {c[i]:.3g} kWh): check the unit, "
                "or the household's grid limit"))
        for quantity, power in (("battery_charge", charge_kw), ("battery_discharge", discharge_kw)):
            cap = power * hours * BATTERY_MARGIN
            refuse(of.get(quantity, nothing) & (values > cap), lambda i, q=quantity, p=power, c=cap: (
                f"{q.replace('_', ' ')} of {values[i]:.3g} kWh in {_duration(step_s[i])} is more than a "
                f"{p[i]:g} kW battery can move (at most {c[i]:.3g} kWh): check the unit, or the battery's power"))
        soc_cap = capacity_kwh * SOC_MARGIN
        refuse(of.get("battery_soc", nothing) & (values > soc_cap), lambda i: (
            f"state of charge {values[i]:.3g} kWh is more than the battery holds ({capacity_kwh[i]:g} kWh): "
            "give it in kWh stored (or % of capacity with unit %), or check the battery's capacity"))
    return Checked(bad=bad, reasons=[str(r) for r in reasons[bad]])


def _too_low(quantity: str, value: float, unit: str, low: float) -> str:
    if low == 0.0 and value < 0:
        why = _NEGATIVE.get(quantity, f"{quantity} cannot be negative")
        return f"value {_show(value, unit)} is negative: {why}"
    return f"value {_show(value, unit)} is below what {quantity} can be (at least {_show(low, unit)}): check the unit"


def _show(value: float, unit: str) -> str:
    return f"{value:.6g} {unit}".strip()


def _utc_text(seconds: float) -> str:
    return pd.Timestamp(int(seconds), unit="s").strftime("%Y-%m-%d %H:%M")


def _duration(seconds: float) -> str:
    seconds = float(seconds)
    if seconds % 3600 == 0:
        hours = int(seconds // 3600)
        return "1 hour" if hours == 1 else f"{hours} hours"
    return f"{seconds / 60:g} min"
