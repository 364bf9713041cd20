"""Tariffs as prices over time: what one kWh costs at each instant.

A :class:`TariffSpec` is a plain snapshot of a stored tariff (flat, time-of-use
or dynamic), and :func:`import_prices` evaluates it on any UTC index. Prices are
in the tariff's currency per kWh; export prices are the feed-in remuneration
the household receives (positive = paid to the household).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.store.models import Tariff, TariffPrice


@dataclass(frozen=True)
class PeriodSpec:
    """A time-of-use window in local time: minutes after midnight ``[start, end)``, wrapping past
    midnight when ``end <= start``; ``weekdays`` bit 0 = Monday ... bit 6 = Sunday; ``months``
    bit 0 = January ... bit 11 = December (a seasonal tariff has periods for some months only)."""

    start_minute: int
    end_minute: int
    weekdays: int
    import_price: float  # currency/kWh
    months: int = 0xFFF


@dataclass(frozen=True)
class TariffSpec:
    """A tariff ready to evaluate. ``prices`` (dynamic tariffs) is indexed by UTC step start."""

    kind: str
    currency: str
    import_price: float  # currency/kWh, the default where no period or series value applies
    export_price: float  # currency/kWh, feed-in
    periods: tuple[PeriodSpec, ...] = ()
    prices: pd.Series | None = field(default=None, compare=False)
    price_step: pd.Timedelta = pd.Timedelta(hours=1)


def flat_tariff(import_price: float, export_price: float = 0.0, currency: str = "EUR") -> TariffSpec:
    """A flat tariff [currency/kWh]."""
    return TariffSpec(kind="flat", currency=currency, import_price=import_price, export_price=export_price)


def load_tariff_spec(
    session: Session, tariff_id: int, start: datetime | None = None, end: datetime | None = None
) -> TariffSpec:
    """Read tariff ``tariff_id`` from the store; for a dynamic tariff, its prices in ``[start, end)``."""
    tariff = session.get(Tariff, tariff_id)
    if tariff is None:
        raise LookupError(f"tariff {tariff_id} does not exist")
    periods = tuple(
        PeriodSpec(p.start_minute, p.end_minute, p.weekdays, p.import_price, p.months) for p in tariff.periods
    )
    prices = None
    if tariff.kind == "dynamic":
        query = sa.select(TariffPrice.ts, TariffPrice.import_price).where(TariffPrice.tariff_id == tariff_id)
        if start is not None:
            query = query.where(TariffPrice.ts >= start - pd.Timedelta(hours=1))
        if end is not None:
            query = query.where(TariffPrice.ts < end)
        rows = session.execute(query.order_by(TariffPrice.ts)).all()
        prices = pd.Series(
            [r[1] for r in rows], index=pd.DatetimeIndex([r[0] for r in rows], tz="UTC"), dtype=float
        )
    return TariffSpec(
        kind=tariff.kind,
        currency=tariff.currency,
        import_price=tariff.import_price,
        export_price=tariff.export_price,
        periods=periods,
        prices=prices,
    )


def import_prices(tariff: TariffSpec, index: pd.DatetimeIndex, tz: str) -> pd.Series:
    """Import price [currency/kWh] at each instant of ``index`` (UTC), for a household in time zone ``tz``.

    Time-of-use periods are matched in local time; the first matching period wins.
    A dynamic price holds from its timestamp for ``tariff.price_step``; where the
    series has no value the default ``import_price`` applies.
    """
    index = pd.DatetimeIndex(index)
    if index.tz is None:
        raise ValueError("index must be timezone-aware (UTC)")
    prices = np.full(len(index), float(tariff.import_price))
    if tariff.kind == "tou" and tariff.periods:
        local = index.tz_convert(tz)
        minute = (local.hour * 60 + local.minute).to_numpy()
        weekday_bit = 1 << local.day_of_week.to_numpy()
        month_bit = 1 << (local.month.to_numpy() - 1)
        assigned = np.zeros(len(index), dtype=bool)
        for period in tariff.periods:
            if period.end_minute > period.start_minute:
                in_window = (minute >= period.start_minute) & (minute < period.end_minute)
            else:  # wraps past midnight
                in_window = (minute >= period.start_minute) | (minute < period.end_minute)
            on_day = ((weekday_bit & period.weekdays) != 0) & ((month_bit & period.months) != 0)
            hit = in_window & on_day & ~assigned
            prices[hit] = period.import_price
            assigned |= hit
    elif tariff.kind == "dynamic" and tariff.prices is not None and len(tariff.prices):
        series = tariff.prices.sort_index()
        looked_up = series.reindex(index, method="ffill", tolerance=tariff.price_step - pd.Timedelta(seconds=1))
        known = looked_up.notna().to_numpy()
        prices[known] = looked_up.to_numpy()[known]
    return pd.Series(prices, index=index, name="import_price")
