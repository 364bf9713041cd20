"""What each KPI means, and the arithmetic of ratios: pure, no store, no pandas.

Pages, reports, the explorer and the portfolio ranking read labels, units and formulas from
:data:`KPI_DEFINITIONS`; :class:`EnergyTotals` holds one period's sums [kWh, currency] and derives
the ratios. :mod:`services.energy.kpis` computes the sums from the store.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class KpiDefinition:
    label: str
    unit: str
    formula: str


KPI_DEFINITIONS: dict[str, KpiDefinition] = {
    "load_kwh": KpiDefinition("Consumption", "kWh", "Energy used by the households: metered, or where there is "
                              "no consumption meter PV + grid import − grid export (± battery), marked derived."),
    "pv_kwh": KpiDefinition("PV generation", "kWh", "AC energy produced by the PV systems."),
    "import_kwh": KpiDefinition("Grid import", "kWh", "Energy bought from the grid."),
    "export_kwh": KpiDefinition("Grid export", "kWh", "Energy fed into the grid."),
    "self_consumption": KpiDefinition(
        "Self-consumption", "%", "(PV generation − grid export) ÷ PV generation: the share of PV used on site."
    ),
    "self_sufficiency": KpiDefinition(
        "Self-sufficiency", "%", "(consumption − grid import) ÷ consumption: the share of demand not bought from the grid."
    ),
    "energy_cost": KpiDefinition(
        "Energy cost", "currency", "Σ grid import × import price − Σ grid export × feed-in price, with each household's tariff."
    ),
}


@dataclass(frozen=True)
class EnergyTotals:
    """Energy [kWh] and money [currency] over a period."""

    load_kwh: float = 0.0
    pv_kwh: float = 0.0
    import_kwh: float = 0.0
    export_kwh: float = 0.0
    charge_kwh: float = 0.0
    discharge_kwh: float = 0.0
    import_cost: float = 0.0
    export_revenue: float = 0.0
    days: int = 0

    @property
    def self_consumption(self) -> float | None:
        """(PV - export) / PV as a fraction; None without PV."""
        return ratio(self.pv_kwh - self.export_kwh, self.pv_kwh)

    @property
    def self_sufficiency(self) -> float | None:
        """(load - import) / load as a fraction; None without consumption."""
        return ratio(self.load_kwh - self.import_kwh, self.load_kwh)

    @property
    def energy_cost(self) -> float:
        """Import cost minus feed-in revenue [currency]."""
        return self.import_cost - self.export_revenue


#: The KPI that shows each derivable quantity.
KPI_OF_QUANTITY = {"load": "load_kwh", "grid_import": "import_kwh", "grid_export": "export_kwh"}


def ratio(numerator: float, denominator: float) -> float | None:
    """``numerator / denominator`` clipped to [0, 1], or None when the denominator is not positive."""
    if denominator is None or denominator <= 1e-9:
        return None
    return min(max(numerator / denominator, 0.0), 1.0)
