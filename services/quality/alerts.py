"""Alerts for the portfolio: what needs someone's attention, how bad it is, and what to do about it.

Two sources, over one period:

- data quality (:mod:`services.quality`): readings missing (gaps), meters stuck at one value,
  PV far below what a clear sky allows, impossible readings (PV at night or above its rating, grid
  above the connection: :mod:`services.quality.limits`), spikes and doubled readings;
- PV under-performance against the neighbours (:mod:`services.energy.portfolio`): a household's PV
  yield [kWh/kWp] in a calendar month far below the median of the other PV households at the
  same site that month. Weather is shared by neighbours, so this needs no irradiance data and
  holds in winter too.

Both PV verdicts about one household become one alert. Severity: ``high`` (data or money is
being lost now: a day or more of readings missing, a stuck meter, PV at half of what it should
give, a reading far above what the equipment can deliver, which distorts every total it enters),
``medium`` (worth a look this week), ``low`` (cosmetic: a spike, a drifting clock).

The data-quality checks read every reading of the period (seconds for a portfolio), so
:func:`portfolio_alerts` also returns the counts the overview's data-quality card shows: one
pass serves both.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta, timezone

import pandas as pd

from services.energy import kpis, portfolio
from services.households import HouseholdNotFound
from services.quality.checks import QUALITY_LABELS, HouseholdQuality, check_household
from services.quality.limits import FAR_ABOVE, describe

SEVERITIES = ("high", "medium", "low")
#: Missing readings [h] from which a gap is high severity (a logger down for a day) or medium.
GAP_HIGH_HOURS, GAP_MEDIUM_HOURS = 24.0, 2.0
#: A meter stuck this long [h] is high severity.
STUCK_HIGH_HOURS = 12.0
#: PV below this share of its reference (clear sky or neighbours) is high severity.
PV_HIGH_RATIO = 0.5
#: Months with fewer days in the period, or whose neighbours yield less than this per day
#: [kWh/kWp/day] (October to February in central Europe), are not used to compare PV.
PV_MIN_DAYS, PV_MIN_PEER_YIELD_PER_DAY = 7, 2.0

ACTIONS = {
    "gap": "Check that the household's logger or gateway is online, then re-send or upload the missing "
           "period on the Data page.",
    "stuck": "Check the meter (a frozen display or a broken link to it) and upload corrected readings "
             "for the stuck period.",
    "pv": "Inspect the array for shading, soiling or a tripped string, and check the kWp, tilt and "
          "azimuth entered on the Households page.",
    "spikes": "Look at the readings around these times; if a device glitched, upload corrected values.",
    "implausible": "Open the household's readings on the Data page: a register glitch, a unit slip (Wh sent as "
                   "kWh) or a wrong time zone (PV every evening) produces these. Upload corrected values for "
                   "those intervals, with the right unit or time zone, and check the kWp and grid limits on "
                   "the Households page.",
    "duplicates": "Check the device's clock synchronisation: readings arrive twice in one interval.",
    "no_data": "Check that the household's meters send data, or bring its readings in on the Data page.",
}


@dataclass(frozen=True)
class Alert:
    """One thing to look at in one household.

    ``kind`` is ``gap``, ``stuck``, ``pv``, ``implausible``, ``spikes``, ``duplicates`` or ``no_data``; ``severity``
    one of :data:`SEVERITIES`; ``title`` says what in a few words, ``detail`` gives the numbers,
    ``action`` what to do; ``start`` / ``end`` the period concerned (UTC; None: the whole period).
    """

    household_id: int
    household: str
    severity: str
    kind: str
    title: str
    detail: str
    action: str
    start: datetime | None = None
    end: datetime | None = None


@dataclass(frozen=True)
class AlertReport:
    """The alerts of a period, most severe first, and the data-quality counts of
    :func:`services.quality.quality_counts` from the same checks."""

    alerts: tuple[Alert, ...]
    counts: dict

    def frame(self) -> pd.DataFrame:
        """One row per alert (for a CSV), times in UTC."""
        columns = list(Alert.__dataclass_fields__)
        return pd.DataFrame([asdict(a) for a in self.alerts], columns=columns)


def portfolio_alerts(household_ids: Sequence[int], start: datetime | None = None,
                     end: datetime | None = None) -> AlertReport:
    """Alerts over ``[start, end)`` (UTC; None: from the first / up to the last reading) for
    ``household_ids``; unknown ids are skipped."""
    checked: dict[int, HouseholdQuality] = {}
    for household_id in household_ids:
        try:
            checked[household_id] = check_household(household_id, start, end)
        except HouseholdNotFound:
            continue
    alerts: list[Alert] = []
    for quality in checked.values():
        alerts += quality_alerts(quality)
    first_day, last_day = _days(list(checked), start, end)
    if first_day is not None:
        monthly = portfolio.monthly_pv_yield(list(checked), first_day, last_day)
        alerts = merge_pv_alerts(alerts, peer_pv_alerts(monthly, {h: q.name for h, q in checked.items()}))
        alerts += no_data_alerts(checked, first_day, last_day)
    order = {s: i for i, s in enumerate(SEVERITIES)}
    alerts.sort(key=lambda a: (order[a.severity], a.household, a.kind))
    return AlertReport(tuple(alerts), _counts(checked))


def quality_alerts(quality: HouseholdQuality) -> list[Alert]:
    """The alerts in one household's data-quality findings: one per kind of finding."""
    hid, name, out = quality.household_id, quality.name, []
    gaps = [(s.name, g) for s in quality.series for g in s.gaps]
    if gaps:
        series, longest = max(gaps, key=lambda item: item[1].hours)
        missing_h = max(sum(g.hours for n, g in gaps if n == s) for s in {n for n, _g in gaps})
        severity = "high" if longest.hours >= GAP_HIGH_HOURS else "medium" if missing_h >= GAP_MEDIUM_HOURS else "low"
        affected = sorted({n for n, _g in gaps})
        listed = ", ".join(affected[:3]) + (f" and {len(affected) - 3} more" if len(affected) > 3 else "")
        out.append(Alert(hid, name, severity, "gap", f"Readings missing for {_duration(longest.hours)}",
                         f"{len(gaps)} gap(s) in {len(affected)} series ({listed}); the longest from "
                         f"{_when(longest.start)} to {_when(longest.end)} ({series}).", ACTIONS["gap"],
                         longest.start, longest.end))
    runs = [(s.name, r) for s in quality.series for r in s.flat_runs]
    if runs:
        series, run = max(runs, key=lambda item: item[1].hours)
        severity = "high" if run.hours >= STUCK_HIGH_HOURS else "medium"
        out.append(Alert(hid, name, severity, "stuck", f"{series} meter stuck for {_duration(run.hours)}",
                         f"{series} repeated {run.value:.4g} from {_when(run.start)} to {_when(run.end)}"
                         f"{f' ({len(runs)} stuck periods)' if len(runs) > 1 else ''}.", ACTIONS["stuck"],
                         run.start, run.end))
    if quality.pv is not None and quality.pv.flagged:
        pv = quality.pv
        severity = "high" if pv.ratio is not None and pv.ratio < PV_HIGH_RATIO else "medium"
        out.append(Alert(hid, name, severity, "pv", f"PV at {pv.ratio:.0%} of the clear-sky expectation",
                         f"On its clearest days PV delivered {pv.ratio:.0%} of what a clear sky allows for "
                         f"{pv.kwp:g} kWp (healthy arrays reach 80-100 %).", ACTIONS["pv"], pv.start, pv.end))
    impossible = [s for s in quality.series if s.implausible_count]
    if impossible and quality.limits is not None:
        total = sum(s.implausible_count for s in impossible)
        listed = [item for s in impossible for item in s.implausible]
        first = min(listed, key=lambda item: item.ts)
        severity = "high" if any(item.value > FAR_ABOVE * item.limit for item in listed) else "medium"
        out.append(Alert(hid, name, severity, "implausible",
                         f"{total} impossible reading(s) in {', '.join(s.name for s in impossible)}",
                         " ".join(describe(s.name, s.quantity, list(s.implausible), s.implausible_count,
                                           quality.limits) + "." for s in impossible),
                         ACTIONS["implausible"], first.ts, max(item.ts for item in listed)))
    spikes = [s for s in quality.series if s.spike_count]
    if spikes:
        total = sum(s.spike_count for s in spikes)
        first = min((s.spikes[0] for s in spikes), key=lambda sp: sp.ts)
        out.append(Alert(hid, name, "low", "spikes", f"{total} spike(s) in {', '.join(s.name for s in spikes)}",
                         f"e.g. {first.value:.4g} at {_when(first.ts)} where about {first.expected:.4g} was usual.",
                         ACTIONS["spikes"], first.ts, None))
    doubled = [s for s in quality.series if s.duplicates]
    if doubled:
        out.append(Alert(hid, name, "low", "duplicates", "Readings doubled in one interval",
                         "; ".join(f"{s.name}: {s.duplicates}" for s in doubled) + " reading(s) share an interval.",
                         ACTIONS["duplicates"]))
    return out


