"""Small hand-made store contents for tests: households and quarter-hour series a person can check."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from services.store.models import Household, PVSystem, Reading, Series


def add_household(session, name: str, tz: str = "Europe/Berlin", tariff=None, kwp: float | None = None) -> Household:
    """A household (with one PV system of ``kwp`` when given), flushed so it has an id."""
    hh = Household(name=name, timezone=tz, latitude=52.5, longitude=13.4, tariff=tariff)
    session.add(hh)
    session.flush()
    if kwp:
        session.add(PVSystem(household_id=hh.id, kwp=kwp))
    return hh


def add_series(session, household_id: int, quantity: str, start: datetime, values: list[float],
               step_min: int = 15) -> Series:
    """A series named after its quantity with ``values`` [kWh per step] from ``start`` (UTC)."""
    series = Series(household_id=household_id, quantity=quantity, unit="kWh", name=quantity,
                    resolution_s=step_min * 60)
    session.add(series)
    session.flush()
    session.add_all(
        Reading(series_id=series.id, ts=start + timedelta(minutes=step_min * i), value=v)
        for i, v in enumerate(values)
    )
    return series


def wide_load_csv(rows: int, start: datetime = datetime(2012, 1, 1, tzinfo=timezone.utc)) -> bytes:
    """A CSV of ``rows`` quarter-hour load readings, columns ``time`` (ISO, UTC) and ``load`` [kWh]; from
    2012 on, so that 400,000 rows (11 years) stay in the past, where readings are accepted."""
    lines = ["time,load"] + [f"{(start + timedelta(minutes=15 * i)).isoformat()},{0.1 + (i % 7) / 10:.2f}"
                             for i in range(rows)]
    return ("\n".join(lines) + "\n").encode()


def load_mapping_spec(household_id: int) -> dict:
    """The ingestion mapping of :func:`wide_load_csv` for household ``household_id``."""
    return {"name": "upload", "layout": "wide", "household_id": household_id, "time": {"column": "time"},
            "columns": [{"column": "load", "series": "load", "quantity": "load", "unit": "kWh"}]}
