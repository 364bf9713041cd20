"""The physical PV model against pvlib's own ModelChain, and its conventions."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import pvlib
import pytest

from services.pvmodel import (
    ALBEDO,
    CLEARSKY_MARGIN,
    GAMMA_PDC,
    TEMPERATURE_PARAMS,
    Location,
    PVArray,
    clearsky_bound_kwh,
    expected_pv,
    linke_turbidity,
)

GOLDEN = Location(39.7406, -105.1775, 1829.0)
ARRAY = PVArray(kwp=4.0, tilt_deg=45, azimuth_deg=158, losses_pct=14, inverter_kw=3.5)
INDEX = pd.date_range("2013-06-20", periods=72, freq="h", tz="UTC")


def _weather(index: pd.DatetimeIndex, location: Location = GOLDEN) -> pd.DataFrame:
    """Hazy-sky weather at interval middles: 80 % of clear-sky GHI, a weaker beam, more diffuse."""
    mid = index + pd.Timedelta(minutes=30)
    cs = pvlib.location.Location(location.latitude, location.longitude, altitude=location.altitude).get_clearsky(mid)
    hours = np.arange(len(index))
    return pd.DataFrame({
        "ghi": cs["ghi"].to_numpy() * 0.8, "dni": cs["dni"].to_numpy() * 0.7, "dhi": cs["dhi"].to_numpy() * 1.5,
        "temp_air": 18 + 8 * np.sin(2 * np.pi * (hours - 15) / 24), "wind_speed": 2.5,
    }, index=index)


def test_matches_pvlib_modelchain_with_pvwatts():
    weather = _weather(INDEX)
    ours = expected_pv(INDEX, [ARRAY], GOLDEN, weather)

    system = pvlib.pvsystem.PVSystem(
        surface_tilt=45, surface_azimuth=158, albedo=ALBEDO,
        module_parameters={"pdc0": ARRAY.kwp, "gamma_pdc": GAMMA_PDC},
        inverter_parameters={"pdc0": ARRAY.inverter_kw / 0.96},
        temperature_model_parameters=TEMPERATURE_PARAMS,
        # All 14 % as one PVWatts loss, so the total is exactly losses_pct.
        losses_parameters={"soiling": 14, "shading": 0, "snow": 0, "mismatch": 0, "wiring": 0, "connections": 0,
                           "lid": 0, "nameplate_rating": 0, "age": 0, "availability": 0},
    )
    location = pvlib.location.Location(GOLDEN.latitude, GOLDEN.longitude, altitude=GOLDEN.altitude)
    chain = pvlib.modelchain.ModelChain.with_pvwatts(system, location)
    at_middles = weather.copy()
    at_middles.index = INDEX + pd.Timedelta(minutes=30)  # our intervals are evaluated at their middle
    chain.run_model(at_middles)
    reference = chain.results.ac.clip(lower=0).fillna(0).to_numpy()

    assert reference.max() > 2.0  # the known case produces real power
    np.testing.assert_allclose(ours["ac_kw"].to_numpy(), reference, atol=1e-3 * ARRAY.kwp)
    np.testing.assert_allclose(ours["poa_global"].to_numpy(),
                               chain.results.total_irrad["poa_global"].fillna(0).clip(lower=0).to_numpy(),
                               atol=0.5)


def test_energy_is_mean_power_times_step_and_zero_at_night():
    index = pd.date_range("2013-06-20", periods=96, freq="15min", tz="UTC")
    out = expected_pv(index, [ARRAY], GOLDEN, step=timedelta(minutes=15))
    np.testing.assert_allclose(out["energy_kwh"], out["ac_kw"] * 0.25)
    night = out["solar_elevation"] < -1  # below the horizon even with refraction
    assert night.any() and (~night).any()
    assert (out.loc[night, ["energy_kwh", "clearsky_kwh", "poa_global"]] == 0).all().all()
    assert out["ac_kw"].max() <= ARRAY.inverter_kw + 1e-9  # the inverter clips


def test_clear_sky_bound_holds_for_hazy_weather():
    mid = INDEX + pd.Timedelta(minutes=30)
    cs = pvlib.location.Location(GOLDEN.latitude, GOLDEN.longitude, altitude=GOLDEN.altitude).get_clearsky(mid)
    hazy = pd.DataFrame((cs[["ghi", "dni", "dhi"]] * 0.8).to_numpy(), index=INDEX, columns=["ghi", "dni", "dhi"])
    out = expected_pv(INDEX, [ARRAY], GOLDEN, hazy)
    assert (out["energy_kwh"] <= out["clearsky_kwh"] + 1e-9).all()
    assert (clearsky_bound_kwh(out) == out["clearsky_kwh"] * (1 + CLEARSKY_MARGIN)).all()


def test_ghi_only_is_decomposed_and_close_to_the_full_split():
    weather = _weather(INDEX)
    full = expected_pv(INDEX, [ARRAY], GOLDEN, weather)
    ghi_only = expected_pv(INDEX, [ARRAY], GOLDEN, weather[["ghi", "temp_air"]])
    daily_full = full["energy_kwh"].sum()
    daily_split = ghi_only["energy_kwh"].sum()
    assert daily_split > 0
    assert abs(daily_split / daily_full - 1) < 0.15  # Erbs guesses the beam; the total stays close


def test_two_arrays_add_up():
    east = PVArray(3.0, 30, 90, 14, 3.0)
    west = PVArray(2.0, 30, 270, 14, 2.0)
    both = expected_pv(INDEX, [east, west], GOLDEN, _weather(INDEX))
    alone = [expected_pv(INDEX, [a], GOLDEN, _weather(INDEX)) for a in (east, west)]
    np.testing.assert_allclose(both["ac_kw"], alone[0]["ac_kw"] + alone[1]["ac_kw"])


def test_linke_turbidity_equals_pvlibs_lookup():
    times = pd.date_range("2012-01-01", "2013-12-31", freq="37h", tz="UTC")
    ours = linke_turbidity(times, GOLDEN)
    theirs = pvlib.clearsky.lookup_linke_turbidity(times, GOLDEN.latitude, GOLDEN.longitude).to_numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)


def test_array_settings_are_checked_with_a_hint():
    with pytest.raises(ValueError, match="give per cent: 14, not 0.14"):
        PVArray(5.0, losses_pct=0.14)
    with pytest.raises(ValueError, match="180 = south"):
        PVArray(5.0, azimuth_deg=400)
    with pytest.raises(ValueError, match="kWp must be positive"):
        PVArray(0.0)
