"""Real data through saved mappings: the 17 CityLearn homes (no time column, PV per kWp) and
NREL PVDAQ system 50 (Parquet, UTC-07:00, power in W, with real gaps)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from services.households.citylearn import import_citylearn
from services.ingestion.files import ingest_file
from services.ingestion.mapping import mapping_from_dict, save_mapping
from services.store.db import session_scope
from services.store.models import DailyEnergy, Household, Reading, Series

CITYLEARN_MAPPING = {
    "name": "citylearn-2022",
    "layout": "wide",
    # No time column: row 0 is the hour from 2016-07-31 23:00 on the data's clock, fixed UTC-08:00.
    "time": {"start": "2016-07-31T23:00:00-08:00", "step_s": 3600},
    "columns": [
        {"column": "non_shiftable_load", "series": "load", "quantity": "load", "unit": "kWh"},
        # W per kW of installed PV, averaged over the hour: times kWp is Wh in that hour.
        {"column": "solar_generation", "series": "pv", "quantity": "pv", "unit": "Wh", "per_kwp": True},
    ],
}


def _totals(household_id: int) -> dict[str, tuple[int, float]]:
    with session_scope() as session:
        rows = session.execute(
            sa.select(Series.name, sa.func.count(), sa.func.sum(Reading.value)).join(Series)
            .where(Series.household_id == household_id).group_by(Series.name)).all()
    return {name: (count, total) for name, count, total in rows}


def test_citylearn_homes_through_one_saved_mapping_match_the_csv_sums(db_url, shared_data):
    folder = shared_data / "citylearn_2022_fontana_ca"
    imported = import_citylearn(folder)
    save_mapping(mapping_from_dict(CITYLEARN_MAPPING))
    schema = json.loads((folder / "schema.json").read_text())
    assert len(imported.household_ids) == 17
    for name, household_id in imported.household_ids.items():
        number = int(name.rsplit(" ", 1)[-1])
        report = ingest_file(folder / f"Building_{number}.csv", "citylearn-2022", household_id=household_id)
        assert (report.received, report.inserted, report.rejected) == (17520, 17520, 0), (name, report.rejections[:3])
        csv = pd.read_csv(folder / f"Building_{number}.csv")
        kwp = schema["buildings"][f"Building_{number}"]["pv"]["attributes"]["nominal_power"]
        totals = _totals(household_id)
        assert totals["load"][0] == totals["pv"][0] == 8760
        assert totals["load"][1] == pytest.approx(csv["non_shiftable_load"].sum(), rel=1e-9)
        assert totals["pv"][1] == pytest.approx(csv["solar_generation"].sum() * kwp / 1000, rel=1e-9)
        with session_scope() as session:
            daily = session.execute(sa.select(sa.func.sum(DailyEnergy.load_kwh), sa.func.sum(DailyEnergy.pv_kwh))
                                    .where(DailyEnergy.household_id == household_id)).one()
        assert daily == pytest.approx(tuple(v for _, v in (totals["load"], totals["pv"])), rel=1e-9)

    # The first row is the hour starting 2016-08-01 07:00 UTC; the same file again changes nothing.
    first_id = imported.household_ids["CityLearn Building 1"]
    with session_scope() as session:
        first = session.execute(sa.select(sa.func.min(Reading.ts)).join(Series)
                                .where(Series.household_id == first_id)).scalar_one()
    assert first.isoformat() == "2016-08-01T07:00:00+00:00"
    again = ingest_file(folder / "Building_1.csv", "citylearn-2022", household_id=first_id)
    assert (again.inserted, again.unchanged) == (0, 17520)


def test_pvdaq_system_50_power_with_its_real_gaps(db_url, shared_data):
    path = shared_data / "pvdaq_system50_golden_co" / "system_50_ac_power_2_full_DST.parquet"
    with session_scope() as session:
        # The system's rating is not published with the data: no PV system, so no rating check.
        household = Household(name="PVDAQ system 50", timezone="America/Denver", latitude=39.7406, longitude=-105.1775)
        session.add(household)
        session.flush()
        household_id = household.id
    save_mapping(mapping_from_dict({
        "name": "pvdaq-50", "layout": "wide", "time": {"column": "measured_on"},
        "columns": [{"column": "ac_power_2", "series": "pv", "quantity": "pv", "unit": "W", "interval_s": 900}],
    }))
    source = pd.read_parquet(path)
    present = source["ac_power_2"].notna()

    report = ingest_file(path, "pvdaq-50", household_id=household_id, chunk_rows=20_000)

    assert report.received == len(source) == 95232
    assert report.inserted == int(present.sum())
    assert report.rejected == int((~present).sum()) > 0
    assert {r.reason for r in report.rejections} == {"the value is empty: leave the row out, or give a number"}
    with session_scope() as session:
        rows = session.execute(sa.select(Reading.ts, Reading.value).join(Series)
                               .where(Series.household_id == household_id).order_by(Reading.ts)).all()
    stored = pd.Series([v for _, v in rows], index=pd.DatetimeIndex([t for t, _ in rows]))
    expected = source.loc[present].set_index("measured_on")["ac_power_2"].astype(float) / 1000 * 0.25
    assert stored.index[0] == pd.Timestamp("2011-04-15T07:00:00Z")
    assert stored.index.equals(expected.index.tz_convert("UTC"))
    assert np.allclose(stored.to_numpy(), expected.to_numpy(), rtol=1e-6)
    # The gaps are where the source has no value: the stored series has holes exactly there.
    steps = pd.Series(stored.index).diff().dt.total_seconds().dropna()
    assert (steps > 900).sum() > 0
    assert int(((steps - 900) / 900).sum()) == report.rejected - _trailing_and_leading_missing(present)


def _trailing_and_leading_missing(present: pd.Series) -> int:
    values = present.to_numpy()
    first, last = np.argmax(values), len(values) - np.argmax(values[::-1])
    return int(first + (len(values) - last))
