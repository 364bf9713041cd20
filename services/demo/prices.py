"""The demo's three tariffs (flat, time-of-use, dynamic) and the dynamic tariff's hourly prices.

The dynamic price is a synthetic day-ahead spot price plus fees and taxes:

- spot [EUR/MWh]: higher in winter, a morning and a larger evening peak, cheaper
  nights and weekends, a midday dip that deepens with how sunny it is across the
  portfolio's sites (PV floods the market), and persistent noise. Sunny spring
  and summer weekend middays go negative, as in the German market; on the
  sunniest of those the spot falls far enough (a few hundred EUR/MWh below zero)
  that even the import price turns negative for an hour or two, so optimizers
  meet that case.
- import price [EUR/kWh] = spot / 1000 + :data:`FEES_AND_TAXES`.

Prices cover the demo period plus two more days: day-ahead prices for
"tomorrow" are known before tomorrow starts, and the readings end at ``end``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from services.demo.weather import ar1

#: Grid fees, levies and VAT on top of the spot price [EUR/kWh].
FEES_AND_TAXES = 0.18
#: Days of prices beyond the end of the readings (day-ahead publication).
DAYS_AHEAD = 2


@dataclass(frozen=True)
class DemoPeriod:
    """A time-of-use window, local time: minutes after midnight [start, end), wrapping past
    midnight when end < start; ``weekdays`` bit 0 = Monday ... bit 6 = Sunday."""

    name: str
    start_minute: int
    end_minute: int
    weekdays: int
    import_price: float  # EUR/kWh


@dataclass(frozen=True)
class DemoTariff:
    """A tariff row: ``import_price`` is the default [EUR/kWh], ``export_price`` the feed-in [EUR/kWh]."""

    key: str
    name: str
    kind: str
    import_price: float
    export_price: float
    periods: tuple[DemoPeriod, ...] = ()
    currency: str = "EUR"


WEEKDAYS = 0b0011111
EVERY_DAY = 0b1111111

TARIFFS: dict[str, DemoTariff] = {
    "flat": DemoTariff("flat", "Flat 32 ct", "flat", 0.32, 0.08),
    "tou": DemoTariff(
        "tou", "Time of use (night 24 ct, peak 42 ct)", "tou", 0.33, 0.08,
        periods=(
            DemoPeriod("night", 22 * 60, 6 * 60, EVERY_DAY, 0.24),
            DemoPeriod("peak", 17 * 60, 21 * 60, WEEKDAYS, 0.42),
        ),
    ),
    # Default import price where an hour has no value: a typical dynamic average.
    "dynamic": DemoTariff("dynamic", "Dynamic hourly (spot + 18 ct)", "dynamic", 0.30, 0.07),
}


def dynamic_import_prices(start: pd.Timestamp, end: pd.Timestamp, sunshine: pd.Series,
                          seed: int) -> pd.Series:
    """Hourly import prices of the dynamic tariff [EUR/kWh] from ``start`` to ``end`` + 2 days.

    Parameters
    ----------
    start, end : Timestamp
        UTC bounds of the demo period (``end`` exclusive).
    sunshine : Series
        Hourly mean GHI over the portfolio's sites [W/m2], indexed by UTC hour; hours
        beyond it (the day-ahead days) repeat the last day.
    seed : int
        Seed of the noise.
    """
    rng = np.random.default_rng([seed, 7])
    hours = pd.date_range(start, end + pd.Timedelta(days=DAYS_AHEAD), freq="1h", inclusive="left", name="ts")
    sun = sunshine.reindex(hours)
    if sun.isna().any():  # the days ahead: assume tomorrow looks like today
        sun = sun.fillna(sunshine.shift(24 * DAYS_AHEAD, freq="h").reindex(hours)).fillna(0.0)
    sun = sun.to_numpy()
    local = hours.tz_convert("Europe/Berlin")
    hour = local.hour.to_numpy()
    weekend = local.day_of_week.to_numpy() >= 5
    doy = local.day_of_year.to_numpy()

    winter = np.cos(2 * np.pi * (doy - 15) / 365.25)  # +1 mid January
    level = 85.0 + 25.0 * winter - 12.0 * weekend
    daily = (
        -18.0 * _bump(hour, 3.5, 2.5) + 14.0 * _bump(hour, 8.0, 1.5) + 30.0 * _bump(hour, 19.0, 1.8)
    )
    # PV pushes midday prices down in proportion to irradiance, harder at weekends (low demand).
    solar_dip = sun / 1000.0 * (110.0 + 50.0 * weekend)
    noise = 12.0 * ar1(rng, len(hours), 0.85)
    spot = level + daily - solar_dip + noise
    spot = _extreme_negative_hours(spot, hours, sun, weekend, doy)
    return pd.Series(np.round(spot / 1000.0 + FEES_AND_TAXES, 4), index=hours, name="import_price")


def _bump(hour: np.ndarray, centre: float, width: float) -> np.ndarray:
    return np.exp(-0.5 * ((hour - centre) / width) ** 2)


def _extreme_negative_hours(spot: np.ndarray, hours: pd.DatetimeIndex, sun: np.ndarray,
                            weekend: np.ndarray, doy: np.ndarray) -> np.ndarray:
    """On the sunniest spring/summer weekend day, push the two sunniest hours to about
    -250 and -300 EUR/MWh (Germany saw -500 EUR/MWh on 2 July 2023)."""
    season = (doy >= 91) & (doy <= 243) & weekend
    if not season.any():
        return spot
    days = hours.tz_convert("Europe/Berlin").normalize()
    daily_sun = pd.Series(np.where(season, sun, 0.0), index=days).groupby(level=0).sum()
    best_day = daily_sun.idxmax()
    if daily_sun.max() <= 0:
        return spot
    in_day = np.flatnonzero(days == best_day)
    top = in_day[np.argsort(sun[in_day])[-2:]]
    spot = spot.copy()
    spot[top] = [-250.0, -300.0]
    return spot
