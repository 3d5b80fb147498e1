"""Host state after the scale role's converge: three healthy app replicas, each published, and no lock left."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared_mitigation"))
from testinfra_state import http_get, project_containers  # noqa: E402

PROJECT = "rxi-mit-scale"
PORTS = range(18710, 18715)  # the publish range of molecule.yml (127.0.0.1:18710-18714:8000)


def test_three_app_replicas_run_and_are_healthy(host):
    apps = project_containers(host, PROJECT, "app")
    assert len(apps) == 3, [c["Name"] for c in apps]
    for info in apps:
        assert info["State"]["Running"], info["Name"]
        assert info["State"]["Health"]["Status"] == "healthy", info["Name"]
    dbs = project_containers(host, PROJECT, "db")
    assert len(dbs) == 1  # scaling the app leaves the database alone


def test_each_replica_is_published_and_answers(host):
    apps = project_containers(host, PROJECT, "app")
    ports = sorted(int(b["HostPort"]) for c in apps for b in c["NetworkSettings"]["Ports"]["8000/tcp"]
                   if b["HostIp"] == "127.0.0.1")
    assert len(ports) == 3 and set(ports) <= set(PORTS), ports
    for port in ports:
        assert host.socket("tcp://127.0.0.1:%d" % port).is_listening
        status, body = http_get(host, "http://127.0.0.1:%d/health" % port)
        assert status == 200 and body["status"] == "healthy", (port, body)


def test_the_mitigation_lock_was_released(host):
    assert not host.file("/var/lib/reflexion-incident/locks/%s.lock" % PROJECT).exists
