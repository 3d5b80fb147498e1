"""redis_probe against real redis-server processes on loopback (with and without requirepass)."""

import pytest
import redis

from ..pg_redis_servers import RedisServer, free_port, redis_server

SECRET = "rxi-redis-secret-7c1d"
# Where a test asserts "healthy": the default slow_ms (a 50 ms median PING) is easy to miss on a loaded
# 2-core machine, and slowness is not what these tests are about.
RELAXED = {"slow_ms": 5000}


@pytest.fixture(scope="module")
def plain():
    with redis_server() as server:
        yield server


@pytest.fixture(scope="module")
def locked():
    with redis_server(password=SECRET) as server:
        yield server


def test_healthy_with_real_info(run_module, plain):
    extra = [redis.Redis(host=plain.host, port=plain.port) for _dummy in range(3)]
    for c in extra:
        c.ping()
    r = run_module("redis_probe", dict(RELAXED, login_host=plain.host, login_port=plain.port, pings=7))
    assert not r.failed, r.output
    assert r["changed"] is False
    assert r["status"] == "healthy" and r["connectable"] is True and r["error"] is None
    p = r["ping_ms"]
    assert 0 < p["min"] <= p["median"] <= p["max"]
    info = r["info"]
    assert info["role"] == "master"
    assert info["maxmemory"] == 64 * 1024 * 1024
    assert info["maxmemory_policy"] == "allkeys-lru"
    assert info["connected_clients"] >= 4  # the probe and the three clients above
    assert info["used_memory"] > 0 and info["used_memory_pct"] == round(100.0 * info["used_memory"] / info["maxmemory"], 2)
    assert info["evicted_keys"] == 0 and info["rejected_connections"] == 0
    for c in extra:
        c.close()


def test_password_right_wrong_and_missing(run_module, locked):
    base = dict(RELAXED, login_host=locked.host, login_port=locked.port)
    r = run_module("redis_probe", dict(base, login_password=SECRET))
    assert r["status"] == "healthy" and r["connectable"] is True
    assert SECRET not in r.output
    r = run_module("redis_probe", dict(base, login_password="wrong"))
    assert not r.failed and r["status"] == "down" and r["error_kind"] == "auth_failed"
    r = run_module("redis_probe", base)
    assert not r.failed and r["status"] == "down" and r["error_kind"] == "auth_failed"
    assert "Traceback" not in r.output


def test_memory_pressure_is_degraded(run_module, plain):
    c = redis.Redis(host=plain.host, port=plain.port)
    used = c.info("memory")["used_memory"]
    c.config_set("maxmemory", str(int(used * 1.05)))
    try:
        r = run_module("redis_probe", {"login_host": plain.host, "login_port": plain.port})
        assert r["status"] == "degraded" and "maxmemory" in r["reason"]
        assert r["info"]["used_memory_pct"] >= 90
    finally:
        c.config_set("maxmemory", str(64 * 1024 * 1024))
        c.close()


def test_redis_stopped(run_module):
    server = RedisServer()
    server.start()
    port = server.port
    assert run_module("redis_probe", dict(RELAXED, login_port=port))["status"] == "healthy"
    server.cleanup()
    r = run_module("redis_probe", {"login_port": port})
    assert not r.failed, r.output
    assert r["status"] == "down" and r["connectable"] is False and r["error_kind"] == "unreachable"
    assert "refused" in r["error"].lower()
    assert r["ping_ms"] == {"min": None, "median": None, "max": None}
    assert "Traceback" not in r.output
    r = run_module("redis_probe", {"login_port": port, "fail_on_unhealthy": True})
    assert r.failed and "unhealthy" in r["msg"]


@pytest.mark.parametrize("args, needle", [
    ({"login_port": 0}, "login_port"),
    ({"login_port": 65536}, "login_port"),
    ({"pings": 0}, "pings"),
    ({"slow_ms": -1}, "slow_ms"),
    ({"db": -1}, "db"),
    ({"connect_timeout": 0}, "connect_timeout"),
    ({"memory_degraded_pct": 101}, "memory_degraded_pct"),
])
def test_bad_input(run_module, args, needle):
    r = run_module("redis_probe", dict({"login_port": free_port()}, **args))
    assert r.failed
    assert needle in r["msg"]
    assert "Traceback" not in r.output
