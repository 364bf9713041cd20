"""What pages show of fleet runs: the recent runs of the caller's organisation and one run's
households, read from the store (no Dash here).

A run belongs to the organisation of whoever started it (``FleetRun.organisation_id``; the
system's runs to none): a caller sees only its own organisation's runs, and another
organisation's run is :class:`~services.access.NotFound`, as if it did not exist. Viewers may
look; starting a run needs the manager role (:func:`.fleet_runs.start_fleet_run`).

Money in the households' tariff currency over the planned day; self-sufficiency a share
[0..1] of the load not imported; cycles are equivalent full cycles (discharged kWh / capacity).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services import access
from services.access import AccessScope
from services.config import get_settings
from services.store.db import session_scope
from services.store.models import FleetRun, FleetRunHousehold, Household

#: Runs the recent list shows at most.
RECENT_LIMIT = 20


@dataclass(frozen=True)
class FleetRunSummary:
    """One run as a list shows it: the day, who started it, the state and the counts of households."""

    run_id: int
    day: date
    started_by: str
    state: str
    households: int
    planned: int
    failed: int
    created_at: datetime
    finished_at: datetime | None

    @property
    def pending(self) -> int:
        """Households neither planned nor failed yet."""
        return max(self.households - self.planned - self.failed, 0)

    @property
    def running(self) -> bool:
        return self.state == "running"


@dataclass(frozen=True)
class FleetRunRow:
    """One household of a run: ``status`` pending, planned or failed (``reason`` in words).
    ``cost`` and the savings [currency over the day] are those of the optimized plan, the savings
    positive when the plan costs less than no battery (``savings``) or the self-consumption rule
    (``savings_vs_rule``); all None unless planned."""

    household_id: int
    household: str
    status: str
    cost: float | None
    savings: float | None
    savings_vs_rule: float | None
    self_sufficiency: float | None
    cycles: float | None
    reason: str

    def as_dict(self) -> dict:
        return {"household_id": self.household_id, "household": self.household, "status": self.status,
                "cost": self.cost, "savings": self.savings, "savings_vs_rule": self.savings_vs_rule,
                "self_sufficiency": self.self_sufficiency, "cycles": self.cycles, "reason": self.reason}


def portfolio_tomorrow(now: datetime | None = None) -> date:
    """Tomorrow in the portfolio's time zone (``SCHEDULE_TIMEZONE``): the day a fleet plan for
    tomorrow plans, from the page and from the daily schedule alike."""
    zone = ZoneInfo(get_settings().schedule_timezone)
    here = now.astimezone(zone) if now is not None else datetime.now(zone)
    return here.date() + timedelta(days=1)


def visible_run(session: Session, run_id: int, scope: AccessScope | None = None) -> FleetRun:
    """Run ``run_id`` when the caller's organisation owns it (the system sees every run);
    :class:`~services.access.NotFound` otherwise, whether or not it exists elsewhere."""
    run = session.get(FleetRun, run_id)
    scope = access.resolve(scope)
    if run is None or not (scope.is_system or run.organisation_id == scope.organisation_id):
        raise access.NotFound(f"fleet run {run_id} does not exist")
    return run


def _summary(run: FleetRun) -> FleetRunSummary:
    return FleetRunSummary(
        run_id=run.id, day=run.day, started_by=AccessScope.from_dict(run.scope).label, state=run.state,
        households=run.households, planned=run.planned, failed=run.failed, created_at=run.created_at,
        finished_at=run.finished_at)


def recent_fleet_runs(limit: int = RECENT_LIMIT, scope: AccessScope | None = None,
                      url: str | None = None) -> list[FleetRunSummary]:
    """The caller's organisation's last ``limit`` runs, newest first."""
    query = (sa.select(FleetRun).where(access.organisation_filter(FleetRun.organisation_id, scope))
             .order_by(FleetRun.created_at.desc(), FleetRun.id.desc()).limit(max(int(limit), 0)))
    with session_scope(url) as session:
        return [_summary(run) for run in session.scalars(query)]


def fleet_run_summary(run_id: int, scope: AccessScope | None = None, url: str | None = None) -> FleetRunSummary:
    """Run ``run_id`` as the list shows it; :class:`~services.access.NotFound` for another organisation's."""
    with session_scope(url) as session:
        return _summary(visible_run(session, run_id, scope))


def fleet_run_rows(run_id: int, scope: AccessScope | None = None, url: str | None = None) -> list[FleetRunRow]:
    """Every household of run ``run_id`` with its status and figures, by household name;
    :class:`~services.access.NotFound` for another organisation's run."""
    h = FleetRunHousehold
    with session_scope(url) as session:
        visible_run(session, run_id, scope)
        rows = session.execute(
            sa.select(h.household_id, Household.name, h.status, h.cost, h.savings, h.savings_vs_rule,
                      h.self_sufficiency, h.cycles, h.reason)
            .join(Household, Household.id == h.household_id).where(h.run_id == run_id)
            .order_by(sa.func.lower(Household.name), Household.id)).all()
    return [FleetRunRow(*row[:8], reason=row.reason or "") for row in rows]
