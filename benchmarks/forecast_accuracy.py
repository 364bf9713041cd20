"""Benchmark: PV and load forecast accuracy on real data, beside persistence and a plain model.

Run: ``.venv/bin/python benchmarks/forecast_accuracy.py`` (needs ``../shared/data``).

PV: NREL system 50 (Golden, CO; tilt 45, azimuth 158), trained on 2011-2012 and tested
on 2013, hourly, daylight hours only (clear-sky GHI above 20 W/m2), nMAE = MAE / the
99.9th percentile of hourly output. Forecasts are day-ahead, issued at local midnight
for the next 24 h. The weather is the *observed* satellite weather (NSRDB PSM3) of the
test day: the figures measure the model given perfect weather, not a real forecast.
Side by side: persistence (same hour yesterday), the physical model alone, a plain
gradient-boosting model on the raw satellite weather, our model with weather and our
model without any weather (clear-sky geometry and recent output only).

Load: the 17 CityLearn homes (Fontana, CA), rolling origin: day-ahead from each local
midnight, the model retrained every 28 days on the readings before the origin only,
MAE against persistence-24h and persistence-168h.

Last line: ``forecast_accuracy pv_nmae_weather=<x> pv_nmae_noweather=<x> pv_nmae_persistence=<x>
load_homes_beating_persistence=<n>/17 train_s=<x> predict_ms=<x>``
"""

from __future__ import annotations

import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pvlib
from sklearn.ensemble import HistGradientBoostingRegressor

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from services.forecasting import load as load_model  # noqa: E402
from services.forecasting import pv as pv_model  # noqa: E402
from services.forecasting.backtest import Forecaster, accuracy, daily_origins, rolling_origin  # noqa: E402
from services.forecasting.features import Site  # noqa: E402
from services.forecasting.quantile import MEDIAN_PARAMS, THREADS, _threads  # noqa: E402
from services.pvmodel import Location, PVArray  # noqa: E402
from services.weather.files import instants_to_intervals  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
PV_DIR = DATA / "pvdaq_system50_golden_co"
LOAD_DIR = DATA / "citylearn_2022_fontana_ca"
GOLDEN = Location(39.7406, -105.1775)
TZ_GOLDEN = "Etc/GMT+7"  # local standard time, UTC-07:00 all year
TZ_FONTANA = "Etc/GMT+8"  # CityLearn: fixed UTC-08:00, no daylight saving
HOUR = pd.Timedelta(hours=1)
LOAD_RETRAIN_DAYS = 28


# --- PV data -----------------------------------------------------------------------------------


def read_power(local_clock: bool) -> pd.Series:
    """System 50 AC power [W] by UTC stamp. ``local_clock``: read the stamps as America/Denver wall
    clock (daylight saving included), which is what they are despite their -07:00 label."""
    raw = pd.read_parquet(PV_DIR / "system_50_ac_power_2_full_DST.parquet")
    values = raw["ac_power_2"].astype(float).to_numpy()
    if local_clock:
        stamps = raw["measured_on"].dt.tz_localize(None).dt.tz_localize(
            "America/Denver", ambiguous="NaT", nonexistent="NaT")
    else:
        stamps = raw["measured_on"]
    series = pd.Series(values, index=pd.DatetimeIndex(stamps).tz_convert("UTC"))
    series = series[series.index.notna()]
    return series[~series.index.duplicated()].sort_index()


def read_weather() -> pd.DataFrame:
    """PSM3 satellite weather: instants every 30 min at their (true UTC-07:00) stamps."""
    frame = pd.read_parquet(PV_DIR / "system_50_ac_power_2_full_DST_psm3.parquet").set_index("index")
    frame.index = pd.DatetimeIndex(frame.index).tz_convert("UTC")
    return frame[["ghi", "ghi_clear", "dni_clear", "dhi_clear", "temp_air"]].astype(float)


def best_lag(power: pd.Series, reference: pd.Series, lags_min: range) -> tuple[int, float]:
    """The shift [min] of ``reference`` that correlates best with power: power(t) ~ reference(t + lag)."""
    dense = reference.resample("5min").interpolate()
    best = (0, -1.0)
    for lag in lags_min:
        ref = dense.reindex(power.index + pd.Timedelta(minutes=lag)).to_numpy()
        ok = ~np.isnan(ref) & ~np.isnan(power.to_numpy())
        corr = float(np.corrcoef(power.to_numpy()[ok], ref[ok])[0, 1])
        best = max(best, (lag, corr), key=lambda x: x[1])
    return best


