"""promtool on the deployment's Prometheus files: the scrape config, the alerting rules and their
unit tests (deploy/prometheus/alerts_test.yml: each alert fires on the data that should raise it)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

PROMETHEUS = Path(__file__).resolve().parents[2] / "deploy" / "prometheus"
PROMTOOL = shutil.which("promtool") or ("/usr/bin/promtool" if Path("/usr/bin/promtool").exists() else None)

pytestmark = pytest.mark.skipif(PROMTOOL is None, reason="promtool is not installed (Debian: apt-get install prometheus)")


def promtool(*args: str, cwd: Path = PROMETHEUS) -> subprocess.CompletedProcess:
    return subprocess.run([PROMTOOL, *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_the_scrape_config_is_valid(tmp_path):
    # The bearer token is a compose secret at /run/secrets; promtool wants the file to exist.
    config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
    token = tmp_path / "metrics_token"
    token.write_text("x" * 24)
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert set(jobs) == {"energy-web", "energy-worker", "energy-mqtt-listener"}
    assert jobs["energy-web"]["authorization"]["credentials_file"] == "/run/secrets/metrics_token"
    jobs["energy-web"]["authorization"]["credentials_file"] = str(token)
    shutil.copy(PROMETHEUS / "alerts.yml", tmp_path / "alerts.yml")
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    result = promtool("check", "config", str(tmp_path / "prometheus.yml"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 rule files found" in result.stdout + result.stderr


def test_the_rules_are_valid_and_cover_every_failure_we_page_for():
    result = promtool("check", "rules", "alerts.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    names = {rule["alert"] for group in yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())["groups"]
             for rule in group["rules"]}
    assert names == {"EnergyAppDown", "EnergyHighErrorRate", "EnergyIngestionStalled", "EnergyMqttListenerDown",
                     "EnergyJobBacklog", "EnergyWeatherStale"}


def test_the_rules_unit_tests_pass():
    result = promtool("test", "rules", "alerts_test.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout + result.stderr


def test_a_broken_rule_unit_test_is_caught(tmp_path):
    """The unit tests can fail: an alert expected too early is reported."""
    shutil.copy(PROMETHEUS / "alerts.yml", tmp_path / "alerts.yml")
    broken = (PROMETHEUS / "alerts_test.yml").read_text().replace("eval_time: 5m\n        alertname: EnergyAppDown",
                                                                  "eval_time: 3m\n        alertname: EnergyAppDown", 1)
    assert broken != (PROMETHEUS / "alerts_test.yml").read_text()
    (tmp_path / "alerts_test.yml").write_text(broken)
    result = promtool("test", "rules", "alerts_test.yml", cwd=tmp_path)
    assert result.returncode != 0 and "EnergyAppDown" in result.stdout + result.stderr
