"""A large demo portfolio is generated and written in batches: each household is the one a
portfolio generated at once would have, and a portfolio written in batches holds the same
households, series, readings and daily rows as one written at once, on each backend."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import sqlalchemy as sa
from click.testing import CliRunner

from services.demo import generate_portfolio, load_demo_portfolio
from services.store.db import session_scope
from services.store.models import DailyEnergy, Household, Reading, Series

END = date(2026, 3, 2)


def test_a_batch_holds_the_households_of_the_whole_portfolio():
    whole = generate_portfolio(14, 5, END, days=3)
    tail = generate_portfolio(7, 5, END, days=3, first=7)
    assert [h.name for h in tail.households] == [h.name for h in whole.households[7:]]
    for mine, theirs in zip(tail.households, whole.households[7:], strict=True):
        assert mine.spec == theirs.spec
        pd.testing.assert_frame_equal(mine.readings, theirs.readings)
    assert tail.faults == () and whole.faults  # planted in the first households only
    pd.testing.assert_series_equal(tail.dynamic_prices, whole.dynamic_prices)  # every site in both


def test_a_portfolio_written_in_batches_equals_one_written_at_once(db_url):
    report = load_demo_portfolio(n_households=15, seed=5, end=END, days=3, batch_households=6)  # 6 + 6 + 3
    expected = generate_portfolio(15, 5, END, days=3)
    assert (report.households, report.readings) == (15, expected.reading_count)
    with session_scope() as session:
        names = sorted(session.scalars(sa.select(Household.name)))
        readings = session.scalar(sa.select(sa.func.count()).select_from(Reading))
        series = session.scalar(sa.select(sa.func.count()).select_from(Series))
        with_days = session.scalar(sa.select(sa.func.count(sa.distinct(DailyEnergy.household_id))))
        last = session.execute(
            sa.select(Reading.ts, Reading.value).join(Series, Series.id == Reading.series_id)
            .join(Household, Household.id == Series.household_id)
            .where(Household.name == expected.households[14].name, Series.name == "load").order_by(Reading.ts)).all()
    assert names == sorted(h.name for h in expected.households)
    assert (readings, with_days, report.series) == (expected.reading_count, 15, series)
    assert series == sum(len(h.series) for h in expected.households)
    np.testing.assert_allclose([v for _, v in last], expected.households[14].readings["load"].dropna().to_numpy())


def test_the_command_gives_a_large_portfolio_a_week(db_url, monkeypatch, dash_app):
    from services.demo import loader

    asked = {}
    monkeypatch.setattr(loader, "write_portfolio", lambda portfolio, url=None, more=(): asked.update(
        days=portfolio.days, more=sum(len(b.households) for b in more)) or _Report())
    result = CliRunner().invoke(dash_app.server.cli, ["demo-data", "--households", "1200", "--end", "2026-03-02"])
    assert result.exit_code == 0, result.output
    assert "a week of readings each" in result.output and asked == {"days": 7, "more": 200}


class _Report:
    seconds: dict = {}

    def summary(self) -> str:
        return "loaded"