def alignment_report(weather: pd.DataFrame) -> list[str]:
    """Correlate power with clear-sky GHI (and clear-sky POA) at shifts, before and after the fix."""
    lines = []
    lags = range(-120, 75, 15)
    for label, local in (("stamps as labelled (-07:00)", False), ("stamps as America/Denver clock", True)):
        power = read_power(local).dropna()
        dst = pd.Series(power.index.tz_convert("America/Denver").map(lambda t: bool(t.dst())), index=power.index)
        for season, mask in (("DST months", dst), ("standard-time months", ~dst)):
            lag, corr = best_lag(power[mask.to_numpy()], weather["ghi_clear"], lags)
            lines.append(f"  {label:32s} {season:21s} clear-sky GHI lag {lag:+4d} min (r={corr:.3f})")
    power = read_power(True).dropna()
    mid = power.index
    pos = pvlib.solarposition.get_solarposition(mid, GOLDEN.latitude, GOLDEN.longitude)
    cs = pvlib.location.Location(GOLDEN.latitude, GOLDEN.longitude).get_clearsky(mid, solar_position=pos)
    poa = pvlib.irradiance.get_total_irradiance(45, 158, pos["apparent_zenith"], pos["azimuth"],
                                                cs["dni"], cs["ghi"], cs["dhi"])["poa_global"].fillna(0.0)
    lag, corr = best_lag(power, poa, range(-30, 35, 5))
    lines.append(f"  {'stamps as America/Denver clock':32s} {'all months':21s} clear-sky POA lag {lag:+4d} min "
                 f"(r={corr:.3f})")
    return lines


def hourly_pv() -> tuple[pd.Series, pd.DataFrame]:
    """Hourly mean power [kW] = kWh per hour, and hourly weather, both labelled at the hour's start.

    Power: the four quarter-hour means in [H, H+1) (samples are 15-min means labelled at their
    start; an hour with any quarter missing is dropped). Weather: PSM3 instants at H, H:30 and
    H+1 averaged by the trapezoid rule.
    """
    power = read_power(True) / 1000.0
    counts = power.resample("1h", label="left", closed="left").count()
    hourly = power.resample("1h", label="left", closed="left").mean()[counts == 4]
    weather = instants_to_intervals(read_weather(), HOUR)
    return hourly, weather


# --- PV benchmark -------------------------------------------------------------------------------


