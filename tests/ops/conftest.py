"""The deployment's processes started natively for operations tests.

``native_stack`` (session): ``deploy/run_native.py``'s :class:`NativeStack` over a PostgreSQL
database of its own (a two-household demo portfolio loaded by the compose ``migrate`` command),
with the real Redis, Mosquitto and a real ``/usr/bin/prometheus`` scraping web, worker and
listener every second. Skips with a reason when one of them is missing.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import sys
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "deploy"))

from run_native import NativeStack  # noqa: E402

from tests.conftest import _pg_admin_url  # noqa: E402
from tests.dash_requests import callback_body  # noqa: E402

#: Redis databases the stack may claim (an empty one, marked while in use), so that no other test
#: run's worker takes this stack's jobs: the suite's other tests use 0, 9, 11 and 12.
OPS_REDIS_DBS = (13, 14, 15, 10, 8, 7, 6)
CLAIM_KEY = "energy-ops-tests:claimed"
OPS_REDIS_URL = ""  # set by claim_redis_db() for the stack's lifetime


def claim_redis_db() -> tuple[str, object]:
    """The URL of an empty Redis database, claimed with a marker key (released by the caller)."""
    import redis

    for db in OPS_REDIS_DBS:
        client = redis.Redis(host="127.0.0.1", port=6379, db=db, socket_timeout=5)
        if client.dbsize() == 0 and client.set(CLAIM_KEY, str(os.getpid()), nx=True, ex=3600):
            return f"redis://127.0.0.1:6379/{db}", client
        client.close()
    pytest.skip(f"no empty Redis database among {OPS_REDIS_DBS} to run the stack's worker on")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def missing_for_stack() -> str | None:
    """Why the native stack cannot start here, or None."""
    if _pg_admin_url() is None:
        return "the native stack needs PostgreSQL: set TEST_DATABASE_URL"
    if not shutil.which("prometheus") and not Path("/usr/bin/prometheus").exists():
        return "Prometheus is not installed (Debian: apt-get install prometheus)"
    for port, name in ((6379, "Redis"), (1883, "Mosquitto")):
        if not port_open(port):
            return f"{name} is not running on 127.0.0.1:{port}"
    return None


def create_api_token(database_url: str) -> str:
    """The secret of a new admin token of the default organisation in the store at ``database_url``."""
    from services import config
    from services.auth import create_token
    from services.store.models import DEFAULT_ORGANISATION_ID

    with pytest.MonkeyPatch.context() as env:
        env.setenv("DATABASE_URL", database_url)
        config.get_settings.cache_clear()
        try:
            return create_token("ops tests", DEFAULT_ORGANISATION_ID, "admin")[1]
        finally:
            config.get_settings.cache_clear()


class Running:
    """What a test needs of the running stack. Requests to the web app carry an admin API token of
    the default organisation (which the demo's first household is in) unless they send their own
    ``Authorization``."""

    def __init__(self, stack: NativeStack, database_url: str):
        self.stack = stack
        self.database_url = database_url
        self.web = f"http://127.0.0.1:{stack.web_port}"
        self.prometheus = f"http://127.0.0.1:{stack.prometheus_port}"
        self.auth = {"Authorization": f"Bearer {create_api_token(database_url)}"}

    def get(self, path: str, headers: dict | None = None, *, signed_in: bool = True) -> tuple[int, bytes, dict]:
        request = urllib.request.Request(self.web + path, headers={**(self.auth if signed_in else {}),
                                                                   **(headers or {})})
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, response.read(), dict(response.headers)
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read(), dict(exc.headers)

    def post(self, path: str, body, headers: dict | None = None) -> tuple[int, dict | None]:
        data = json.dumps(body).encode()
        request = urllib.request.Request(self.web + path, data=data, method="POST",
                                         headers={"Content-Type": "application/json", **self.auth,
                                                  **(headers or {})})
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                raw = response.read()
                return response.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            try:
                return exc.code, json.loads(raw)
            except ValueError:
                return exc.code, {"text": raw.decode(errors="replace")}

    def promql(self, expr: str) -> list[dict]:
        query = urllib.parse.urlencode({"query": expr})
        with urllib.request.urlopen(f"{self.prometheus}/api/v1/query?{query}", timeout=30) as response:
            body = json.loads(response.read())
        assert body["status"] == "success", body
        return body["data"]["result"]

    def promql_range(self, expr: str, minutes: int = 10, step_s: int = 2) -> list[dict]:
        """A range query over the last ``minutes``, as Grafana asks for a panel's time range."""
        end = time.time()
        query = urllib.parse.urlencode({"query": expr, "start": end - 60 * minutes, "end": end, "step": step_s})
        with urllib.request.urlopen(f"{self.prometheus}/api/v1/query_range?{query}", timeout=30) as response:
            body = json.loads(response.read())
        assert body["status"] == "success", body
        return body["data"]["result"]

    def wait_for(self, expr: str, timeout_s: float = 60.0) -> list[dict]:
        """Poll Prometheus until ``expr`` returns a series (a scrape after the event happened)."""
        deadline = time.monotonic() + timeout_s
        while True:
            result = self.promql(expr)
            if result or time.monotonic() > deadline:
                return result
            time.sleep(0.5)

    def callback(self, input_id: str, input_prop: str, value) -> tuple[int, dict | None]:
        """Fire the app's server-side callback whose single input is ``input_id.input_prop``."""
        _status, raw, _headers = self.get("/_dash-dependencies")
        return self.post("/_dash-update-component", callback_body(json.loads(raw), input_id, input_prop, value))


@pytest.fixture(scope="package")
def native_stack(tmp_path_factory) -> Iterator[Running]:
    """Package-scoped: stopped when the ops tests are done, before the rest of the suite runs."""
    global OPS_REDIS_URL
    reason = missing_for_stack()
    if reason:
        pytest.skip(reason)
    OPS_REDIS_URL, claim = claim_redis_db()
    admin = _pg_admin_url()
    name = f"energy_ops_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin_engine = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
    with admin_engine.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.engine.make_url(admin).set(database=name).render_as_string(hide_password=False)
    env = {**os.environ, "DATABASE_URL": url, "DEMO_HOUSEHOLDS": "2", "REDIS_URL": OPS_REDIS_URL,
           "MQTT_HOST": "127.0.0.1", "MQTT_PORT": "1883",
           "MQTT_CLIENT_ID": f"energy-ops-test-{uuid.uuid4().hex[:8]}"}
    env.pop("METRICS_TOKEN", None)
    stack = NativeStack(web_port=free_port(), worker_metrics_port=free_port(), listener_metrics_port=free_port(),
                        prometheus_port=free_port(), scrape_interval="2s", base_env=env,
                        log_dir=tmp_path_factory.mktemp("native-logs"))
    try:
        with stack:
            yield Running(stack, url)
    finally:
        claim.flushdb()  # the stack's queues and results, and the claim
        claim.close()
        for log in sorted(Path(stack.log_dir).glob("*.log")):
            tail = log.read_text(errors="replace")[-3000:]
            print(f"--- {log.name} (tail) ---\n{tail}")
        from services.store import db

        db.get_engine(url).dispose()
        with admin_engine.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin_engine.dispose()


def publish_reading(household_id: int, value: float, metric: str = "load") -> str:
    """One QoS-1 reading on ``energy/<household>/meter-e2e/<metric>`` stamped now; returns its ts."""
    from datetime import UTC, datetime

    import paho.mqtt.publish as publish

    ts = datetime.now(UTC).replace(microsecond=0).isoformat()
    publish.single(f"energy/{household_id}/meter-e2e/{metric}",
                   json.dumps({"ts": ts, "value": value, "unit": "kWh"}), qos=1, hostname="127.0.0.1", port=1883)
    return ts


def run_ping(request_id: str) -> dict:
    """``ops.ping`` on the stack's worker (through its Redis), published under ``request_id``."""
    from services.observability.logs import reset_request_id, set_request_id
    from services.tasks.celery_app import INTERACTIVE_QUEUE, make_celery

    app = make_celery(OPS_REDIS_URL, name="ops-test-client")  # the claimed database, read now
    token = set_request_id(request_id)
    try:
        result = app.send_task("ops.ping", queue=INTERACTIVE_QUEUE)
    finally:
        reset_request_id(token)
    try:
        return result.get(timeout=90)
    finally:
        app.close()


@pytest.fixture(scope="package")
def traffic(native_stack: Running) -> dict:
    """Something for every panel to show: pages, callbacks, the API (optimize, forecast, ingest),
    an MQTT reading, a job on the worker and a stored back-test. Returns what it did."""
    from datetime import UTC, datetime, timedelta

    from services.forecasting import registry

    s = native_stack
    with sa.create_engine(s.database_url).connect() as conn:
        households = [row[0] for row in conn.execute(sa.text("SELECT id FROM households ORDER BY id"))]
    home = households[0]
    done = {"households": households}
    for path in ("/", f"/household/{home}", "/data", "/api/households", f"/api/forecast/{home}?hours=24"):
        status, _body, _headers = s.get(path)
        assert status == 200, path
    # Histograms twice, with a scrape between: a series first scraped with its count already at 1
    # shows no increase, so rate() and histogram_quantile() would have nothing to draw.
    for round_ in (1, 2):
        status, _body, _headers = s.get(f"/api/optimize/{home}")
        assert status == 200, "the solver should plan tomorrow for a demo home with a battery"
        status, _ = s.callback("data-batches-refresh", "n_clicks", round_)
        assert status == 200
        done["ping"] = run_ping(f"ops-traffic-ping-{round_}")
        if round_ == 1:
            assert s.wait_for('energy_job_duration_seconds_count{task="ops.ping"}', 90), "the job never showed in metrics"
            assert s.wait_for("energy_solver_duration_seconds_count", 30)
            assert s.wait_for("energy_dash_callback_duration_seconds_count", 30)
    ts = datetime.now(UTC).replace(microsecond=0)
    reading = {"household_id": home, "series": "load", "quantity": "load", "ts": ts.isoformat(), "value": 0.4,
               "unit": "kWh"}
    refused = {**reading, "value": "x", "ts": (ts + timedelta(minutes=15)).isoformat()}
    status, _ = s.post("/api/ingest/readings", {"source": "ops-test", "readings": [reading, refused]})
    assert status == 422  # one stored, one refused with its reason
    done["mqtt_ts"] = publish_reading(home, 0.77)
    assert s.wait_for("energy_mqtt_lag_seconds_count", 90), "the MQTT reading never showed in metrics"
    publish_reading(home, 0.78, metric="grid_import")  # not PV: after sunset the core refuses PV
    registry.save_backtest(home, "pv", ts - timedelta(days=14), ts - timedelta(days=7), {"overall": {"nmae": 0.21}},
                           url=s.database_url)
    # Wait until Prometheus scraped after the last of these (the MQTT batch and the job).
    assert s.wait_for("energy_mqtt_lag_seconds_count >= 2", 90), "the second MQTT reading never showed in metrics"
    assert s.wait_for('energy_job_duration_seconds_count{task="ops.ping"} >= 2', 90), "the second job never showed"
    assert s.wait_for("energy_forecast_nmae", 30)
    return done
