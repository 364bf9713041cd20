"""Import the 17 homes of the CityLearn 2022 challenge (Fontana, California) as households.

Source: ``../shared/data/citylearn_2022_fontana_ca`` (MIT, CityLearn repository;
doi:10.18738/T8/0YLJ6Q). What is imported, through :mod:`services.households`:

- one household per building, named ``CityLearn Building N``, at Fontana CA
  (latitude 34.09, longitude -117.43), time zone ``America/Los_Angeles``;
- its PV system: peak power from ``schema.json`` (``pv.attributes.nominal_power``
  [kWp], 4 or 5); tilt 20 degrees and azimuth 180 (south) as typical Californian
  roof defaults, since the data set does not give them; losses 14 %;
- its battery where ``schema.json`` has one (``electrical_storage.attributes``:
  ``capacity`` [kWh], ``nominal_power`` [kW] for charge and discharge, and
  ``efficiency``, which CityLearn applies one way on charge and again on discharge,
  so it becomes both efficiencies here); state of charge between 0 and 1, as in CityLearn;
- one time-of-use tariff for all of them, derived from ``pricing.csv`` [USD/kWh].

Readings are not imported here (ingestion does that).

Time: the data has no timestamps. Row 0 is the hour 2016-07-31 23:00-24:00 and
every row one hour later, in local *standard* time all year: the data is fixed
UTC-08:00 and ignores daylight saving. The households get ``America/Los_Angeles``,
the zone they are really in, so their local days follow daylight saving.

The tariff: ``pricing.csv`` is seasonal (June to September: 0.22 off-peak, 0.54
weekday and 0.40 weekend peak; October to May: 0.21 off-peak, 0.50 peak) with the
peak from 15:00 to 20:00 on the data's UTC-08:00 clock. Tariff periods in the store
have hours and weekdays but no months, so :func:`derive_tou_tariff` keeps, for every
hour of every weekday, the price that holds there for most of the year (the
October-May levels) and reports which share of the year's hours that reproduces
exactly. The periods are written on the data's clock; applied in
``America/Los_Angeles`` they fall one hour later in UTC while daylight saving is on.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from services.config import PROJECT_ROOT
from services.energy.rollups import refresh_daily_energy
from services.households import (
    create_household,
    create_tariff,
    household_ids_by_name,
    tariff_ids_by_name,
    update_household,
)
from services.households.inputs import BatteryInput, HouseholdInput, PVSystemInput, TariffInput, TariffPeriodInput
from services.store.db import session_scope
from services.validation import FieldProblem, ValidationProblem

DEFAULT_DATA_DIR = PROJECT_ROOT.parent / "shared" / "data" / "citylearn_2022_fontana_ca"
LATITUDE, LONGITUDE = 34.09, -117.43  # Fontana, California [degrees]
TIMEZONE = "America/Los_Angeles"
#: The data's own clock: local standard time all year (Etc/GMT+8 is UTC-08:00, POSIX sign).
DATA_CLOCK = "Etc/GMT+8"
#: Start of row 0 of every CityLearn file, on the data's clock.
FIRST_HOUR = pd.Timestamp("2016-07-31 23:00", tz=DATA_CLOCK)
PV_TILT_DEG, PV_AZIMUTH_DEG, PV_LOSSES_PCT = 20.0, 180.0, 14.0
TARIFF_NAME = "CityLearn TOU (Fontana CA)"
CURRENCY = "USD"


@dataclass(frozen=True)
class CityLearnBuilding:
    """One building of ``schema.json``: PV peak power [kWp] and battery (None without one)."""

    number: int
    pv_kwp: float
    battery: BatteryInput | None

    @property
    def name(self) -> str:
        return f"CityLearn Building {self.number}"


@dataclass(frozen=True)
class TouDerivation:
    """A time-of-use tariff derived from an hourly price series, and how faithful it is:
    ``reproduced_share`` is the fraction of the series' hours it prices exactly."""

    tariff: TariffInput
    reproduced_share: float


