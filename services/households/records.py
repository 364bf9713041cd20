"""Households and what they own (PV systems, a battery, a tariff): list, read, create, edit, delete.

Inputs are the validated models of :mod:`services.households.inputs`; outputs are frozen
dataclasses (a PV system or battery read back: its frozen input model plus the row's id), so no
ORM object leaves this module. Every write is one
transaction: a household whose battery is invalid is not saved without it.
Functions that write take an optional ``session`` so that an import of many
households (:mod:`services.households.import_csv`, :mod:`services.households.citylearn`) can put
them all in one transaction, all or nothing.

Organisations and roles (:mod:`services.access`): every function takes ``scope`` (None: the
current caller). Reads see only the scope's organisation's households and tariffs; another
organisation's household is :class:`HouseholdNotFound`, exactly like a missing one. Writes need
role manager (:class:`~services.access.Forbidden` otherwise); new rows belong to
:func:`~services.access.owner_id` and names are unique per organisation. Writes made in their own
transaction are recorded in the audit log (:func:`services.auth.record`); a caller passing its own
``session`` records its own entry after its commit (an import is one entry).

Units as in the store: peak power [kWp], power [kW], energy [kWh], angles
[degrees], prices [currency/kWh], efficiencies and SOC limits as fractions.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from services import access
from services.access import AccessScope
from services.auth import record
from services.equipment import HOUSEHOLD_GRID
from services.households.inputs import BatteryInput, HouseholdInput, PVSystemInput, TariffInput
from services.store.db import session_scope
from services.store.models import Battery, Household, PVSystem, Tariff, TariffPeriod, TariffPrice
from services.validation import FieldProblem, ValidationProblem, parse_input

D = TypeVar("D", bound=BatteryInput | PVSystemInput)


class HouseholdNotFound(LookupError):
    """No household has this id in the caller's organisation (the API answers 404)."""

    def __init__(self, household_id: int):
        super().__init__(f"Household {household_id} does not exist")
        self.household_id = household_id


@dataclass(frozen=True)
class HouseholdSummary:
    """One row of the portfolio: ``pv_kwp`` is the total of all PV systems [kWp] (0 without PV),
    ``battery_kwh`` the usable capacity [kWh] or None without a battery."""

    id: int
    name: str
    timezone: str
    latitude: float
    longitude: float
    pv_kwp: float
    battery_kwh: float | None
    tariff_id: int | None
    tariff_name: str | None


class PVSystemDetail(PVSystemInput):
    """A stored PV system: the input's fields (:class:`PVSystemInput`) and the row's ``id``.
    Read back as saved (:meth:`~pydantic.BaseModel.model_construct`: not validated again)."""

    id: int


class BatteryDetail(BatteryInput):
    """A stored battery: the input's fields (:class:`BatteryInput`) and the row's ``id``.
    Read back as saved (not validated again)."""

    id: int


@dataclass(frozen=True)
class HouseholdDetail:
    """Everything about one household, as saved."""

    id: int
    name: str
    timezone: str
    latitude: float
    longitude: float
    tariff_id: int | None
    tariff_name: str | None
    grid_import_limit_kw: float | None
    grid_export_limit_kw: float | None
    notes: str
    pv_systems: tuple[PVSystemDetail, ...]
    battery: BatteryDetail | None
    created_at: datetime
    updated_at: datetime
    export_curtailable: bool = HOUSEHOLD_GRID.export_curtailable.default  # PV may be curtailed at a negative feed-in price

    @property
    def pv_kwp(self) -> float:
        """Total peak power of all PV systems [kWp]."""
        return sum(pv.kwp for pv in self.pv_systems)

    def to_input(self) -> HouseholdInput:
        """The input that would save this household as it is (to prefill an edit form).

        Not validated again: a household saved before a rule was tightened can still be
        opened and fixed; saving it validates.
        """
        pv = [PVSystemInput.model_construct(**p.model_dump(exclude={"id"})) for p in self.pv_systems]
        battery = BatteryInput.model_construct(**self.battery.model_dump(exclude={"id"})) if self.battery else None
        return HouseholdInput.model_construct(
            name=self.name, timezone=self.timezone, latitude=self.latitude, longitude=self.longitude,
            tariff_id=self.tariff_id, grid_import_limit_kw=self.grid_import_limit_kw,
            grid_export_limit_kw=self.grid_export_limit_kw, export_curtailable=self.export_curtailable,
            notes=self.notes, pv_systems=pv, battery=battery,
        )


