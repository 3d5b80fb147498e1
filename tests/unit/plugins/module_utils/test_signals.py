"""Pure parsers of the triage signals: df arithmetic and mounts, container inspect -> state, service verdicts,
git log records, and pg holders grouping."""

import calendar

from ansible_collections.reflexion.incident.plugins.module_utils._probe_pg import group_holders
from ansible_collections.reflexion.incident.plugins.module_utils._signals import (
    container_state,
    disk_usage,
    docker_time,
    human_size,
    mount_of,
    parse_epoch,
    parse_git_log,
    parse_mounts,
    service_verdicts,
    split_docker_timestamp,
)

MOUNTS = """\
/dev/vda / ext4 rw,relatime 0 0
proc /proc proc rw 0 0
tmpfs /tmp tmpfs rw 0 0
/dev/vdb /var/lib/postgresql ext4 rw 0 0
/dev/vdc /var/lib/postgresql/data\\040x xfs rw 0 0
overlay /var/lib/docker/overlay2/abc/merged overlay rw 0 0
"""


def test_parse_mounts_unescapes_and_longest_prefix_wins():
    mounts = parse_mounts(MOUNTS)
    assert mounts[4] == ("/dev/vdc", "/var/lib/postgresql/data x", "xfs")
    assert mount_of("/var/lib/postgresql/data", mounts)[1] == "/var/lib/postgresql"
    assert mount_of("/var/lib/postgresql/data x/base", mounts)[1] == "/var/lib/postgresql/data x"
    assert mount_of("/var/lib/postgresqlx", mounts)[1] == "/"  # a prefix of the name is not the mount
    assert mount_of("/tmp", mounts)[0] == "tmpfs"
    assert mount_of("/opt/reflexion", mounts) == ("/dev/vda", "/", "ext4")
    assert mount_of("/x", []) is None


def test_parse_mounts_last_of_a_stacked_mount_point_wins():
    mounts = parse_mounts("/dev/a /srv ext4 rw 0 0\n/dev/b /srv xfs rw 0 0\n/dev/r / ext4 rw 0 0\n")
    assert mount_of("/srv/x", mounts)[0] == "/dev/b"


def test_disk_usage_is_dfs_use_percent():
    # 1000 blocks of 4 KiB, 100 free, 50 of them reserved for root: used 900, avail 50 -> 900/950 = 94.74 -> 94.8 (up)
    u = disk_usage(4096, 1000, 100, 50, files=1000, ffree=400, favail=400)
    assert u["used_pct"] == 94.8
    assert u["size_mb"] == round(4096000 / 1048576.0, 1)
    assert u["avail_mb"] == round(50 * 4096 / 1048576.0, 1)
    assert u["inodes_used_pct"] == 60.0 and u["inodes_free"] == 400
    empty = disk_usage(4096, 0, 0, 0)
    assert empty["used_pct"] is None and empty["inodes"] is None and empty["inodes_used_pct"] is None
    assert disk_usage(4096, 1000, 1000, 1000)["used_pct"] == 0.0
    assert disk_usage(1, 100, 0, 0)["used_pct"] == 100.0


def test_human_size():
    assert human_size(78119.4) == "76.3G"
    assert human_size(512) == "512.0M"
    assert human_size(3 * 1024 * 1024) == "3.0T"
    assert human_size(None) == "?"


def test_docker_time():
    base = calendar.timegm((2026, 11, 27, 3, 1, 12, 0, 0, 0))
    assert docker_time("2026-11-27T03:01:12.500000001Z") == base + 0.500000001
    assert docker_time("2026-11-27T04:01:12+01:00") == base
    assert docker_time("0001-01-01T00:00:00Z") is None
    assert docker_time("") is None and docker_time(None) is None and docker_time("yesterday") is None


