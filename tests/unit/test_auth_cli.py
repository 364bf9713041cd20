"""The account and token commands (``flask --app app create-org`` ...) on both store backends."""

from __future__ import annotations

from services.auth import authenticate, verify_token

PASSWORD = "correct horse battery"


def test_an_admin_makes_an_organisation_a_user_and_a_token(db_url, dash_app):
    runner = dash_app.server.test_cli_runner()
    made = runner.invoke(args=["create-org", "Utility"])
    assert made.exit_code == 0 and "Created organisation 2: Utility" in made.output, made.output
    user = runner.invoke(args=["create-user", "--email", "anna@example.org", "--name", "Anna", "--org", "Utility",
                               "--role", "admin", "--password", PASSWORD])
    assert user.exit_code == 0 and "admin of Utility" in user.output, user.output
    assert authenticate("anna@example.org", PASSWORD) is not None
    listed = runner.invoke(args=["list-users", "--org", "2"])
    assert listed.exit_code == 0 and "anna@example.org" in listed.output and "admin of Utility" in listed.output

    token = runner.invoke(args=["token-create", "--org", "Utility", "--role", "viewer", "--name", "Gateway"])
    assert token.exit_code == 0, token.output
    secret = token.output.split("keep it safe): ")[1].strip()
    assert verify_token(secret).role == "viewer"
    tokens = runner.invoke(args=["tokens", "--org", "Utility"])
    assert tokens.exit_code == 0 and "Gateway" in tokens.output and secret not in tokens.output
    revoked = runner.invoke(args=["token-revoke", "1", "--org", "Utility"])
    assert revoked.exit_code == 0 and verify_token(secret) is None
    assert "revoked" in runner.invoke(args=["tokens", "--org", "2"]).output


def test_passwords_are_prompted_or_generated(db_url, dash_app):
    runner = dash_app.server.test_cli_runner()
    prompted = runner.invoke(args=["create-user", "--email", "ben@example.org", "--org", "1"],
                             input=f"{PASSWORD}\n{PASSWORD}\n")
    assert prompted.exit_code == 0, prompted.output
    assert authenticate("ben@example.org", PASSWORD) is not None
    generated = runner.invoke(args=["reset-password", "--email", "ben@example.org", "--generate"])
    assert generated.exit_code == 0, generated.output
    new_password = generated.output.split("New password: ")[1].strip()
    assert authenticate("ben@example.org", PASSWORD) is None
    assert authenticate("ben@example.org", new_password) is not None


def test_mistakes_exit_1_with_one_line(db_url, dash_app):
    runner = dash_app.server.test_cli_runner()
    unknown = runner.invoke(args=["create-user", "--email", "c@example.org", "--org", "Nowhere", "--password", PASSWORD])
    assert unknown.exit_code == 1 and "no organisation 'Nowhere'" in unknown.output
    short = runner.invoke(args=["create-user", "--email", "c@example.org", "--org", "1", "--password", "short"])
    assert short.exit_code == 1 and "at least 10 characters" in short.output
    twice = [runner.invoke(args=["create-user", "--email", "d@example.org", "--org", "1", "--password", PASSWORD])
             for _ in range(2)]
    assert twice[0].exit_code == 0 and twice[1].exit_code == 1 and "already exists" in twice[1].output
    revoke = runner.invoke(args=["token-revoke", "42", "--org", "1"])
    assert revoke.exit_code == 1 and "no token 42" in revoke.output
