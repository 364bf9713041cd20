"""Weather in the store, on SQLite and PostgreSQL: upserts, sites and what was known when."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from services.store.db import session_scope
from services.store.models import Household
from services.weather.store import (
    ensure_site,
    latest_issue,
    observed_weather,
    save_weather,
    site_for_household,
    weather_coverage,
    weather_known_at,
)

T0 = datetime(2024, 6, 1, tzinfo=UTC)


def _hours(n: int, ghi: float, start: datetime = T0) -> pd.DataFrame:
    index = pd.date_range(start, periods=n, freq="h", tz="UTC")
    return pd.DataFrame({"ghi": [ghi] * n, "temp_air": [20.0] * n}, index=index)


def test_save_is_an_upsert_and_round_trips(db_url):
    site = ensure_site("Golden", 39.74, -105.18, 1829)
    assert ensure_site("Golden", 39.74, -105.18) == site  # same name, same site
    assert save_weather(site, _hours(24, 100.0), "psm3") == 24
    assert save_weather(site, _hours(24, 150.0), "psm3") == 24  # again: updated, not duplicated
    frame = observed_weather(site, T0, T0 + timedelta(days=2))
    assert len(frame) == 24
    assert frame["ghi"].eq(150.0).all()
    assert frame["dni"].isna().all()  # a column the source did not give stays unknown
    assert frame.index[0] == pd.Timestamp(T0)
    assert weather_coverage(site) == (T0, T0 + timedelta(hours=23))


def test_weather_known_at_never_uses_what_was_issued_later(db_url):
    site = ensure_site("Berlin", 52.52, 13.40)
    issued_early = T0 - timedelta(hours=12)
    issued_late = T0 + timedelta(hours=6)
    save_weather(site, _hours(24, 300.0), "open-meteo", issued_at=issued_early)
    save_weather(site, _hours(24, 500.0), "open-meteo", issued_at=issued_late)
    save_weather(site, _hours(3, 111.0), "demo")  # observations of 00:00-03:00, known at their ts

    at_start = weather_known_at(site, T0, T0 + timedelta(days=1), as_of=T0)
    # At T0 only the early forecast and the 00:00 observation existed.
    assert at_start.loc[pd.Timestamp(T0), "ghi"] == 111.0
    assert not at_start.loc[pd.Timestamp(T0), "is_forecast"]
    assert at_start.loc[pd.Timestamp(T0 + timedelta(hours=1)), "ghi"] == 300.0
    assert (at_start["issued_at"] <= pd.Timestamp(T0)).all()

    later = weather_known_at(site, T0, T0 + timedelta(days=1), as_of=T0 + timedelta(hours=7))
    assert later.loc[pd.Timestamp(T0 + timedelta(hours=2)), "ghi"] == 111.0  # observed beats forecast
    assert later.loc[pd.Timestamp(T0 + timedelta(hours=10)), "ghi"] == 500.0  # newest forecast
    assert later.loc[pd.Timestamp(T0 + timedelta(hours=10)), "source"] == "open-meteo"
    assert latest_issue(site, "open-meteo") == issued_late

    before_anything = weather_known_at(site, T0, T0 + timedelta(days=1), as_of=issued_early - timedelta(hours=1))
    assert before_anything.empty


def test_naive_times_and_wrong_units_are_refused_whole(db_url):
    site = ensure_site("Munich", 48.14, 11.58)
    naive = _hours(3, 100.0)
    naive.index = naive.index.tz_localize(None)
    with pytest.raises(ValueError, match="naive"):
        save_weather(site, naive, "csv")
    kelvin = _hours(3, 100.0)
    kelvin.loc[kelvin.index[2], "temp_air"] = 293.0
    with pytest.raises(ValueError, match="kelvin"):
        save_weather(site, kelvin, "csv")
    assert observed_weather(site, T0, T0 + timedelta(days=1)).empty  # nothing half-saved
    with pytest.raises(ValueError, match="unknown weather column"):
        save_weather(site, _hours(2, 1.0).rename(columns={"ghi": "GHI"}), "csv")


def test_household_uses_the_nearest_site_within_reach(db_url):
    near = ensure_site("Berlin", 52.52, 13.40)
    ensure_site("Hamburg", 53.55, 9.99)
    with session_scope() as session:
        berliner = Household(name="Pankow", timezone="Europe/Berlin", latitude=52.57, longitude=13.40)
        remote = Household(name="Lisbon", timezone="Europe/Lisbon", latitude=38.72, longitude=-9.14)
        session.add_all([berliner, remote])
        session.flush()
        ids = berliner.id, remote.id
    found = site_for_household(ids[0])
    assert found.id == near
    assert found.distance_km == pytest.approx(5.6, abs=0.2)
    assert site_for_household(ids[1]) is None
