"""What-if (/optimize): a household's battery schedule that follows the sliders as they move, a
back-test and a sizing sweep over a past period, and tomorrow's schedules for the whole fleet.

The household's inputs (forecasts or the labelled fallback, prices, battery, measured state of
charge) are read once into a ``dcc.Store``; a slider move only builds a request from it and
re-solves the program kept for that horizon (:mod:`services.optimization.whatif`), so it never
touches the database. Long jobs run as background callbacks with a progress bar.
"""

from __future__ import annotations

import calendar
import time
from datetime import date, timedelta

import dash
import dash_bootstrap_components as dbc
import pandas as pd
from dash import Input, Output, Patch, State, callback, ctx, dcc, html, no_update
from dash.exceptions import MissingCallbackContextException, PreventUpdate

from components import ids
from components.background import as_caller
from components.downloads import register_grid_csv, send_csv
from components.figures.optimize import (
    backtest_figure,
    cost_figure,
    cost_series,
    schedule_figure,
    schedule_series,
    sizing_figure,
)
from components.fleet_view import fleet_summary, run_row, shown_run
from components.format import format_energy, format_money, format_ratio
from components.jobs import job_outcome, progress_job
from components.kpi_cards import empty_state, kpi_card
from components.optimize_controls import (
    EXPORT_NO_LIMIT,
    HORIZON_MAX_H,
    JOB_FIGURE_HIDDEN,
    JOB_FIGURE_SHOWN,
    backtest_card,
    fleet_card,
    results_column,
    settings_card,
)
from components.theme import HIDDEN, SHOWN, empty_figure
from services.access import (
    AccessDenied,
    browser_id,
    current_scope,
    visible_household_id,
    visible_household_ids,
)
from services.config import get_settings
from services.energy import kpis
from services.households import HouseholdNotFound, get_household, list_households, list_tariffs
from services.jobs import start_job
from services.optimization import ScheduleInfeasible, savings_table, schedule_battery, store_run
from services.optimization.fleet_runs import start_fleet_run
from services.optimization.fleet_views import (
    fleet_run_rows,
    fleet_run_summary,
    portfolio_tomorrow,
    recent_fleet_runs,
)
from services.optimization.inputs import InputsUnavailable, household_ids_with_battery, inputs_for_day
from services.optimization.whatif import inputs_to_json, whatif_notes, whatif_request
from services.validation import ValidationProblem

dash.register_page(__name__, path="/optimize", name="What-if", title="What-if · Energy Dashboard", nav_order=4)

NO_BATTERY_MESSAGE = (
    "The what-if schedules a home battery, and no household has one yet. Add a battery to a household "
    "on the Households page (Edit, then “Battery”: capacity, power and efficiencies), then come back."
)
SLIDERS = (ids.OPTIMIZE_CAPACITY, ids.OPTIMIZE_POWER, ids.OPTIMIZE_EFFICIENCY, ids.OPTIMIZE_SOC,
           ids.OPTIMIZE_PV_SCALE, ids.OPTIMIZE_EXPORT_LIMIT, ids.OPTIMIZE_HORIZON)


def layout(household: str | None = None, **_kwargs):
    """``?household=<id>`` opens on that household (the explorer links here so), else on the first."""
    households = [h for h in list_households(visible_household_ids()) if h.battery_kwh is not None]
    if not households:
        return html.Div([html.H1("What-if"), empty_state(
            "No household with a battery", NO_BATTERY_MESSAGE,
            dbc.Button("Go to households", href="/households", color="primary"))])
    currency = get_settings().currency
    options = [{"label": h.name, "value": str(h.id)} for h in households]
    tariffs = [{"label": t.name, "value": str(t.id)} for t in list_tariffs()]
    chosen = household if household in {o["value"] for o in options} else options[0]["value"]
    return html.Div([
        html.H1("What-if"),
        html.P("Move a slider: the battery schedule is optimized again as you drag.", className="text-body-secondary"),
        dbc.Row([
            dbc.Col(settings_card(options, tariffs, chosen), xs=12, lg=4),
            dbc.Col(results_column(), xs=12, lg=8),
        ], className="g-3"),
        backtest_card(currency),
        fleet_card(currency, len(households)),
        dcc.Store(id=ids.OPTIMIZE_BASE),
        dcc.Store(id=ids.OPTIMIZE_DRAWN),
    ])


