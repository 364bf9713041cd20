"""The Forecast page's callbacks called as plain functions, over a demo portfolio on each backend.

The portfolio (4 households, seed 7) ends at 2026-06-30 00:00 Berlin time, months before any
day these tests run on, so the page shows the forecast as it would have been issued then (and
says so); ``live_demo`` ends today, for the forecast of the coming hours.
"""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from components import ids
from services.demo import load_demo_portfolio
from services.households import list_households
from services.pvmodel import Location, solar_position
from services.store.db import session_scope
from services.store.models import ForecastModel, WeatherRecord
from services.weather.store import observed_weather, save_weather, site_for_household
from tests.dash_tree import find
from tests.unit.test_forecasting import fast_models  # noqa: F401

DEMO_END = date(2026, 6, 30)
AS_OF = datetime(2026, 6, 29, 22, 0, tzinfo=UTC)  # 2026-06-30 00:00 in Berlin: where the readings stop
PV_HOME, NO_PV_HOME = "Müller family, Pankow", "Petersen family, Altona"


@pytest.fixture
def page(dash_app):
    import pages.forecast as page

    return page


@pytest.fixture
def demo(db_url) -> dict[str, int]:
    """The demo portfolio, 60 days ending :data:`DEMO_END`: household ids by name."""
    load_demo_portfolio(n_households=4, seed=7, end=DEMO_END, days=60, url=db_url)
    return {h.name: h.id for h in list_households()}


def texts(component) -> str:
    """Every string in a layout tree (``str()`` of a component shortens long ones), and the
    options and values of selects, joined by newlines."""
    if component is None:
        return ""
    if isinstance(component, str | int | float):
        return str(component)
    if isinstance(component, list | tuple):
        return "\n".join(texts(c) for c in component)
    parts = [texts(getattr(component, "children", None))]
    for prop in ("href", "value"):
        if isinstance(getattr(component, prop, None), str):
            parts.append(getattr(component, prop))
    return "\n".join(p for p in parts if p)


def figure_json(figure) -> dict:
    return figure.to_plotly_json() if hasattr(figure, "to_plotly_json") else figure


def test_layout_preselects_the_household_of_the_query_string(page, demo):
    chosen = page.layout(household=str(demo[NO_PV_HOME]))
    assert find(chosen, ids.FORECAST_HOUSEHOLD).value == str(demo[NO_PV_HOME])
    assert {o["label"] for o in find(chosen, ids.FORECAST_HOUSEHOLD).options} == set(demo)
    unknown = page.layout(household="999999")
    first = find(unknown, ids.FORECAST_HOUSEHOLD)
    assert first.value == first.options[0]["value"]  # the first household, and a note why
    assert "There is no household with id '999999'" in texts(unknown)
    assert "There is no household" not in texts(page.layout())


def test_without_households_the_page_says_how_to_get_one(page, db_url):
    layout = page.layout()
    assert "No households yet" in texts(layout) and "/households" in texts(layout)
    assert find(layout, ids.FORECAST_HOUSEHOLD) is None


def test_before_training_pv_is_physical_and_load_is_persistence_and_the_page_says_so(page, demo):
    data, alerts, status, issued = page.load_forecast(str(demo[PV_HOME]))
    pv, load = data["targets"]["pv"], data["targets"]["load"]
    assert (pv["method"], load["method"]) == ("physical", "persistence")
    assert data["live"] is False and pd.Timestamp(data["as_of"]) == AS_OF
    assert "as it would have been issued Tue 2026-06-30 00:00 (Europe/Berlin)" in issued
    shown = texts(alerts)
    assert "stop at 2026-06-30 00:00 (Europe/Berlin)" in shown  # why the forecast is of June
    assert "PV forecast: physical model only" in shown and "Physical model only: no model trained yet" in shown
    assert "Load forecast: persistence only" in shown and "Retrain models" in shown
    assert "No weather forecast for these hours" in shown and "weather-refresh" in shown
    assert "never" in texts(status) and "Physical model only" in texts(status)

    # A useful physical forecast: 48 h of quarter hours after the issue, nothing at night, sun by day.
    frame = page.stored_frame(data, "pv")
    future = frame[frame.index >= AS_OF]
    assert len(future) == 192 and future.index[0] == AS_OF
    assert (future["p10"] <= future["p50"]).all() and (future["p50"] <= future["p90"]).all()
    assert (future[["p10", "p50", "p90"]] >= 0).all().all()
    sun = solar_position(future.index + pd.Timedelta(minutes=7.5), Location(52.5, 13.4))["elevation"].to_numpy()
    assert (future["p90"].to_numpy()[sun < -2] == 0).all()
    assert future["p50"].to_numpy()[sun > 30].min() > 0.1  # kWh per 15 min of a 10 kWp system at noon
    # The three days of readings before it, for comparison; persistence repeats the last day.
    metered = frame["actual"].dropna()
    assert metered.index.min() == AS_OF - timedelta(days=3) and metered.index.max() < AS_OF
    load_frame = page.stored_frame(data, "load")
    day_before = load_frame["actual"].reindex(load_frame.index - pd.Timedelta(days=1)).to_numpy()
    ahead = (load_frame.index >= AS_OF) & (load_frame.index < AS_OF + timedelta(days=1))
    np.testing.assert_allclose(load_frame["p50"].to_numpy()[ahead], day_before[ahead])


