"""CSV downloads of tables and charts (components/downloads.py) and of the What-if page's charts,
called as plain functions: what the file holds, its name, and that spreadsheet formulas are neutralised."""

from __future__ import annotations

import pandas as pd
import pytest
from dash.exceptions import PreventUpdate

from components.downloads import grid_frame
from tests.optimize_helpers import add_battery_home

COLUMNS = [
    {"field": "name", "headerName": "Household", "cellRenderer": "markdown"},
    {"field": "load_kwh", "headerName": "Consumption kWh", "valueFormatter": {"function": "d3.format(',.0f')"}},
    {"headerName": "Group without a field"},
]


def test_grid_frame_keeps_the_grid_columns_in_order_with_raw_values():
    rows = [{"load_kwh": 1234.5, "name": "[Smith \\[2\\]](/household/4)", "hidden": 1},
            {"name": "-2+3", "load_kwh": None}]
    frame = grid_frame(rows, COLUMNS)
    assert list(frame.columns) == ["Household", "Consumption kWh"]
    assert frame["Household"].tolist() == ["Smith [2]", "-2+3"]
    assert frame["Consumption kWh"].iloc[0] == 1234.5 and pd.isna(frame["Consumption kWh"].iloc[1])
    assert grid_frame(None, COLUMNS).empty and list(grid_frame([], COLUMNS).columns) == ["Household", "Consumption kWh"]


def test_registered_grid_download_sends_the_rows_as_shown(dash_app):
    from components import ids
    from components.downloads import register_grid_csv

    download = register_grid_csv("test-downloads-grid", "rows.csv")
    shown = [{"name": "=1+1", "load_kwh": 2.0}]
    payload = download(1, shown, shown + [{"name": "filtered out", "load_kwh": 9.0}], COLUMNS)
    assert payload["filename"] == "rows.csv"
    assert payload["content"].splitlines() == ["Household,Consumption kWh", "'=1+1,2"]
    # Before the grid reported what it shows, all its rows.
    assert len(download(1, None, shown * 3, COLUMNS)["content"].splitlines()) == 4
    assert ids.csv_download_id("test-downloads-grid") == "test-downloads-grid-csv-download"


@pytest.fixture
def optimize(dash_app):
    import pages.optimize as page

    return page


def test_whatif_schedule_and_cost_downloads(db_url, optimize):
    home = add_battery_home(days=15)
    tariff, capacity, power, efficiency, export, _periods, _period = optimize.choose_household(str(home))
    base, soc, _alert, alert_open = optimize.load_inputs(str(home), tariff, "2026-06-16")
    assert alert_open is False
    sliders = (capacity, power, efficiency, soc, 1.0, export, 24)

    schedule = optimize.download_schedule(1, base, *sliders)
    lines = schedule["content"].splitlines()
    header = lines[0].split(",")
    assert schedule["filename"] == f"battery-schedule-{home}.csv"
    assert {"pv_kw", "load_kw", "soc_kwh", "import_price"} <= set(header) and len(lines) == 1 + 96
    assert lines[1].startswith("2026-06-16T00:00:00+0200")  # local time of the household

    cost = pd.read_csv(pd.io.common.StringIO(optimize.download_cost(1, base, *sliders)["content"]))
    assert list(cost["schedule"]) == ["Optimized", "Self-consumption rule", "No battery"]
    assert "cost_EUR" in cost.columns  # money named with its currency
    assert cost["adjusted_cost_EUR"].iloc[0] <= cost["adjusted_cost_EUR"].iloc[2] + 1e-6  # the optimum is no worse
    with pytest.raises(PreventUpdate):
        optimize.download_schedule(1, None, *sliders)


def test_backtest_and_sizing_downloads_come_from_the_job_results(optimize):
    backtest = {"currency": "EUR", "first": "2026-06-01", "days": 2,
                "daily": {"day": ["2026-06-01", "2026-06-02"], "no_battery": [3.0, 3.5],
                          "perfect_foresight": [2.0, 2.4], "forecast": [2.2, 2.6]}}
    lines = optimize.download_backtest(1, backtest)["content"].splitlines()
    assert lines[0] == "day,no_battery_EUR,perfect_foresight_EUR,forecast_EUR" and len(lines) == 3
    sizing = {"currency": "EUR", "rows": [{"capacity_kwh": 5.0, "annual_savings": 120.0, "payback_years": 12.5}]}
    assert optimize.download_sizing(1, sizing)["content"].splitlines()[1] == "5,120,12.5"
    for nothing in (None, {"error": "Choose a household"}):
        with pytest.raises(PreventUpdate):
            optimize.download_backtest(1, nothing)
        with pytest.raises(PreventUpdate):
            optimize.download_sizing(1, nothing)
