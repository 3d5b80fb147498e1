"""One home for each threshold (issue 17 item 2): the Python constants (plugins/module_utils/_thresholds.py) and the
roles' shared settings (roles/settings/defaults/main.yml) agree, every Python user imports the constant instead of
repeating the number, and the modules' DOCUMENTATION defaults (literal, as ansible-test requires) state it."""

import importlib
import os
import re

import yaml

from ansible_collections.reflexion.incident.plugins.action.verify_wait import ARGUMENT_SPEC as VERIFY_WAIT_SPEC
from ansible_collections.reflexion.incident.plugins.module_utils import _thresholds
from ansible_collections.reflexion.incident.plugins.module_utils._probe_metrics import argument_spec as metrics_spec
from ansible_collections.reflexion.incident.plugins.plugin_utils._plan import DEFAULT_THRESHOLDS as PLAN_THRESHOLDS
from ansible_collections.reflexion.incident.plugins.plugin_utils._severity import DEFAULT_THRESHOLDS as SEVERITY_THRESHOLDS

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
USERS = ("plugins/plugin_utils/_plan.py", "plugins/plugin_utils/_severity.py",
         "plugins/module_utils/_probe_metrics.py", "plugins/action/verify_wait.py")


def settings():
    with open(os.path.join(ROOT, "roles", "settings", "defaults", "main.yml")) as f:
        return yaml.safe_load(f)


def module_doc(name):
    module = importlib.import_module("ansible_collections.reflexion.incident.plugins.modules." + name)
    return yaml.safe_load(module.DOCUMENTATION)


def test_the_role_settings_are_the_python_constants():
    s = settings()
    assert s["reflexion_error_ratio_threshold"] == _thresholds.ERROR_RATIO == 0.05
    assert s["reflexion_p95_latency_threshold"] == _thresholds.P95_LATENCY_S == 2.0


def test_the_python_users_take_the_constants():
    assert PLAN_THRESHOLDS["error_ratio"] == _thresholds.ERROR_RATIO
    assert PLAN_THRESHOLDS["p95_latency_s"] == _thresholds.P95_LATENCY_S
    assert SEVERITY_THRESHOLDS["p1_error_ratio"] == _thresholds.ERROR_RATIO
    assert SEVERITY_THRESHOLDS["p0_error_ratio"] == _thresholds.ERROR_RATIO_DOWN
    assert SEVERITY_THRESHOLDS["p1_p95_latency_s"] == _thresholds.P95_LATENCY_S
    spec = metrics_spec()
    assert spec["error_ratio_degraded"]["default"] == _thresholds.ERROR_RATIO
    assert spec["error_ratio_down"]["default"] == _thresholds.ERROR_RATIO_DOWN
    assert spec["p95_slow_s"]["default"] == _thresholds.P95_LATENCY_S
    assert VERIFY_WAIT_SPEC["max_error_ratio"]["default"] == _thresholds.ERROR_RATIO


def test_no_python_user_repeats_the_numbers():
    for rel in USERS:
        with open(os.path.join(ROOT, rel)) as f:
            code = "\n".join(line.split("#")[0] for line in f)
        # the error-ratio level (0.5 is too common a number to search for: a join's grace period is one)
        assert not re.search(r"(?<![0-9.])0\.05(?![0-9])", code), "%s repeats 0.05" % rel
        assert "_thresholds import" in code, rel


def test_the_module_docs_state_the_constants():
    metrics = module_doc("metrics_probe")["options"]
    assert metrics["error_ratio_degraded"]["default"] == _thresholds.ERROR_RATIO
    assert metrics["error_ratio_down"]["default"] == _thresholds.ERROR_RATIO_DOWN
    assert metrics["p95_slow_s"]["default"] == _thresholds.P95_LATENCY_S
    assert module_doc("verify_wait")["options"]["max_error_ratio"]["default"] == _thresholds.ERROR_RATIO