# --- choosing a household: its settings, then its inputs --------------------------------------------


@callback(
    Output(ids.OPTIMIZE_TARIFF, "value"), Output(ids.OPTIMIZE_CAPACITY, "value"), Output(ids.OPTIMIZE_POWER, "value"),
    Output(ids.OPTIMIZE_EFFICIENCY, "value"), Output(ids.OPTIMIZE_EXPORT_LIMIT, "value"),
    Output(ids.OPTIMIZE_PERIOD, "options"), Output(ids.OPTIMIZE_PERIOD, "value"),
    Input(ids.OPTIMIZE_HOUSEHOLD, "value"),
)
def choose_household(household):
    """The sliders at the household's stored battery and export limit, its tariff, and the months
    of its history for the back-test."""
    household_id = visible_household_id(household)  # as the browser sent it back
    if household_id is None:
        raise PreventUpdate
    try:
        h = get_household(household_id)
    except HouseholdNotFound:
        raise PreventUpdate from None
    b = h.battery
    export = h.grid_export_limit_kw if h.grid_export_limit_kw is not None else EXPORT_NO_LIMIT
    periods = period_options(kpis.data_period([h.id]))
    return (str(h.tariff_id) if h.tariff_id else None, b.capacity_kwh if b else 10.0,
            max(b.max_charge_kw, b.max_discharge_kw) if b else 5.0,
            round(100 * b.charge_efficiency) if b else 95, min(export, EXPORT_NO_LIMIT),
            periods, periods[0]["value"] if periods else None)


def period_options(available: tuple[date, date] | None) -> list[dict]:
    """The last 30 days and each calendar month with data (newest first), as ``first|days`` values."""
    if available is None:
        return []
    first, last = available
    options = []
    if (last - first).days >= 29:
        options.append({"label": "Last 30 days", "value": f"{last - timedelta(days=29)}|30"})
    month = date(last.year, last.month, 1)
    while month >= date(first.year, first.month, 1) and len(options) < 13:
        lo = max(month, first)
        hi = min(date(month.year, month.month, calendar.monthrange(month.year, month.month)[1]), last)
        days = (hi - lo).days + 1
        if days >= 7:  # the forecast needs a week before each day, and fewer days say little
            options.append({"label": f"{month:%B %Y} ({days} days)", "value": f"{lo}|{days}"})
        month = (month - timedelta(days=1)).replace(day=1)
    return options


@callback(
    Output(ids.OPTIMIZE_BASE, "data"), Output(ids.OPTIMIZE_SOC, "value"),
    Output(ids.OPTIMIZE_ALERT, "children", allow_duplicate=True),
    Output(ids.OPTIMIZE_ALERT, "is_open", allow_duplicate=True),
    Input(ids.OPTIMIZE_HOUSEHOLD, "value"), Input(ids.OPTIMIZE_TARIFF, "value"), Input(ids.OPTIMIZE_DAY, "date"),
    prevent_initial_call="initial_duplicate",
)
def load_inputs(household, tariff, day):
    """Read the household's inputs once for the longest horizon (the only database read of the
    what-if); the start SOC slider goes to the measured stored energy."""
    household_id = visible_household_id(household)  # as the browser sent it back
    if household_id is None:
        raise PreventUpdate
    chosen = date.fromisoformat(day[:10]) if day else None
    tariff_id = browser_id(tariff) if tariff else None
    try:
        try:
            inputs = inputs_for_day(household_id, chosen, tariff_id=tariff_id, hours=HORIZON_MAX_H)
        except InputsUnavailable:  # a recent past day has no metered day after it: that day alone
            inputs = inputs_for_day(household_id, chosen, tariff_id=tariff_id, hours=24)
    except (InputsUnavailable, HouseholdNotFound, ValidationProblem) as exc:
        return None, no_update, str(exc), True
    battery = inputs.request.battery
    soc = round(100 * battery.initial_kwh / battery.capacity_kwh) if battery.capacity_kwh > 0 else 50
    return inputs_to_json(inputs), soc, None, False