def pv_benchmark() -> dict:
    weather_raw = read_weather()
    print("Time alignment (best lag of power against the clear-sky reference):")
    for line in alignment_report(weather_raw):
        print(line)
    print("  -> power stamps are local wall-clock time with daylight saving, read as America/Denver;")
    print("     samples are 15-min means labelled at their start (POA lag about +half a step).")
    power, weather = hourly_pv()
    train = power[power.index.year < 2013]
    site = Site(GOLDEN, TZ_GOLDEN)
    nominal = pv_model.PVSetup((PVArray(1.0, 45, 158, 14),), site, HOUR.to_pytimedelta())
    kwp = pv_model.estimate_kwp(train, nominal)
    setup = pv_model.PVSetup((PVArray(round(kwp, 2), 45, 158, 14),), site, HOUR.to_pytimedelta())
    peak = float(np.quantile(power.dropna(), 0.999))
    print(f"\nkWp estimated from 2011-2012 output: {kwp:.2f} kWp; peak output (99.9th pct) {peak:.3f} kW")
    wx = weather[["ghi", "temp_air"]]  # what the satellite observed; clear-sky columns are geometry

    started = time.perf_counter()
    model = pv_model.fit_pv(train, setup, wx[wx.index < pd.Timestamp("2013-01-01", tz="UTC")])
    train_s = time.perf_counter() - started

    origins = daily_origins(pd.Timestamp("2013-01-01 07:00", tz="UTC"), pd.Timestamp("2014-01-01", tz="UTC"),
                            TZ_GOLDEN)
    runs = {}
    for name, w in (("weather", wx), ("clearsky", None)):
        forecaster = Forecaster(
            fit=lambda history, origin: model,  # trained once on 2011-2012, above
            predict=lambda m, history, origin, hours, w=w: pv_model.predict_pv(m, history, origin, hours, w),
            references={"physical": lambda history, origin, index: pv_model.physical_pv(
                setup, origin, 24, wx).frame["p50"].reindex(index).to_numpy()},
        )
        runs[name] = rolling_origin(power, forecaster, origins, hours=24, retrain_every=10_000)
    frame = runs["weather"].frame
    frame["clearsky"] = runs["clearsky"].frame["p50"].reindex(frame.index).to_numpy()
    frame["plain"] = plain_model(weather, power).reindex(frame.index).to_numpy()
    daylight = (weather["ghi_clear"].reindex(frame.index) > 20).to_numpy()
    complete = frame[["persistence", "physical", "clearsky", "plain"]].notna().all(axis=1).to_numpy()
    mask = daylight & complete
    rows = {
        "persistence (same hour yesterday)": "persistence",
        "physical model alone (PVWatts)": "physical",
        "plain GBM on raw satellite weather": "plain",
        "ours, no weather (clear sky + history)": "clearsky",
        "ours, with weather": "p50",
    }
    print("\nPV system 50, test 2013, day-ahead from local midnight, daylight hours "
          f"(n={int(mask.sum())}); WEATHER IS OBSERVED, NOT FORECAST: scores assume perfect weather")
    print(f"  {'method':42s} {'nMAE':>7s} {'MAE kW':>7s} {'RMSE':>7s} {'bias':>7s} {'skill/pers':>10s}")
    scores = {}
    for label, column in rows.items():
        s = accuracy(frame, peak, forecast=column, references=("persistence",), mask=mask)
        scores[column] = s
        print(f"  {label:42s} {s['nmae']:7.4f} {s['mae']:7.3f} {s['rmse']:7.3f} {s['bias']:+7.3f} "
              f"{s.get('skill_persistence', 0):10.3f}")
    band = scores["p50"].get("coverage_p10_p90", float("nan"))
    print(f"  P10-P90 band of ours with weather holds {band:.1%} of actual hours (80 % is calibrated)")
    hour_ahead = hour_ahead_noweather(model, power, weather, peak)
    print(f"  ours, no weather, issued each hour for the next hour (sampled days): nMAE {hour_ahead:.4f}")
    predict_ms = time_predictions(model, power, wx)
    print(f"\nTraining ({len(train.dropna())} hourly readings, both variants, P10/P50/P90): {train_s:.2f} s; "
          f"48 h prediction (median): {predict_ms:.1f} ms")
    return {"weather": scores["p50"]["nmae"], "noweather": scores["clearsky"]["nmae"],
            "persistence": scores["persistence"]["nmae"], "train_s": train_s, "predict_ms": predict_ms}


def plain_model(weather: pd.DataFrame, power: pd.Series) -> pd.Series:
    """The reference: gradient boosting on the raw satellite columns at the target hour, same settings."""
    columns = ["ghi", "ghi_clear", "dni_clear", "dhi_clear", "temp_air"]
    data = weather[columns].join(power.rename("y"), how="inner")
    train = data[(data.index.year < 2013) & data["y"].notna() & (data["ghi_clear"] > 20)]
    test = data[data.index.year == 2013]
    with _threads().limit(limits=THREADS, user_api="openmp"):
        model = HistGradientBoostingRegressor(loss="quantile", quantile=0.5, **MEDIAN_PARAMS)
        model.fit(train[columns].to_numpy(), train["y"].to_numpy())
        return pd.Series(np.clip(model.predict(test[columns].to_numpy()), 0, None), index=test.index)


def hour_ahead_noweather(model, power: pd.Series, weather: pd.DataFrame, peak: float) -> float:
    errors = []
    for day in pd.date_range("2013-01-05", "2013-12-31", freq="12D", tz="UTC"):
        for issue in pd.date_range(day, periods=24, freq="h"):
            if not weather["ghi_clear"].get(issue, 0) > 20 or pd.isna(power.get(issue)):
                continue
            history = power[(power.index < issue) & (power.index >= issue - pd.Timedelta(days=4))]
            forecast = pv_model.predict_pv(model, history, issue, 1, None).frame["p50"].iloc[0]
            errors.append(abs(forecast - power[issue]))
    return float(np.mean(errors)) / peak


