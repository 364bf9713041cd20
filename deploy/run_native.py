"""Start the compose deployment's app processes natively: same commands, same environment.

    .venv/bin/python deploy/run_native.py                # migrate, then web, worker, beat, mqtt-listen
    .venv/bin/python deploy/run_native.py --prometheus   # and a Prometheus scraping them

It reads ``deploy/compose.yaml``: each app service's ``command`` and ``environment`` (with
``${VAR:-default}`` filled from this environment). What only exists inside the compose network
is replaced, and nothing else: the hosts ``postgres``, ``redis`` and ``mosquitto`` become the
``DATABASE_URL``, ``REDIS_URL`` and ``MQTT_HOST``/``MQTT_PORT`` of this environment (default:
the local servers), the ports become ``--web-port`` and the metrics ports, the compose secret a
temporary file, and each service gets its own ``PROMETHEUS_MULTIPROC_DIR``. PostgreSQL, Redis
and Mosquitto must already run (``.ci/run`` starts them); Grafana is not started (no package
here): its provisioning is checked by the test suite instead.

Until the repository has ``worker.py`` (the workers' Celery entry point), worker and beat run on
``services.tasks.celery_app`` instead, and the launcher says so.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "deploy" / "compose.yaml"
PROMETHEUS_CONFIG = ROOT / "deploy" / "prometheus" / "prometheus.yml"
#: The app services, in start order (migrate runs to completion first).
APP_SERVICES = ("migrate", "web", "worker", "beat", "mqtt-listen")
FALLBACK_CELERY_APP = "services.tasks.celery_app:celery_app"
_VAR = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}")


def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's variable syntax: ``${VAR}``, ``${VAR:-default}``, ``${VAR-default}``,
    ``${VAR:?error}``, ``${VAR?error}`` and ``$$`` for a dollar sign."""

    def one(match: re.Match) -> str:
        if match.group(0) == "$$":
            return "$"
        name, op, arg = match.group(1), match.group(2), match.group(3) or ""
        value = env.get(name)
        empty = value is None or (op and op.startswith(":") and value == "")
        if op in (":-", "-"):
            return arg if empty else value
        if op in (":?", "?") and empty:
            raise SystemExit(f"{name} is required: {arg}")
        return value or ""

    return _VAR.sub(one, text)


def load_compose(env: dict[str, str]) -> dict:
    """compose.yaml with anchors merged and variables filled from ``env``."""
    return yaml.safe_load(interpolate(COMPOSE.read_text(), env))


@dataclass
class Service:
    name: str
    argv: list[str]
    env: dict[str, str]
    note: str = ""