@dataclass(frozen=True)
class CityLearnImport:
    """What :func:`import_citylearn` saved: ``{household name: id}``, the tariff, and the share
    of ``pricing.csv`` hours that the tariff reproduces exactly."""

    household_ids: dict[str, int]
    tariff_id: int
    created: int
    updated: int
    tariff_reproduced_share: float


def read_buildings(data_dir: Path = DEFAULT_DATA_DIR) -> list[CityLearnBuilding]:
    """The buildings of ``schema.json`` marked ``include``, in building number order."""
    schema = json.loads((Path(data_dir) / "schema.json").read_text())
    buildings = []
    for key, spec in schema["buildings"].items():
        if not spec.get("include", True):
            continue
        number = int(key.rsplit("_", 1)[-1])
        pv_kwp = float(spec["pv"]["attributes"]["nominal_power"])
        storage = (spec.get("electrical_storage") or {}).get("attributes")
        battery = None
        if storage and float(storage.get("capacity", 0)) > 0:
            power = float(storage["nominal_power"])
            efficiency = float(storage.get("efficiency", 1.0))
            battery = BatteryInput(
                capacity_kwh=float(storage["capacity"]), max_charge_kw=power, max_discharge_kw=power,
                charge_efficiency=efficiency, discharge_efficiency=efficiency, soc_min=0.0, soc_max=1.0,
            )
        buildings.append(CityLearnBuilding(number=number, pv_kwp=pv_kwp, battery=battery))
    return sorted(buildings, key=lambda b: b.number)


def read_prices(data_dir: Path = DEFAULT_DATA_DIR) -> pd.Series:
    """``pricing.csv``'s import price [USD/kWh] per hour, indexed by hour start on the data's clock
    (UTC-08:00, timezone-aware)."""
    prices = pd.read_csv(Path(data_dir) / "pricing.csv")["electricity_pricing"].astype(float)
    index = pd.date_range(FIRST_HOUR, periods=len(prices), freq="h", name="start")
    return pd.Series(prices.to_numpy(), index=index, name="import_price")


def derive_tou_tariff(prices: pd.Series, name: str = TARIFF_NAME, currency: str = CURRENCY) -> TouDerivation:
    """A seasonal time-of-use tariff from an hourly price series [currency/kWh] indexed by hour start.

    Hours, weekdays and months are read on the index's own clock. For each month and
    (weekday, hour) the price holding there most often is kept; months with the same
    weekly pattern form a season. The most frequent price of the series becomes the
    tariff's default ``import_price``, and every run of consecutive hours at another price
    becomes a period of its season (runs across midnight become one wrapping period; the
    same run on several weekdays, one period with those weekdays).
    """
    if prices.empty:
        raise ValueError("an empty price series has no tariff to derive")
    index = prices.index
    frame = pd.DataFrame({"month": index.month, "weekday": index.day_of_week, "hour": index.hour,
                          "price": prices.to_numpy()})
    default = float(frame["price"].value_counts().sort_index().idxmax())  # ties: the lower price
    seasons: list[tuple[int, np.ndarray]] = []  # (month mask, 7 x 24 price table)
    for month, rows in frame.groupby("month"):
        table = _weekly_table(rows, default)
        for i, (mask, seen) in enumerate(seasons):
            if np.array_equal(seen, table):
                seasons[i] = (mask | (1 << (month - 1)), seen)
                break
        else:
            seasons.append((1 << (month - 1), table))
    windows: dict[tuple[int, int, int, float], int] = {}
    for months, table in seasons:
        for weekday in range(7):
            for start, end, price in _runs(table[weekday], default):
                key = (months, start, end, price)
                windows[key] = windows.get(key, 0) | (1 << weekday)
    periods = [
        TariffPeriodInput(
            name=f"{'peak' if price > default else 'off-peak'} {price:g}",
            start_minute=start * 60, end_minute=(end if end <= 24 else end - 24) * 60, weekdays=days,
            months=months, import_price=price,
        )
        for (months, start, end, price), days in sorted(windows.items(), key=lambda w: (w[0][1], w[0][0], -w[1]))
    ]
    tariff = TariffInput(name=name, kind="tou" if periods else "flat", currency=currency,
                         import_price=default, periods=periods)
    season_of = {m: table for mask, table in seasons for m in range(1, 13) if mask & (1 << (m - 1))}
    modelled = np.array([season_of[m][d, h] for m, d, h in zip(index.month, index.day_of_week, index.hour)])
    share = float(np.isclose(modelled, prices.to_numpy()).mean())
    return TouDerivation(tariff=tariff, reproduced_share=share)


