"""Alert notifications against a real local SMTP server (aiosmtpd) and a real local HTTP receiver,
on each backend: each open alert delivered once per rule, signatures that verify, retries after a
server error, failures recorded (never raised), the daily digest, and the CLI."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import sqlalchemy as sa

from services import config
from services.access import AccessScope, use_scope
from services.notifications import (
    SIGNATURE_HEADER,
    RuleError,
    add_rule,
    evaluate_and_notify,
    list_rules,
    send_daily_digest,
)
from services.quality.alerts import Alert
from services.store.db import session_scope
from services.store.models import NotificationLog, Reading
from tests.factories import add_household, add_series
from tests.unit.mqtt_support import free_port

# Data of the four days before today (UTC), so that the CLI's "now" sees it in its window too.
NOW = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
START = NOW - timedelta(days=4)
SECRET = "s3cret-key-of-the-receiver"


class Mailbox:
    """aiosmtpd's handler: every message the SMTP server accepted."""

    def __init__(self) -> None:
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content)))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp() -> Iterator[tuple[int, Mailbox]]:
    from aiosmtpd.controller import Controller

    mailbox, port = Mailbox(), free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield port, mailbox
    controller.stop()


class Receiver:
    """A webhook receiver: answers with the next of ``codes`` (then 200), records every request."""

    def __init__(self) -> None:
        self.codes: list[int] = []
        self.requests: list[tuple[dict, bytes]] = []
        self.delay_s = 0.0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's hook name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), body))
                time.sleep(receiver.delay_s)
                self.send_response(receiver.codes.pop(0) if receiver.codes else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/energy"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def bodies(self) -> list[dict]:
        return [json.loads(body) for _headers, body in self.requests]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


@pytest.fixture
def settings(db_url, smtp, monkeypatch):
    """SMTP at the local server; quick back-off so that retries take milliseconds."""
    for name, value in {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(smtp[0]), "SMTP_FROM": "alerts@energy.test",
                        "WEBHOOK_BACKOFF_S": "0.05", "WEBHOOK_ATTEMPTS": "4", "WEBHOOK_TIMEOUT_S": "5"}.items():
        monkeypatch.setenv(name, value)
    config.get_settings.cache_clear()
    yield config.get_settings()
    config.get_settings.cache_clear()


@pytest.fixture
def gap_home(db_url) -> int:
    """A household whose load meter was silent for 32 h: one high-severity ``gap`` alert."""
    with session_scope() as s:
        home = add_household(s, "Gap Home")
        add_series(s, home.id, "load", START, [0.2 + (i % 7) / 50 for i in range(96 * 4)])
        home_id = home.id
    with session_scope() as s:
        s.execute(sa.delete(Reading).where(Reading.ts >= START + timedelta(hours=30),
                                           Reading.ts < START + timedelta(hours=62)))
    return home_id


def _alert(household_id: int = 1, kind: str = "stuck", severity: str = "high") -> Alert:
    return Alert(household_id, f"Home {household_id}", severity, kind, f"{kind} title", f"{kind} detail",
                 "do something", START, START + timedelta(hours=13))


def _log() -> list[NotificationLog]:
    with session_scope() as s:
        return list(s.scalars(sa.select(NotificationLog).order_by(NotificationLog.id)))


def test_an_open_alert_reaches_email_and_webhook_once_over_two_evaluations(settings, smtp, receiver, gap_home):
    _port, mailbox = smtp
    add_rule("On call", kinds=["gap", "stuck"], min_severity="high", emails=["ops@energy.test", "lead@energy.test"],
             webhook_url=receiver.url, webhook_secret=SECRET)
    first = evaluate_and_notify(NOW)
    second = evaluate_and_notify(NOW + timedelta(minutes=5))
    assert (first.alerts, first.sent, first.failed) == (1, 2, 0)
    assert (second.sent, second.already_sent, second.failed) == (0, 2, 0)

    (recipients, email), = mailbox.messages
    assert sorted(recipients) == ["lead@energy.test", "ops@energy.test"] and email["From"] == "alerts@energy.test"
    assert "high: Readings missing for 32.0 h (Gap Home)" in email["Subject"]
    assert "What to do: Check that the household's logger" in email.get_payload()

    (headers, body), = receiver.requests
    expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers[SIGNATURE_HEADER], expected)
    assert headers[SIGNATURE_HEADER] != "sha256=" + hmac.new(b"another secret", body, hashlib.sha256).hexdigest()
    payload = json.loads(body)
    assert payload["event"] == "alert" and payload["alert"]["key"] == f"{gap_home}:gap"
    assert payload["alert"]["severity"] == "high"
    assert payload["alert"]["start"] == (START + timedelta(hours=30)).isoformat()  # the first missing reading