@dataclass(frozen=True)
class TariffSummary:
    """A tariff as listed: default ``import_price`` and ``export_price`` [currency/kWh]."""

    id: int
    name: str
    kind: str
    currency: str
    import_price: float
    export_price: float
    household_count: int


# --- reading -----------------------------------------------------------------------------------


def list_households(household_ids: Sequence[int] | None = None, *,
                    scope: AccessScope | None = None) -> list[HouseholdSummary]:
    """The scope's households in name order (only those of ``household_ids`` when given: ids of
    other organisations are dropped), with PV and battery sizes."""
    pv_total = (
        sa.select(PVSystem.household_id, sa.func.sum(PVSystem.kwp).label("kwp"))
        .group_by(PVSystem.household_id)
        .subquery()
    )
    query = (
        sa.select(Household, pv_total.c.kwp, Battery.capacity_kwh, Tariff.name)
        .outerjoin(pv_total, pv_total.c.household_id == Household.id)
        .outerjoin(Battery, Battery.household_id == Household.id)
        .outerjoin(Tariff, Tariff.id == Household.tariff_id)
        .where(access.organisation_filter(Household.organisation_id, scope))
        .order_by(Household.name)
    )
    if household_ids is not None:
        query = query.where(Household.id.in_(list(household_ids)))
    with session_scope() as session:
        return [
            HouseholdSummary(
                id=h.id, name=h.name, timezone=h.timezone, latitude=h.latitude, longitude=h.longitude,
                pv_kwp=float(kwp or 0.0), battery_kwh=capacity, tariff_id=h.tariff_id, tariff_name=tariff,
            )
            for h, kwp, capacity, tariff in session.execute(query)
        ]


def get_household(household_id: int, *, scope: AccessScope | None = None) -> HouseholdDetail:
    """The household with its PV systems, battery and tariff; raise :class:`HouseholdNotFound`
    (also for another organisation's household)."""
    with session_scope() as session:
        household = session.scalar(
            sa.select(Household)
            .where(Household.id == household_id, access.organisation_filter(Household.organisation_id, scope))
            .options(selectinload(Household.pv_systems), selectinload(Household.battery),
                     selectinload(Household.tariff))
        )
        if household is None:
            raise HouseholdNotFound(household_id)
        return _detail(household)


def household_ids_by_name(names: Sequence[str], *, session: Session | None = None,
                          scope: AccessScope | None = None) -> dict[str, int]:
    """``{name: id}`` for those of ``names`` that a household of the organisation new rows of
    ``scope`` go to (:func:`~services.access.owner_id`) has, ignoring case (as the duplicate check
    of :func:`create_household` does)."""
    lowered = sorted({n.lower() for n in names})
    if not lowered:
        return {}
    with _session(session) as s:
        rows = s.execute(sa.select(sa.func.lower(Household.name), Household.id)
                         .where(sa.func.lower(Household.name).in_(lowered),
                                Household.organisation_id == access.owner_id(scope)))
        found = dict(rows.all())
    return {n: found[n.lower()] for n in names if n.lower() in found}


def list_tariffs(*, scope: AccessScope | None = None) -> list[TariffSummary]:
    """The scope's tariffs in name order, with how many households use each."""
    users = sa.func.count(Household.id).label("households")
    query = (
        sa.select(Tariff, users)
        .outerjoin(Household, Household.tariff_id == Tariff.id)
        .where(access.organisation_filter(Tariff.organisation_id, scope))
        .group_by(Tariff.id)
        .order_by(Tariff.name)
    )
    with session_scope() as session:
        return [
            TariffSummary(id=t.id, name=t.name, kind=t.kind, currency=t.currency, import_price=t.import_price,
                          export_price=t.export_price, household_count=n)
            for t, n in session.execute(query)
        ]


# --- writing -----------------------------------------------------------------------------------


def create_household(data: HouseholdInput | Mapping[str, Any], *, session: Session | None = None,
                     scope: AccessScope | None = None) -> int:
    """Save a new household of the scope's organisation with its PV systems and battery; return its id.

    Raises :class:`ValidationProblem` (nothing saved) for invalid input, a name already taken in
    the organisation or a tariff it does not have; :class:`~services.access.Forbidden` below manager.
    """
    scope = access.require_role("manager", scope)
    data = parse_input(HouseholdInput, data)
    organisation_id = access.owner_id(scope)
    with _session(session) as s:
        _check_household(s, data, household_id=None, organisation_id=organisation_id)
        household = Household(organisation_id=organisation_id)
        s.add(household)
        _apply(s, household, data)
        s.flush()
        household_id = household.id
    if session is None:
        record(scope, "household.create", f"household:{household_id}", None, _audited(data))
    return household_id