def peer_pv_alerts(monthly: pd.DataFrame, names: dict[int, str]) -> list[Alert]:
    """An alert per household whose PV yield over the sunny months of the period is below
    :data:`services.energy.portfolio.PV_PEER_FLAG` of its neighbours' median (``monthly`` from
    :func:`services.energy.portfolio.monthly_pv_yield`).

    Only months with at least :data:`PV_MIN_DAYS` days and a neighbours' median of at least
    :data:`PV_MIN_PEER_YIELD_PER_DAY` are judged, summed over the period: in winter the low sun
    favours steep south roofs over east-west ones so much that orientation, not a fault, decides.
    """
    if monthly.empty:
        return []
    judged = monthly[(monthly["days"] >= PV_MIN_DAYS)
                     & (monthly["pv_peer_median"] >= PV_MIN_PEER_YIELD_PER_DAY * monthly["days"])]
    out = []
    for household_id, months in judged.groupby("household_id"):
        own, peers = months["pv_yield_kwh_per_kwp"].sum(), months["pv_peer_median"].sum()
        ratio = own / peers
        if ratio >= portfolio.PV_PEER_FLAG:
            continue
        first, last = pd.Timestamp(months["month"].min()), pd.Timestamp(months["month"].max())
        span = f"{first:%b %Y}" if first == last else f"{first:%b %Y} to {last:%b %Y}"
        out.append(Alert(
            int(household_id), names.get(int(household_id), f"Household {household_id}"),
            "high" if ratio < PV_HIGH_RATIO else "medium", "pv", f"PV at {ratio:.0%} of its neighbours' yield",
            f"{own:.0f} kWh/kWp over {span} ({len(months)} sunny month(s)) against {peers:.0f} kWh/kWp for the "
            "median of the other PV households nearby.", ACTIONS["pv"],
            first.to_pydatetime().replace(tzinfo=timezone.utc),
            (last + pd.offsets.MonthBegin(1)).to_pydatetime().replace(tzinfo=timezone.utc)))
    return out


