"""Energy accounting: a household's metered flows, what the balance derives, daily rollups, KPIs.

- :mod:`~services.energy.flows`: readings summed per step into energy flows [kWh per step]
  (:func:`energy_flows`, :func:`energy_flows_by_household`, :func:`metered_flows_by_household`,
  :func:`daily_flows`, :func:`split_flows`);
- :mod:`~services.energy.balance`: quantities a household has no meter for, derived from the energy
  balance (:func:`derive_from_balance`, :func:`derived_quantities`);
- :mod:`~services.energy.rollups`: daily energy and money per household in ``daily_energy``
  (:func:`refresh_daily_energy`; it subscribes to ingestion's "series touched", :func:`on_series_touched`);
- :mod:`~services.energy.kpi_definitions`: what each KPI means and the ratio arithmetic; pure (no store,
  no pandas), so components import it (:data:`KPI_DEFINITIONS`, :class:`EnergyTotals`, :func:`ratio`);
- :mod:`~services.energy.kpis`: KPIs of households over a period of local days, summed in SQL
  (:func:`portfolio_totals`, :func:`household_table`, :func:`daily_totals`, :func:`portfolio_overview`);
- :mod:`~services.energy.portfolio`: households ranked, filtered and placed, monthly trends
  (:func:`household_ranking`, :func:`monthly_trends`, :func:`monthly_pv_yield`).

Import the module you need (``from services.energy import kpis``): this file imports nothing, so that
the pure definitions load without the store.
"""
