"""Who is in the demo portfolio: sites, households, their PV, batteries, tariffs and devices.

Everything here is a plain, frozen description; the time series are made by
:mod:`services.demo.weather`, :mod:`~services.demo.pv`, :mod:`~services.demo.load`
and :mod:`~services.demo.battery`.

Household ``i`` always has the same name, site and tariff whatever the seed and
the portfolio size (the seed only draws sizes, orientations, jitter and the
weather), so planted faults can be named in :data:`services.demo.faults.FAULTS`
and household ``i`` does not change when the portfolio grows.

Conventions as in :mod:`services.store.models.households`: tilt in degrees from
horizontal, azimuth in degrees east of north (180 = south), power in kW,
energy in kWh, efficiencies and SOC limits as fractions.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from services.households.inputs import BatteryInput


@dataclass(frozen=True)
class Site:
    """A city with its own weather; the households of a site share its cloudiness.

    ``kc_summer`` / ``kc_winter`` are the mean clear-sky index [-] in late June and
    late December; ``temp_mean`` [degC] is the annual mean air temperature and
    ``temp_amplitude`` [K] half the summer-winter difference; ``wind_mean`` [m/s].
    """

    name: str
    latitude: float
    longitude: float
    altitude_m: float
    timezone: str
    surnames: tuple[str, ...]
    districts: tuple[str, ...]
    kc_summer: float
    kc_winter: float
    temp_mean: float
    temp_amplitude: float
    wind_mean: float


SITES: tuple[Site, ...] = (
    Site("Berlin", 52.52, 13.40, 34, "Europe/Berlin",
         ("Müller", "Schulz", "Krause", "Lehmann", "Neumann", "Fischer", "Wolff", "Hahn"),
         ("Pankow", "Köpenick", "Spandau", "Zehlendorf", "Friedrichshain", "Weißensee", "Tegel"),
         0.80, 0.47, 10.3, 9.6, 3.6),
    Site("Munich", 48.14, 11.58, 519, "Europe/Berlin",
         ("Huber", "Bauer", "Wagner", "Mayer", "Hofmann", "Brandl", "Obermaier", "Lechner"),
         ("Schwabing", "Pasing", "Trudering", "Bogenhausen", "Giesing", "Moosach", "Solln"),
         0.80, 0.53, 9.5, 9.2, 2.9),
    Site("Hamburg", 53.55, 9.99, 12, "Europe/Berlin",
         ("Petersen", "Jensen", "Hansen", "Carstens", "Thiessen", "Lüders", "Brodersen", "Claussen"),
         ("Altona", "Eimsbüttel", "Blankenese", "Wandsbek", "Harburg", "Bergedorf", "Ottensen"),
         0.80, 0.47, 10.0, 8.2, 4.3),
    Site("Vienna", 48.21, 16.37, 190, "Europe/Vienna",
         ("Gruber", "Steiner", "Moser", "Pichler", "Hofer", "Leitner", "Aigner", "Wimmer"),
         ("Döbling", "Favoriten", "Floridsdorf", "Hietzing", "Ottakring", "Simmering", "Währing"),
         0.81, 0.50, 11.4, 10.2, 3.4),
    Site("Amsterdam", 52.37, 4.90, 2, "Europe/Amsterdam",
         ("de Vries", "Jansen", "Bakker", "Visser", "Smit", "de Boer", "Mulder", "Bos"),
         ("Jordaan", "Oost", "Noord", "De Pijp", "Buitenveldert", "Westerpark", "Slotervaart"),
         0.78, 0.46, 10.8, 7.0, 4.8),
    Site("Freiburg", 47.99, 7.85, 278, "Europe/Berlin",
         ("Schneider", "Weber", "Kaiser", "Vogel", "Zimmermann", "Frey", "Ruf", "Wehrle"),
         ("Vauban", "Wiehre", "Herdern", "Littenweiler", "Rieselfeld", "Zähringen", "Stühlinger"),
         0.82, 0.54, 11.8, 9.4, 2.6),
)

#: Demo tariffs by key; the rows themselves are described in :mod:`services.demo.prices`.
TARIFF_KEYS = ("flat", "tou", "dynamic")

#: Household indices that carry a planted fault (see :mod:`services.demo.faults`);
#: the under-performing array needs PV, so that household always has it.
UNDERPERFORMING_PV_INDEX = 3


@dataclass(frozen=True)
class PVSpec:
    """One PV array: ``kwp`` [kWp DC], tilt/azimuth [deg], ``losses_pct`` [%], ``inverter_kw`` [kW AC]."""

    name: str
    kwp: float
    tilt_deg: float
    azimuth_deg: float
    inverter_kw: float
    losses_pct: float = 14.0


@dataclass(frozen=True)
class DeviceSpec:
    """An IoT device; ``metrics`` are the series names it reports, ``offline_hours`` how long
    before the end of the period it was last seen (0 = it reported the last interval)."""

    kind: str
    name: str
    external_id: str
    metrics: tuple[str, ...]
    offline_hours: float = 0.0


@dataclass(frozen=True)
class HouseholdSpec:
    """A demo household. ``annual_load_kwh`` [kWh/year] is its consumption over a full year,
    including the EV and heat pump where it has them."""

    index: int
    name: str
    site: Site
    latitude: float
    longitude: float
    tariff_key: str
    annual_load_kwh: float
    pv: tuple[PVSpec, ...] = ()
    battery: BatteryInput | None = None
    has_ev: bool = False
    has_heat_pump: bool = False
    has_temperature_sensor: bool = False
    devices: tuple[DeviceSpec, ...] = field(default=())

    @property
    def timezone(self) -> str:
        return self.site.timezone

    @property
    def kwp(self) -> float:
        """Total DC peak power of its arrays [kWp]."""
        return sum(a.kwp for a in self.pv)


def household_rng(seed: int, index: int, purpose: int) -> np.random.Generator:
    """An independent random stream per (seed, household, purpose), so that household ``i``
    draws the same numbers whatever the portfolio size."""
    return np.random.default_rng([seed, index, purpose])


def site_of(index: int) -> Site:
    """The site of household ``index``: round robin, so every site gets households."""
    return SITES[index % len(SITES)]


def household_name(index: int) -> str:
    """The readable, unique name of household ``index`` (e.g. ``"Müller family, Pankow"``)."""
    site = site_of(index)
    rank = index // len(SITES)
    base = f"{site.surnames[rank % len(site.surnames)]} family, {site.districts[rank % len(site.districts)]}"
    # 8 surnames x 7 districts are coprime: names repeat only after 56 households per site.
    cycle = len(site.surnames) * len(site.districts)
    return base if rank < cycle else f"{base} ({rank // cycle + 1})"


def build_households(n_households: int, seed: int, first: int = 0) -> tuple[HouseholdSpec, ...]:
    """``n_households`` households of the portfolio for ``seed``, from household ``first`` on."""
    if n_households < 1:
        raise ValueError(f"the demo portfolio needs at least 1 household, got {n_households}")
    return tuple(_household(i, seed) for i in range(first, first + n_households))


def _household(index: int, seed: int) -> HouseholdSpec:
    rng = household_rng(seed, index, 0)
    site = site_of(index)
    # A few km around the site centre (1 degree latitude is about 111 km).
    lat = site.latitude + rng.normal(0.0, 0.03)
    lon = site.longitude + rng.normal(0.0, 0.045)
    # Shift by the site rank so that site and tariff do not go in lockstep.
    tariff = TARIFF_KEYS[(index + index // len(SITES)) % len(TARIFF_KEYS)]
    has_pv = index in (0, UNDERPERFORMING_PV_INDEX) or rng.random() < 0.85
    pv = _pv_arrays(rng) if has_pv else ()
    has_battery = has_pv and (index == 0 or rng.random() < 0.5)
    battery = _battery(rng) if has_battery else None
    has_ev = rng.random() < 0.25
    has_heat_pump = index == 1 or (index > 6 and rng.random() < 0.1)
    has_sensor = index in (0, 4, 9)
    # An EV or a heat pump adds 1,000-2,000 kWh a year on top of the household's own use.
    annual = float(rng.uniform(4200.0, 5600.0) if has_ev or has_heat_pump else rng.uniform(2500.0, 4800.0))
    spec = HouseholdSpec(
        index=index, name=household_name(index), site=site,
        latitude=round(float(lat), 5), longitude=round(float(lon), 5), tariff_key=tariff,
        annual_load_kwh=round(annual, 1), pv=pv, battery=battery, has_ev=has_ev,
        has_heat_pump=has_heat_pump, has_temperature_sensor=has_sensor,
    )
    return _with_devices(spec)


def _pv_arrays(rng: np.random.Generator) -> tuple[PVSpec, ...]:
    kwp = round(float(rng.uniform(3.0, 12.0)), 2)
    tilt = round(float(rng.uniform(15.0, 45.0)))
    inverter_ratio = float(rng.uniform(0.9, 1.0))
    if rng.random() < 0.2:  # east/west roof: two arrays sharing one inverter rating
        half = round(kwp / 2, 2)
        return (
            PVSpec("East roof", half, tilt, 90.0, round(half * inverter_ratio, 2)),
            PVSpec("West roof", half, tilt, 270.0, round(half * inverter_ratio, 2)),
        )
    azimuth = round(float(np.clip(rng.normal(180.0, 35.0), 90.0, 270.0)))
    return (PVSpec("Roof", kwp, tilt, azimuth, round(kwp * inverter_ratio, 2)),)


def _battery(rng: np.random.Generator) -> BatteryInput:
    capacity = round(float(rng.choice([5.0, 6.4, 7.7, 9.6, 10.0, 12.8, 15.0])), 1)
    power = round(capacity * float(rng.uniform(0.4, 0.6)), 1)  # about 0.5 C
    return BatteryInput(capacity_kwh=capacity, max_charge_kw=power, max_discharge_kw=power)


def _with_devices(spec: HouseholdSpec) -> HouseholdSpec:
    """A handful of devices for the IoT page: a few inverters, a battery, a heat pump, sensors.

    One inverter (household 5's) has been silent for two days, so the IoT page
    has an offline device to show.
    """
    devices: list[DeviceSpec] = []
    slug = f"hh{spec.index:03d}"
    if spec.pv and spec.index in (0, 2, 5):
        devices.append(DeviceSpec("inverter", "PV inverter", f"{slug}-inv", ("pv",),
                                  offline_hours=48.0 if spec.index == 5 else 0.0))
    if spec.battery is not None and spec.index == 0:
        devices.append(DeviceSpec("battery", "Home battery", f"{slug}-bat",
                                  ("battery_charge", "battery_discharge", "battery_soc")))
    if spec.has_heat_pump:
        devices.append(DeviceSpec("heat_pump", "Heat pump", f"{slug}-hp", ("heat_pump/power",)))
    if spec.has_temperature_sensor:
        devices.append(DeviceSpec("temperature_sensor", "Living room sensor", f"{slug}-temp",
                                  ("living_room/temperature",)))
    return HouseholdSpec(**{**spec.__dict__, "devices": tuple(devices)})
