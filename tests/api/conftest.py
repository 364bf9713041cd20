"""Fixtures for API tests: one Flask test client of the real app, and its OpenAPI document."""

import pytest


@pytest.fixture(scope="session")
def client():
    """The app's Flask test client; requests follow DATABASE_URL, which ``db_url`` sets per test."""
    from app import create_app

    return create_app().server.test_client()


@pytest.fixture(scope="session")
def spec(client):
    """The generated OpenAPI document."""
    return client.get("/api/openapi.json").get_json()
