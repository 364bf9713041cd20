"""A chunk whose households have stored quarter-hour forecasts (what the forecast job issues, and
what a fleet's day-ahead plan reads): its inputs equal the per-household inputs on each backend,
and the array path for forecasts on the horizon's grid gives the numbers of the pandas path.

Forecast values are kWh per step; inputs are kW (a quarter hour's kWh / 0.25 h)."""

from __future__ import annotations

from datetime import timedelta

import numpy as np

from services.optimization import stored_forecasts
from services.optimization.chunk_inputs import chunk_inputs
from services.optimization.inputs import SOURCE_FORECAST, SOURCE_PROFILE, household_inputs
from services.store.db import session_scope
from services.store.models import Forecast, ForecastValue
from tests.optimize_helpers import HORIZON_START, NOW, add_battery_home, add_flat_tariff
from tests.unit.test_chunk_inputs import _assert_same

STEPS = 96


def _add(household_id: int, target: str, issued_at, values, *, start=HORIZON_START, step_min: int = 15,
         skip: int | None = None) -> None:
    """A forecast of ``values`` [kWh per step] from ``start``, one step every ``step_min`` minutes
    (step ``skip`` left out)."""
    with session_scope() as session:
        forecast = Forecast(household_id=household_id, target=target, method="ml", issued_at=issued_at)
        forecast.values = [ForecastValue(ts=start + timedelta(minutes=step_min * i), p50=float(v))
                           for i, v in enumerate(values) if i != skip]
        session.add(forecast)


def _kwh(seed: int, n: int = STEPS) -> np.ndarray:
    return np.round(np.random.default_rng(seed).uniform(0.0, 0.6, n), 4)


def _portfolio() -> dict[str, int]:
    flat = add_flat_tariff()
    homes = {name: add_battery_home(name=name, tariff_id=flat)
             for name in ("grid", "gap", "finer", "beyond limit", "not issued")}
    issued = NOW - timedelta(hours=2)
    # On the horizon's grid, from an hour before it (what the reader also reads); PV with zeros of both signs.
    _add(homes["grid"], "load", issued, _kwh(1, STEPS + 4), start=HORIZON_START - timedelta(hours=1))
    _add(homes["grid"], "pv", issued, np.r_[np.where(np.arange(40) % 2, 0.0, -0.0), _kwh(2, 56)])
    # Newest with a missing step: the older complete one; PV: two issued together, the later id wins.
    _add(homes["gap"], "load", issued - timedelta(hours=1), _kwh(3))
    _add(homes["gap"], "load", issued, _kwh(4), skip=50)
    _add(homes["gap"], "pv", issued, _kwh(5))
    _add(homes["gap"], "pv", issued, _kwh(6))
    # Finer than the horizon (5 minutes: averaged), and on a grid offset by 5 minutes (pandas path).
    _add(homes["finer"], "load", issued, _kwh(7, 3 * STEPS), step_min=5)
    _add(homes["finer"], "pv", issued, _kwh(8, STEPS + 1), start=HORIZON_START - timedelta(minutes=10))
    # The only complete one is the sixth newest: beyond the candidates looked at, the profile.
    _add(homes["beyond limit"], "load", issued - timedelta(hours=6), _kwh(9))
    for h in range(5):
        _add(homes["beyond limit"], "load", issued - timedelta(hours=h), _kwh(10 + h), skip=h)
    _add(homes["not issued"], "load", NOW + timedelta(minutes=1), _kwh(20))
    return homes


def test_chunk_inputs_with_quarter_hour_forecasts_equal_the_per_household_inputs(db_url):
    homes = _portfolio()
    chunk = chunk_inputs(list(homes.values()), now=NOW)
    assert not chunk.errors
    for household_id in homes.values():
        _assert_same(chunk.inputs[household_id], household_inputs(household_id, now=NOW))
    sources = {name: (chunk.inputs[h].pv_source, chunk.inputs[h].load_source) for name, h in homes.items()}
    assert sources == {"grid": (SOURCE_FORECAST, SOURCE_FORECAST), "gap": (SOURCE_FORECAST, SOURCE_FORECAST),
                       "finer": (SOURCE_FORECAST, SOURCE_FORECAST),
                       "beyond limit": (SOURCE_PROFILE, SOURCE_PROFILE),
                       "not issued": (SOURCE_PROFILE, SOURCE_PROFILE)}
    grid, gap = chunk.inputs[homes["grid"]].request, chunk.inputs[homes["gap"]].request
    np.testing.assert_array_equal(grid.load_kw, _kwh(1, STEPS + 4)[4:] / 0.25)
    np.testing.assert_array_equal(gap.load_kw, _kwh(3) / 0.25)
    np.testing.assert_array_equal(gap.pv_kw, _kwh(6) / 0.25)
    np.testing.assert_allclose(chunk.inputs[homes["finer"]].request.load_kw,
                               _kwh(7, 3 * STEPS).reshape(-1, 3).mean(axis=1) / (5 / 60))


def test_the_array_path_gives_the_numbers_of_the_pandas_path(db_url, monkeypatch):
    homes = _portfolio()
    fast = chunk_inputs(list(homes.values()), now=NOW).inputs
    monkeypatch.setattr(stored_forecasts, "_on_grid", lambda *args: False)  # every forecast through pandas
    slow = chunk_inputs(list(homes.values()), now=NOW).inputs
    for household_id in homes.values():
        _assert_same(fast[household_id], slow[household_id])
        for name in ("pv_kw", "load_kw"):
            a, b = getattr(fast[household_id].request, name), getattr(slow[household_id].request, name)
            assert np.array_equal(np.signbit(a), np.signbit(b)), name  # not only equal: the same bits
