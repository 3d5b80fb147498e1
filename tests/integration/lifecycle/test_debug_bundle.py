"""The debug bundle: canary secrets planted in env, config and logs never reach the bundle or the output."""

import json
import os
import stat
import tarfile

from ..http_fixtures import LoopbackServer

ID = "incident-2026-11-26-140311"
CANARIES = {
    "log-bearer": "cnry1bearerTOKENvalue",
    "log-dsn": "cnry2dsnpass",
    "log-anthropic": "sk-ant-api03-cnry3AAAABBBBCCCC",
    "log-openai-key": "cnry4openaikey",
    "env-file-redis": "cnry5redispass",
    "env-file-dsn": "cnry6dbpass",
    "env-anthropic": "sk-ant-api03-cnry7DDDDEEEEFFFF",
    "env-secret": "cnry8jwtsecret",
    "health-json": "cnry9healthpw",
    "metrics-token": "cnry10metricstoken",
}


def plant(tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "app.log").write_text(
        "2026-11-26 14:00:01 INFO started\n"
        "2026-11-26 14:00:02 DEBUG outgoing headers Authorization: Bearer %s\n"
        "2026-11-26 14:00:03 ERROR cannot connect to postgresql://reflexion:%s@postgres:5432/reflexion\n"
        "2026-11-26 14:00:04 ERROR anthropic rejected key %s\n"
        "2026-11-26 14:00:05 WARNING config OPENAI_API_KEY=%s\n"
        % (CANARIES["log-bearer"], CANARIES["log-dsn"], CANARIES["log-anthropic"], CANARIES["log-openai-key"])
    )
    (logs / "app.log.1.gz").write_bytes(b"not read")
    project = tmp_path / "deploy"
    project.mkdir()
    (project / ".env").write_text(
        "LLM_PROVIDER=openai\nREDIS_PASSWORD=%s\nDATABASE_URL=postgresql://reflexion:%s@postgres/reflexion\n"
        % (CANARIES["env-file-redis"], CANARIES["env-file-dsn"])
    )
    return logs, project


def run_collect(run_playbook, tmp_path, server, extra=None, args=("-v",)):
    logs, project = plant(tmp_path)
    ev = {
        "incident_id": ID,
        "reflexion_incident_dir": str(tmp_path / "incidents"),
        "debug_bundle_remote_dir": str(tmp_path / "remote"),
        "debug_bundle_log_dir": str(logs),
        "debug_bundle_compose_project_dir": str(project),
        "debug_bundle_compose_project_name": "lifecycle-test-none",
        "debug_bundle_health_url": server.base + "/health",
        "debug_bundle_metrics_url": server.base + "/metrics",
    }
    ev.update(extra or {})
    env = {"ANTHROPIC_API_KEY": CANARIES["env-anthropic"], "JWT_SECRET": CANARIES["env-secret"]}
    return run_playbook("playbooks/collect_debug_info.yml", extra_vars=ev, args=list(args), env=env)


def routes():
    return {
        "/health": (
            200,
            {"status": "healthy", "components": {"db": {"status": "healthy", "dsn_password": CANARIES["health-json"]}}},
            0,
        ),
        "/metrics": (200, ("reflexion_requests_total 12\n# scraped with token=%s\n" % CANARIES["metrics-token"]).encode(), 0),
    }


def bundle_files(tmp_path):
    path = tmp_path / "incidents" / ID / "debug-bundle-localhost.tar.gz"
    assert path.exists()
    out = {}
    with tarfile.open(str(path), "r:gz") as tar:
        for m in tar.getmembers():
            out[m.name.split("/", 1)[1]] = tar.extractfile(m).read().decode("utf-8", "replace")
    return path, out


def test_no_canary_leaves_the_host(run_playbook, tmp_path):
    with LoopbackServer(routes()) as server:
        proc = run_collect(run_playbook, tmp_path, server)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    path, files = bundle_files(tmp_path)
    assert stat.S_IMODE(os.stat(str(path)).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(str(path.parent)).st_mode) == 0o700
    everything = "\n".join(files.values())
    found = [k for k, v in CANARIES.items() if v in everything or v in output]
    assert found == []
    manifest = json.loads(files["manifest.json"])
    collected = {c["name"]: c for c in manifest["collected"]}
    # the planted sources really were collected (and redacted), not just missing
    for name in ("uname", "df", "environment", "app-logs", "compose-config-env", "health-detailed", "metrics"):
        assert name in collected, (name, manifest["failed"])
    assert "14:00:01 INFO started" in files["app-logs.txt"]
    assert "app.log.1.gz" not in files["app-logs.txt"]
    assert "LLM_PROVIDER=openai" in files["compose-config-env.txt"]
    assert collected["app-logs"]["redactions"] >= 4
    assert collected["compose-config-env"]["redactions"] >= 2
    assert collected["environment"]["redactions"] >= 2
    assert manifest["redactions"] >= 10
    assert "Linux" in files["uname.txt"]
    # the compose project does not exist: those items failed, and that was not fatal
    failed = {f["name"] for f in manifest["failed"]}
    assert "pg-stat-activity" in failed and "redis-info" in failed
    assert "collected" in output and "redacted" in output


def test_second_run_is_idempotent_and_size_cap(run_playbook, tmp_path):
    with LoopbackServer(routes()) as server:
        first = run_collect(
            run_playbook,
            tmp_path,
            server,
            extra={
                "debug_bundle_only": ["uname", "app-logs", "df"],
                "debug_bundle_max_item_kb": 1,
                "debug_bundle_max_bundle_mb": 0,
            },
            args=(),
        )
        assert first.returncode == 0, first.stdout + first.stderr
        _path, files = bundle_files(tmp_path)
        manifest = json.loads(files["manifest.json"])
        # a 0 MiB cap leaves every item out, and says so
        assert manifest["collected"] == []
        assert {s["name"] for s in manifest["skipped"]} == {"uname", "app-logs", "df"}
        second = run_playbook(
            "playbooks/collect_debug_info.yml",
            extra_vars={
                "incident_id": ID,
                "reflexion_incident_dir": str(tmp_path / "incidents"),
                "debug_bundle_remote_dir": str(tmp_path / "remote"),
                "debug_bundle_only": ["uname"],
            },
        )
    assert second.returncode == 0, second.stdout + second.stderr
    assert "changed=0" in second.stdout


def test_disk_full_is_a_clear_result(run_playbook, tmp_path):
    with LoopbackServer(routes()) as server:
        proc = run_collect(
            run_playbook, tmp_path, server, extra={"debug_bundle_min_free_mb": 1 << 40, "debug_bundle_only": ["uname"]}, args=()
        )
    assert proc.returncode != 0
    assert "disk full" in proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr
    assert not os.listdir(str(tmp_path / "remote"))