def update_household(household_id: int, data: HouseholdInput | Mapping[str, Any], *,
                     session: Session | None = None, scope: AccessScope | None = None) -> None:
    """Replace the household's settings, PV systems and battery with ``data``.

    PV systems are updated in place in order (the first input updates the first stored
    system, and so on; extra stored systems are removed), so their ids stay stable.
    When the tariff or time zone changes, the household's daily energy and costs are
    recomputed (:func:`services.energy.rollups.refresh_daily_energy`) after the commit.
    Raises :class:`HouseholdNotFound` (also another organisation's), :class:`ValidationProblem`
    (nothing changed) or :class:`~services.access.Forbidden` below manager.
    """
    scope = access.require_role("manager", scope)
    data = parse_input(HouseholdInput, data)
    with _session(session) as s:
        household = _visible(s, household_id, scope)
        _check_household(s, data, household_id=household_id, organisation_id=household.organisation_id)
        before = _audited(_detail(household).to_input())
        prices_changed = (household.tariff_id, household.timezone) != (data.tariff_id, data.timezone)
        _apply(s, household, data)
        s.flush()
    if session is None:
        record(scope, "household.update", f"household:{household_id}", before, _audited(data))
    if prices_changed and session is None:
        # Daily costs depend on the tariff and on where local days start; a caller passing its own
        # session refreshes after its commit (a refresh now would read the old rows).
        from services.energy.rollups import refresh_daily_energy  # rollups reads tariffs from this package

        refresh_daily_energy([household_id])


def delete_household(household_id: int, *, session: Session | None = None,
                     scope: AccessScope | None = None) -> None:
    """Delete the household and everything it owns (PV, battery, series, readings, forecasts, runs).

    Raises :class:`HouseholdNotFound` (also another organisation's) or
    :class:`~services.access.Forbidden` below manager.
    """
    scope = access.require_role("manager", scope)
    with _session(session) as s:
        household = _visible(s, household_id, scope)
        before = {"name": household.name}
        s.delete(household)
        s.flush()
    if session is None:
        record(scope, "household.delete", f"household:{household_id}", before, None)


def create_tariff(data: TariffInput | Mapping[str, Any], *, session: Session | None = None,
                  scope: AccessScope | None = None) -> int:
    """Save a tariff of the scope's organisation (flat, time-of-use with its periods, or dynamic
    with its prices); return its id.

    Raises :class:`ValidationProblem` for invalid input or a name already taken in the
    organisation; :class:`~services.access.Forbidden` below manager.
    """
    scope = access.require_role("manager", scope)
    data = parse_input(TariffInput, data)
    organisation_id = access.owner_id(scope)
    with _session(session) as s:
        if s.scalar(sa.select(Tariff.id).where(sa.func.lower(Tariff.name) == data.name.lower(),
                                               Tariff.organisation_id == organisation_id)) is not None:
            raise ValidationProblem([FieldProblem("name", f"A tariff named {data.name} already exists")])
        tariff = Tariff(organisation_id=organisation_id, name=data.name, kind=data.kind, currency=data.currency,
                        import_price=data.import_price, export_price=data.export_price)
        tariff.periods = [TariffPeriod(**p.model_dump()) for p in data.periods]
        s.add(tariff)
        s.flush()
        if data.prices:
            s.execute(sa.insert(TariffPrice), [
                {"tariff_id": tariff.id, "ts": p.ts, "import_price": p.import_price} for p in data.prices
            ])
        tariff_id = tariff.id
    if session is None:
        record(scope, "tariff.create", f"tariff:{tariff_id}", None,
               {"name": data.name, "kind": data.kind, "import_price": data.import_price,
                "export_price": data.export_price})
    return tariff_id


def tariff_ids_by_name(*, session: Session | None = None, scope: AccessScope | None = None) -> dict[str, int]:
    """``{tariff name: id}`` of every tariff of the organisation new rows of ``scope`` go to
    (:func:`~services.access.owner_id`)."""
    with _session(session) as s:
        query = sa.select(Tariff.name, Tariff.id).where(Tariff.organisation_id == access.owner_id(scope))
        return {name: tid for name, tid in s.execute(query)}


