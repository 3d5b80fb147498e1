"""Pure logic of memory_probe and redis_probe: meminfo parsing, argument masking, slopes, leaks, OOM lines."""

import pytest

from ansible_collections.reflexion.incident.plugins.module_utils._memory import (
    MASK,
    host_summary,
    is_leak_suspect,
    mask_args,
    parse_meminfo,
    parse_oom_kills,
    slope_per_minute,
)
from ansible_collections.reflexion.incident.plugins.module_utils._redis import classify_error, classify_redis, ping_stats

MEMINFO = """MemTotal:        8000000 kB
MemFree:          500000 kB
MemAvailable:    2000000 kB
Buffers:          100000 kB
Cached:          1000000 kB
SwapTotal:       1000000 kB
SwapFree:         750000 kB
SReclaimable:      50000 kB
HugePages_Total:       0
"""


def test_parse_meminfo_and_summary():
    m = parse_meminfo(MEMINFO)
    assert m["MemTotal"] == 8000000 * 1024 and m["HugePages_Total"] == 0
    h = host_summary(m)
    assert h["total_mb"] == round(8000000 / 1024.0, 1)
    assert h["used_pct"] == 75.0
    assert h["cache_mb"] == round(1150000 / 1024.0, 1)
    assert h["swap_used_pct"] == 25.0 and h["swap_used_mb"] == round(250000 / 1024.0, 1)


def test_summary_without_memavailable():
    h = host_summary(parse_meminfo("MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 100 kB\nCached: 300 kB\n"))
    assert h["used_pct"] == 50.0 and h["swap_used_pct"] == 0.0


@pytest.mark.parametrize("args, expected", [
    (["app", "--password=hunter2"], ["app", "--password=" + MASK]),
    (["app", "--db-password", "x", "--port", "5"], ["app", "--db-password", MASK, "--port", "5"]),
    (["env", "PGPASSWORD=abc", "API_KEY=k", "OPENAI_API_KEY:sk-1"], ["env", "PGPASSWORD=" + MASK, "API_KEY=" + MASK,
                                                                     "OPENAI_API_KEY:" + MASK]),
    (["redis-cli", "-u", "redis://user:pw@host:6379"], ["redis-cli", "-u", "redis://user:" + MASK + "@host:6379"]),
    (["gunicorn", "app:main", "--workers", "4"], ["gunicorn", "app:main", "--workers", "4"]),
    (["x", "--token"], ["x", "--token"]),
])
def test_mask_args(args, expected):
    assert mask_args(args) == expected


def test_slope_and_leaks():
    assert slope_per_minute([(0, 10.0)]) is None
    assert slope_per_minute([(0, 10.0), (0, 12.0)]) is None
    assert slope_per_minute([(0, 10.0), (30, 15.0), (60, 20.0)]) == pytest.approx(10.0)
    growing = [(0, 100.0), (10, 103.0), (20, 106.0), (30, 109.0)]  # 18 MB/min
    assert is_leak_suspect(growing, 10.0) == (True, pytest.approx(18.0))
    assert is_leak_suspect(growing, 20.0)[0] is False
    assert is_leak_suspect(growing[:2], 1.0)[0] is False  # two samples are not a trend
    flat = [(0, 50.0), (10, 50.0), (20, 50.1), (30, 50.0)]
    assert is_leak_suspect(flat, 0.5)[0] is False
    spike = [(0, 50.0), (10, 80.0), (20, 60.0), (30, 55.0)]  # one jump then falling
    assert is_leak_suspect(spike, 1.0)[0] is False
    # a burst caught by the last sample only (seen in the lab: 20.85, 20.9, 27.06 MB, 2 s apart)
    burst_last = [(0, 20.85), (2, 20.9), (4, 27.06)]
    assert is_leak_suspect(burst_last, 10.0) == (False, pytest.approx(93.15))
    burst_first = [(0, 20.0), (2, 26.0), (4, 26.1)]  # or by the first sample's successor only
    assert is_leak_suspect(burst_first, 10.0)[0] is False
    leak = [(0, 100.0), (2, 108.0), (4, 116.0)]  # the lab's injected leak: 4 MB/s
    assert is_leak_suspect(leak, 10.0) == (True, pytest.approx(240.0))
    assert is_leak_suspect(leak, 10.0, min_growth_mb=5.0)[0] is True
    # two samples of a burst (seen in the lab: 20.79 -> 23.29 MB in 4 s): below memory_probe's 5 MB floor
    drift = [(0, 20.79), (2, 22.05), (4, 23.29)]
    assert is_leak_suspect(drift, 10.0, min_growth_mb=1.0)[0] is True
    assert is_leak_suspect(drift, 10.0, min_growth_mb=5.0)[0] is False


def test_parse_oom_kills():
    records = [
        "6,100,5000000,-;Out of memory: Killed process 4242 (python3) total-vm:500000kB, anon-rss:61440kB, file-rss:0kB",
        "6,101,6000000,-;Memory cgroup out of memory: Killed process 77 (java) total-vm:1kB, anon-rss:2048kB, file-rss:0kB",
        "6,102,1000000,-;Out of memory: Killed process 1 (old) anon-rss:1kB",
        "6,103,7000000,-;eth0: link up",
    ]
    kills = parse_oom_kills(records, boot_time=1000.0, since=1002.0)
    assert [(k["pid"], k["name"], k["cgroup"], k["anon_rss_mb"], k["time"]) for k in kills] == [
        (4242, "python3", False, 60.0, 1005.0), (77, "java", True, 2.0, 1006.0)]


def test_redis_logic():
    assert ping_stats([3.0, 1.0, 2.0, 10.0]) == dict(min=1.0, median=2.5, max=10.0)
    assert ping_stats([]) == dict(min=None, median=None, max=None)
    th = dict(memory_degraded_pct=90.0, slow_ms=50.0)
    assert classify_redis(dict(used_memory=95, maxmemory=100, role="master"), dict(median=1.0), th)[0] == "degraded"
    assert classify_redis(dict(used_memory=95, maxmemory=0, role="master"), dict(median=1.0), th)[0] == "healthy"
    assert classify_redis(dict(used_memory=1, maxmemory=100), dict(median=80.0), th)[0] == "degraded"


def test_redis_error_kinds():
    import redis
    assert classify_error(redis.AuthenticationError("invalid password"))[0] == "auth_failed"
    assert classify_error(redis.ResponseError("NOAUTH Authentication required."))[0] == "auth_failed"
    assert classify_error(redis.ConnectionError("Error 111 connecting. Connection refused."))[0] == "unreachable"
    assert classify_error(redis.TimeoutError("Timeout connecting to server"))[0] == "timeout"