def inspect(name="p-app-1", service="app", status="running", restarts=0, exit_code=0, oom=False, health=None,
            started="2026-11-27T03:01:12.5Z", policy="unless-stopped"):
    state = {"Status": status, "Running": status in ("running", "restarting"), "Restarting": status == "restarting",
             "OOMKilled": oom, "ExitCode": exit_code, "Error": "", "StartedAt": started,
             "FinishedAt": "0001-01-01T00:00:00Z"}
    if health:
        state["Health"] = {"Status": health, "FailingStreak": 3 if health == "unhealthy" else 0,
                           "Log": [{"Output": "curl: (7) Failed to connect\n", "ExitCode": 1}]}
    return {"Id": "3f2a9c1b7d0e" + "0" * 52, "Name": "/" + name, "RestartCount": restarts, "State": state,
            "Config": {"Image": "reflexion:1.1", "Labels": {"com.docker.compose.project": "p",
                                                            "com.docker.compose.service": service,
                                                            "com.docker.compose.container-number": "1"}},
            "HostConfig": {"RestartPolicy": {"Name": policy, "MaximumRetryCount": 0}}}


NOW = calendar.timegm((2026, 11, 27, 4, 0, 0, 0, 0, 0))
HOUR_AGO = NOW - 3600


def test_container_state_summary():
    c = container_state(inspect(health="unhealthy", restarts=4), NOW, HOUR_AGO)
    assert c["name"] == "p-app-1" and c["id"] == "3f2a9c1b7d0e" and c["service"] == "app" and c["number"] == "1"
    assert c["running"] is True and c["health"] == "unhealthy" and c["health_failing_streak"] == 3
    assert c["health_output"] == "curl: (7) Failed to connect"
    assert c["restart_count"] == 4 and c["restart_policy"] == "unless-stopped"
    assert c["restarted_recently"] is True  # started 58 min ago, restarted by its policy
    assert c["up_seconds"] == round(NOW - docker_time("2026-11-27T03:01:12.5Z"), 1)
    assert c["finished_at"] is None  # the zero time means never
    old = container_state(inspect(restarts=4, started="2026-11-26T01:00:00Z"), NOW, HOUR_AGO)
    assert old["restarted_recently"] is False  # restarted, but long ago
    never = container_state(inspect(restarts=0), NOW, HOUR_AGO)
    assert never["restarted_recently"] is False and never["health"] is None and never["health_output"] is None
    dead = container_state(inspect(status="exited", exit_code=137, oom=True), NOW, HOUR_AGO)
    assert dead["running"] is False and dead["exit_code"] == 137 and dead["oom_killed"] is True
    assert dead["up_seconds"] is None
    restarting = container_state(inspect(status="restarting", restarts=9), NOW, HOUR_AGO)
    assert restarting["running"] is False and restarting["restarting"] is True
    bare = container_state({"Id": "abc", "State": {}}, NOW, HOUR_AGO)
    assert bare["name"] == "abc" and bare["service"] is None and bare["state"] == "unknown"


def states(*docs):
    return [container_state(d, NOW, HOUR_AGO) for d in docs]


