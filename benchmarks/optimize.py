"""Benchmark: battery scheduling with Pyomo + HiGHS against the same program built directly in highspy.

Run: ``.venv/bin/python benchmarks/optimize.py`` (about a minute; needs ``../shared/data``).

Inputs are real: day-ahead prices of the DE-LU zone for 2019 (OPSD; EUR/MWh / 1000 = EUR/kWh,
negative hours included) and household load and PV of the 17 CityLearn homes (Fontana CA, hourly
kWh = mean kW, laid on the 2019 calendar by day of year), both held for the four quarter hours of
each hour (T = 96 steps of 15 min per day). The household tariff is dynamic: import = spot + 0.20
EUR/kWh (grid fees and levies), export = spot (negative when the spot price is). Battery: the
CityLearn 6.4 kWh / 5 kW, 95 % each way.

Measured side by side in one run (medians): the raw highspy build-and-solve (the reference), a
Pyomo model built and solved cold, a what-if re-solve of the persistent Pyomo model with changed
parameters, Pyomo's generic persistent interface, a year of 365 daily receding-horizon solves, a
fleet of 1,000 households on 2 worker processes (the fleet's default engine, the program built
directly in highspy; the Pyomo engine is measured too), and the largest relative difference
between the Pyomo and the raw objectives over every pair solved here (cold, what-if, MILP days).
Raw and Pyomo cold solves are interleaved so that both see the same machine load; the load
average is printed, since other work on the machine slows everything.

The What-if page's callback (``pages.optimize.run_whatif``) is timed on the demo store (a
temporary SQLite file with the demo portfolio, 4 households, 21 days): the household's inputs are
read once by the page's own callbacks, then, after warm-up, ~50 slider moves (capacity, power,
efficiency, start SOC, PV size, export limit) at T = 96 call the callback as Dash would while the
slider is dragged: the figures on screen stay, so only their values are sent. ``callback_p95_ms``
is the 95th percentile of its server time (solve, baselines, KPIs, figure values); the full redraw
(a new household, horizon or theme) is measured too and printed in the table.

Last line: ``optimize whatif_ratio=.. cold_ratio=.. year_s=.. fleet_hh_s=.. callback_p95_ms=..
max_obj_rel_diff=..``
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from services.optimization import BatteryParams, GridParams, Prices, ScheduleRequest, schedule_battery  # noqa: E402
from services.optimization.fleet import optimize_fleet  # noqa: E402
from services.optimization.formulation import formulate, shape_of  # noqa: E402
from services.optimization.model import PyomoProgram, build_model, load_data  # noqa: E402
from services.optimization.raw_highs import HighsProgram, solve_cold  # noqa: E402
from services.optimization.receding import simulate_receding_horizon  # noqa: E402

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
BATTERY = BatteryParams(6.4, 5.0, 5.0, 0.95, 0.95, soc_min=0.1, soc_max=1.0, initial_soc_kwh=3.2)
FEES = 0.20  # EUR/kWh on top of the spot price for imports
DAY = 96


def load_inputs():
    """2019 spot prices [EUR/kWh] and the 17 CityLearn homes' load and PV [kW], 15-min steps."""
    raw = pd.read_csv(
        DATA / "prices" / "opsd_DE_LU_price_day_ahead_2015-2020.csv",
        usecols=["utc_timestamp", "DE_LU_price_day_ahead"],
        parse_dates=["utc_timestamp"],
        index_col="utc_timestamp",
    )["DE_LU_price_day_ahead"]
    spot = (raw["2019-01-01":"2019-12-31"].interpolate() / 1000.0).to_numpy()  # two missing hours
    schema = json.loads((DATA / "citylearn_2022_fontana_ca" / "schema.json").read_text())
    hour = np.arange(365 * 24)
    # Row 1 of the CityLearn files is 2016-08-01 00:00 (day 212 of a calendar year).
    rows = (1 + ((hour // 24 - 212) % 365) * 24 + hour % 24) % 8760
    homes = []
    for number in range(1, 18):
        frame = pd.read_csv(DATA / "citylearn_2022_fontana_ca" / f"Building_{number}.csv")
        kwp = float(schema["buildings"][f"Building_{number}"]["pv"]["attributes"]["nominal_power"])
        pv = frame["solar_generation"].to_numpy()[rows] * kwp / 1000.0
        load = frame["non_shiftable_load"].to_numpy()[rows]
        homes.append((np.repeat(pv, 4), np.repeat(load, 4)))
    return np.repeat(spot, 4), homes


def day_request(spot, home, day, *, battery=BATTERY, pv_scale=1.0, tariff="household", grid=None):
    pv, load = home
    s = slice(day * DAY, (day + 1) * DAY)
    p = spot[s]
    prices = Prices(p + FEES, p) if tariff == "household" else Prices(p, p)
    return ScheduleRequest(pv[s] * pv_scale, load[s], prices, battery, grid or GridParams(), dt_h=0.25)


def ms(seconds: list[float]) -> float:
    return statistics.median(seconds) * 1e3


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def rel_diff(a: float, b: float) -> float:
    return abs(a - b) / max(abs(a), abs(b), 1e-12)


def raw_cold(request):
    """The reference: formulate, build the highspy arrays, load and solve in a new HiGHS instance."""
    lp = formulate(request)
    return HighsProgram.from_lp(lp).solve(lp, push=False)


def pyomo_cold(request):
    """A new Pyomo model: formulate, build, compile, load into HiGHS and solve."""
    lp = formulate(request)
    program = PyomoProgram(lp)
    return program, program.solve(lp)


def single_solves(spot, homes, pairs):
    """Cold solves of 20 different household-days, the raw reference and Pyomo interleaved so that
    both see the same machine load."""
    requests = [day_request(spot, homes[day % 17], day) for day in range(3, 365, 18)][:20]
    raw_t, cold_t, build_t, compile_t, generic_t = [], [], [], [], []
    from pyomo.contrib.solver.solvers.highs import Highs

    for repeat in range(2):
        for i, request in enumerate(requests):
            reference, dt = timed(lambda r=request: raw_cold(r))
            raw_t.append(dt)
            (program, sol), dt = timed(lambda r=request: pyomo_cold(r))
            cold_t.append(dt)
            build_t.append(program.build_ms / 1e3)
            compile_t.append(program.compile_ms / 1e3)
            pairs.append((sol.objective, reference.objective))
            if repeat == 0 and i % 4 == 0:

                def generic(r=request):
                    lp = formulate(r)
                    m = build_model(lp.shape)
                    load_data(m, lp)
                    return Highs().solve(m, solver_options={"threads": 1}).incumbent_objective

                obj, dt = timed(generic)
                generic_t.append(dt)
                pairs.append((obj, reference.objective))
    return {
        "raw_cold": ms(raw_t),
        "pyomo_cold": ms(cold_t),
        "pyomo_build": ms(build_t),
        "pyomo_compile": ms(compile_t),
        "pyomo_generic_cold": ms(generic_t),
    }


def whatif_moves(spot, homes):
    """A slider session on one household-day: capacity, power, efficiency, start SOC, PV, export cap."""
    base = day_request(spot, homes[0], 180)
    moves = []
    for k in range(48):
        battery = BatteryParams(
            [5.0, 6.4, 10.0, 13.5][k % 4],
            [3.0, 5.0, 4.0][k % 3],
            [3.0, 5.0][k % 2],
            [0.95, 0.9, 0.97][k % 3],
            [0.95, 0.92][k % 2],
            0.1,
            1.0,
            0.0,
            None,
        )
        grid = GridParams(export_limit_kw=[None, 3.0, 0.0, 2.4][k % 4])
        moves.append(base.replace(battery=battery, grid=grid, pv_kw=base.pv_kw * [1.0, 1.3, 0.7][k % 3]))
    return moves


def whatif(spot, homes, pairs):
    moves = whatif_moves(spot, homes)
    program = PyomoProgram(formulate(moves[0]))
    program.solve(formulate(moves[0]))
    raw_program = HighsProgram.from_lp(formulate(moves[0]))
    pyomo_t, raw_t, raw_cold_t, service_t = [], [], [], []
    for request in moves:
        sol, dt = timed(lambda r=request: program.solve(formulate(r)))
        pyomo_t.append(dt)
        _, dt_raw = timed(lambda r=request: raw_program.solve(formulate(r)))
        raw_t.append(dt_raw)
        reference, dt_cold = timed(lambda r=request: raw_cold(r))
        raw_cold_t.append(dt_cold)
        pairs.append((sol.objective, reference.objective))
    schedule_battery(moves[0])
    for request in moves:
        service_t.append(timed(lambda r=request: schedule_battery(r))[1])
    from pyomo.contrib.solver.solvers.highs import Highs

    opt = Highs()
    m = build_model(formulate(moves[0]).shape)
    load_data(m, formulate(moves[0]))
    opt.solve(m, solver_options={"threads": 1})
    generic_t = []
    for request in moves[:10]:

        def generic(r=request):
            load_data(m, formulate(r))
            return opt.solve(m, solver_options={"threads": 1}).incumbent_objective

        generic_t.append(timed(generic)[1])
    return {
        "whatif_raw_cold": ms(raw_cold_t),
        "pyomo_resolve": ms(pyomo_t),
        "raw_resolve": ms(raw_t),
        "service_call": ms(service_t),
        "pyomo_generic_resolve": ms(generic_t),
    }


def year(spot, homes):
    pv, load = homes[0]
    out = {}
    prices = Prices(spot + FEES, spot)
    run = simulate_receding_horizon(pv, load, prices, BATTERY, engine="pyomo")
    out["year_pyomo_s"], out["year_cost"], out["year_mip_days"] = run.wall_s, run.outcome.total_cost, run.binary_windows
    out["year_highs_s"] = simulate_receding_horizon(pv, load, prices, BATTERY, engine="highs").wall_s

    def persistence(k):  # yesterday's actuals as today's forecast
        y = max(k - DAY, 0)
        return pv[y : y + DAY], load[y : y + DAY]

    forecast = simulate_receding_horizon(pv, load, prices, BATTERY, forecast=persistence)
    out["year_forecast_s"], out["forecast_cost"] = forecast.wall_s, forecast.outcome.total_cost
    arbitrage = simulate_receding_horizon(pv, load, Prices(spot, spot), BATTERY)
    out["year_spot_import_s"], out["spot_import_mip_days"] = arbitrage.wall_s, arbitrage.binary_windows
    return out


def fleet(spot, homes):
    capacities = [5.0, 6.4, 10.0, 13.5]
    requests = {}
    for i in range(1000):
        battery = BatteryParams(capacities[i % 4], 5.0, 5.0, 0.95, 0.95, 0.1, 1.0, 0.0, None)
        requests[i] = day_request(
            spot, homes[i % 17], (i * 37) % 365, battery=battery, pv_scale=0.7 + 0.6 * (i % 7) / 6
        )
    out = {}
    for engine in ("pyomo", "highs"):
        result = optimize_fleet(requests, workers=2, engine=engine)
        assert not result.errors, result.errors
        out[f"fleet_{engine}_2w"] = result.households_per_s
    out["fleet_highs_1w"] = optimize_fleet(dict(list(requests.items())[:300]), workers=1).households_per_s
    return out


def negative_days(spot, homes, pairs):
    """Mixed-integer days (spot as import price): the Pyomo and raw builds must agree there too."""
    days = [d for d in range(365) if (spot[d * DAY : (d + 1) * DAY] < 0).any()]
    times = []
    for day in days[:4]:
        request = day_request(spot, homes[0], day, tariff="spot")
        negative = np.flatnonzero(request.prices.import_per_kwh < 0)
        lp = formulate(request, shape_of(request, negative))
        sol, dt = timed(lambda lp=lp: PyomoProgram(lp).solve(lp))
        times.append(dt)
        pairs.append((sol.objective, solve_cold(lp).objective))
    return {"mip_day_pyomo_cold": ms(times), "negative_days_2019": len(days)}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def whatif_callback() -> dict:
    """Server time of the What-if page's callback over slider moves at T = 96, on the demo store [ms]."""
    folder = tempfile.mkdtemp(prefix="bench-whatif-")
    url = f"sqlite:///{folder}/demo.db"
    os.environ["DATABASE_URL"] = url  # before the app and its pages are imported
    from services.config import get_settings

    get_settings.cache_clear()
    from services.demo import load_demo_portfolio
    from services.store.db import migrate

    migrate(url)
    load_demo_portfolio(n_households=4, seed=7, end=date.today(), url=url, days=21)
    from app import app  # noqa: F401 (the pages register with it)
    from pages import optimize as page
    from services.access import visible_household_ids
    from services.optimization.inputs import household_ids_with_battery

    household = str(household_ids_with_battery(visible_household_ids())[0])
    tariff, capacity, power, efficiency, export, _periods, _period = page.choose_household(household)
    base, soc, _alert, _open = page.load_inputs(household, tariff, None)

    def move(k: int, drawn):
        return page.run_whatif(base, [5.0, 6.4, 10.0, 13.5][k % 4], [3.0, 5.0, 4.0][k % 3], [95, 90, 97][k % 3],
                               [soc, 20, 80][k % 3], [1.0, 1.3, 0.7][k % 3],
                               [page.EXPORT_NO_LIMIT, 3.0, 0.0, 2.5][k % 4], 24, "light", drawn)

    drawn = move(0, None)[-1]
    for k in range(10):  # warm-up: every program shape of the session is built once
        move(k, drawn)
    slider, redraw = [], []
    for k in range(50):
        slider.append(timed(lambda k=k: move(k, drawn))[1])
        if k % 5 == 0:
            redraw.append(timed(lambda k=k: move(k, None))[1])
    from services.store.db import get_engine

    get_engine(url).dispose()
    shutil.rmtree(folder, ignore_errors=True)
    return {
        "callback_p50": statistics.median(slider) * 1e3,
        "callback_p95": percentile(slider, 0.95) * 1e3,
        "callback_redraw_p50": statistics.median(redraw) * 1e3,
        "callback_redraw_p95": percentile(redraw, 0.95) * 1e3,
    }


def main() -> None:
    if not DATA.is_dir():
        sys.exit(f"real data not found at {DATA}")
    spot, homes = load_inputs()
    load_before = os.getloadavg()[0]
    pairs: list[tuple[float, float]] = []
    figures = {}
    schedule_battery(day_request(spot, homes[0], 0))  # imports and first-use set-up, not measured
    figures.update(single_solves(spot, homes, pairs))
    figures.update(whatif(spot, homes, pairs))
    figures.update(negative_days(spot, homes, pairs))
    figures.update(year(spot, homes))
    figures.update(fleet(spot, homes))
    figures.update(whatif_callback())
    diffs = [rel_diff(a, b) for a, b in pairs]
    raw = figures["raw_cold"]
    rows = [
        ("raw highspy build + solve, T=96 (reference)", raw, "ms"),
        ("Pyomo cold: build + compile + load + solve", figures["pyomo_cold"], "ms"),
        ("  of which Pyomo model build", figures["pyomo_build"], "ms"),
        ("  of which compile (LinearStandardFormCompiler) + load into HiGHS", figures["pyomo_compile"], "ms"),
        (
            "Pyomo generic persistent interface, cold (build + set_instance + solve)",
            figures["pyomo_generic_cold"],
            "ms",
        ),
        ("Pyomo what-if re-solve, parameters changed (persistent)", figures["pyomo_resolve"], "ms"),
        ("raw highspy build + solve of the same what-if moves (reference)", figures["whatif_raw_cold"], "ms"),
        ("raw highspy persistent re-solve, same moves", figures["raw_resolve"], "ms"),
        ("Pyomo generic persistent re-solve (update_parameters)", figures["pyomo_generic_resolve"], "ms"),
        ("schedule_battery() hot: checks + solve + baselines + results", figures["service_call"], "ms"),
        ("MILP day (spot as import price), Pyomo cold", figures["mip_day_pyomo_cold"], "ms"),
        ("year, 365 daily solves, Pyomo (household tariff)", figures["year_pyomo_s"], "s"),
        ("year, 365 daily solves, raw highspy engine", figures["year_highs_s"], "s"),
        ("year with persistence forecast (yesterday = today)", figures["year_forecast_s"], "s"),
        (
            f"year with spot as import price ({figures['spot_import_mip_days']} MILP days)",
            figures["year_spot_import_s"],
            "s",
        ),
        ("fleet 1,000 households, 2 workers, Pyomo engine", figures["fleet_pyomo_2w"], "hh/s"),
        ("fleet 1,000 households, 2 workers, raw highspy engine (fleet default)", figures["fleet_highs_2w"], "hh/s"),
        ("fleet 300 households, 1 process, raw highspy engine", figures["fleet_highs_1w"], "hh/s"),
        ("plain Pyomo loop (generic interface, new model per household)", 1e3 / figures["pyomo_generic_cold"], "hh/s"),
        ("What-if callback, slider move, T=96, demo store: median", figures["callback_p50"], "ms"),
        ("What-if callback, slider move, T=96, demo store: p95", figures["callback_p95"], "ms"),
        ("What-if callback, full redraw (new household/horizon/theme): median", figures["callback_redraw_p50"], "ms"),
        ("What-if callback, full redraw: p95", figures["callback_redraw_p95"], "ms"),
    ]
    print(f"{'measure':<76} {'median':>10}")
    for label, value, unit in rows:
        print(f"{label:<76} {value:>9.2f} {unit}")
    print(
        f"year cost: perfect foresight {figures['year_cost']:.2f} EUR, persistence forecast "
        f"{figures['forecast_cost']:.2f} EUR (forecast errors cost "
        f"{figures['forecast_cost'] - figures['year_cost']:.2f} EUR); "
        f"{figures['negative_days_2019']} days of 2019 have negative prices"
    )
    print(f"objective pairs compared: {len(pairs)}, max relative difference {max(diffs):.2e}")
    print(f"machine: {os.cpu_count()} cores, load average {load_before:.1f} before and {os.getloadavg()[0]:.1f} after")
    print(
        f"optimize whatif_ratio={figures['pyomo_resolve'] / figures['whatif_raw_cold']:.2f} "
        f"cold_ratio={figures['pyomo_cold'] / raw:.2f} "
        f"year_s={figures['year_pyomo_s']:.2f} fleet_hh_s={figures['fleet_highs_2w']:.0f} "
        f"callback_p95_ms={figures['callback_p95']:.1f} "
        f"max_obj_rel_diff={max(diffs):.1e}"
    )


if __name__ == "__main__":
    main()
