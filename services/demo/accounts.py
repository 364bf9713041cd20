"""Demo sign-ins: the demo portfolio split over two organisations, with one account per role.

``make run`` on an empty store loads the demo portfolio and then :func:`seed_demo_accounts`:
every second household (and a copy of its tariff) moves to a second organisation, and four
accounts are made whose passwords are printed on the console (:data:`DEMO_ACCOUNTS`). They are
marked ``demo``: the app refuses to serve on a non-loopback host while any active demo account
exists (:func:`services.serving.check_serving`), so a demo password never reaches a network.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from services.auth import add_membership, create_organisation, create_user
from services.store.db import session_scope
from services.store.models import DEFAULT_ORGANISATION_ID, Household, Organisation, Tariff, TariffPeriod, User


@dataclass(frozen=True)
class DemoAccount:
    email: str
    password: str
    name: str
    roles: tuple[tuple[str, str], ...]  # (organisation name, role)


FIRST_ORGANISATION = "Sunrise Installers"
SECOND_ORGANISATION = "Northside Housing"
DEMO_ACCOUNTS = (
    DemoAccount("admin@demo.example", "demo-admin-password", "Alex Admin",
                ((FIRST_ORGANISATION, "admin"), (SECOND_ORGANISATION, "admin"))),
    DemoAccount("manager@demo.example", "demo-manager-password", "Morgan Manager", ((FIRST_ORGANISATION, "manager"),)),
    DemoAccount("viewer@demo.example", "demo-viewer-password", "Vic Viewer", ((FIRST_ORGANISATION, "viewer"),)),
    DemoAccount("housing@demo.example", "demo-housing-password", "Harper Housing",
                ((SECOND_ORGANISATION, "manager"),)),
)


def seed_demo_accounts() -> bool:
    """Split the portfolio over two organisations and make the demo accounts, once: False (and
    nothing done) when the store already has any user."""
    with session_scope() as session:
        if session.scalar(sa.select(sa.func.count()).select_from(User)):
            return False
        first = session.get(Organisation, DEFAULT_ORGANISATION_ID)
        first.name = FIRST_ORGANISATION
    second = create_organisation(SECOND_ORGANISATION)
    _move_every_second_household(second.id)
    ids = {FIRST_ORGANISATION: DEFAULT_ORGANISATION_ID, SECOND_ORGANISATION: second.id}
    for account in DEMO_ACCOUNTS:
        user = create_user(account.email, account.name, account.password, demo=True)
        for organisation, role in account.roles:
            add_membership(user.id, ids[organisation], role)
    return True


def demo_sign_ins() -> list[DemoAccount]:
    """The demo accounts that still exist with their printed password (none changed it)."""
    with session_scope() as session:
        emails = set(session.scalars(sa.select(User.email).where(User.demo.is_(True), User.active.is_(True))))
    return [a for a in DEMO_ACCOUNTS if a.email in emails]


def sign_ins_text() -> str:
    """The console lines listing the demo sign-ins ("" when there are none)."""
    accounts = demo_sign_ins()
    if not accounts:
        return ""
    lines = ["Demo sign-ins (local use only; change or deactivate them before serving on a network):"]
    for a in accounts:
        roles = ", ".join(f"{role} of {org}" for org, role in a.roles)
        lines.append(f"  {a.email:<24} {a.password:<24} {roles}")
    return "\n".join(lines)


def _move_every_second_household(organisation_id: int) -> None:
    with session_scope() as session:
        households = list(session.scalars(sa.select(Household).order_by(Household.id)))
        copies: dict[int, Tariff] = {}
        for household in households[1::2]:
            household.organisation_id = organisation_id
            if household.tariff_id is not None:
                if household.tariff_id not in copies:
                    copies[household.tariff_id] = _copy_tariff(session, household.tariff_id, organisation_id)
                household.tariff_id = copies[household.tariff_id].id


def _copy_tariff(session, tariff_id: int, organisation_id: int) -> Tariff:
    """A copy of tariff ``tariff_id`` (periods and hourly prices too) in ``organisation_id``."""
    from services.store.models import TariffPrice

    tariff = session.get(Tariff, tariff_id)
    copy = Tariff(organisation_id=organisation_id, name=tariff.name, kind=tariff.kind, currency=tariff.currency,
                  import_price=tariff.import_price, export_price=tariff.export_price)
    session.add(copy)
    session.flush()
    for period in session.scalars(sa.select(TariffPeriod).where(TariffPeriod.tariff_id == tariff_id)):
        values = {c.key: getattr(period, c.key) for c in sa.inspect(TariffPeriod).column_attrs if c.key != "id"}
        session.add(TariffPeriod(**{**values, "tariff_id": copy.id}))
    session.flush()
    hours = sa.select(sa.literal(copy.id), TariffPrice.ts, TariffPrice.import_price).where(
        TariffPrice.tariff_id == tariff_id)
    session.execute(sa.insert(TariffPrice).from_select(["tariff_id", "ts", "import_price"], hours))
    return copy
