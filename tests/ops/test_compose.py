"""deploy/compose.yaml against the compose specification's JSON schema (vendored in
tests/fixtures/compose-spec.json), the services it must run with their commands, the one
non-root image, and the native launcher running exactly compose's commands and environment."""

from __future__ import annotations

import copy
import json
import re
import sys
from pathlib import Path

import jsonschema
import pytest

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
sys.path.insert(0, str(DEPLOY))

import run_native  # noqa: E402

ENV = {"POSTGRES_PASSWORD": "pw", "GRAFANA_ADMIN_PASSWORD": "admin-pw"}


@pytest.fixture(scope="module")
def compose() -> dict:
    return run_native.load_compose(ENV)


@pytest.fixture(scope="module")
def validator():
    schema = json.loads((ROOT / "tests" / "fixtures" / "compose-spec.json").read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


def test_compose_file_follows_the_compose_specification(compose, validator):
    errors = sorted(validator.iter_errors(compose), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{'/'.join(map(str, e.path))}: {e.message}" for e in errors)


@pytest.mark.parametrize("break_it", [
    lambda c: c["services"]["web"].update(commnd=["oops"]),
    lambda c: c["services"]["web"].update(ports=8050),
    lambda c: c["services"]["worker"]["depends_on"]["migrate"].update(condition="when_ready"),
])
def test_the_schema_refuses_a_broken_file(compose, validator, break_it):
    broken = copy.deepcopy(compose)
    break_it(broken)
    assert list(validator.iter_errors(broken))


def test_every_service_is_there_with_its_command(compose):
    services = compose["services"]
    assert set(services) == {"migrate", "web", "worker", "beat", "mqtt-listen", "postgres", "redis", "mosquitto",
                             "prometheus", "grafana"}
    assert services["web"]["command"] == ["gunicorn", "-c", "deploy/gunicorn.conf.py", "app:server"]
    assert services["worker"]["command"][:5] == ["celery", "-A", "worker", "worker", "-Q"]
    assert services["worker"]["command"][5] == "interactive,bulk"
    assert services["beat"]["command"][:4] == ["celery", "-A", "worker", "beat"]
    assert services["mqtt-listen"]["command"] == ["flask", "--app", "app", "mqtt-listen"]
    assert services["migrate"]["command"] == ["flask", "--app", "app", "init-db"]
    assert services["migrate"]["restart"] == "no"  # one-shot
    for name in ("web", "worker", "beat", "mqtt-listen"):
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully", name
    assert "./mosquitto/mosquitto.conf:/mosquitto/config/mosquitto.conf:ro" in services["mosquitto"]["volumes"]
    assert "./prometheus:/etc/prometheus:ro" in services["prometheus"]["volumes"]


def test_one_image_for_every_app_service_and_it_is_not_root(compose):
    images = {name: (s.get("image"), json.dumps(s.get("build"), sort_keys=True))
              for name, s in compose["services"].items() if name in run_native.APP_SERVICES}
    assert len(set(images.values())) == 1, images
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    users = re.findall(r"^USER\s+(\S+)", dockerfile, flags=re.M)
    assert users and users[-1] not in ("root", "0"), "the image's last USER must not be root"
    assert re.search(r"useradd --uid (\d+)", dockerfile).group(1) != "0"
    build = compose["services"]["web"]["build"]
    assert (DEPLOY / build["context"] / build["dockerfile"]).resolve() == (DEPLOY / "Dockerfile").resolve()


def test_every_mounted_file_of_ours_exists(compose):
    for service in compose["services"].values():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("./") and "mosquitto" not in source:  # mosquitto.conf: the MQTT engineer's file
                assert (DEPLOY / source).exists(), source
    assert (DEPLOY / compose["secrets"]["metrics_token"]["file"]).parent.name == "secrets"


def test_the_native_launcher_runs_compose_commands_and_environment(compose, tmp_path):
    stack = run_native.NativeStack(base_env={**ENV, "PATH": "/usr/bin", "DATABASE_URL": "postgresql+psycopg://x@h/db"},
                                   web_port=18050, log_dir=tmp_path)
    plan = {s.name: s for s in stack.plan()}
    assert list(plan) == list(run_native.APP_SERVICES)
    for name, service in plan.items():
        argv = compose["services"][name]["command"]
        assert Path(service.argv[0]).name == argv[0], name
        native = [a for a in service.argv[1:] if "celerybeat-schedule" not in a]  # beat's file: a temp folder
        expected = [a for a in argv[1:] if "celerybeat-schedule" not in a]
        if argv[0] == "celery" and not (ROOT / "worker.py").exists():
            assert native[:2] == ["-A", run_native.FALLBACK_CELERY_APP] and "worker.py" in service.note
            native, expected = native[2:], expected[2:]
        assert native == expected, name
        for key, value in compose["services"][name].get("environment", {}).items():
            if value is not None:  # a key without a value passes the caller's through, as compose does
                assert key in service.env, (name, key)
    assert plan["web"].env["PORT"] == "18050" and plan["web"].env["DATABASE_URL"] == "postgresql+psycopg://x@h/db"
    assert plan["web"].env["LOG_FORMAT"] == "json" and Path(plan["web"].env["METRICS_TOKEN_FILE"]).exists()
    assert len({plan[n].env["PROMETHEUS_MULTIPROC_DIR"] for n in plan}) == len(plan)  # one folder per service


def test_interpolation_follows_compose():
    env = {"SET": "a", "EMPTY": ""}
    assert run_native.interpolate("${SET:-b} ${EMPTY:-b} ${EMPTY-b} ${UNSET-c} $${SET}", env) == "a b  c ${SET}"
    with pytest.raises(SystemExit, match="NEEDED is required: give it"):
        run_native.interpolate("${NEEDED:?give it}", env)
