"""The shared finite-number check every module applies to its float options (issue #15)."""

import math

import pytest

from ansible_collections.reflexion.incident.plugins.module_utils import (
    _probe_health,
    _probe_llm,
    _probe_memory,
    _probe_metrics,
    _probe_pg,
    _probe_redis,
)
from ansible_collections.reflexion.incident.plugins.module_utils._validate import (
    finite_float,
    is_finite_number,
    non_finite_option,
    require_finite,
)

SPEC = dict(
    timeout=dict(type="float", default=5.0),
    retries=dict(type="int", default=0),
    name=dict(type="str"),
    weights=dict(type="list", elements="float"),
    providers=dict(type="list", elements="dict", options=dict(name=dict(type="str"), slow_ms=dict(type="float"))),
    limits=dict(type="dict", options=dict(ratio=dict(type="float"))),
)


class ModuleFailedError(Exception):
    pass


class FakeModule(object):
    """Only params and fail_json: what require_finite uses (pure logic, no service involved)."""

    def __init__(self, params):
        self.params = params

    def fail_json(self, msg, **kwargs):
        raise ModuleFailedError(msg)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_top_level_float_is_refused_with_its_name(value):
    msg = non_finite_option(SPEC, {"timeout": value, "retries": 1})
    assert msg == "timeout: must be a finite number, got %s" % value


@pytest.mark.parametrize("params, name", [
    ({"weights": [1.0, float("nan")]}, "weights[1]"),
    ({"providers": [{"name": "a", "slow_ms": 1.0}, {"name": "b", "slow_ms": float("inf")}]}, "providers[1].slow_ms"),
    ({"limits": {"ratio": float("-inf")}}, "limits.ratio"),
])
def test_nested_floats_are_refused_with_their_path(params, name):
    msg = non_finite_option(SPEC, params)
    assert msg and msg.startswith(name + ": must be a finite number"), msg


def test_finite_values_and_missing_options_pass():
    assert non_finite_option(SPEC, {}) is None
    assert non_finite_option(SPEC, {"timeout": 0.0, "weights": [1e308], "providers": [{"slow_ms": None}],
                                    "limits": None, "name": "nan"}) is None
    # a str option holding "nan" is text, not a number
    assert non_finite_option(SPEC, {"name": "inf"}) is None


def test_require_finite_fails_the_module():
    with pytest.raises(ModuleFailedError, match=r"^timeout: must be a finite number, got nan$"):
        require_finite(FakeModule({"timeout": float("nan")}), SPEC)
    require_finite(FakeModule({"timeout": 1.5}), SPEC)


@pytest.mark.parametrize("probe", [_probe_health, _probe_metrics, _probe_llm, _probe_pg, _probe_redis, _probe_memory])
def test_every_float_option_of_every_probe_is_checked(probe):
    """Each float option of each probe's spec, set to NaN, is refused by that probe's own validate()."""
    spec = probe.argument_spec()
    floats = [name for name, opt in spec.items() if opt.get("type") == "float"]
    assert floats, probe.__name__
    for name in floats:
        params = dict((k, opt.get("default")) for k, opt in spec.items())
        params[name] = float("nan")
        with pytest.raises(ModuleFailedError, match="^%s: must be a finite number" % name):
            probe.validate(FakeModule(params))


@pytest.mark.parametrize("value, expected", [(1, 1.0), ("2.5", 2.5), (0, 0.0), ("-1e3", -1000.0)])
def test_finite_float_accepts_numbers(value, expected):
    assert finite_float("x", value) == expected


@pytest.mark.parametrize("value, needle", [
    ("nan", "finite"), ("inf", "finite"), ("-Infinity", "finite"), (float("nan"), "finite"),
    ("high", "must be a number"), ([1], "must be a number"), ({"a": 1}, "must be a number"), (True, "must be a number"),
    (None, "must be a number"),
])
def test_finite_float_refuses_with_the_name(value, needle):
    with pytest.raises(ValueError, match="^ratio ") as info:
        finite_float("ratio", value)
    assert needle in str(info.value)


def test_is_finite_number():
    assert is_finite_number(0) and is_finite_number(1.5) and is_finite_number(-3)
    assert not is_finite_number(True)
    assert not is_finite_number(math.nan) and not is_finite_number(math.inf) and not is_finite_number("1")


@pytest.mark.parametrize("value", [86401, 1e20, 10 ** 30])
def test_a_wait_longer_than_a_day_is_refused(value):
    spec = {"timeout": {"type": "float"}, "connect_timeout": {"type": "int"}, "statement_timeout": {"type": "int"}}
    assert "timeout: must be at most 86400 seconds" in non_finite_option(spec, {"timeout": value})
    assert "connect_timeout: must be at most" in non_finite_option(spec, {"connect_timeout": value})
    # statement_timeout is milliseconds, PostgreSQL's own setting: not capped here
    assert non_finite_option(spec, {"statement_timeout": 10 ** 9}) is None
    assert non_finite_option(spec, {"timeout": 86400, "connect_timeout": 5}) is None