def merge_pv_alerts(alerts: list[Alert], peer_alerts: list[Alert]) -> list[Alert]:
    """``alerts`` plus ``peer_alerts``; where a household already has a clear-sky PV alert the two
    become one, the more severe, with both findings in its detail."""
    merged = list(alerts)
    for peer in peer_alerts:
        index = next((i for i, a in enumerate(merged) if a.household_id == peer.household_id and a.kind == "pv"), None)
        if index is None:
            merged.append(peer)
            continue
        sky = merged[index]
        worst = min((sky, peer), key=lambda a: SEVERITIES.index(a.severity))
        merged[index] = Alert(sky.household_id, sky.household, worst.severity, "pv", worst.title,
                              f"{sky.detail} {peer.detail}", sky.action, sky.start, sky.end)
    return merged


def no_data_alerts(checked: dict[int, HouseholdQuality], first: date, last: date) -> list[Alert]:
    """An alert for each household without a single reading in the period."""
    return [Alert(h, q.name, "medium", "no_data", "No readings in this period",
                  f"None of its {len(q.series)} series has a reading from {first} to {last}." if q.series
                  else "It has no series yet: nothing is metered for it.", ACTIONS["no_data"])
            for h, q in checked.items() if not any(s.readings for s in q.series)]


def _counts(checked: dict[int, HouseholdQuality]) -> dict:
    # The same summary as services.quality.quality_counts, from checks already run.
    by_household = {h: q.counts() for h, q in checked.items()}
    totals = {kind: sum(c[kind] for c in by_household.values()) for kind in QUALITY_LABELS}
    with_issues = sum(1 for c in by_household.values() if any(c.values()))
    return {"households": len(by_household), "households_with_issues": with_issues, **totals,
            "by_household": by_household}


def _days(household_ids: list[int], start: datetime | None, end: datetime | None) -> tuple[date | None, date | None]:
    """The calendar days of ``[start, end)``, a missing bound taken from the data; (None, None) without data."""
    available = kpis.data_period(household_ids) if household_ids else None
    if available is None:
        return None, None
    first = start.date() if start is not None else available[0]
    last = (end - timedelta(microseconds=1)).date() if end is not None else available[1]
    return first, last


def _duration(hours: float) -> str:
    return f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.1f} days"


def _when(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC"
