"""Assemble the demo portfolio in memory: households, their metered series, weather, prices.

Pure and deterministic: the same ``(n_households, seed, end, days)`` gives
identical frames. Nothing here touches the store (:mod:`services.demo.loader`
writes it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
import pandas as pd

from services.demo import faults as fault_rules
from services.demo.battery import grid_flows, simulate_self_consumption
from services.demo.faults import PlantedFault, planted_faults
from services.demo.load import household_load, indoor_temperature
from services.demo.portfolio import HouseholdSpec, Site, build_households, household_rng
from services.demo.prices import TARIFFS, DemoTariff, dynamic_import_prices
from services.demo.pv import household_pv
from services.demo.weather import SiteWeather, hourly_records, period_index, site_weather
from services.store.models import QUANTITY_UNITS

RESOLUTION_S = 900


@dataclass(frozen=True)
class SeriesSpec:
    """A series of a household: ``name`` (unique per household), ``quantity`` and ``unit`` as in
    :data:`~services.store.models.QUANTITY_UNITS`, and the name of the device that reports it."""

    name: str
    quantity: str
    unit: str
    device: str | None = None


@dataclass(frozen=True)
class DemoHousehold:
    """A household with its series and readings.

    ``readings`` is indexed by UTC interval start (15 min) with one column per series
    name: energies in kWh of the interval, ``battery_soc`` in kWh at ts, power in kW,
    temperature in degC. NaN marks a reading that is missing (a planted gap).
    """

    spec: HouseholdSpec
    series: tuple[SeriesSpec, ...]
    readings: pd.DataFrame

    @property
    def name(self) -> str:
        return self.spec.name


@dataclass(frozen=True)
class DemoPortfolio:
    """Everything the demo loader writes, in memory."""

    seed: int
    end: date
    days: int
    index: pd.DatetimeIndex
    households: tuple[DemoHousehold, ...]
    sites: tuple[Site, ...]
    tariffs: tuple[DemoTariff, ...]
    dynamic_prices: pd.Series  # hourly import price of the dynamic tariff [EUR/kWh]
    weather: dict[str, pd.DataFrame]  # site name -> hourly observations (see weather.hourly_records)
    faults: tuple[PlantedFault, ...]

    def household(self, name: str) -> DemoHousehold:
        """The household called ``name``."""
        for household in self.households:
            if household.name == name:
                return household
        raise KeyError(f"no demo household is called {name!r}")

    @property
    def reading_count(self) -> int:
        """Readings that will be stored (missing ones excluded)."""
        return int(sum(h.readings.notna().to_numpy().sum() for h in self.households))


def generate_portfolio(n_households: int, seed: int, end: date | datetime | str, days: int = 365,
                       first: int = 0) -> DemoPortfolio:
    """Generate the demo portfolio in memory.

    Parameters
    ----------
    n_households : int
        Households to generate (at least 1; faults need at least 4, see :mod:`services.demo.faults`).
    seed : int
        Seed of every random draw; the same inputs give identical values.
    end : date
        The period ends at 00:00 UTC of this day (exclusive).
    days : int
        Length of the period [days]; 365 by default, shorter for tests.
    first : int
        Index of the first household: a large portfolio is generated in batches (households
        ``first`` .. ``first + n_households - 1``, each identical to the same household of a
        portfolio generated at once). Faults are planted in the first households only.
    """
    end_ts = _local_midnight(end)
    index = period_index(end_ts, days)
    specs = build_households(n_households, seed, first)
    sites = tuple(dict.fromkeys(s.site for s in specs))
    weathers = {site.name: site_weather(site, index, seed) for site in sites}
    faults = planted_faults(n_households, index) if first == 0 else ()

    flows = {spec.index: _pv_and_load(spec, weathers[spec.site.name], seed, faults, index) for spec in specs}
    _add_batteries_and_grid(specs, flows)
    households = tuple(_household(spec, flows[spec.index], weathers[spec.site.name], seed, faults, index)
                       for spec in specs)

    hourly = {name: hourly_records(w) for name, w in weathers.items()}
    sunshine = pd.concat([frame["ghi"] for frame in hourly.values()], axis=1).mean(axis=1)
    prices = dynamic_import_prices(index[0], end_ts, sunshine, seed)
    return DemoPortfolio(
        seed=seed, end=end_ts.date(), days=days, index=index, households=households, sites=sites,
        tariffs=tuple(TARIFFS.values()), dynamic_prices=prices, weather=hourly, faults=faults,
    )


#: Every demo site keeps Central European time, so the year ends at a midnight that is local for all.
PORTFOLIO_TZ = "Europe/Berlin"


def _local_midnight(end: date | datetime | str) -> pd.Timestamp:
    """Midnight starting day ``end`` in the portfolio's time zone, in UTC: the data's last day is whole."""
    day = pd.Timestamp(end)
    if day.tzinfo is not None:
        day = day.tz_convert(PORTFOLIO_TZ).tz_localize(None)
    return day.normalize().tz_localize(PORTFOLIO_TZ).tz_convert("UTC")


def _pv_and_load(spec: HouseholdSpec, weather: SiteWeather, seed: int,
                 faults: tuple[PlantedFault, ...], index: pd.DatetimeIndex) -> dict[str, np.ndarray]:
    pv = household_pv(spec, weather, seed) * fault_rules.pv_factor(spec.index, faults)
    load = household_load(spec, weather, seed)
    total = load.total
    for fault in faults:
        if fault.household == spec.name and fault.kind == "stuck_meter":
            total = fault_rules.stick_meter(total, fault_rules.window(index, fault))
    return {"load": total, "pv": pv, "heat_pump": load.heat_pump}


def _add_batteries_and_grid(specs: tuple[HouseholdSpec, ...], flows: dict[int, dict[str, np.ndarray]]) -> None:
    with_battery = [s for s in specs if s.battery is not None]
    if with_battery:
        surplus = np.column_stack([flows[s.index]["pv"] - flows[s.index]["load"] for s in with_battery])
        result = simulate_self_consumption(surplus, [s.battery for s in with_battery])
        for col, spec in enumerate(with_battery):
            flows[spec.index]["battery_charge"] = result.charge[:, col]
            flows[spec.index]["battery_discharge"] = result.discharge[:, col]
            flows[spec.index]["battery_soc"] = result.soc[:, col]
    for spec in specs:
        f = flows[spec.index]
        f["grid_import"], f["grid_export"] = grid_flows(
            f["load"], f["pv"], f.get("battery_charge", 0.0), f.get("battery_discharge", 0.0)
        )


def _household(spec: HouseholdSpec, flows: dict[str, np.ndarray], weather: SiteWeather, seed: int,
               faults: tuple[PlantedFault, ...], index: pd.DatetimeIndex) -> DemoHousehold:
    names = ["load", "grid_import", "grid_export"]
    if spec.pv:
        names.append("pv")
    if spec.battery is not None:
        names += ["battery_charge", "battery_discharge", "battery_soc"]
    columns = {name: flows[name] for name in names}
    series = [SeriesSpec(name, name, QUANTITY_UNITS[name]) for name in names]
    if spec.has_heat_pump:
        columns["heat_pump/power"] = np.round(flows["heat_pump"] / 0.25, 3)  # mean kW over the step
        series.append(SeriesSpec("heat_pump/power", "power", QUANTITY_UNITS["power"]))
    if spec.has_temperature_sensor:
        rng = household_rng(seed, spec.index, 4)
        columns["living_room/temperature"] = indoor_temperature(weather.temp_air, index, spec.timezone, rng)
        series.append(SeriesSpec("living_room/temperature", "temperature", QUANTITY_UNITS["temperature"]))
    device_of = {metric: d.name for d in spec.devices for metric in d.metrics}
    series = [SeriesSpec(s.name, s.quantity, s.unit, device_of.get(s.name)) for s in series]

    readings = pd.DataFrame(columns, index=index)
    for fault in faults:
        if fault.household == spec.name and fault.kind == "gap":
            readings.loc[fault_rules.window(index, fault), :] = np.nan
    return DemoHousehold(spec=spec, series=tuple(series), readings=readings)
