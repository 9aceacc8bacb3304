"""The alert rules: `promtool check rules` and the unit tests in deploy/alerts/newswire-rules.test.yaml."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from workers.datasets import REPO_ROOT

ALERTS_DIR = REPO_ROOT / "deploy" / "alerts"
PROMTOOL = shutil.which("promtool")
pytestmark = pytest.mark.skipif(PROMTOOL is None, reason="promtool comes with Debian's prometheus (deploy/local/stack.sh install)")


def promtool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([PROMTOOL, *args], cwd=ALERTS_DIR, capture_output=True, text=True, timeout=60)


def test_rules_file_is_valid():
    result = promtool("check", "rules", "newswire-rules.yaml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_rule_unit_tests_pass():
    result = promtool("test", "rules", "newswire-rules.test.yaml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_has_a_unit_test_that_fires_it():
    import yaml

    rules = yaml.safe_load((ALERTS_DIR / "newswire-rules.yaml").read_text())
    alerts = {rule["alert"] for group in rules["groups"] for rule in group["rules"] if "alert" in rule}
    tests = yaml.safe_load((ALERTS_DIR / "newswire-rules.test.yaml").read_text())["tests"]
    fired = {case["alertname"] for test in tests for case in test.get("alert_rule_test", []) if case["exp_alerts"]}
    assert alerts == fired
