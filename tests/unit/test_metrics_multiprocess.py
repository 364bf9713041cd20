"""Multiprocess mode: samples of several processes sharing PROMETHEUS_MULTIPROC_DIR add up in one
scrape, and a dead process's live gauges stop counting once it is marked dead."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

WRITER = r'''
import os, sys
sys.path.insert(0, os.getcwd())
from services.observability import metrics
metrics.HTTP_REQUESTS.labels("GET", "/api/households", "200").inc(int(sys.argv[1]))
metrics.DB_POOL_IN_USE.labels("postgresql").set(int(sys.argv[1]))
print(os.getpid())
'''

READER = r'''
import os, sys
sys.path.insert(0, os.getcwd())
from services.observability import metrics
for pid in sys.argv[1:]:
    metrics.mark_process_dead(int(pid))
print(metrics.exposition()[0].decode())
'''


def python(code: str, *args: str, folder: Path) -> str:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(folder)}
    result = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout.strip()


def sample(text: str, prefix: str) -> float:
    (line,) = [line for line in text.splitlines() if line.startswith(prefix)]
    return float(line.rsplit(" ", 1)[1])


def test_counters_of_several_processes_add_up_and_dead_gauges_go(tmp_path):
    first = python(WRITER, "3", folder=tmp_path)
    python(WRITER, "4", folder=tmp_path)
    scraped = python(READER, folder=tmp_path)
    counter = 'energy_http_requests_total{method="GET",route="/api/households",status="200"}'
    assert sample(scraped, counter) == 7.0
    # Both writers have exited; the one marked dead no longer counts in the live sum (the other,
    # never marked, still does: gunicorn's child_exit marks every worker that ends).
    after = python(READER, first, folder=tmp_path)
    assert sample(after, counter) == 7.0  # counters keep what dead processes counted
    assert sample(after, 'energy_db_pool_connections_in_use{backend="postgresql"}') == 4.0


def test_mqtt_lag_counts_stored_readings_and_never_raises():
    import pandas as pd
    from prometheus_client import REGISTRY

    from services.observability.metrics import observe_mqtt_batch

    before = REGISTRY.get_sample_value("energy_mqtt_lag_seconds_count") or 0.0
    frame = pd.DataFrame({"ts": ["2026-01-01T00:00:00Z", 1767225600, "not a time", "2026-01-01T00:00:00"],
                          "problem": [None, None, None, None]})
    observe_mqtt_batch(frame)  # ISO with offset and epoch seconds count; text and naive local times do not
    observe_mqtt_batch(pd.DataFrame({"ts": ["2026-01-01T00:00:00Z"], "problem": ["refused"]}))
    observe_mqtt_batch(object())  # not a frame: logged, not raised
    assert REGISTRY.get_sample_value("energy_mqtt_lag_seconds_count") == before + 2