@dataclass
class NativeStack:
    """The app processes of compose.yaml, started here; also a context manager for tests."""

    web_port: int = 8050
    worker_metrics_port: int = 9101
    listener_metrics_port: int = 9102
    prometheus_port: int | None = None
    scrape_interval: str = "15s"
    log_dir: Path | None = None
    services: tuple[str, ...] = APP_SERVICES
    base_env: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def __post_init__(self):
        self.workdir = Path(tempfile.mkdtemp(prefix="energy-native-"))
        self.log_dir = Path(self.log_dir) if self.log_dir else self.workdir / "logs"
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.token = self.base_env.get("METRICS_TOKEN") or secrets.token_urlsafe(24)
        self.token_file = self.workdir / "metrics_token"
        self.token_file.write_text(self.token + "\n")

    # --- what to run ---------------------------------------------------------------------------

    def plan(self) -> list[Service]:
        compose = load_compose(self.base_env)["services"]
        planned = []
        for name in self.services:
            spec = compose[name]
            # A key without a value passes this environment's value through (compose's rule).
            env = {k: str(v) if v is not None else self.base_env.get(k, "")
                   for k, v in (spec.get("environment") or {}).items()}
            env = {k: v for k, v in env.items() if v != "" or k in self.base_env}
            argv, note = self._native_command(name, list(spec["command"]))
            planned.append(Service(name, argv, self._native_env(name, env), note))
        return planned

    def _native_command(self, name: str, argv: list[str]) -> tuple[list[str], str]:
        note = ""
        if argv[0] == "celery" and argv[1:3] == ["-A", "worker"] and not (ROOT / "worker.py").exists():
            argv = [argv[0], "-A", FALLBACK_CELERY_APP, *argv[3:]]
            note = f"worker.py not found: {name} runs on {FALLBACK_CELERY_APP} until the workers' entry point lands"
        if name == "beat":  # the container's /tmp is its own; here the schedule goes in the work folder
            argv = [self.workdir / "celerybeat-schedule" if a == "/tmp/celerybeat-schedule" else a for a in argv]
        venv_bin = ROOT / ".venv" / "bin" / argv[0]
        program = str(venv_bin) if venv_bin.exists() else (shutil.which(argv[0]) or argv[0])
        return [program, *map(str, argv[1:])], note

    def _native_env(self, name: str, compose_env: dict[str, str]) -> dict[str, str]:
        here = self.base_env
        env = dict(here)
        env.update(compose_env)
        env["DATABASE_URL"] = here.get("DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/energy")
        env["REDIS_URL"] = here.get("REDIS_URL", "redis://127.0.0.1:6379/0")
        env["MQTT_HOST"] = here.get("MQTT_HOST", "127.0.0.1")
        env["MQTT_PORT"] = here.get("MQTT_PORT", "1883")
        if "HOST" in compose_env:
            env["HOST"] = "127.0.0.1"  # natively nothing is published beyond this machine
        if "PORT" in compose_env:
            env["PORT"] = str(self.web_port)
        if "METRICS_PORT" in compose_env:
            env["METRICS_PORT"] = str(self.worker_metrics_port if name == "worker" else self.listener_metrics_port)
        if compose_env.get("METRICS_TOKEN_FILE"):
            env["METRICS_TOKEN_FILE"] = str(self.token_file)
            env.pop("METRICS_TOKEN", None)
        if "PROMETHEUS_MULTIPROC_DIR" in compose_env:
            folder = self.workdir / f"metrics-{name}"
            folder.mkdir(exist_ok=True)
            env["PROMETHEUS_MULTIPROC_DIR"] = str(folder)
        return env

    # --- running ------------------------------------------------------------------------------

    def start(self) -> NativeStack:
        for service in self.plan():
            if service.note:
                self.notes.append(service.note)
                print(f"note: {service.note}", flush=True)
            log = open(self.log_dir / f"{service.name}.log", "ab")
            process = subprocess.Popen(service.argv, cwd=ROOT, env=service.env, stdout=log, stderr=subprocess.STDOUT,
                                       start_new_session=True)
            if service.name == "migrate":
                if process.wait(timeout=900) != 0:
                    raise RuntimeError(f"migrate failed: see {self.log_dir / 'migrate.log'}")
                continue
            self.processes[service.name] = process
            print(f"{service.name}: pid {process.pid}: {' '.join(service.argv)}", flush=True)
        if self.prometheus_port:
            self._start_prometheus()
        if "web" in self.processes:
            self.wait_http(f"http://127.0.0.1:{self.web_port}/health", "web")
        return self

    def _start_prometheus(self) -> None:
        config = yaml.safe_load(PROMETHEUS_CONFIG.read_text())
        config["global"]["scrape_interval"] = config["global"]["evaluation_interval"] = self.scrape_interval
        config["rule_files"] = [str(PROMETHEUS_CONFIG.parent / f) for f in config["rule_files"]]
        targets = {"web:8050": self.web_port, "worker:9101": self.worker_metrics_port,
                   "mqtt-listen:9102": self.listener_metrics_port}
        for job in config["scrape_configs"]:
            if "authorization" in job:
                job["authorization"]["credentials_file"] = str(self.token_file)
            for static in job["static_configs"]:
                static["targets"] = [f"127.0.0.1:{targets[t]}" for t in static["targets"]]
        path = self.workdir / "prometheus.yml"
        path.write_text(yaml.safe_dump(config))
        storage = self.workdir / "prometheus-data"
        argv = [shutil.which("prometheus") or "/usr/bin/prometheus", f"--config.file={path}",
                f"--storage.tsdb.path={storage}", f"--web.listen-address=127.0.0.1:{self.prometheus_port}"]
        log = open(self.log_dir / "prometheus.log", "ab")
        self.processes["prometheus"] = subprocess.Popen(argv, cwd=self.workdir, stdout=log, stderr=subprocess.STDOUT,
                                                        start_new_session=True)
        print(f"prometheus: pid {self.processes['prometheus'].pid} on 127.0.0.1:{self.prometheus_port}", flush=True)
        self.wait_http(f"http://127.0.0.1:{self.prometheus_port}/-/ready", "prometheus")

    def wait_http(self, url: str, name: str, timeout_s: float = 120.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            process = self.processes.get(name)
            if process is not None and process.poll() is not None:
                raise RuntimeError(f"{name} exited with {process.returncode}: see {self.log_dir / (name + '.log')}")
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"{name} did not answer {url} within {timeout_s:g} s")

    def stop(self) -> None:
        """SIGTERM each started process group (they finish their batch or request), then SIGKILL."""
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for process in self.processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self.processes.clear()

    def __enter__(self) -> NativeStack:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *_exc) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--web-port", type=int, default=int(os.environ.get("PORT", 8050)))
    parser.add_argument("--worker-metrics-port", type=int, default=9101)
    parser.add_argument("--listener-metrics-port", type=int, default=9102)
    parser.add_argument("--prometheus", action="store_true", help="also start /usr/bin/prometheus on --prometheus-port")
    parser.add_argument("--prometheus-port", type=int, default=9090)
    parser.add_argument("--only", help=f"comma-separated subset of {','.join(APP_SERVICES)}")
    parser.add_argument("--log-dir", type=Path, default=None, help="one log file per service (default: a temp folder)")
    args = parser.parse_args(argv)
    services = tuple(args.only.split(",")) if args.only else APP_SERVICES
    stack = NativeStack(web_port=args.web_port, worker_metrics_port=args.worker_metrics_port,
                        listener_metrics_port=args.listener_metrics_port,
                        prometheus_port=args.prometheus_port if args.prometheus else None,
                        log_dir=args.log_dir, services=services)
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(1))
    with stack:
        print(f"running; logs in {stack.log_dir}; Ctrl+C stops", flush=True)
        try:
            while not stopping:
                for name, process in stack.processes.items():
                    if process.poll() is not None:
                        print(f"{name} exited with {process.returncode}: stopping", file=sys.stderr)
                        return 1
                time.sleep(1)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
