"""What a notification says: an alert (or a day's alerts) as an email and as a webhook's JSON."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from datetime import date, datetime

from services.quality.alerts import Alert

PREFIX = "[Energy Dashboard]"


def alert_key(alert: Alert) -> str:
    """The alert's identity across evaluations: one open alert per household and kind."""
    return f"{alert.household_id}:{alert.kind}"


def alert_subject(alert: Alert) -> str:
    return f"{PREFIX} {alert.severity}: {alert.title} ({alert.household})"


def alert_text(alert: Alert) -> str:
    """An alert as plain text: what, the numbers, the period (UTC) and what to do."""
    lines = [f"{alert.household} (household {alert.household_id}): {alert.title}", "", alert.detail]
    if alert.start is not None:
        lines.append(f"Period: {_when(alert.start)} to {_when(alert.end) if alert.end else 'now'} (UTC)")
    lines += ["", f"What to do: {alert.action}", "", f"Severity: {alert.severity}. Kind: {alert.kind}."]
    return "\n".join(lines)


def alert_json(alert: Alert) -> dict:
    """An alert as JSON-ready data (times ISO 8601 in UTC) with its ``key``."""
    data = asdict(alert)
    data.update(key=alert_key(alert), start=_iso(alert.start), end=_iso(alert.end))
    return data


def alert_payload(alert: Alert, rule_id: int, rule_name: str, now: datetime) -> dict:
    return {"event": "alert", "sent_at": _iso(now), "rule": {"id": rule_id, "name": rule_name},
            "alert": alert_json(alert)}


def digest_subject(day: date, alerts: Sequence[Alert]) -> str:
    worst = alerts[0].severity if alerts else "none"
    return f"{PREFIX} Daily digest {day.isoformat()}: {len(alerts)} open alert(s), most severe {worst}"


def digest_text(day: date, alerts: Sequence[Alert]) -> str:
    """The day's open alerts, most severe first, one paragraph each."""
    head = [f"Open alerts on {day.isoformat()} (UTC): {len(alerts)}", ""]
    return "\n".join(head + [f"- [{a.severity}] {a.household}: {a.title}\n  {a.detail}\n  What to do: {a.action}"
                             for a in alerts])


def digest_payload(day: date, alerts: Sequence[Alert], rule_id: int, rule_name: str, now: datetime) -> dict:
    return {"event": "digest", "day": day.isoformat(), "sent_at": _iso(now),
            "rule": {"id": rule_id, "name": rule_name}, "alerts": [alert_json(a) for a in alerts]}


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _when(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M}"