def test_both_charts_draw_the_band_and_follow_the_theme(page, demo):
    data = page.load_forecast(str(demo[PV_HOME]))[0]
    pv, load = page.draw_forecast(data, "dark")
    for figure in (pv, load):
        traces = {t["name"]: t for t in figure_json(figure)["data"]}
        assert set(traces) == {"P90", "P10–P90 band", "Forecast (P50)", "Metered"}
        assert traces["P10–P90 band"]["fill"] == "tonexty"  # shaded up to the P90 trace drawn before it
        assert figure.layout.template.layout.font.color == "#dee2e6"  # dark mode: light text
    assert "Physical model only" in pv.layout.title.text and "Persistence only" in load.layout.title.text
    assert "kWh per 15 min" in pv.layout.yaxis.title.text
    # The x axis is the household's local time: the issue line sits at local midnight.
    assert pd.Timestamp(pv.layout.shapes[0].x0) == pd.Timestamp("2026-06-30 00:00")
    assert page.draw_forecast(None, "light")[0].layout.annotations[0].text == "Choose a household"


def test_a_household_without_pv_gets_a_load_forecast_and_a_pv_chart_that_says_why(page, demo):
    data, alerts, status, _ = page.load_forecast(str(demo[NO_PV_HOME]))
    assert data["targets"]["pv"] is None and data["targets"]["load"]["method"] == "persistence"
    pv, load = page.draw_forecast(data, "light")
    assert "No PV system" in pv.layout.annotations[0].text
    assert len(load.data) == 4
    assert "no PV system" in texts(status)
    assert page.download_pv(1, data) is dash_no_update()


def dash_no_update():
    from dash import no_update

    return no_update


def test_bad_choices_get_a_message_not_an_error(page, demo):
    assert page.load_forecast("not a number")[0] is None
    assert "Choose a household" in texts(page.load_forecast(None)[1])
    assert "Choose a household first" in texts(page.retrain(lambda _: None, 1, "999999")[1])
    assert "Choose a period of 7, 14, 30, 60 days" in texts(page.run_backtest(lambda _: None, 1,
                                                                              str(demo[PV_HOME]), "1000")[1])
    assert page.show_accuracy("999999") == ([], None, page.HIDDEN, page.HIDDEN)


def test_csv_of_a_chart_is_what_the_chart_draws(page, demo):
    data = page.load_forecast(str(demo[PV_HOME]))[0]
    payload = page.download_pv(1, data)
    assert payload["filename"] == f"forecast-pv-household-{demo[PV_HOME]}-20260629-2200.csv"
    table = pd.read_csv(io.StringIO(payload["content"]))
    assert list(table.columns) == ["time_local", "time_utc", "metered_kwh", "p10_kwh", "p50_kwh", "p90_kwh"]
    frame = page.stored_frame(data, "pv")
    assert len(table) == len(frame)
    np.testing.assert_allclose(table["p50_kwh"].to_numpy(), frame["p50"].to_numpy(), rtol=1e-5)  # 6 digits
    assert table["time_local"].iloc[-1] == "2026-07-01 23:45"  # 48 h after local midnight, last quarter
    load = pd.read_csv(io.StringIO(page.download_load(1, data)["content"]))
    assert load["metered_kwh"].notna().sum() == 3 * 96


def test_retraining_switches_the_forecast_to_ml_and_an_old_model_is_flagged(page, demo, fast_models):  # noqa: F811
    home = str(demo[PV_HOME])
    steps = []
    result, note = page.retrain(steps.append, 1, home)
    assert steps[0] == (0, "training the pv model") and steps[-1] == (100, "done")
    assert "Trained the PV model" in texts(note) and "the load model" in texts(note)
    data, alerts, status, _ = page.load_forecast(home, result)
    assert (data["targets"]["pv"]["method"], data["targets"]["load"]["method"]) == ("ml", "ml")
    assert "ML model" in texts(status) and "up to date" in texts(status)
    assert "2026-04-30 to 2026-06-29" in texts(status)  # the readings it learned from (UTC days)
    assert "physical model only" not in texts(alerts)

    with session_scope() as session:  # ten days later, as far as the models know
        session.execute(sa.update(ForecastModel).values(trained_at=datetime.now(UTC) - timedelta(days=10)))
    data, alerts, status, _ = page.load_forecast(home, result)
    assert "The PV model needs retraining" in texts(alerts) and "Trained 10 days ago" in texts(alerts)
    assert "needs retraining" in texts(status)