# --- the what-if itself: one cheap callback per slider move -----------------------------------------


@callback(
    Output(ids.OPTIMIZE_SCHEDULE, "figure"), Output(ids.OPTIMIZE_COST, "figure"), Output(ids.OPTIMIZE_KPIS, "children"),
    Output(ids.OPTIMIZE_SOURCE, "children"), Output(ids.OPTIMIZE_TIMING, "children"),
    Output(ids.OPTIMIZE_ALERT, "children"), Output(ids.OPTIMIZE_ALERT, "is_open"), Output(ids.OPTIMIZE_DRAWN, "data"),
    Input(ids.OPTIMIZE_BASE, "data"), *[Input(s, "value") for s in SLIDERS], Input(ids.THEME_STORE, "data"),
    State(ids.OPTIMIZE_DRAWN, "data"),
)
def run_whatif(base, capacity, power, efficiency, soc, pv_scale, export_limit, horizon, theme, drawn=None):
    """Optimize the schedule for the slider values and draw it; no database access.

    ``drawn`` names the figures the browser shows (household inputs, horizon, theme): while it is
    unchanged only the traces' values are sent (a ``Patch``), else whole figures. The timing line
    gives the callback's own server time [ms] (solve, baselines, figures).
    """
    t0 = time.perf_counter()
    if not base:
        blank = empty_figure("No inputs for this household: see the message above", theme)
        return blank, empty_figure("", theme), [], None, None, no_update, no_update, None
    try:
        result = schedule_battery(_request(base, capacity, power, efficiency, soc, pv_scale, export_limit, horizon))
    except (ValidationProblem, ScheduleInfeasible) as exc:
        return (empty_figure("No schedule for these settings", theme), empty_figure("", theme), [], no_update,
                None, f"No schedule for these settings: {exc}", True, None)
    currency, frame, rows = base["currency"], result.to_frame(), savings_table(result)
    rule_soc = result.rule_based_flows.soc_kwh
    key = f"{base['household_id']}|{base['start']}|{base.get('tariff_id')}|{result.request.steps}|{theme}"
    if drawn == key:
        schedule, cost = Patch(), Patch()
        for i, values in enumerate(schedule_series(frame, rule_soc)):
            schedule["data"][i]["y"] = values
        cost["data"][0]["x"], cost["data"][0]["text"] = cost_series(rows, currency)
    else:
        schedule = schedule_figure(frame, base["timezone"], currency, theme, rule_soc)
        cost = cost_figure(rows, currency, theme)
    server_ms = (time.perf_counter() - t0) * 1e3
    timing = (f"Solved in {result.timings_ms.get('solve', 0):.1f} ms ({result.status}); "
              f"server time {server_ms:.0f} ms.")
    return (schedule, cost, whatif_kpis(result, currency), source_note(base, result.request.steps, horizon), timing,
            None, False, key)


def _request(base, capacity, power, efficiency, soc, pv_scale, export_limit, horizon):
    return whatif_request(
        base, capacity_kwh=float(capacity or 0), power_kw=float(power or 0),
        efficiency=float(efficiency or 95) / 100, initial_soc_fraction=float(soc if soc is not None else 50) / 100,
        pv_scale=float(pv_scale if pv_scale is not None else 1),
        export_limit_kw=None if export_limit is None or export_limit >= EXPORT_NO_LIMIT else float(export_limit),
        hours=float(horizon or 24),
    )


