"""Evaluate the alerts and tell each rule's recipients: each open alert once, or once a day in a digest.

Deduplication lives in the store's sent-log (:class:`~services.store.models.NotificationLog`),
keyed on rule, alert identity (household + kind) and channel. Before sending, a delivery is
*claimed* by inserting its row; a unique index over the open claims and deliveries makes a second,
concurrent evaluation's claim fail, so an open alert is sent once even when two workers evaluate
at the same time. A failed delivery is recorded and tried again at the next evaluation; once an
alert is no longer open (or no longer matches the rule), its rows are marked resolved, so that
it is sent again if it reopens. A claim left by a process that died while sending expires after
:data:`STALE_CLAIM`.

Once a receiver (the SMTP server, a webhook URL) has failed all its tries in an evaluation, the
evaluation does not try it again for its other alerts: they are recorded as failed straight away
and tried at the next evaluation, so a dead mail server costs one delivery's retries per run, not
one per alert.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import partial

import sqlalchemy as sa

from services import access
from services.access import AccessScope, visible_household_ids
from services.config import Settings, get_settings
from services.notifications import messages
from services.notifications.channels import Delivery, post_webhook, send_email
from services.notifications.rules import Rule, list_rules
from services.quality import Alert, portfolio_alerts
from services.store.db import session_scope
from services.store.models import Household, NotificationLog, utcnow

#: A claim older than this whose process never recorded the outcome is taken to have died.
STALE_CLAIM = timedelta(minutes=15)
DIGEST_PREFIX = "digest:"


@dataclass
class NotificationSummary:
    """What one evaluation did: ``alerts`` open, ``rules`` applied, deliveries ``sent``,
    ``already_sent`` (skipped: sent before and still open), ``failed`` (recorded, retried next
    time), and ``resolved`` (earlier deliveries whose alert has closed)."""

    alerts: int = 0
    rules: int = 0
    sent: int = 0
    already_sent: int = 0
    failed: int = 0
    resolved: int = 0
    failures: list[str] = field(default_factory=list)
    #: Receivers that failed all their tries in this evaluation, with the error (not tried again).
    unreachable: dict[str, str] = field(default_factory=dict, repr=False)

    def as_dict(self) -> dict:
        """A JSON-serialisable form (for a job's result)."""
        return {"alerts": self.alerts, "rules": self.rules, "sent": self.sent, "already_sent": self.already_sent,
                "failed": self.failed, "resolved": self.resolved, "failures": list(self.failures)}

    def __str__(self) -> str:
        return self.summary()

    def summary(self) -> str:
        text = (f"{self.alerts} open alert(s), {self.rules} rule(s): sent {self.sent}, already sent "
                f"{self.already_sent}, failed {self.failed}, resolved {self.resolved}")
        return text + "".join(f"\n  failed: {f}" for f in self.failures)


def evaluate_and_notify(now: datetime | None = None, scope: AccessScope | None = None, *,
                        alerts: Sequence[Alert] | None = None) -> NotificationSummary:
    """Evaluate the alerts of the last ``NOTIFY_WINDOW_DAYS`` before ``now`` (UTC; default: now)
    over the households ``scope`` sees, and send each open alert that a rule (not a digest rule)
    matches to that rule's recipients, once. ``alerts``: use these instead of evaluating.

    Delivery failures are recorded in the sent-log and counted, never raised.
    """
    now, settings, scope = _now(now), get_settings(), access.resolve(scope)
    alerts = list(alerts) if alerts is not None else open_alerts(now, scope, settings)
    rules = list_rules(scope, digest=False, enabled_only=True)
    summary = NotificationSummary(alerts=len(alerts), rules=len(rules))
    owners = _organisations(alerts)
    for rule in rules:
        matching = {messages.alert_key(a): a for a in _of_rule(rule, alerts, owners)}
        summary.resolved += _resolve_closed(rule.id, set(matching))
        for key, alert in matching.items():
            for channel in rule.channels:
                _deliver(rule, key, channel, _receiver(rule, channel, settings), summary,
                         partial(_send_alert, rule, channel, alert, now, settings))
    return summary


def send_daily_digest(now: datetime | None = None, scope: AccessScope | None = None, *,
                      alerts: Sequence[Alert] | None = None) -> NotificationSummary:
    """Send each digest rule's matching open alerts as one message for the UTC day of ``now``,
    once per day and channel (a second call that day sends nothing); no alerts, no digest."""
    now, settings, scope = _now(now), get_settings(), access.resolve(scope)
    alerts = list(alerts) if alerts is not None else open_alerts(now, scope, settings)
    rules = list_rules(scope, digest=True, enabled_only=True)
    summary = NotificationSummary(alerts=len(alerts), rules=len(rules))
    owners = _organisations(alerts)
    day = now.date()
    for rule in rules:
        matching = _of_rule(rule, alerts, owners)
        if not matching:
            continue
        for channel in rule.channels:
            _deliver(rule, f"{DIGEST_PREFIX}{day.isoformat()}", channel, _receiver(rule, channel, settings), summary,
                     partial(_send_digest, rule, channel, day, matching, now, settings))
    return summary


def open_alerts(now: datetime, scope: AccessScope | None = None, settings: Settings | None = None) -> list[Alert]:
    """The alerts over the ``NOTIFY_WINDOW_DAYS`` before ``now`` of the households ``scope`` sees."""
    settings = settings or get_settings()
    start = now - timedelta(days=settings.notify_window_days)
    return list(portfolio_alerts(visible_household_ids(scope), start, now).alerts)


def _organisations(alerts: Sequence[Alert]) -> dict[int, int]:
    """``{household id: organisation id}`` of the alerts' households (one query)."""
    ids = {a.household_id for a in alerts}
    if not ids:
        return {}
    with session_scope() as session:
        return dict(session.execute(sa.select(Household.id, Household.organisation_id).where(Household.id.in_(ids))).all())


def _of_rule(rule: Rule, alerts: Sequence[Alert], owners: dict[int, int]) -> list[Alert]:
    """The alerts ``rule`` matches, of its organisation's households only: evaluated as the system
    (beat), the alerts span every organisation, and a rule must not send one another's households."""
    return [a for a in alerts if rule.matches(a)
            and (rule.organisation_id is None or owners.get(a.household_id, rule.organisation_id) == rule.organisation_id)]


def _now(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(timezone.utc)
    if now.tzinfo is None:
        raise ValueError(f"naive datetime {now.isoformat()} given: attach a time zone (UTC)")
    return now.astimezone(timezone.utc)


def _send_alert(rule: Rule, channel: str, alert: Alert, now: datetime, settings: Settings) -> Delivery:
    if channel == "email":
        return send_email(rule.emails, messages.alert_subject(alert), messages.alert_text(alert), settings)
    return post_webhook(rule.webhook_url, rule.webhook_secret, messages.alert_payload(alert, rule.id, rule.name, now),
                        "alert", settings)


def _send_digest(rule: Rule, channel: str, day, alerts: list[Alert], now: datetime, settings: Settings) -> Delivery:
    if channel == "email":
        return send_email(rule.emails, messages.digest_subject(day, alerts), messages.digest_text(day, alerts),
                          settings)
    return post_webhook(rule.webhook_url, rule.webhook_secret,
                        messages.digest_payload(day, alerts, rule.id, rule.name, now), "digest", settings)


def _receiver(rule: Rule, channel: str, settings: Settings) -> str:
    return f"SMTP {settings.smtp_host}:{settings.smtp_port}" if channel == "email" else str(rule.webhook_url)


def _deliver(rule: Rule, key: str, channel: str, receiver: str, summary: NotificationSummary,
             send: Callable[[], Delivery]) -> None:
    """Claim, send and record one delivery to ``receiver``, counting the outcome in ``summary``."""
    claim = _claim(rule.id, key, channel)
    if claim is None:
        summary.already_sent += 1
        return
    if receiver in summary.unreachable:
        delivery = Delivery(False, 0, f"not tried: {receiver} failed earlier in this run "
                                      f"({summary.unreachable[receiver]})")
    else:
        try:
            delivery = send()
        except Exception as exc:  # noqa: BLE001 - a bug in rendering must not stop the other rules
            delivery = Delivery(False, 0, f"{type(exc).__name__}: {exc}")
        if delivery.gave_up:
            summary.unreachable[receiver] = delivery.error
    with session_scope() as session:
        session.execute(sa.update(NotificationLog).where(NotificationLog.id == claim).values(
            status="sent" if delivery.ok else "failed", attempts=delivery.attempts, error=delivery.error[:2000],
            sent_at=utcnow()))
    if delivery.ok:
        summary.sent += 1
    else:
        summary.failed += 1
        summary.failures.append(f"rule #{rule.id} {rule.name}, {channel}, {key}: {delivery.error}")


def _claim(rule_id: int, key: str, channel: str) -> int | None:
    """Insert the delivery's ``sending`` row; None when it is already sent (and open) or being sent."""
    with session_scope() as session:
        session.execute(sa.delete(NotificationLog).where(
            NotificationLog.rule_id == rule_id, NotificationLog.alert_key == key, NotificationLog.channel == channel,
            NotificationLog.status == "sending", NotificationLog.sent_at < utcnow() - STALE_CLAIM))
    try:
        with session_scope() as session:
            row = NotificationLog(rule_id=rule_id, alert_key=key, channel=channel, status="sending", attempts=0,
                                  error="", sent_at=utcnow())
            session.add(row)
            session.flush()
            return row.id
    except sa.exc.IntegrityError:
        return None


def _resolve_closed(rule_id: int, open_keys: set[str]) -> int:
    """Mark the rule's deliveries of alerts no longer open as resolved; returns how many alerts closed."""
    closed = [NotificationLog.rule_id == rule_id, NotificationLog.resolved_at.is_(None),
              NotificationLog.status != "sending", ~NotificationLog.alert_key.startswith(DIGEST_PREFIX)]
    if open_keys:
        closed.append(NotificationLog.alert_key.notin_(sorted(open_keys)))
    with session_scope() as session:
        keys = session.scalars(sa.select(NotificationLog.alert_key).distinct()
                               .where(*closed, NotificationLog.status == "sent")).all()
        session.execute(sa.update(NotificationLog).where(*closed).values(resolved_at=utcnow()))
    return len(keys)
