"""`make bench` cannot rot unseen: every bench/bench_*.py runs once in its quick mode (tiny inputs, one run)
as a process, exits 0 and writes its result file with the expected keys into tmp_path.

No timing is asserted: only that each benchmark completes. The tracked figures (bench/results/*.json,
docs/benchmarks.md) must be left alone by a quick run. PostgreSQL and Redis are throw-away loopback servers
(tests/integration/pg_redis_servers.py), the HTTP target a local server; no Docker engine is needed, except by
the one optional case that runs memory_probe's container path on a single container and bench_fleet_ssh, whose quick
mode triages one SSH host in a container.
"""

import glob
import hashlib
import json
import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BENCH = os.path.join(ROOT, "bench")
BIN = os.path.dirname(sys.executable)

# each benchmark, the rows' case names it must produce, and its own run-level keys
EXPECTED = {
    "health_probe": (["1 target", "2 targets"], ["runs"]),
    "log_grep": (["full scan 4 MB, errors", "full scan 4 MB, network", "gzip 2 MB uncompressed, errors",
                  "since 1h: 8 MB vs 4 MB log", "since 1h on 8 MB vs full grep"], ["runs", "cpus"]),
    "memory_probe": (None, ["runs"]),
    "pg_activity": (["pg_activity_probe incl. connect, 2 sessions"], ["runs"]),
    "redis_probe": (["redis_probe (5 pings + INFO) vs redis-cli ping"], ["runs"]),
    "triage": (["triage on localhost vs one-task ping playbook"], ["runs", "forks", "note"]),
    # one SSH host in a container (the lab fleet's host image): needs the Docker engine, like the memory_probe case below
    "fleet_ssh": (["controller CPU per host, 1 host(s)", "wall vs CPU-bound limit, 1 host(s)"], ["runs", "cores", "note"]),
}
ROW_KEYS = ("case", "ours_s", "ref_s", "ratio")


def tracked_figures():
    """Content hashes of the tracked figures a quick run must never overwrite."""
    paths = sorted(glob.glob(os.path.join(BENCH, "results", "*.json"))) + [os.path.join(ROOT, "docs", "benchmarks.md")]
    out = {}
    for path in paths:
        with open(path, "rb") as f:
            out[path] = hashlib.sha256(f.read()).hexdigest()
    return out


def run(args, out_dir, timeout=150):
    env = dict(os.environ, PATH=BIN + os.pathsep + os.environ.get("PATH", ""),
               ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"))
    env.pop("BENCH_RESULTS_DIR", None)
    proc = subprocess.run([sys.executable] + args + ["--quick", "--out-dir", str(out_dir)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout, check=False)
    output = "%s\n%s" % (proc.stdout[-3000:], proc.stderr[-3000:])
    assert proc.returncode == 0, "%s failed (rc=%d)\n%s" % (args, proc.returncode, output)
    return proc


def load(out_dir, name):
    path = os.path.join(str(out_dir), "%s.json" % name)
    assert os.path.isfile(path), "no result file %s" % path
    with open(path) as f:
        return json.load(f)


def check_result(data, name):
    cases, keys = EXPECTED[name]
    assert data["quick"] is True
    for key in keys:
        assert key in data, (name, key)
    assert data["rows"], name
    for row in data["rows"]:
        for key in ROW_KEYS:
            assert key in row, (name, row.get("case"), key)
        assert isinstance(row["ours_s"], float) and row["ours_s"] > 0, row
        assert isinstance(row["ref_s"], float) and row["ref_s"] > 0, row
    if cases is not None:
        assert [row["case"] for row in data["rows"]] == cases


def test_every_benchmark_is_covered():
    scripts = sorted(os.path.basename(p)[len("bench_"):-3] for p in glob.glob(os.path.join(BENCH, "bench_*.py")))
    assert scripts == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_benchmark_quick_mode_completes_and_writes_its_result(name, tmp_path):
    before = tracked_figures()
    run([os.path.join(BENCH, "bench_%s.py" % name)], tmp_path)
    data = load(tmp_path, name)
    check_result(data, name)
    if name == "memory_probe":  # quick: no container, the task vs the user's shell task only
        assert [row["case"].split(",")[0] for row in data["rows"]] == ["memory_probe task vs the shell task"]
        row = data["rows"][0]
        assert row["ping_s"] > 0 and row["module_s"] > 0 and row["inproc_s"] > 0
        assert row["ref"] == "ansible.builtin.shell: ps aux --sort=-%mem | head"
    if name == "log_grep":  # the counts are checked against grep inside the benchmark; they must be real
        assert all(row["matches"] > 0 for row in data["rows"])
        full = [row for row in data["rows"] if row["case"].startswith(("full scan", "gzip"))]
        assert len(full) == 3
        for row in full:  # as a process: the Ansible task, Ansible's fixed cost (ping) beside it, the module alone
            assert row["ping_s"] > 0 and row["module_s"] > 0 and row["python_s"] > 0
            assert row["net_s"] == row["ours_s"] - row["ping_s"]
            assert row["engine"] == "grep"  # the .gz too: zlib in a thread feeds grep through a pipe
    if name == "fleet_ssh":  # both terms of the limit were measured (the controller's tree, the host's cgroup)
        row = data["rows"][1]
        assert row["controller_cpu_s"] > 0 and row["hosts_cpu_s"] > 0 and row["cores"] >= 1
        assert abs(row["limit_s"] - (row["controller_cpu_s"] + row["hosts_cpu_s"]) / row["cores"]) < 1e-9
        left = subprocess.run(["docker", "ps", "-aq", "--filter", "name=rxi-fleetssh-"], capture_output=True, text=True,
                              check=False).stdout.split()
        assert left == []
    assert sorted(os.listdir(str(tmp_path))) == ["%s.json" % name]
    assert tracked_figures() == before, "a quick run overwrote bench/results or docs/benchmarks.md"


def test_run_py_quick_renders_into_the_out_dir(tmp_path):
    before = tracked_figures()
    proc = run([os.path.join(BENCH, "run.py"), "--only", "health_probe"], tmp_path)
    assert "bench health_probe: rc=0" in proc.stdout
    check_result(load(tmp_path, "health_probe"), "health_probe")
    with open(os.path.join(str(tmp_path), "benchmarks.md")) as f:
        doc = f.read()
    assert "## health_probe" in doc and "| 2 targets |" in doc
    assert tracked_figures() == before


def docker_image_present(image):
    if not shutil.which("docker"):
        return False
    try:
        return subprocess.run(["docker", "image", "inspect", image], capture_output=True, timeout=20,
                              check=False).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def test_memory_probe_container_path_on_one_container(tmp_path):
    """The container case needs the engine: one small container (`sleep infinity`, 32 MB), removed at the end."""
    # make test starts the engine and seeds the image (scripts/seed_images.sh): missing is a failure, not a skip
    assert docker_image_present("debian:bookworm-slim"), "needs a Docker engine with the seeded debian:bookworm-slim image"
    run([os.path.join(BENCH, "bench_memory_probe.py"), "--containers", "1"], tmp_path)
    data = load(tmp_path, "memory_probe")
    check_result(data, "memory_probe")
    assert [row["case"] for row in data["rows"]][1] == "container memory, 1 containers vs 1, as a process"
    assert data["rows"][0]["ref"].endswith("docker stats --no-stream")
    left = subprocess.run(["docker", "ps", "-aq", "--filter", "name=rxi-perf-mem-"], capture_output=True, text=True,
                          check=False).stdout.split()
    assert left == []
