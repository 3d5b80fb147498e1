"""Host state after the memory_relief role's converge: the app (the top consumer, not the db) restarted, its leak is gone."""

import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared_mitigation"))
from testinfra_state import container, http_get  # noqa: E402

PROJECT = "rxi-mit-memory-relief"
UNITS = {"B": 1, "KIB": 1024, "MIB": 1024 ** 2, "GIB": 1024 ** 3, "KB": 1000, "MB": 1000 ** 2, "GB": 1000 ** 3}


def test_the_app_not_the_db_was_restarted(host):
    app, db = container(host, PROJECT + "-app-1"), container(host, PROJECT + "-db-1")
    assert app["State"]["Running"] and db["State"]["Running"]
    assert app["State"]["StartedAt"] > db["State"]["StartedAt"]


def test_the_leaked_memory_is_gone(host):
    status, metrics = http_get(host, "http://127.0.0.1:18706/metrics")
    assert status == 200
    assert re.search(r"(?m)^reflexion_leak_bytes 0$", metrics), metrics
    usage = host.check_output("docker stats --no-stream --format '{{.MemUsage}}' %s", PROJECT + "-app-1")
    number, unit = re.match(r"\s*([0-9.]+)\s*([A-Za-z]+)", usage.split("/")[0]).groups()
    assert float(number) * UNITS[unit.upper()] < 60 * 1024 ** 2, usage  # it held 100 MiB before the restart


def test_the_app_listens_again(host):
    assert host.socket("tcp://127.0.0.1:18706").is_listening


def test_the_mitigation_lock_was_released(host):
    assert not host.file("/var/lib/reflexion-incident/locks/%s.lock" % PROJECT).exists