def _weekly_table(rows: pd.DataFrame, default: float) -> np.ndarray:
    """7 x 24 prices: the most frequent price of each (weekday, hour), ``default`` where none."""
    table = (
        rows.groupby(["weekday", "hour"])["price"]
        .agg(lambda s: s.value_counts().sort_index().idxmax())
        .unstack("hour")
        .reindex(index=range(7), columns=range(24))
    )
    return table.fillna(default).to_numpy()


def import_citylearn(data_dir: Path | None = None, *, replace: bool = False) -> CityLearnImport:
    """Create the CityLearn households, their PV systems and batteries and the tariff, in one transaction.

    Parameters
    ----------
    data_dir : Path, optional
        The ``citylearn_2022_fontana_ca`` folder; default ``../shared/data/citylearn_2022_fontana_ca``.
    replace : bool
        Households of the same name already there are updated in place (keeping their ids
        and readings) when True; when False their presence is an error and nothing is saved.

    Raises
    ------
    FileNotFoundError
        The data folder or one of its files is missing.
    ValidationProblem
        Some households exist already and ``replace`` is False.
    """
    data_dir = Path(data_dir) if data_dir is not None else DEFAULT_DATA_DIR
    buildings = read_buildings(data_dir)
    derivation = derive_tou_tariff(read_prices(data_dir))
    with session_scope() as session:
        tariff_id = tariff_ids_by_name(session=session).get(derivation.tariff.name)
        if tariff_id is None:
            tariff_id = create_tariff(derivation.tariff, session=session)
        existing = household_ids_by_name([b.name for b in buildings], session=session)
        if existing and not replace:
            raise ValidationProblem([FieldProblem(
                "name", f"{len(existing)} CityLearn households exist already ({', '.join(sorted(existing))}): "
                        "import with replace=True to update them")])
        ids = {}
        for building in buildings:
            data = _household_input(building, tariff_id)
            if building.name in existing:
                update_household(existing[building.name], data, session=session)
                ids[building.name] = existing[building.name]
            else:
                ids[building.name] = create_household(data, session=session)
    if existing:
        refresh_daily_energy(sorted(existing.values()))  # their tariff may have changed
    return CityLearnImport(household_ids=ids, tariff_id=tariff_id, created=len(ids) - len(existing),
                           updated=len(existing), tariff_reproduced_share=derivation.reproduced_share)


def _household_input(building: CityLearnBuilding, tariff_id: int) -> HouseholdInput:
    pv = PVSystemInput(kwp=building.pv_kwp, tilt_deg=PV_TILT_DEG, azimuth_deg=PV_AZIMUTH_DEG,
                       losses_pct=PV_LOSSES_PCT)
    return HouseholdInput(
        name=building.name, timezone=TIMEZONE, latitude=LATITUDE, longitude=LONGITUDE, tariff_id=tariff_id,
        pv_systems=[pv], battery=building.battery,
        notes=f"CityLearn 2022 challenge, Building_{building.number}.csv (doi:10.18738/T8/0YLJ6Q)",
    )


def _runs(day: np.ndarray, default: float) -> list[tuple[int, int, float]]:
    """Runs ``(start_hour, end_hour, price)`` of hours priced other than ``default``; end exclusive,
    a run reaching midnight joined with one starting at 0 into a run ending after 24."""
    runs: list[list] = []
    for hour, price in enumerate(day):
        price = float(price)
        if price == default:
            continue
        if runs and runs[-1][1] == hour and runs[-1][2] == price:
            runs[-1][1] = hour + 1
        else:
            runs.append([hour, hour + 1, price])
    if len(runs) > 1 and runs[0][0] == 0 and runs[-1][1] == 24 and runs[0][2] == runs[-1][2]:
        first = runs.pop(0)
        runs[-1][1] = 24 + first[1]
    return [(start, end, price) for start, end, price in runs]