def test_a_resolved_alert_that_reopens_is_sent_again(settings, receiver):
    add_rule("Hook", webhook_url=receiver.url, webhook_secret=SECRET)
    stuck = _alert()
    assert evaluate_and_notify(NOW, alerts=[stuck]).sent == 1
    assert evaluate_and_notify(NOW, alerts=[stuck]).already_sent == 1
    assert evaluate_and_notify(NOW, alerts=[]).resolved == 1  # the meter works again
    assert evaluate_and_notify(NOW, alerts=[stuck]).sent == 1  # and is stuck again: a new episode
    assert [b["alert"]["key"] for b in receiver.bodies()] == ["1:stuck", "1:stuck"]


def test_rules_pick_alerts_by_kind_and_severity(settings, receiver):
    add_rule("Only PV, medium up", kinds=["pv"], min_severity="medium", webhook_url=receiver.url,
             webhook_secret=SECRET)
    summary = evaluate_and_notify(NOW, alerts=[_alert(1, "pv", "low"), _alert(2, "pv", "medium"),
                                               _alert(3, "gap", "high")])
    assert summary.sent == 1 and [b["alert"]["key"] for b in receiver.bodies()] == ["2:pv"]


def test_a_webhook_answering_500_is_retried_with_backoff_until_it_answers_200(settings, receiver):
    add_rule("Hook", webhook_url=receiver.url, webhook_secret=SECRET)
    receiver.codes = [500, 503]
    summary = evaluate_and_notify(NOW, alerts=[_alert()])
    assert (summary.sent, summary.failed) == (1, 0)
    assert len(receiver.requests) == 3
    bodies = {body for _h, body in receiver.requests}
    assert len(bodies) == 1  # the same signed body each time
    (row,) = _log()
    assert (row.status, row.attempts, row.resolved_at) == ("sent", 3, None)


def test_failures_are_recorded_not_raised_and_tried_again_next_time(settings, receiver, monkeypatch):
    monkeypatch.setenv("SMTP_PORT", str(free_port()))  # nobody listens there
    config.get_settings.cache_clear()
    add_rule("Both", emails=["ops@energy.test"], webhook_url=receiver.url, webhook_secret=SECRET)
    receiver.codes = [404]
    summary = evaluate_and_notify(NOW, alerts=[_alert()])
    assert (summary.sent, summary.failed) == (0, 2)
    assert len(receiver.requests) == 1  # a 4xx is not retried: trying again will not fix it
    by_channel = {row.channel: row for row in _log()}
    assert by_channel["email"].status == "failed" and by_channel["email"].attempts == 4
    assert "gave up after 4 tries" in by_channel["email"].error
    assert by_channel["webhook"].status == "failed" and "HTTP 404" in by_channel["webhook"].error
    assert any("HTTP 404" in f for f in summary.failures)

    again = evaluate_and_notify(NOW, alerts=[_alert()])  # the receiver answers 200 now
    assert (again.sent, again.failed, again.already_sent) == (1, 1, 0)


