"""One total deadline per HTTP request (issue #15): a real server on 127.0.0.1 that drips its answer one byte
every 0.5 s must not hold health_probe or metrics_probe past their ``timeout``.

Before the fix the timeout applied per socket read, so an 80-byte body dripped over 40 s kept a
``timeout=1`` probe for 40 s. The bounds asserted below are generous (the request itself < 5 s, the
whole ansible run < 15 s on a loaded machine), they only prove "bounded".
"""

import time

import pytest

from ..http_fixtures import DripServer


@pytest.fixture(scope="module")
def drip():
    with DripServer() as srv:
        yield srv


@pytest.mark.parametrize("path", ["/body", "/headers"])
def test_health_probe_drip_is_cut_at_the_deadline(run_module, drip, path):
    started = time.monotonic()
    r = run_module("health_probe", {"url": drip.base + path, "timeout": 1, "retries": 0}, timeout=60)
    elapsed = time.monotonic() - started
    assert r["status"] == "down", r.output
    assert "deadline exceeded" in r["reason"], r["reason"]
    assert r["targets"][0]["failed_phase"] == "request"
    assert r["timings"]["total"] < 5000, r["timings"]  # the request itself; the drip would take 40 s
    assert elapsed < 15, elapsed  # ansible's own start-up included


def test_metrics_probe_drip_is_cut_at_the_deadline(run_module, drip):
    started = time.monotonic()
    r = run_module("metrics_probe", {"url": drip.base + "/body", "timeout": 1}, timeout=60)
    elapsed = time.monotonic() - started
    assert r["status"] == "down", r.output
    assert "deadline exceeded" in r["reason"], r["reason"]
    assert elapsed < 15, elapsed
