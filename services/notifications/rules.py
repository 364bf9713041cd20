"""Notification rules: who is told about which alerts, and how (validated where they are made).

A rule belongs to an organisation (``organisation_id``; NULL until sign-in brings organisations)
and says which alert kinds it wants (none named: every kind), the least severe alert it wants,
and its recipients: email addresses, a webhook (URL + the secret that signs each request), or
both. A ``daily_digest`` rule gets one summary a day instead of a message per alert.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import sqlalchemy as sa

from services import access
from services.access import AccessScope
from services.quality.alerts import ACTIONS, SEVERITIES, Alert
from services.store.db import session_scope
from services.store.models import NotificationRule

ALERT_KINDS = tuple(ACTIONS)
#: Shortest webhook secret accepted [characters]: the HMAC key must not be guessable.
MIN_SECRET_CHARS = 16


class RuleError(ValueError):
    """A rule cannot be saved as given; the message says what to change."""


class RuleNotFound(LookupError):
    """No rule with that id (for this caller)."""


@dataclass(frozen=True)
class Rule:
    """A saved rule (see the module's docstring). ``kinds`` empty: every kind."""

    id: int
    name: str
    organisation_id: int | None
    kinds: tuple[str, ...]
    min_severity: str
    emails: tuple[str, ...]
    webhook_url: str | None
    webhook_secret: str | None = field(repr=False)
    daily_digest: bool
    enabled: bool = True

    def matches(self, alert: Alert) -> bool:
        """Whether ``alert`` is of a kind and at least as severe as this rule asks for."""
        return ((not self.kinds or alert.kind in self.kinds)
                and SEVERITIES.index(alert.severity) <= SEVERITIES.index(self.min_severity))

    @property
    def channels(self) -> tuple[str, ...]:
        """``email`` and/or ``webhook``: each is delivered (and logged) on its own."""
        return (("email",) if self.emails else ()) + (("webhook",) if self.webhook_url else ())


def add_rule(name: str, *, kinds: Iterable[str] = (), min_severity: str = "medium", emails: Iterable[str] = (),
             webhook_url: str | None = None, webhook_secret: str | None = None, daily_digest: bool = False,
             organisation_id: int | None = None) -> Rule:
    """Validate and save a rule; raises :class:`RuleError` with what to fix."""
    name = (name or "").strip()
    if not name or len(name) > 120 or not name.isprintable():
        raise RuleError("give the rule a name of 1 to 120 printable characters, e.g. 'Night shift'")
    kinds = tuple(dict.fromkeys(k.strip() for k in kinds if k.strip()))
    unknown = [k for k in kinds if k not in ALERT_KINDS]
    if unknown:
        raise RuleError(f"unknown alert kind(s) {', '.join(unknown)}: choose from {', '.join(ALERT_KINDS)}")
    if min_severity not in SEVERITIES:
        raise RuleError(f"minimum severity must be one of {', '.join(SEVERITIES)}, got {min_severity!r}")
    emails = tuple(dict.fromkeys(e.strip() for e in emails if e.strip()))
    for address in emails:
        local, at, domain = address.partition("@")
        if not (local and at and "." in domain) or not address.isprintable() or any(c in address for c in " ,;<>"):
            raise RuleError(f"{address!r} is not an email address like energy@example.org")
    webhook_url = (webhook_url or "").strip() or None
    if webhook_url is not None:
        parts = urlsplit(webhook_url)
        if parts.scheme not in ("http", "https") or not parts.hostname or not webhook_url.isprintable():
            raise RuleError(f"the webhook URL must be http(s)://host/path, got {webhook_url!r}")
        if not webhook_secret or len(webhook_secret) < MIN_SECRET_CHARS:
            raise RuleError(f"a webhook needs a secret of at least {MIN_SECRET_CHARS} characters to sign its "
                            "requests (e.g. the output of `openssl rand -hex 32`)")
    elif webhook_secret:
        raise RuleError("a webhook secret was given without a webhook URL")
    if not emails and webhook_url is None:
        raise RuleError("give at least one recipient: an email address or a webhook URL")
    row = NotificationRule(name=name, organisation_id=organisation_id, kinds=",".join(kinds),
                           min_severity=min_severity, emails=",".join(emails), webhook_url=webhook_url,
                           webhook_secret=webhook_secret, daily_digest=daily_digest, enabled=True)
    with session_scope() as session:
        session.add(row)
        session.flush()
        return _rule(row)


def list_rules(scope: AccessScope | None = None, *, digest: bool | None = None,
               enabled_only: bool = False) -> list[Rule]:
    """The rules ``scope`` may see (the local scope, without an organisation: every rule), by id;
    ``digest`` True/False keeps only digest / immediate rules."""
    query = _scoped(sa.select(NotificationRule), scope).order_by(NotificationRule.id)
    if digest is not None:
        query = query.where(NotificationRule.daily_digest.is_(digest))
    if enabled_only:
        query = query.where(NotificationRule.enabled.is_(True))
    with session_scope() as session:
        return [_rule(r) for r in session.scalars(query)]


def delete_rule(rule_id: int, scope: AccessScope | None = None) -> None:
    """Delete a rule and its sent-log; raises :class:`RuleNotFound`."""
    with session_scope() as session:
        row = session.scalar(_scoped(sa.select(NotificationRule), scope).where(NotificationRule.id == rule_id))
        if row is None:
            raise RuleNotFound(f"no notification rule {rule_id}: `flask --app app notify-rules` lists them")
        session.delete(row)


def _scoped(query, scope: AccessScope | None):
    scope = access.resolve(scope)
    if scope.organisation_id is None:
        return query
    return query.where(NotificationRule.organisation_id == scope.organisation_id)


def _split(text: str) -> tuple[str, ...]:
    return tuple(part for part in (text or "").split(",") if part)


def _rule(row: NotificationRule) -> Rule:
    return Rule(row.id, row.name, row.organisation_id, _split(row.kinds), row.min_severity, _split(row.emails),
                row.webhook_url, row.webhook_secret, bool(row.daily_digest), bool(row.enabled))


def describe(rule: Rule) -> str:
    """One line for a person: what the rule sends, to whom."""
    to = list(rule.emails) + ([f"webhook {rule.webhook_url}"] if rule.webhook_url else [])
    what = ", ".join(rule.kinds) if rule.kinds else "every kind"
    org = f" (organisation {rule.organisation_id})" if rule.organisation_id is not None else ""
    return (f"#{rule.id} {rule.name}{org}: {what}, {rule.min_severity} and above, "
            f"{'daily digest' if rule.daily_digest else 'each alert once'} -> {'; '.join(to)}")


def kinds_of(values: Sequence[str]) -> tuple[str, ...]:
    """Kinds given as repeated options or comma-separated lists (``gap,stuck``)."""
    return tuple(k for value in values for k in value.split(",") if k.strip())