def whatif_kpis(result, currency: str) -> list:
    """Savings in money and kWh, self-consumption, self-sufficiency and cycles of the optimized plan."""
    o = result.optimized
    cards = [
        ("saved-money", "Saved vs no battery", format_money(result.savings_vs_no_battery, currency),
         "Cost without a battery minus the optimized cost, stored energy gained valued at the mean price."),
        ("saved-rule", "Saved vs simple rule", format_money(result.savings_vs_rule, currency),
         "Cost with the battery run by the self-consumption rule minus the optimized cost."),
        ("saved-kwh", "Import avoided", format_energy(result.import_kwh_saved_vs_no_battery),
         "Grid import without a battery minus grid import with the optimized battery."),
        ("self-consumption", "Self-consumption", format_ratio(o.self_consumption),
         "(PV − exported − curtailed) / PV"),
        ("self-sufficiency", "Self-sufficiency", format_ratio(o.self_sufficiency), "1 − import / load"),
        ("cycles", "Full cycles", f"{o.equivalent_full_cycles:.2f}", "Energy discharged / capacity"),
    ]
    return [kpi_card(f"optimize-kpi-{key}", label, value, formula) for key, label, value, formula in cards]


def source_note(base: dict, steps: int, hours_wanted: float | None = None) -> list:
    """Where the inputs came from, in words, with the notes that apply to this horizon."""
    sources = base["sources"]
    start = pd.Timestamp(base["start"]).tz_convert(base["timezone"])
    parts = [html.Strong(f"{base['household_name']}, from {start:%a %Y-%m-%d %H:%M}: "),
             f"PV and load: {sources['summary']}; start SOC: {sources['soc']}; prices: {sources['prices']}."]
    notes = whatif_notes(base, steps)
    available_h = len(base["load_kw"]) * base["dt_h"]
    if hours_wanted is not None and hours_wanted > available_h:
        notes.append(f"Only {available_h:g} h of inputs for this day: the horizon ends there.")
    if notes:
        parts.append(html.Ul([html.Li(n) for n in notes], className="mb-0"))
    return parts


@callback(
    Output(ids.OPTIMIZE_SAVE_NOTE, "children"),
    Input(ids.OPTIMIZE_SAVE, "n_clicks"), State(ids.OPTIMIZE_BASE, "data"), *[State(s, "value") for s in SLIDERS],
    prevent_initial_call=True,
)
def save_scenario(n_clicks, base, capacity, power, efficiency, soc, pv_scale, export_limit, horizon):
    """Keep the scenario on screen as a stored run (kind ``whatif``), for review and reports."""
    if not base:
        raise PreventUpdate
    try:
        result = schedule_battery(_request(base, capacity, power, efficiency, soc, pv_scale, export_limit, horizon))
    except (ValidationProblem, ScheduleInfeasible) as exc:
        return f"Not saved: {exc}"
    return f"Saved as run {store_run(base['household_id'], result, kind='whatif')}."


# --- back-test and sizing (background) --------------------------------------------------------------


def _period(value: str | None) -> tuple[date, int]:
    first, days = (value or "").split("|")
    return date.fromisoformat(first), int(days)


def _stage(set_progress):
    return lambda done, total, label: set_progress((round(100 * done / max(total, 1)), f"{label} {done}/{total}"))


@callback(
    Output(ids.OPTIMIZE_BACKTEST_DATA, "data"),
    Input(ids.OPTIMIZE_BACKTEST_RUN, "n_clicks"), State(ids.OPTIMIZE_HOUSEHOLD, "value"),
    State(ids.OPTIMIZE_PERIOD, "value"),
    **progress_job(ids.OPTIMIZE_BACKTEST_RUN, ids.OPTIMIZE_BACKTEST_PROGRESS),
)
@as_caller
def run_backtest(set_progress, n_clicks, household, period):
    """Replay the period day by day with perfect foresight and with the 7-day forecast."""
    household_id = visible_household_id(household)  # as the browser sent it back
    if not (household_id and period):
        return {"error": "Choose a household and a period with data first."}
    first, days = _period(period)
    job = start_job("battery_backtest", {"household_id": household_id, "first": first.isoformat(), "days": days},
                    current_scope(), here=True, on_progress=_stage(set_progress))
    return job.result if job.state == "done" else {"error": job_outcome(job)}


