"""The collection's alert rules: promtool check rules, promtool test rules, and the labels every alert must carry."""

import glob
import os
import shutil
import subprocess

import pytest
import yaml

from .conftest import ROOT

RULES = os.path.join(ROOT, "extensions", "prometheus", "reflexion_alerts.yml")
TESTS = sorted(glob.glob(os.path.join(ROOT, "extensions", "prometheus", "tests", "*.yml")))
PROMTOOL = shutil.which("promtool")
EXPECTED = {"HighErrorRate": "high_error_rate.yml", "DatabaseConnectionFailures": "database_connection_issues.yml",
            "HighMemoryUsage": "memory_leak.yml", "LLMAPIFailures": "llm_api_failures.yml", "ServiceDown": "restart_services.yml"}

needs_promtool = pytest.mark.skipif(PROMTOOL is None, reason="promtool (Debian package prometheus) is not installed")


def rules():
    return {r["alert"]: r for g in yaml.safe_load(open(RULES))["groups"] for r in g["rules"]}


def test_every_alert_has_a_severity_and_a_runbook_playbook():
    found = rules()
    assert {name: r["annotations"]["runbook_playbook"] for name, r in found.items()} == EXPECTED
    assert {r["labels"]["severity"] for r in found.values()} <= {"P0", "P1", "P2", "P3"}
    assert found["ServiceDown"]["labels"]["severity"] == "P0"


@needs_promtool
def test_promtool_check_rules():
    proc = subprocess.run([PROMTOOL, "check", "rules", RULES], capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS: 5 rules found" in proc.stdout


@needs_promtool
def test_promtool_test_rules_cover_every_alert_firing_and_not():
    assert TESTS
    covered = {}
    for path in TESTS:
        for case in yaml.safe_load(open(path))["tests"]:
            for check in case.get("alert_rule_test", []):
                covered.setdefault(check["alertname"], set()).add(bool(check["exp_alerts"]))
    assert covered == {name: {True, False} for name in EXPECTED}
    proc = subprocess.run([PROMTOOL, "test", "rules"] + TESTS, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "FAILED" not in proc.stdout + proc.stderr
