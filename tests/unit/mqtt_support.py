"""A real Mosquitto for the MQTT tests, started from the configuration the project ships
(``deploy/mosquitto/mosquitto.conf``) with only the port and the persistence directory changed,
so that the tests exercise the deployed queue limits and never depend on a broker the machine
happens to run with another configuration. Plus a QoS 1 publisher and a patient wait."""

from __future__ import annotations

import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SHIPPED_CONFIG = PROJECT_ROOT / "deploy" / "mosquitto" / "mosquitto.conf"
DEADLINE_S = 120  # a wait that takes longer than this is a hang, not a slow machine


def mosquitto_binary() -> str:
    """The broker's executable; skips the test (with the fix) where it is not installed."""
    found = shutil.which("mosquitto") or next((p for p in ("/usr/sbin/mosquitto",) if Path(p).exists()), None)
    if found is None:
        pytest.skip("MQTT tests need the mosquitto binary (apt-get install mosquitto; .ci/run installs it)")
    return found


def reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def wait_for(condition: Callable[[], bool], what: str, deadline_s: float = DEADLINE_S) -> None:
    deadline = time.monotonic() + deadline_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def broker_config(port: int, directory: Path) -> str:
    """The shipped configuration with its listener on ``port`` and persistence in ``directory``."""
    text = SHIPPED_CONFIG.read_text()
    text, listeners = re.subn(r"(?m)^listener 1883\b.*$", f"listener {port} 127.0.0.1", text)
    text, locations = re.subn(r"(?m)^persistence_location .*$", f"persistence_location {directory}/", text)
    assert listeners == 1 and locations == 1, "the shipped mosquitto.conf lost its listener or persistence line"
    text = re.sub(r"(?m)^log_dest .*$", f"log_dest file {directory}/broker.log", text)
    # Started as root, mosquitto would switch to its own user and could not save its sessions here.
    return text + f"\nuser {pwd.getpwuid(os.getuid()).pw_name}\n"


class Broker:
    """A private mosquitto on a free port from the shipped configuration; ``stop()`` saves its
    persistence file (SIGTERM) and ``start()`` brings it back with what it saved."""

    def __init__(self, directory: Path) -> None:
        self.binary = mosquitto_binary()
        self.host, self.port, self.directory = "127.0.0.1", free_port(), directory
        self.config = directory / "mosquitto.conf"
        self.config.write_text(broker_config(self.port, directory))
        self.process: subprocess.Popen | None = None

    def start(self) -> Broker:
        self.process = subprocess.Popen([self.binary, "-c", str(self.config)], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        wait_for(lambda: reachable(self.host, self.port) or self.process.poll() is not None, "the broker to listen")
        assert self.process.poll() is None, f"mosquitto exited: {self.log()}"
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=30)

    def log(self) -> str:
        path = self.directory / "broker.log"
        return path.read_text() if path.exists() else ""


def forget_session(host: str, port: int, client_id: str) -> None:
    """End ``client_id``'s persistent session on the broker (a clean start with expiry 0)."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    client.connect(host, port, clean_start=True)
    client.loop(timeout=1.0)
    client.disconnect()


class Publisher:
    """A QoS 1 publisher; :meth:`send` returns only once the broker has the message."""

    def __init__(self, host: str, port: int) -> None:
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        self.client.reconnect_delay_set(min_delay=0.2, max_delay=1)
        self.client.max_inflight_messages_set(100)
        self.client.connect(host, port)
        self.client.loop_start()

    def send(self, topic: str, payload: dict | bytes) -> None:
        deadline = time.monotonic() + DEADLINE_S
        while True:
            info = self.publish(topic, payload)
            try:
                info.wait_for_publish(timeout=5)
                if info.is_published():
                    return
            except RuntimeError:  # not connected (broker restarting): publish again once it is
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"the broker never took a message on {topic}")
            time.sleep(0.2)

    def publish(self, topic: str, payload: dict | bytes):
        """Hand a message to the client without waiting for the broker (see :meth:`wait`)."""
        data = payload if isinstance(payload, bytes) else json.dumps(payload)
        return self.client.publish(topic, data, qos=1)

    def wait(self, info, topic: str) -> None:
        deadline = time.monotonic() + DEADLINE_S
        while True:
            try:
                info.wait_for_publish(timeout=5)
                if info.is_published():
                    return
            except RuntimeError:  # not connected (broker restarting): publish again once it is
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"the broker never took a message on {topic}")
            time.sleep(0.2)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class RunningListener:
    """An in-process listener in a thread for the duration of a ``with`` block."""

    def __init__(self, config, **kwargs) -> None:
        from services.iot.listener import MqttListener

        self.listener = MqttListener(config, **kwargs)
        self.thread = threading.Thread(target=self.listener.run, daemon=True)

    def __enter__(self):
        self.thread.start()
        assert self.listener.wait_connected(DEADLINE_S), "the listener did not connect"
        return self.listener

    def __exit__(self, *exc) -> None:
        self.listener.stop()
        self.thread.join(DEADLINE_S)
        assert not self.thread.is_alive(), "the listener did not stop"


def start_listener_process(db_url: str, port: int, topic: str, client_id: str, log: Path,
                           batch_size: int = 500) -> subprocess.Popen:
    """``python -m services.iot.listener`` against ``db_url``, returned once it has subscribed."""
    import sys

    seen = log.read_text().count("subscribed") if log.exists() else 0
    env = {**os.environ, "DATABASE_URL": db_url, "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "services.iot.listener", "--port", str(port), "--topic", topic,
               "--client-id", client_id, "--batch-size", str(batch_size), "--batch-seconds", "0.5"]
    process = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT)
    wait_for(lambda: log.read_text().count("subscribed") > seen or process.poll() is not None,
             "the listener to subscribe")
    assert process.poll() is None, log.read_text()
    return process