@callback(
    Output(ids.OPTIMIZE_BACKTEST_SUMMARY, "children"), Output(ids.OPTIMIZE_BACKTEST_FIGURE, "figure"),
    Output(ids.OPTIMIZE_BACKTEST_FIGURE, "style"),
    Input(ids.OPTIMIZE_BACKTEST_DATA, "data"), Input(ids.THEME_STORE, "data"),
)
def show_backtest(data, theme):
    """The back-test's money in words and its cumulative savings chart (re-drawn on a theme change)."""
    if not data:
        return None, empty_figure("", theme), JOB_FIGURE_HIDDEN
    if "error" in data:
        return dbc.Alert(data["error"], color="warning", className="mb-2"), empty_figure("", theme), JOB_FIGURE_HIDDEN
    c = data["currency"]
    daily = pd.DataFrame(data["daily"]).set_index("day")
    text = [html.Strong(f"{data['name']}, {data['days']} days from {data['first']}: "),
            f"without a battery {format_money(data['no_battery'], c)}; with perfect foresight "
            f"{format_money(data['perfect'], c)} (saves {format_money(data['no_battery'] - data['perfect'], c)}); "
            f"with the {data['label']} {format_money(data['forecast'], c)} "
            f"(saves {format_money(data['no_battery'] - data['forecast'], c)}). Forecast errors cost "
            f"{format_money(data['forecast'] - data['perfect'], c)}.", *[html.Div(n) for n in data["notes"]]]
    return html.P(text, id="optimize-backtest-text"), backtest_figure(daily, c, theme), JOB_FIGURE_SHOWN


@callback(
    Output(ids.OPTIMIZE_SIZING_DATA, "data"),
    Input(ids.OPTIMIZE_SIZING_RUN, "n_clicks"), State(ids.OPTIMIZE_HOUSEHOLD, "value"),
    State(ids.OPTIMIZE_PERIOD, "value"), State(ids.OPTIMIZE_BATTERY_PRICE, "value"),
    **progress_job(ids.OPTIMIZE_SIZING_RUN, ids.OPTIMIZE_SIZING_PROGRESS),
)
@as_caller
def run_sizing(set_progress, n_clicks, household, period, price):
    """Savings and payback of 0 to 20 kWh over the period (perfect foresight, re-planned daily)."""
    household_id = visible_household_id(household)  # as the browser sent it back
    if not (household_id and period):
        return {"error": "Choose a household and a period with data first."}
    if price is None:
        return {"error": "Give the battery price per kWh installed (for example 600)."}
    first, days = _period(period)
    job = start_job("battery_sizing", {"household_id": household_id, "first": first.isoformat(), "days": days,
                                       "price": float(price)}, current_scope(), here=True, on_progress=_stage(set_progress))
    return job.result if job.state == "done" else {"error": job_outcome(job)}


@callback(
    Output(ids.OPTIMIZE_SIZING_SUMMARY, "children"), Output(ids.OPTIMIZE_SIZING_FIGURE, "figure"),
    Output(ids.OPTIMIZE_SIZING_FIGURE, "style"),
    Input(ids.OPTIMIZE_SIZING_DATA, "data"), Input(ids.THEME_STORE, "data"),
)
def show_sizing(data, theme):
    """The best payback in words and the savings curve."""
    if not data:
        return None, empty_figure("", theme), JOB_FIGURE_HIDDEN
    if "error" in data:
        return dbc.Alert(data["error"], color="warning", className="mb-2"), empty_figure("", theme), JOB_FIGURE_HIDDEN
    c, rows = data["currency"], data["rows"]
    paying = [r for r in rows if r["payback_years"] is not None]
    if paying:
        best = min(paying, key=lambda r: r["payback_years"])
        verdict = (f"shortest simple payback {best['payback_years']:.1f} years at {best['capacity_kwh']:g} kWh "
                   f"(saves {format_money(best['annual_savings'], c)} a year at {data['price']:g} {c}/kWh).")
    else:
        verdict = "no size saves money over this period."
    text = [html.Strong(f"{data['name']}, {data['days']} days scaled to a year: "), verdict,
            *[part for n in data.get("notes", []) for part in (html.Br(), html.Small(n, className="text-body-secondary"))]]
    return html.P(text, id="optimize-sizing-text"), sizing_figure(rows, c, theme), JOB_FIGURE_SHOWN


