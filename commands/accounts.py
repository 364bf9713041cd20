"""Account commands on the Flask CLI: organisations, users, passwords and API tokens.

``flask --app app create-org``, ``create-user``, ``reset-password``, ``list-users``,
``token-create``, ``token-revoke``, ``tokens``. Bad input exits 1 with one line saying what to change.
"""

from __future__ import annotations

import secrets

import click
from flask import Flask

ROLE_CHOICE = click.Choice(["viewer", "manager", "admin"])


def register_accounts_cli(server: Flask) -> None:
    """Attach the account and token commands."""

    @server.cli.command("create-org")
    @click.argument("name")
    def create_org_command(name: str) -> None:
        """Create an organisation called NAME."""
        from services.auth import create_organisation

        org = _or_fail(create_organisation, name)
        click.echo(f"Created organisation {org.id}: {org.name}")

    @server.cli.command("create-user")
    @click.option("--email", required=True, help="The address the user signs in with.")
    @click.option("--name", default="", help="The user's name as shown in the app.")
    @click.option("--org", "org", required=True, help="Organisation id or exact name.")
    @click.option("--role", type=ROLE_CHOICE, default="viewer", show_default=True)
    @click.option("--password", default=None, help="Leave out to be asked (not echoed).")
    def create_user_command(email: str, name: str, org: str, role: str, password: str | None) -> None:
        """Create a user with a role in an organisation."""
        from services.auth import add_membership, create_user, find_organisation

        organisation = _or_fail(find_organisation, org)
        if password is None:
            password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        user = _or_fail(create_user, email, name, password)
        _or_fail(add_membership, user.id, organisation.id, role)
        click.echo(f"Created user {user.id}: {user.email}, {role} of {organisation.name}")

    @server.cli.command("reset-password")
    @click.option("--email", required=True)
    @click.option("--generate", is_flag=True, help="Make up a password and print it instead of asking.")
    def reset_password_command(email: str, generate: bool) -> None:
        """Set a user's password (every session signed before ends)."""
        from services.auth import reset_password

        password = secrets.token_urlsafe(12) if generate else click.prompt(
            "New password", hide_input=True, confirmation_prompt=True)
        user = _or_fail(reset_password, email, password)
        click.echo(f"Password of {user.email} changed." + (f" New password: {password}" if generate else ""))

    @server.cli.command("list-users")
    @click.option("--org", "org", default=None, help="Only members of this organisation (id or name).")
    def list_users_command(org: str | None) -> None:
        """List users with their organisations and roles."""
        from services.auth import find_organisation, list_users, memberships_of

        organisation_id = _or_fail(find_organisation, org).id if org else None
        users = list_users(organisation_id)
        for user in users:
            roles = ", ".join(f"{m.role} of {m.organisation_name}" for m in memberships_of(user.id)) or "no role"
            state = "" if user.active else " (inactive)"
            click.echo(f"{user.id}  {user.email}  {user.name}{state}  {roles}")
        if not users:
            click.echo("No users yet: add one with `flask --app app create-user`.")

    @server.cli.command("token-create")
    @click.option("--org", "org", required=True, help="Organisation id or exact name.")
    @click.option("--role", type=ROLE_CHOICE, required=True)
    @click.option("--name", required=True, help="What the token is for, e.g. 'Meter gateway'.")
    def token_create_command(org: str, role: str, name: str) -> None:
        """Create an API token; its secret is printed once and cannot be shown again."""
        from services.auth import create_token, find_organisation

        organisation = _or_fail(find_organisation, org)
        token, secret = _or_fail(create_token, name, organisation.id, role)
        click.echo(f"Created token {token.id} ({token.name}, {token.role} of {organisation.name}).")
        click.echo(f"Secret (shown once, keep it safe): {secret}")

    @server.cli.command("token-revoke")
    @click.argument("token_id", type=int)
    @click.option("--org", "org", required=True, help="Organisation id or exact name.")
    def token_revoke_command(token_id: int, org: str) -> None:
        """Revoke an API token: it is refused from now on."""
        from services.auth import find_organisation, revoke_token

        token = _or_fail(revoke_token, token_id, _or_fail(find_organisation, org).id)
        click.echo(f"Revoked token {token.id} ({token.name}).")

    @server.cli.command("tokens")
    @click.option("--org", "org", required=True, help="Organisation id or exact name.")
    def tokens_command(org: str) -> None:
        """List an organisation's API tokens (never their secrets)."""
        from services.auth import find_organisation, list_tokens

        tokens = list_tokens(_or_fail(find_organisation, org).id)
        for t in tokens:
            state = "revoked" if t.revoked_at else (f"expires {t.expires_at:%Y-%m-%d %H:%M} UTC" if t.expires_at
                                                    else "active")
            used = f"last used {t.last_used_at:%Y-%m-%d %H:%M} UTC" if t.last_used_at else "never used"
            click.echo(f"{t.id}  {t.prefix}...  {t.name}  {t.role}  {state}, {used}")
        if not tokens:
            click.echo("No tokens yet: add one with `flask --app app token-create`.")


def _or_fail(function, *args):
    """``function(*args)``, with an :class:`~services.auth.AccountProblem` as a one-line exit 1."""
    from services.auth import AccountProblem

    try:
        return function(*args)
    except AccountProblem as exc:
        raise click.ClickException(str(exc)) from None
