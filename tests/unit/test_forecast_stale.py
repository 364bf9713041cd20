"""Stale homes (a year of readings that ended over a year ago) and homes without a consumption meter:
training uses the last year that exists, and the page and the REST API issue the same forecast from
the same basis, on each backend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from services.forecasting import train_models
from services.forecasting.overview import BASIS_LIVE, BASIS_READINGS_END, forecast_overview, issue_forecasts
from services.households import create_household
from services.store.db import session_scope
from tests.factories import add_series

HISTORY_DAYS = 40  # enough for the load model (35 days)


def _hourly_load(days: int) -> list[float]:
    """kWh per hour: 0.5 at night, 1.5 from 17:00 to 22:00 UTC, every day."""
    day = np.full(24, 0.5)
    day[17:22] = 1.5
    return np.tile(day, days).tolist()


def _now() -> datetime:
    return datetime.now(UTC).replace(minute=0, second=0, microsecond=0)


def stale_home(name: str = "Stale Home", ended_days_ago: int = 400) -> int:
    home = create_household({"name": name, "timezone": "UTC", "latitude": 52.5, "longitude": 13.4})
    end = pd.Timestamp(_now()).floor("D") - pd.Timedelta(days=ended_days_ago)
    start = (end - pd.Timedelta(days=HISTORY_DAYS)).to_pydatetime()
    with session_scope() as session:
        add_series(session, home, "load", start, _hourly_load(HISTORY_DAYS), step_min=60)
    return home


def grid_metered_home(name: str = "Grid Only Home", days: int = 3) -> int:
    """Recent hourly PV, import and export, no consumption meter: consumption = 1 kWh every hour."""
    home = create_household({"name": name, "timezone": "UTC", "latitude": 52.5, "longitude": 13.4})
    start = (pd.Timestamp(_now()) - pd.Timedelta(days=days)).to_pydatetime()
    pv = np.tile(np.r_[np.zeros(10), np.full(4, 3.0), np.zeros(10)], days)
    with session_scope() as session:
        add_series(session, home, "pv", start, pv.tolist(), step_min=60)
        add_series(session, home, "grid_import", start, np.clip(1 - pv, 0, None).tolist(), step_min=60)
        add_series(session, home, "grid_export", start, np.clip(pv - 1, 0, None).tolist(), step_min=60)
    return home


def test_training_a_stale_home_uses_the_last_year_it_has(db_url):
    home = stale_home()
    report = train_models(home)
    assert "load" in report.trained, report.skipped  # was skipped: "0 days of readings"
    assert any("readings stop at" in n for n in report.notes)


def test_a_stale_home_is_forecast_from_the_end_of_its_readings(db_url):
    home = stale_home("Stale Forecast Home")
    issued = issue_forecasts(home, 48)
    assert issued.basis == BASIS_READINGS_END and not issued.live
    assert issued.as_of == issued.readings_end < _now() - timedelta(days=300)
    total = float(issued.load.frame["p50"].sum())
    assert total == pytest.approx(48 * 0.5 + 2 * 5 * 1.0, rel=0.05)  # persistence of its last day: not zeros
    page = forecast_overview(home, 48)
    assert float(page.load.frame["p50"].sum()) == pytest.approx(total)


def test_a_home_without_a_consumption_meter_is_forecast_from_derived_consumption(db_url):
    home = grid_metered_home()
    issued = issue_forecasts(home, 24)
    assert issued.basis == BASIS_LIVE
    assert issued.load.readings == "derived"
    assert float(issued.load.frame["p50"].sum()) == pytest.approx(24.0, rel=0.05)  # 1 kWh every hour
    assert any("Consumption is derived" in n for n in issued.load.notes)


def test_forecast_train_says_what_it_trained_a_stale_home_on(db_url, dash_app):
    home = stale_home("CLI Stale Home")
    result = dash_app.server.test_cli_runner().invoke(args=["forecast-train", "--household", str(home)])
    assert result.exit_code == 0, result.output
    assert "load trained" in result.output and "0 days of readings" not in result.output
    assert "note: readings stop at" in result.output


def test_the_scheduled_forecast_issue_stores_what_the_optimizer_plans_with(db_url):
    """Viewing a forecast stores nothing, so beat's ``issue_forecasts`` schedule stores them: a
    ``forecast_issue`` job leaves a stored load forecast of a home with recent readings (no PV
    system is set up for it, so no PV forecast)."""
    from services.jobs import start_job
    from services.store.models import Forecast
    from services.tasks.schedules import schedules

    home = grid_metered_home("Scheduled Home")
    assert "issue_forecasts" in {s.name for s in schedules()}
    job = start_job("forecast_issue", {"household_ids": [home]})
    assert job.state == "done", job.error
    assert job.result["forecasts_stored"] == 1 and job.result["not_stored"] == {}
    with session_scope() as session:
        stored = set(session.scalars(sa.select(Forecast.target).where(Forecast.household_id == home)))
    assert stored == {"load"}
