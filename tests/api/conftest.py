"""Fixtures for API tests: the real app's Flask test client, signed in or not, and its OpenAPI document.

``client`` carries an admin token of the default organisation (``Authorization: Bearer``), created
per test in the test's database; ``anonymous_client`` carries no identity, for what the gate
leaves open (``/health``, ``/metrics``, ``/sign-in``) and for what it refuses.
"""

import json

import pytest


@pytest.fixture(scope="session")
def app_server():
    """The Flask server of the real app, created once; requests follow DATABASE_URL, which
    ``db_url`` sets per test."""
    from app import create_app

    return create_app().server


@pytest.fixture(scope="session")
def anonymous_client(app_server):
    """A test client without identity."""
    return app_server.test_client()


@pytest.fixture
def client(app_server, admin_token):
    """A test client signed in with an admin token of the default organisation."""
    signed_in = app_server.test_client()
    signed_in.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {admin_token}"
    return signed_in


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """Token ids restart at 1 in every emptied database, so one token's request count would carry
    over from test to test: each test starts with the limits' windows empty."""
    from api.security import bad_token_limiter, token_limiter
    from api.signin import sign_in_by_address, sign_in_by_email

    for limiter in (token_limiter, bad_token_limiter, sign_in_by_address, sign_in_by_email):
        limiter.reset()


@pytest.fixture(scope="session")
def spec(app_server):
    """The generated OpenAPI document (what ``GET /api/openapi.json`` serves)."""
    from api import openapi_document

    with app_server.test_request_context("/api/openapi.json"):
        return json.loads(json.dumps(openapi_document()))
