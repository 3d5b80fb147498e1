"""parse_cgroup_container_id: which container a process runs in, from /proc/<pid>/cgroup text (issue 22)."""

from ansible_collections.reflexion.incident.plugins.module_utils._memory import parse_cgroup_container_id

CID = "c4d7d7c1ab7d6e4fec4469b92aaa7beb978c996bc9fe935bb7164742265ecf2e"


def test_cgroup_v1_docker_path():
    text = "12:memory:/docker/%s\n11:pids:/docker/%s\n" % (CID, CID)
    assert parse_cgroup_container_id(text) == CID


def test_cgroup_v2_systemd_scope():
    assert parse_cgroup_container_id("0::/system.slice/docker-%s.scope\n" % CID) == CID


def test_nested_engine_path_takes_the_innermost_id():
    outer = "a" * 64
    assert parse_cgroup_container_id("4:memory:/docker/%s/docker/%s\n" % (outer, CID)) == CID


def test_host_process_and_garbage_have_no_container():
    assert parse_cgroup_container_id("0::/user.slice/user-0.slice/session-1.scope\n") is None
    assert parse_cgroup_container_id("") is None
    assert parse_cgroup_container_id(None) is None
    assert parse_cgroup_container_id("0::/docker/%s0\n" % CID) is None  # 65 hex digits is not an id