# --- internals ---------------------------------------------------------------------------------


@contextmanager
def _session(session: Session | None) -> Iterator[Session]:
    # The caller's transaction when given (an import of many households), else our own.
    if session is not None:
        yield session
    else:
        with session_scope() as own:
            yield own


def _visible(session: Session, household_id: int, scope: AccessScope) -> Household:
    # Another organisation's household answers exactly like a missing one.
    household = session.get(Household, household_id)
    if household is None or not (scope.is_system or household.organisation_id == scope.organisation_id):
        raise HouseholdNotFound(household_id)
    return household


def _check_household(session: Session, data: HouseholdInput, household_id: int | None, organisation_id: int) -> None:
    problems = []
    # Case-insensitive, so that "Home 1" and "home 1" are not two households in one list.
    same_name = sa.select(Household.id).where(sa.func.lower(Household.name) == data.name.lower(),
                                              Household.organisation_id == organisation_id)
    if household_id is not None:
        same_name = same_name.where(Household.id != household_id)
    if session.scalar(same_name.limit(1)) is not None:
        problems.append(FieldProblem("name", f"A household named {data.name} already exists: choose another name"))
    if data.tariff_id is not None and session.scalar(sa.select(Tariff.id).where(
            Tariff.id == data.tariff_id, Tariff.organisation_id == organisation_id)) is None:
        problems.append(FieldProblem("tariff_id", f"Tariff {data.tariff_id} does not exist: choose one from the list"))
    if problems:
        raise ValidationProblem(problems)


#: The fields of a household an audit entry keeps (PV and battery as their sizes).
AUDITED_FIELDS = ("name", "timezone", "latitude", "longitude", "tariff_id", "grid_import_limit_kw",
                  "grid_export_limit_kw", "export_curtailable", "notes")


def _audited(data: HouseholdInput) -> dict[str, Any]:
    """What an audit entry keeps of a household: its settings, PV peak power [kWp] and battery [kWh]."""
    fields = {name: getattr(data, name) for name in AUDITED_FIELDS}
    fields["pv_kwp"] = round(sum(pv.kwp for pv in data.pv_systems), 3)
    fields["battery_kwh"] = data.battery.capacity_kwh if data.battery else None
    return fields


def _apply(session: Session, household: Household, data: HouseholdInput) -> None:
    household.name = data.name
    household.timezone = data.timezone
    household.latitude = data.latitude
    household.longitude = data.longitude
    household.tariff_id = data.tariff_id
    household.grid_import_limit_kw = data.grid_import_limit_kw
    household.grid_export_limit_kw = data.grid_export_limit_kw
    household.export_curtailable = data.export_curtailable
    household.notes = data.notes
    existing = list(household.pv_systems)
    for stored, given in zip(existing, data.pv_systems):
        for key, value in given.model_dump().items():
            setattr(stored, key, value)
    for stale in existing[len(data.pv_systems):]:
        household.pv_systems.remove(stale)
    for given in data.pv_systems[len(existing):]:
        household.pv_systems.append(PVSystem(**given.model_dump()))
    if data.battery is None:
        household.battery = None
    elif household.battery is None:
        household.battery = Battery(**data.battery.model_dump())
    else:
        for key, value in data.battery.model_dump().items():
            setattr(household.battery, key, value)


def _detail(h: Household) -> HouseholdDetail:
    pv = tuple(_read_back(p, PVSystemDetail) for p in h.pv_systems)
    battery = _read_back(h.battery, BatteryDetail) if h.battery else None
    return HouseholdDetail(
        id=h.id, name=h.name, timezone=h.timezone, latitude=h.latitude, longitude=h.longitude,
        tariff_id=h.tariff_id, tariff_name=h.tariff.name if h.tariff else None,
        grid_import_limit_kw=h.grid_import_limit_kw, grid_export_limit_kw=h.grid_export_limit_kw,
        notes=h.notes or "", pv_systems=pv, battery=battery, created_at=h.created_at, updated_at=h.updated_at,
        export_curtailable=HOUSEHOLD_GRID.export_curtailable.saved(h.export_curtailable),
    )


def _read_back(row: Any, cls: type[D]) -> D:
    """The store row as ``cls`` (a detail), its columns as saved: not validated again."""
    return cls.model_construct(**{name: getattr(row, name) for name in cls.model_fields})