def test_weather_in_the_store_is_used_and_an_old_one_is_flagged(page, demo):
    home = demo[PV_HOME]
    site = site_for_household(home)
    # The two days before the issue, replayed as a forecast of the two days after it.
    seen = observed_weather(site.id, AS_OF - timedelta(days=2), AS_OF)
    forecast = seen.set_axis(seen.index + pd.Timedelta(days=2))
    save_weather(site.id, forecast, "open-meteo", issued_at=AS_OF - timedelta(hours=1))
    data, alerts, _, _ = page.load_forecast(str(home))
    assert data["targets"]["pv"]["weather"] == "stored"
    assert "No weather forecast" not in texts(alerts) and "weather forecast is old" not in texts(alerts)
    assert "no weather forecast either" not in " ".join(data["targets"]["pv"]["notes"])

    with session_scope() as session:  # the same forecast, but fetched 20 h before the issue
        session.execute(sa.update(WeatherRecord).where(WeatherRecord.source == "open-meteo")
                        .values(issued_at=AS_OF - timedelta(hours=20)))
    data, alerts, _, _ = page.load_forecast(str(home))
    assert data["targets"]["pv"]["weather"] == "stale"
    assert "The stored weather forecast is old" in texts(alerts) and "20 h before this forecast" in texts(alerts)


def test_a_backtest_fills_the_accuracy_table(page, demo, fast_models):  # noqa: F811
    home = str(demo[PV_HOME])
    rows, summary, empty, grid = page.show_accuracy(home)
    assert (rows, empty, grid) == ([], page.SHOWN, page.HIDDEN)  # the empty state says how to get one
    assert page.download_accuracy(1, home) is dash_no_update()

    steps = []
    result, note = page.run_backtest(steps.append, 1, home, "7")
    assert steps[-1][0] == 100 and "Back-tested the last 7 days" in texts(note)
    rows, summary, empty, grid = page.show_accuracy(home, result)
    assert (empty, grid) == (page.HIDDEN, page.SHOWN)
    table = pd.DataFrame(rows)
    methods = table.groupby("target")["method"].unique().map(set).to_dict()
    assert methods["PV"] == {"Forecast model", "Persistence (same time, last day)", "Physical model alone"}
    assert methods["Load"] == {"Forecast model", "Persistence (same time, last day)"}
    assert set(table["period"]) == {"All", "2026-06"}
    everything = table[table["period"] == "All"].set_index(["target", "method"])
    for target in ("PV", "Load"):
        model = everything.loc[(target, "Forecast model")]
        persistence = everything.loc[(target, "Persistence (same time, last day)")]
        assert model["n"] == persistence["n"] > 0 and 0 < model["nmae"] < 1
        assert model["rmse"] >= model["mae"] > 0 and persistence["rmse"] >= persistence["mae"] > 0
        assert model["skill_persistence"] == pytest.approx(1 - model["mae"] / persistence["mae"])
        assert persistence["skill_persistence"] == 0
    assert pd.notna(everything.loc[("PV", "Forecast model"), "skill_physical"])
    assert (table["step_minutes"] == 15).all()
    assert "PV: 2026-06-23 to 2026-06-29" in texts(summary)  # seven local days up to the last reading
    csv = pd.read_csv(io.StringIO(page.download_accuracy(1, home)["content"]))
    assert len(csv) == len(table) and "nmae" in csv.columns


def test_with_readings_up_to_today_the_forecast_is_of_the_coming_hours_and_viewing_it_stores_nothing(page, db_url):
    from services.forecasting import registry
    from services.forecasting.overview import readings_end

    load_demo_portfolio(n_households=4, seed=7, end=datetime.now(UTC).date(), days=30, url=db_url)
    home = {h.name: h.id for h in list_households()}[PV_HOME]
    before = datetime.now(UTC)
    data, alerts, _, issued = page.load_forecast(str(home))
    assert data["live"] is True and "Forecast issued" in issued
    as_of = pd.Timestamp(data["as_of"])
    assert before <= as_of <= datetime.now(UTC)
    load = page.stored_frame(data, "load")
    future = load[load.index >= as_of]
    assert future.index[0] == as_of.ceil("15min") and len(future) == 192
    # The readings stop at local midnight, hours before now: the forecast starts from them instead of
    # from an empty day, so every hour ahead has a forecast, and the page says so.
    assert (future["p50"] > 0).all()
    if as_of - readings_end(home) > timedelta(minutes=15):  # not in the first quarter hour after midnight
        assert "readings stop at" in texts(alerts) and "the forecast starts from them" in texts(alerts)
    # A page view only reads: POST /api/forecast/{id} or `flask forecast-issue` stores forecasts to plan with.
    assert registry.latest_forecast(home, "load") is None and registry.latest_forecast(home, "pv") is None
