"""Alert notifications: rules per organisation, email (SMTP) and signed webhooks, each open alert
sent once per rule, and a daily digest.

Called by the CLI (``flask --app app notify [--digest]``) and by the workers' beat schedule;
no Celery here. See :mod:`.dispatch` for how sending is deduplicated, :mod:`.channels` for
retries and signatures, :mod:`.rules` for what a rule holds.
"""

from services.notifications.channels import SIGNATURE_HEADER, Delivery, sign
from services.notifications.dispatch import NotificationSummary, evaluate_and_notify, open_alerts, send_daily_digest
from services.notifications.rules import ALERT_KINDS, Rule, RuleError, RuleNotFound, add_rule, delete_rule, list_rules

__all__ = [
    "ALERT_KINDS",
    "Delivery",
    "NotificationSummary",
    "Rule",
    "RuleError",
    "RuleNotFound",
    "SIGNATURE_HEADER",
    "add_rule",
    "delete_rule",
    "evaluate_and_notify",
    "list_rules",
    "open_alerts",
    "send_daily_digest",
    "sign",
]
