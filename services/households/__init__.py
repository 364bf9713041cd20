"""Households: their PV systems, batteries and tariffs, kept in the store for one organisation.

- :mod:`~services.households.records`: list, read, create, change and delete households and
  tariffs (:func:`list_households`, :func:`get_household`, :func:`create_household`, ...); every
  function takes the caller's access scope (:mod:`services.access`);
- :mod:`~services.households.inputs`: what a household or tariff may be (the checked input
  models, :func:`parse_input`), with messages a person can act on;
- :mod:`~services.households.tariffs`: a tariff as prices over time (:func:`load_tariff_spec`,
  :func:`import_prices`) [currency/kWh];
- :mod:`~services.households.import_csv`: many households from one CSV (:func:`import_households_csv`);
- :mod:`~services.households.citylearn`: the CityLearn 2022 Fontana homes from ``shared/data``
  (:func:`import_citylearn`; not imported here, it pulls in the daily-energy rollups).
"""

from services.households.records import (
    BatteryDetail,
    HouseholdDetail,
    HouseholdNotFound,
    HouseholdSummary,
    PVSystemDetail,
    TariffSummary,
    create_household,
    create_tariff,
    delete_household,
    get_household,
    household_ids_by_name,
    list_households,
    list_tariffs,
    tariff_ids_by_name,
    update_household,
)

__all__ = [
    "BatteryDetail",
    "HouseholdDetail",
    "HouseholdNotFound",
    "HouseholdSummary",
    "PVSystemDetail",
    "TariffSummary",
    "create_household",
    "create_tariff",
    "delete_household",
    "get_household",
    "household_ids_by_name",
    "list_households",
    "list_tariffs",
    "tariff_ids_by_name",
    "update_household",
]
