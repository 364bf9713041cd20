"""A battery household with readings a person can check by hand, for the optimization input, API
and What-if page tests.

"Battery Home" (Europe/Berlin, 5 kWp, 10 kWh / 5 kW battery, 95 % each way, SOC 10-100 %) has
15-minute readings for ``days`` local days ending at local midnight of :data:`HORIZON_DAY`
(Wednesday 2026-06-17; Berlin is UTC+2 then):

* load [kW] = 1 + t/96 at local step t of a weekday, twice that on Saturday and Sunday;
* PV [kW] = 2 from 10:00 to 14:00 local, else 0;
* stored energy 4 kWh at every step except the last, 6.5 kWh.

Readings hold kWh per step (kW x 0.25 h).
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import pandas as pd

from services.households import create_household, create_tariff
from services.store.db import session_scope
from tests.factories import add_series

TZ = "Europe/Berlin"
HORIZON_DAY = date(2026, 6, 17)  # a Wednesday
HORIZON_START = datetime(2026, 6, 16, 22, 0, tzinfo=UTC)  # its local midnight
NOW = datetime(2026, 6, 16, 12, 0, tzinfo=UTC)  # Tuesday afternoon: "tomorrow" is HORIZON_DAY
BATTERY = {"capacity_kwh": 10.0, "max_charge_kw": 5.0, "max_discharge_kw": 5.0, "charge_efficiency": 0.95,
           "discharge_efficiency": 0.95, "soc_min": 0.1, "soc_max": 1.0}
LAST_SOC_KWH = 6.5


def weekday_load_kw() -> np.ndarray:
    """Load of a weekday by local 15-minute step [kW]."""
    return 1.0 + np.arange(96) / 96


def pv_day_kw() -> np.ndarray:
    """PV of every day by local 15-minute step [kW]: 2 kW from 10:00 to 14:00."""
    pv = np.zeros(96)
    pv[40:56] = 2.0
    return pv


def add_flat_tariff(name: str = "Flat 30 ct", price: float = 0.30, export: float = 0.08) -> int:
    return create_tariff({"name": name, "kind": "flat", "import_price": price, "export_price": export})


def add_battery_home(days: int = 8, *, tariff_id: int | None = None, battery: dict | None = BATTERY,
                     name: str = "Battery Home", readings: bool = True) -> int:
    """The household described in the module docstring; returns its id."""
    if tariff_id is None:
        tariff_id = add_flat_tariff()
    household_id = create_household({
        "name": name, "timezone": TZ, "latitude": 52.5, "longitude": 13.4, "tariff_id": tariff_id,
        "pv_systems": [{"kwp": 5.0}], "battery": battery,
    })
    if readings:
        add_readings(household_id, days)
    return household_id


def add_readings(household_id: int, days: int) -> None:
    local = pd.date_range(pd.Timestamp(HORIZON_DAY).tz_localize(TZ) - pd.Timedelta(days=days),
                          periods=days * 96, freq="15min")
    weekend = np.repeat(local[::96].day_of_week >= 5, 96)
    load_kw = np.tile(weekday_load_kw(), days) * np.where(weekend, 2.0, 1.0)
    pv_kw = np.tile(pv_day_kw(), days)
    soc = np.full(len(local), 4.0)
    soc[-1] = LAST_SOC_KWH
    start = local[0].tz_convert("UTC").to_pydatetime()
    with session_scope() as session:
        add_series(session, household_id, "load", start, (load_kw * 0.25).tolist())
        add_series(session, household_id, "pv", start, (pv_kw * 0.25).tolist())
        add_series(session, household_id, "battery_soc", start, soc.tolist())