def test_service_verdicts():
    cs = states(inspect("p-app-1", health="healthy"), inspect("p-app-2", status="exited", exit_code=1),
                inspect("p-migrate-1", "migrate", status="exited", exit_code=0),
                inspect("p-worker-1", "worker", status="exited", exit_code=3),
                inspect("p-redis-1", "redis", oom=True, restarts=2),
                inspect("p-db-1", "db", status="restarting", restarts=7))
    services, found = service_verdicts(cs, expected=("app", "ghost"))
    assert services["app"]["running"] == 1 and services["app"]["healthy"] == 1 and services["app"]["exit_codes"] == [1]
    assert services["app"]["evidence"] == ["p-app-2 exited with code 1"]
    assert services["migrate"]["evidence"] == [] and services["migrate"]["completed"] is True  # a finished job
    assert services["worker"]["evidence"] == ["no running container (p-worker-1 exited exit 3)"]
    assert services["ghost"]["evidence"] == ["no container (expected)"] and services["ghost"]["expected"] is True
    assert services["redis"]["oom_killed"] == 1 and services["redis"]["restarts"] == 2
    assert "p-redis-1 was OOM-killed" in services["redis"]["evidence"]
    assert "p-redis-1 restarted 2 time(s), last start 2026-11-27T03:01:12.5Z" in services["redis"]["evidence"]
    assert services["db"]["running"] == 0
    assert "p-db-1 restarting (restart count 7)" in services["db"]["evidence"]
    statuses = dict((reason.split(":")[0], status) for status, reason in found)
    assert statuses["service worker"] == "down" and statuses["service ghost"] == "down"
    assert statuses["service redis"] == "degraded"
    # an expected service whose containers all exited 0 is still down
    services, found = service_verdicts(states(inspect("p-migrate-1", "migrate", status="exited")), ("migrate",))
    assert found and found[0][0] == "down"
    assert service_verdicts([], ())[0] == {}


def test_split_docker_timestamp():
    expected = ("2026-11-27T03:01:12.361232417Z", "ERROR boom")
    assert split_docker_timestamp("2026-11-27T03:01:12.361232417Z ERROR boom") == expected
    assert split_docker_timestamp("ERROR no stamp") == (None, "ERROR no stamp")


def test_parse_git_log():
    text = ("3f2a9c1b7d0e3f2a9c1b7d0e3f2a9c1b7d0e3f2a\x1f3f2a9c1\x1f1764212472\x1fAda\x1fHEAD -> main, tag: v1.1.0"
            "\x1frelease 1.1.0: fix | pipes\n"
            "8be01d2000000000000000000000000000000000\x1f8be01d2\x1f1764200000\x1fBob\x1f\x1frelease 1.0.0\n"
            "garbage line\n\n")
    commits = parse_git_log(text)
    assert len(commits) == 2
    assert commits[0]["refs"] == ["HEAD -> main", "tag: v1.1.0"] and commits[0]["epoch"] == 1764212472
    assert commits[0]["oneline"] == "3f2a9c1 release 1.1.0: fix | pipes"
    assert commits[1]["refs"] == [] and commits[1]["author"] == "Bob"
    assert parse_git_log("") == []


def test_parse_epoch():
    assert parse_epoch("1764212472\n") == 1764212472
    assert parse_epoch("") is None and parse_epoch(None) is None and parse_epoch("fatal: x") is None


def row(pid, app, user="app", addr="10.0.0.7", state="idle", db="reflexion"):
    return {"pid": pid, "application_name": app, "user": user, "client_addr": addr, "state": state, "database": db}


def test_group_holders_finds_nameless_clients_biggest_first():
    rows = ([row(i, "") for i in range(1, 6)] + [row(10, "", state="idle in transaction", db="other")]
            + [row(20, "reflexion-app"), row(21, "reflexion-app", state="active")]
            + [row(30, "", user="postgres", addr=None)] + [row(99, "reflexion.incident.pg_activity_probe")]
            + [row(40, None, addr="10.0.0.8")])
    holders, other = group_holders(rows, own_pid=99)
    assert other == 0
    assert holders[0] == {"application_name": "", "user": "app", "client_addr": "10.0.0.7", "count": 6,
                          "by_state": {"idle": 5, "idle in transaction": 1}, "databases": ["other", "reflexion"]}
    assert holders[1]["application_name"] == "reflexion-app" and holders[1]["count"] == 2
    keys = [(h["application_name"], h["user"], h["client_addr"]) for h in holders]
    assert ("", "postgres", None) in keys and ("", "app", "10.0.0.8") in keys  # None app name is the empty one
    assert "reflexion.incident.pg_activity_probe" not in [h["application_name"] for h in holders]
    capped, rest = group_holders(rows, own_pid=99, cap=2)
    assert len(capped) == 2 and rest == 2
    assert group_holders([], None) == ([], 0)