# --- fleet: runs started in the background, shown from the store ---------------------------------


@callback(
    Output(ids.OPTIMIZE_FLEET_STARTED, "data"), Output(ids.OPTIMIZE_FLEET_NOTE, "children"),
    Input(ids.OPTIMIZE_FLEET_RUN, "n_clicks"),
    background=True, prevent_initial_call=True,
    # While it runs (planning inline, without REDIS_URL) the view polls the store, so the new run and
    # its progress show; the view's own callback decides afterwards whether polling goes on.
    running=[(Output(ids.OPTIMIZE_FLEET_RUN, "disabled"), True, False),
             (Output(ids.OPTIMIZE_FLEET_TICK, "disabled"), False, True)],
)
@as_caller
def start_fleet(n_clicks):
    """Start tomorrow's fleet run (tomorrow in the portfolio's time zone) of every visible household
    with a battery, as the caller: with ``REDIS_URL`` its chunks go to the workers and this returns at
    once; without, the chunks are planned here, in the background job. The run id goes to the store."""
    household_ids = household_ids_with_battery(visible_household_ids())
    if not household_ids:
        return {"error": NO_BATTERY_MESSAGE, "click": n_clicks}, dbc.Alert(NO_BATTERY_MESSAGE, color="warning")
    day = portfolio_tomorrow()
    try:
        run_id = start_fleet_run(day, household_ids)
    except (AccessDenied, ValidationProblem) as exc:
        return {"error": str(exc), "click": n_clicks}, dbc.Alert(f"Not started: {exc}", color="warning",
                                                                 className="mb-0")
    how = "the workers plan it" if fleet_run_summary(run_id).running else "planned"
    return ({"run_id": run_id, "click": n_clicks},
            f"Fleet run {run_id} for {day:%a %Y-%m-%d}, {len(household_ids)} households: {how}.")


@callback(
    Output(ids.OPTIMIZE_FLEET_RUNS, "rowData"), Output(ids.OPTIMIZE_FLEET_RUNS, "selectedRows"),
    Output(ids.OPTIMIZE_FLEET_SHOWN, "data"), Output(ids.OPTIMIZE_FLEET_GRID, "rowData"),
    Output(ids.OPTIMIZE_FLEET_SUMMARY, "children"), Output(ids.OPTIMIZE_FLEET_PROGRESS, "value"),
    Output(ids.OPTIMIZE_FLEET_PROGRESS, "label"), Output(ids.OPTIMIZE_FLEET_PROGRESS, "style"),
    Output(ids.OPTIMIZE_FLEET_TICK, "disabled"),
    Input(ids.OPTIMIZE_FLEET_STARTED, "data"), Input(ids.OPTIMIZE_FLEET_TICK, "n_intervals"),
    Input(ids.OPTIMIZE_FLEET_RUNS, "selectedRows"), State(ids.OPTIMIZE_FLEET_SHOWN, "data"),
    State(ids.OPTIMIZE_FLEET_PROGRESS, "label"),
)
def show_fleet_runs(started, _tick, selected, shown, shown_label=None):
    """The organisation's recent fleet runs and the households of the one shown: the run just
    started, else the one chosen in the list, else the newest. While the shown run is running the
    view polls (the interval is enabled); a poll finding it as it was does not send its households again."""
    trigger = _triggered_id()
    runs = recent_fleet_runs()
    run = shown_run(trigger, started, selected, browser_id(shown), runs)
    table = no_update if trigger == ids.OPTIMIZE_FLEET_RUNS else [run_row(r) for r in runs]
    if run is None:
        return table, no_update, None, [], "No fleet run yet.", 0, "", HIDDEN, True
    done = run.planned + run.failed
    label = f"{done} of {run.households} households"
    select = [{"key": str(run.run_id)}] if trigger != ids.OPTIMIZE_FLEET_RUNS and run.run_id != browser_id(shown) \
        else no_update
    if trigger == ids.OPTIMIZE_FLEET_TICK and run.running and run.run_id == browser_id(shown) and label == shown_label:
        return table, select, run.run_id, no_update, no_update, no_update, no_update, SHOWN, False
    rows = [r.as_dict() for r in fleet_run_rows(run.run_id)]
    percent = round(100 * done / run.households) if run.households else 100
    return (table, select, run.run_id, rows, fleet_summary(run, rows), percent, label,
            SHOWN if run.running else HIDDEN, not run.running)


