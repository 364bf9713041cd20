"""A deterministic demo portfolio: households with PV, batteries and smart meters over a year.

``make run`` on a fresh machine shows a realistic portfolio without any real
data: :func:`seed_if_empty` generates it (:func:`generate_portfolio`, pure and
in memory) and writes it into the empty store (:func:`load_demo_portfolio`).

- 24 households by default (``DEMO_HOUSEHOLDS``) around six European cities,
  one year of 15-minute readings ending at today's UTC midnight, seed
  ``DEMO_SEED``: the same seed, end and size give identical values.
- PV from pvlib physics on a synthetic cloudy sky, consumption with daily and
  seasonal rhythm, rule-based batteries, grid flows that balance every interval.
- Three tariffs (flat, time-of-use, dynamic hourly), hourly weather per site,
  a few IoT devices, and three planted data-quality faults (:data:`FAULTS`).
"""

from services.demo.faults import FAULTS, FaultPlan, PlantedFault
from services.demo.generate import DemoHousehold, DemoPortfolio, SeriesSpec, generate_portfolio
from services.demo.loader import (
    DemoDataError,
    LoadReport,
    database_is_empty,
    load_demo_portfolio,
    remove_all_households,
    seed_if_empty,
    write_portfolio,
)

__all__ = [
    "FAULTS",
    "DemoDataError",
    "DemoHousehold",
    "DemoPortfolio",
    "FaultPlan",
    "LoadReport",
    "PlantedFault",
    "SeriesSpec",
    "database_is_empty",
    "generate_portfolio",
    "load_demo_portfolio",
    "remove_all_households",
    "seed_if_empty",
    "write_portfolio",
]
