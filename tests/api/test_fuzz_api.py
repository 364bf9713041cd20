"""Schemathesis against the real app on both backends: no 5xx, and every answer as documented.

Every operation of ``/api/openapi.json`` gets schemathesis' coverage cases (each field missing, of
the wrong type, at and past its bounds, in both modes), then Hypothesis-generated valid requests
(positive) and requests that break the schema (negative), and valid requests aimed at households
that exist (two seeded homes, so that the fuzzer does not only meet 404s). Requests go in-process through the WSGI app, with a fixed
seed, so a failure replays. Any 5xx, an undocumented status code or content type, or a body that
does not match its documented schema fails the test, naming the request.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, seed, settings
from schemathesis import GenerationMode
from schemathesis.generation.drivers import CoverageGenerator
from schemathesis.generation.feedback import NO_FEEDBACK
from schemathesis.generation.overrides import Override
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.security import token_limiter
from services.households import create_household
from tests.optimize_helpers import add_battery_home

SEED = 20261202
#: Requests per operation and mode, after the coverage cases (about 600): well over 1,000 in all.
EXAMPLES = {GenerationMode.POSITIVE: 120, GenerationMode.NEGATIVE: 120}
SEEDED_ID_EXAMPLES = 40
CHECKS = [schemathesis.checks.not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]


def _coverage(schema, operation, sent: list[str], auth: dict) -> None:
    config = schema.config.generation_for(operation=operation, phase="coverage")
    for case in CoverageGenerator(operation=operation, generation_modes=list(GenerationMode),
                                  generation_config=config, auth_storage=None, override=Override(),
                                  feedback=NO_FEEDBACK):
        response = case.call(headers=auth)
        sent.append(operation.label)
        case.validate_response(response, checks=CHECKS)


def _run(operation, strategy, examples: int, sent: list[str], auth: dict) -> None:
    @seed(SEED)
    @settings(max_examples=examples, database=None, deadline=None, derandomize=False,
              suppress_health_check=list(HealthCheck), phases=["generate"])
    @given(case=strategy)
    def send(case):
        response = case.call(headers=auth)
        sent.append(operation.label)
        case.validate_response(response, checks=CHECKS)

    send()


def test_fuzzing_the_api_finds_no_server_error_and_no_schema_violation(client, admin_token, db_url, monkeypatch):
    # Signed in as an admin of the default organisation, which the homes below belong to. The fuzzer
    # sends well over the per-token limit of a minute; that limit is not what is tested here.
    monkeypatch.setattr(token_limiter, "_limit", 10**9)
    auth = {"Authorization": f"Bearer {admin_token}"}
    home = add_battery_home()
    bare = create_household({"name": "Bare flat", "timezone": "Europe/Vienna", "latitude": 48.2,
                             "longitude": 16.4})
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", client.application, headers=auth)
    sent: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        _coverage(schema, operation, sent, auth)
        has_inputs = bool(operation.path_parameters or operation.query or operation.body)
        for mode, examples in EXAMPLES.items():
            if mode is GenerationMode.NEGATIVE and not has_inputs:
                continue  # nothing to break in a request without inputs
            _run(operation, operation.as_strategy(generation_mode=mode), examples, sent, auth)
        if any(p.name == "household_id" for p in operation.path_parameters):
            for household_id in (home, bare):
                strategy = operation.as_strategy(path_parameters={"household_id": household_id})
                _run(operation, strategy, SEEDED_ID_EXAMPLES // 2, sent, auth)
    operations = set(sent)
    assert {"POST /api/ingest/readings", "POST /api/optimize", "GET /api/forecast/{household_id}"} <= operations
    assert len(sent) >= 1000, f"only {len(sent)} requests were sent"


@pytest.fixture(autouse=True)
def _quiet_api_log(caplog):
    # A 500 is logged with its trace; the check above reports it with the request that caused it.
    caplog.set_level("CRITICAL", logger="api")