def _triggered_id():
    try:
        return ctx.triggered_id
    except MissingCallbackContextException:  # called as a plain function: the initial call
        return None


download_fleet_csv = register_grid_csv(ids.OPTIMIZE_FLEET_GRID, "fleet-run.csv")

# --- CSV of each chart: the data behind it ----------------------------------------------------------


def _schedule_result(base, sliders):
    if not base:
        raise PreventUpdate
    try:
        return schedule_battery(_request(base, *sliders))
    except (ValidationProblem, ScheduleInfeasible):
        raise PreventUpdate from None


@callback(Output(ids.csv_download_id(ids.OPTIMIZE_SCHEDULE), "data"),
          Input(ids.csv_button_id(ids.OPTIMIZE_SCHEDULE), "n_clicks"), State(ids.OPTIMIZE_BASE, "data"),
          *[State(s, "value") for s in SLIDERS], prevent_initial_call=True)
def download_schedule(_n_clicks, base, *sliders):
    """The schedule on screen per step (local time): flows [kW], stored energy [kWh], prices [currency/kWh]."""
    frame = _schedule_result(base, sliders).to_frame().tz_convert(base["timezone"])
    return send_csv(frame, f"battery-schedule-{base['household_id']}.csv", index=True)


@callback(Output(ids.csv_download_id(ids.OPTIMIZE_COST), "data"),
          Input(ids.csv_button_id(ids.OPTIMIZE_COST), "n_clicks"), State(ids.OPTIMIZE_BASE, "data"),
          *[State(s, "value") for s in SLIDERS], prevent_initial_call=True)
def download_cost(_n_clicks, base, *sliders):
    """The cost comparison on screen [currency, kWh, kW, fractions], one row per schedule."""
    rows = pd.DataFrame(savings_table(_schedule_result(base, sliders)))
    money = {c: f"{c}_{base['currency']}" for c in ("cost", "adjusted_cost")}
    return send_csv(rows.rename(columns=money), f"battery-cost-{base['household_id']}.csv")


@callback(Output(ids.csv_download_id(ids.OPTIMIZE_BACKTEST_FIGURE), "data"),
          Input(ids.csv_button_id(ids.OPTIMIZE_BACKTEST_FIGURE), "n_clicks"), State(ids.OPTIMIZE_BACKTEST_DATA, "data"),
          prevent_initial_call=True)
def download_backtest(_n_clicks, data):
    """The back-test's cost per day [currency] without a battery, with perfect foresight and with the forecast."""
    if not data or "error" in data:
        raise PreventUpdate
    daily = pd.DataFrame(data["daily"]).set_index("day").add_suffix(f"_{data['currency']}")
    return send_csv(daily, f"backtest-{data['first']}-{data['days']}d.csv", index=True)


@callback(Output(ids.csv_download_id(ids.OPTIMIZE_SIZING_FIGURE), "data"),
          Input(ids.csv_button_id(ids.OPTIMIZE_SIZING_FIGURE), "n_clicks"), State(ids.OPTIMIZE_SIZING_DATA, "data"),
          prevent_initial_call=True)
def download_sizing(_n_clicks, data):
    """The sizing sweep: per capacity [kWh], savings [currency], cycles and payback [years]."""
    if not data or "error" in data:
        raise PreventUpdate
    return send_csv(pd.DataFrame(data["rows"]), f"battery-sizing-{data['currency']}.csv")