def time_predictions(model, power: pd.Series, wx: pd.DataFrame) -> float:
    times = []
    for issue in pd.date_range("2013-03-01 07:00", periods=40, freq="7D", tz="UTC"):
        history = power[(power.index < issue) & (power.index >= issue - pd.Timedelta(days=4))]
        started = time.perf_counter()
        pv_model.predict_pv(model, history, issue, 48, wx)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


# --- load benchmark -----------------------------------------------------------------------------


def load_home(number: int) -> dict:
    """Day-ahead back-test of one CityLearn home; MAE [kWh] of the model and both persistences."""
    index = pd.date_range("2016-08-01 07:00", periods=8760, freq="h", tz="UTC")  # row 0: Jul 31 23:00 UTC-8
    load = pd.Series(pd.read_csv(LOAD_DIR / f"Building_{number}.csv")["non_shiftable_load"].to_numpy(), index=index)
    weather = pd.read_csv(LOAD_DIR / "weather.csv")
    temperature = pd.DataFrame({"temp_air": weather["outdoor_dry_bulb_temperature"].to_numpy()}, index=index)
    site = Site(Location(34.09, -117.43), TZ_FONTANA)
    forecaster = Forecaster(
        fit=lambda history, origin: load_model.fit_load(history, site, weather=temperature, quantiles=(0.5,),
                                                        variants=("weather",)),
        predict=lambda model, history, origin, hours: load_model.predict_load(model, history, origin, hours,
                                                                              temperature),
    )
    first = index[0] + pd.Timedelta(days=load_model.MIN_HISTORY_DAYS)
    origins = daily_origins(first, index[-1] - pd.Timedelta(hours=23), TZ_FONTANA)
    result = rolling_origin(load, forecaster, origins, hours=24, retrain_every=LOAD_RETRAIN_DAYS)
    s = accuracy(result.frame, float(load.mean()), references=("persistence", "persistence_week"))
    return {"home": number, "mae": s["mae"], "p24": s["mae_persistence"], "p168": s["mae_persistence_week"],
            "nmae": s["nmae"], "n": s["n"], "fit_s": float(np.median(result.fit_seconds))}


def load_benchmark() -> int:
    print(f"\nLoad, 17 CityLearn homes: day-ahead from local midnight, rolling origin from day "
          f"{load_model.MIN_HISTORY_DAYS}, retrained every {LOAD_RETRAIN_DAYS} days on the past only; "
          "temperature is the file's typical-year series taken as a perfect forecast")
    with ProcessPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(load_home, range(1, 18)))
    print(f"  {'home':>4s} {'MAE model':>10s} {'pers-24h':>9s} {'pers-168h':>9s} {'nMAE':>6s} {'beats':>6s}")
    beating = 0
    for r in results:
        wins = r["mae"] < min(r["p24"], r["p168"])
        beating += wins
        print(f"  {r['home']:4d} {r['mae']:10.4f} {r['p24']:9.4f} {r['p168']:9.4f} {r['nmae']:6.3f} "
              f"{'yes' if wins else 'NO':>6s}")
    print(f"  homes where the model beats the better persistence: {beating}/17")
    return beating


def main() -> None:
    if not DATA.is_dir():
        sys.exit(f"real data not found at {DATA}")
    parts = set(sys.argv[1:]) or {"pv", "load"}  # `pv` or `load` runs one half while developing
    pv = pv_benchmark() if "pv" in parts else dict.fromkeys(("weather", "noweather", "persistence", "train_s",
                                                              "predict_ms"), float("nan"))
    beating = load_benchmark() if "load" in parts else 0
    print(f"forecast_accuracy pv_nmae_weather={pv['weather']:.4f} pv_nmae_noweather={pv['noweather']:.4f} "
          f"pv_nmae_persistence={pv['persistence']:.4f} load_homes_beating_persistence={beating}/17 "
          f"train_s={pv['train_s']:.2f} predict_ms={pv['predict_ms']:.1f}")


if __name__ == "__main__":
    main()
