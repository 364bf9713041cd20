"""Whether to trust the learned model: a back-test that scored it worse than persistence overrules it.

A back-test (:func:`~services.forecasting.service.backtest_household`) scores the household's
method, trained at each origin on the readings before it, beside persistence (the same time on
the last known day) and, for PV, the physical model alone: overall and per local month. When
the newest back-test says the model loses to persistence, a forecast from it is one known to be
worse than "tomorrow like today"; :func:`backtest_verdict` names the better reference instead,
and the service forecasts with that and says why (``method`` and ``notes``).

The season counts: a PV model without weather can beat persistence over a year and lose to it
in winter (skill -0.10 on a real home). The verdict reads the months of the back-test that share
the forecast's calendar month when they hold at least :data:`MIN_ROWS` scored steps, else the
whole back-test. Skill is ``1 - MAE / MAE of persistence`` on the same steps (negative: worse).
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass

#: Scored steps the back-test's months of the forecast's calendar month need to be judged alone.
MIN_ROWS = 48
#: What each reference is called in a note.
REFERENCE_LABELS = {"persistence": "persistence (the same time on the last known day)",
                    "physical": "the physical model alone"}


@dataclass(frozen=True)
class Verdict:
    """What the back-test says. ``method``: ``ml`` (the model holds up) or the reference to use
    instead (``persistence``, ``physical``); ``skill``: the model's skill against persistence over
    ``basis`` (the months judged, or the whole back-test); ``note``: the sentence to show."""

    method: str
    skill: float
    basis: str
    note: str = ""


def backtest_verdict(backtest: dict | None, month: int, references: Sequence[str] = ("persistence",),
                     model_version: str | None = None) -> Verdict | None:
    """The method a forecast of calendar ``month`` (1-12, local) should use, by the back-test.

    Parameters
    ----------
    backtest : dict or None
        :func:`~services.forecasting.registry.latest_backtest` (``period_start``, ``period_end``,
        ``metrics`` with ``overall`` and ``monthly`` scores: ``n``, ``mae``, ``mae_<reference>``).
    references : the methods that may replace the model (``persistence``, for PV also ``physical``).
    model_version : the current model version; a back-test of another version says nothing.

    Returns
    -------
    None when there is nothing to judge by (no back-test, another model version, a back-test whose
    forecasts were mostly fallbacks, no scored steps); else a :class:`Verdict`. The model is
    overruled only when its skill against persistence is below zero, by the reference with the
    lowest MAE on the same steps.
    """
    if not backtest:
        return None
    metrics = backtest.get("metrics") or {}
    if model_version is not None and metrics.get("model_version") not in (None, model_version):
        return None
    methods = metrics.get("methods") or {}
    if methods and methods.get("ml", 0) * 2 <= sum(methods.values()):
        return None  # the back-test mostly scored fallbacks, not the model
    wanted = ["mae", *(f"mae_{r}" for r in references)]
    same_month = [m for key, m in (metrics.get("monthly") or {}).items() if _month_of(key) == month]
    scores, n = _pooled(same_month, wanted)
    basis = f"in {calendar.month_name[month]}"
    if n < MIN_ROWS:
        scores, n = _pooled([metrics.get("overall") or {}], wanted)
        basis = "over the whole back-test"
    if n == 0 or not scores.get("mae_persistence"):
        return None
    skill = 1.0 - scores["mae"] / scores["mae_persistence"]
    if skill >= 0:
        return Verdict("ml", skill, basis)
    best = min((r for r in references if scores.get(f"mae_{r}") is not None), key=lambda r: scores[f"mae_{r}"])
    period = _period(backtest)
    note = (f"the back-test{period} scored the model worse than persistence {basis} (skill {skill:+.2f}), so "
            f"{REFERENCE_LABELS.get(best, best)} is used instead; retrain and back-test again, or add a weather "
            "source, to bring the model back")
    return Verdict(best, skill, basis, note)


def _pooled(rows: list[dict], columns: list[str]) -> tuple[dict[str, float], int]:
    """Step-weighted means of ``columns`` over score rows that know all of them, and their steps."""
    usable = [r for r in rows if (r.get("n") or 0) > 0 and all(r.get(c) is not None for c in columns)]
    n = sum(int(r["n"]) for r in usable)
    if n == 0:
        return {}, 0
    return {c: sum(float(r[c]) * int(r["n"]) for r in usable) / n for c in columns}, n


def _month_of(key: str) -> int | None:
    """The month of a ``YYYY-MM`` key, or None."""
    try:
        return int(str(key).split("-")[1])
    except (IndexError, ValueError):
        return None


def _period(backtest: dict) -> str:
    start, end = backtest.get("period_start"), backtest.get("period_end")
    if start is None or end is None:
        return ""
    return f" of {start:%Y-%m-%d} to {end:%Y-%m-%d}"