def test_without_smtp_host_email_fails_with_what_to_set(db_url, receiver, monkeypatch):
    monkeypatch.delenv("SMTP_HOST", raising=False)
    config.get_settings.cache_clear()
    add_rule("Mail", emails=["ops@energy.test"])
    summary = evaluate_and_notify(NOW, alerts=[_alert()])
    assert summary.failed == 1 and "SMTP_HOST is not set" in summary.failures[0]


def test_two_evaluations_at_once_deliver_an_alert_once(settings, receiver):
    add_rule("Hook", webhook_url=receiver.url, webhook_secret=SECRET)
    receiver.delay_s = 0.5  # the first delivery is still in flight when the second evaluation claims it
    results = []
    threads = [threading.Thread(target=lambda: results.append(evaluate_and_notify(NOW, alerts=[_alert()])))
               for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted((r.sent, r.already_sent) for r in results) == [(0, 1), (1, 0)]
    assert len(receiver.requests) == 1


def test_the_daily_digest_goes_once_a_day_with_every_matching_alert(settings, smtp, receiver):
    _port, mailbox = smtp
    add_rule("Digest", emails=["boss@energy.test"], webhook_url=receiver.url, webhook_secret=SECRET,
             daily_digest=True, min_severity="medium")
    alerts = [_alert(1, "stuck", "high"), _alert(2, "no_data", "medium"), _alert(3, "spikes", "low")]
    assert evaluate_and_notify(NOW, alerts=alerts).sent == 0  # digest rules get no message per alert
    first = send_daily_digest(NOW, alerts=alerts)
    assert (first.sent, first.failed) == (2, 0)
    assert send_daily_digest(NOW + timedelta(hours=3), alerts=alerts).already_sent == 2
    (_to, email), = mailbox.messages
    assert f"Daily digest {NOW.date().isoformat()}: 2 open alert(s)" in email["Subject"]
    text = email.get_payload()
    assert "stuck title" in text and "no_data title" in text and "spikes title" not in text
    (digest,) = receiver.bodies()
    assert digest["event"] == "digest" and [a["key"] for a in digest["alerts"]] == ["1:stuck", "2:no_data"]
    assert send_daily_digest(NOW + timedelta(days=1), alerts=alerts).sent == 2  # the next day
    assert send_daily_digest(NOW + timedelta(days=2), alerts=[]).sent == 0  # nothing open, no digest


def test_rules_of_another_organisation_are_not_applied(settings, receiver):
    add_rule("Org 5", webhook_url=receiver.url, webhook_secret=SECRET, organisation_id=5)
    assert evaluate_and_notify(NOW, AccessScope(organisation_id=7), alerts=[_alert()]).rules == 0
    assert evaluate_and_notify(NOW, AccessScope(organisation_id=5), alerts=[_alert()]).sent == 1
    assert [r.name for r in list_rules(AccessScope(organisation_id=7))] == []


def test_evaluated_as_the_system_each_rule_gets_only_its_organisations_households(settings, receiver):
    """Beat evaluates as the system, over every organisation: a rule still hears only of its own."""
    from services.auth import create_organisation
    from services.households import create_household

    other = create_organisation("Other utility")
    place = {"timezone": "Europe/Berlin", "latitude": 52.5, "longitude": 13.4}
    mine = create_household({"name": "Mine", **place})
    with use_scope(AccessScope(organisation_id=other.id, role="admin")):
        theirs = create_household({"name": "Theirs", **place})
    add_rule("Other's on call", webhook_url=receiver.url, webhook_secret=SECRET, organisation_id=other.id)
    outcome = evaluate_and_notify(NOW, alerts=[_alert(mine), _alert(theirs)])
    assert (outcome.rules, outcome.sent) == (1, 1)
    assert [body["alert"]["household_id"] for body in receiver.bodies()] == [theirs]


@pytest.mark.parametrize("kwargs, message", [
    ({"emails": ["not an address"]}, "is not an email address"),
    ({"webhook_url": "ftp://x/y", "webhook_secret": SECRET}, "must be http(s)://host/path"),
    ({"webhook_url": "https://hooks.example.org/a", "webhook_secret": "short"}, "at least 16 characters"),
    ({"emails": ["a@b.org"], "kinds": ["gaps"]}, "unknown alert kind(s) gaps: choose from gap"),
    ({"emails": ["a@b.org"], "min_severity": "urgent"}, "must be one of high, medium, low"),
    ({}, "at least one recipient"),
])
def test_a_rule_that_cannot_work_is_refused_with_what_to_fix(db_url, kwargs, message):
    with pytest.raises(RuleError) as refused:
        add_rule("Rule", **kwargs)
    assert message in str(refused.value)
    assert list_rules() == []


def test_the_cli_adds_lists_and_runs_rules(settings, receiver, gap_home, dash_app):
    runner = dash_app.server.test_cli_runner()
    added = runner.invoke(args=["notify-rule-add", "--name", "Ops", "--kind", "gap,stuck", "--min-severity", "high",
                                "--webhook-url", receiver.url, "--webhook-secret", SECRET])
    assert added.exit_code == 0, added.output
    assert "Ops: gap, stuck, high and above, each alert once -> webhook" in added.output
    refused = runner.invoke(args=["notify-rule-add", "--name", "Bad", "--email", "nobody"])
    assert refused.exit_code != 0 and "is not an email address" in refused.output
    listed = runner.invoke(args=["notify-rules"])
    assert listed.exit_code == 0 and listed.output.count("#") == 1 and SECRET not in listed.output
    first, second = runner.invoke(args=["notify"]), runner.invoke(args=["notify"])
    assert first.exit_code == 0 and "sent 1, already sent 0, failed 0" in first.output, first.output
    assert second.exit_code == 0 and "sent 0, already sent 1" in second.output
    digest = runner.invoke(args=["notify", "--digest"])
    assert digest.exit_code == 0 and "Daily digest: " in digest.output and "0 rule(s)" in digest.output
    assert len(receiver.requests) == 1


def test_a_receiver_that_is_down_costs_one_delivery_of_retries_per_run(settings, receiver):
    add_rule("Hook", webhook_url=receiver.url, webhook_secret=SECRET)
    receiver.codes = [503] * 4
    summary = evaluate_and_notify(NOW, alerts=[_alert(1), _alert(2), _alert(3)])
    assert (summary.sent, summary.failed) == (0, 3)
    assert len(receiver.requests) == 4  # the first alert's four tries; the others were not tried
    assert sum("not tried" in f for f in summary.failures) == 2
    again = evaluate_and_notify(NOW, alerts=[_alert(1), _alert(2), _alert(3)])  # it is back
    assert (again.sent, again.failed) == (3, 0)


def test_mail_settings_are_validated_at_the_edge():
    from services.config import SettingsError, load_settings

    with pytest.raises(SettingsError) as refused:
        load_settings({"SMTP_FROM": "alerts at example", "WEBHOOK_ATTEMPTS": "0", "SMTP_PORT": "70000"})
    message = str(refused.value)
    assert "SMTP_FROM: Value error, must be an email address like alerts@example.org" in message
    assert "WEBHOOK_ATTEMPTS" in message and "SMTP_PORT" in message
    assert load_settings({"SMTP_HOST": "mail.example.org", "SMTP_STARTTLS": "1"}).smtp_starttls is True


def test_an_empty_portfolio_without_rules_evaluates_to_nothing(db_url):
    summary = evaluate_and_notify()
    assert summary.as_dict() == {"alerts": 0, "rules": 0, "sent": 0, "already_sent": 0, "failed": 0,
                                 "resolved": 0, "failures": []}
    assert str(summary) == "0 open alert(s), 0 rule(s): sent 0, already sent 0, failed 0, resolved 0"
    assert json.loads(json.dumps(send_daily_digest().as_dict()))["rules"] == 0
