"""Alert notification commands on the Flask CLI: ``flask --app app notify [--digest]`` and the rules."""

from __future__ import annotations

import click
from flask import Flask


def register_notify_cli(server: Flask) -> None:
    """Attach ``notify``, ``notify-rule-add``, ``notify-rules`` and ``notify-rule-delete``."""

    @server.cli.command("notify")
    @click.option("--digest", is_flag=True, help="Send the daily digest of digest rules instead of each alert.")
    def notify_command(digest: bool) -> None:
        """Evaluate the alerts and notify each rule's recipients (each open alert once); exits 1 if a
        delivery failed (it is recorded and tried again next time)."""
        from services.notifications import evaluate_and_notify, send_daily_digest

        summary = send_daily_digest() if digest else evaluate_and_notify()
        click.echo(("Daily digest: " if digest else "Notifications: ") + summary.summary())
        if summary.failed:
            raise SystemExit(1)

    @server.cli.command("notify-rule-add")
    @click.option("--name", required=True, help="What the rule is for, e.g. 'Operations on call'.")
    @click.option("--kind", "kinds", multiple=True,
                  help="Alert kind, repeatable or comma-separated: gap, stuck, pv, spikes, duplicates, no_data "
                       "(default: every kind).")
    @click.option("--min-severity", type=click.Choice(["high", "medium", "low"]), default="medium",
                  show_default=True, help="The least severe alert sent.")
    @click.option("--email", "emails", multiple=True, help="Recipient address, repeatable.")
    @click.option("--webhook-url", default=None, help="POST each notification as signed JSON to this URL.")
    @click.option("--webhook-secret", default=None, envvar="NOTIFY_WEBHOOK_SECRET",
                  help="Key of the HMAC-SHA256 signature header (at least 16 characters).")
    @click.option("--digest", is_flag=True, help="One summary a day instead of a message per alert.")
    @click.option("--organisation", "organisation_id", type=click.IntRange(1), default=None,
                  help="Organisation id (until sign-in: leave it out).")
    def notify_rule_add_command(name, kinds, min_severity, emails, webhook_url, webhook_secret, digest,
                                organisation_id) -> None:
        """Add a notification rule."""
        from services.notifications import RuleError, add_rule
        from services.notifications.rules import describe, kinds_of

        try:
            rule = add_rule(name, kinds=kinds_of(kinds), min_severity=min_severity, emails=emails,
                            webhook_url=webhook_url, webhook_secret=webhook_secret, daily_digest=digest,
                            organisation_id=organisation_id)
        except RuleError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"Added {describe(rule)}")

    @server.cli.command("notify-rules")
    def notify_rules_command() -> None:
        """List the notification rules."""
        from services.notifications import list_rules
        from services.notifications.rules import describe

        rules = list_rules()
        for rule in rules:
            click.echo(describe(rule))
        if not rules:
            click.echo("No notification rules yet: add one with `flask --app app notify-rule-add`.")

    @server.cli.command("notify-rule-delete")
    @click.argument("rule_id", type=int)
    def notify_rule_delete_command(rule_id: int) -> None:
        """Delete a notification rule (and its sent-log)."""
        from services.notifications import RuleNotFound, delete_rule

        try:
            delete_rule(rule_id)
        except RuleNotFound as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"Deleted notification rule {rule_id}.")
