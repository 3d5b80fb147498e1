"""Benchmark memory_probe as a user runs it: an Ansible task against the task a user would write instead, and
with 50 containers against 1, in one run.

Usage: .venv/bin/python bench/bench_memory_probe.py [--runs 7] [--procs 500] [--containers 50] [--quick] [--out-dir DIR]
--quick: 5 extra processes, one run, no container (--containers 0 skips the container cases; --quick --containers 1
runs them with one container, the lightest check of that path).

What is measured (issue 20), medians of --runs rounds, every side interleaved:
  * as a process, what a user waits for: a one-task playbook run by ansible-playbook on localhost (`ours_s`),
    and Ansible's fixed cost measured in the same rounds as a one-task ansible.builtin.ping playbook (`ping_s`).
  * the reference, also a one-task playbook: `ansible.builtin.shell: ps aux --sort=-%mem | head` plus
    `docker stats --no-stream` on the same containers (without containers: the ps pipeline only).
  * second column, in-process: MemoryProbe(params).run() inside one Python process (the module's own work),
    and the module alone as a process (python plugins/modules/memory_probe.py args.json).
Targets: the memory_probe task <= 1.0x the shell task; 50 containers <= 1.5x 1 container, as a process: the module
alone (python plugins/modules/memory_probe.py), so that Ansible's fixed cost neither hides the probe's own growth
nor, subtracted from both sides, leaves a noisy near-zero denominator; the task figures and ping are shown beside.
Containers are `sleep infinity` from debian:bookworm-slim named rxi-perf-mem-*, removed at the end.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "collections"))
MODULE = os.path.join(ROOT, "plugins", "modules", "memory_probe.py")
ENV = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "collections"))

import _benchio  # noqa: E402

from ansible_collections.reflexion.incident.plugins.module_utils._probe_memory import MemoryProbe, argument_spec  # noqa: E402

# every option's default as AnsibleModule fills it in (an option added later is not missed), then the bench's own
DEFAULTS = {name: spec.get("default") for name, spec in argument_spec().items()}
DEFAULTS.update(top=10, process_pattern=None, containers=False, docker_host="unix:///var/run/docker.sock",
                container_names=[], compose_project=None, samples=1, interval=0.0, leak_threshold=10.0, oom_since=60.0,
                used_degraded_pct=90.0, used_down_pct=98.0, max_workers=16, fail_on_unhealthy=False)


def params(**kw):
    p = dict(DEFAULTS)
    p.update(kw)
    return p


def playbook_runner(tmp, name, module, args):
    path = _benchio.one_task_playbook(tmp, name, module, args)
    return lambda: _benchio.run_playbook(path)


def module_runner(tmp, name, args):
    path = os.path.join(tmp, "%s.json" % name)
    with open(path, "w") as f:
        json.dump({"ANSIBLE_MODULE_ARGS": args}, f)
    return lambda: subprocess.run([sys.executable, MODULE, path], env=ENV, capture_output=True, check=True)


def user_task_row(tmp, names, nproc, runs, warmup):
    """memory_probe as a task vs the shell task a user writes instead, on the same host and containers."""
    shell = "ps aux --sort=-%mem | head"
    probe_args = {"top": 10, "containers": bool(names), "container_names": names}
    if names:
        shell += " && docker stats --no-stream " + " ".join(names)
    inproc_params = params(containers=bool(names), container_names=names)
    med = _benchio.interleaved({
        "ping": playbook_runner(tmp, "ping", "ansible.builtin.ping", {}),
        "ours": playbook_runner(tmp, "memory_probe", "reflexion.incident.memory_probe", probe_args),
        "ref": playbook_runner(tmp, "shell", "ansible.builtin.shell", {"cmd": shell}),
        "module": module_runner(tmp, "user_task", probe_args),
        "inproc": lambda: MemoryProbe(inproc_params).run(),
        "ref_process": lambda: subprocess.run(shell, shell=True, capture_output=True, check=True),
    }, runs, warmup)
    net, ref_net = med["ours"] - med["ping"], med["ref"] - med["ping"]
    ref = "ansible.builtin.shell: %s" % ("ps aux --sort=-%mem | head + docker stats --no-stream" if names else
                                         "ps aux --sort=-%mem | head")
    return dict(case="memory_probe task vs the shell task, %d processes, %d container(s)" % (nproc, len(names)),
                ours_s=med["ours"], ping_s=med["ping"], net_s=net, ref=ref, ref_s=med["ref"], ref_net_s=ref_net,
                ratio=med["ours"] / med["ref"], net_ratio=net / ref_net if ref_net > 0 else None, target="<= 1.0",
                met=med["ours"] / med["ref"] <= 1.0, module_s=med["module"], inproc_s=med["inproc"],
                ref_process_s=med["ref_process"], inproc_ratio=med["inproc"] / med["ref_process"])


def containers_row(tmp, names, runs, warmup):
    """memory_probe with every container vs with one, as a task (minus ping), alone as a process, in-process."""
    many_args = {"top": 1, "containers": True, "container_names": names}
    one_args = dict(many_args, container_names=names[:1])
    many_result = MemoryProbe(params(containers=True, container_names=names, top=1)).run()
    assert len(many_result["containers"]) == len(names), many_result["containers_error"]
    many_params = params(containers=True, container_names=names, top=1)
    one_params = params(containers=True, container_names=names[:1], top=1)
    med = _benchio.interleaved({
        "ping": playbook_runner(tmp, "ping", "ansible.builtin.ping", {}),
        "many": playbook_runner(tmp, "many", "reflexion.incident.memory_probe", many_args),
        "one": playbook_runner(tmp, "one", "reflexion.incident.memory_probe", one_args),
        "module_many": module_runner(tmp, "many", many_args),
        "module_one": module_runner(tmp, "one", one_args),
        "inproc_many": lambda: MemoryProbe(many_params).run(),
        "inproc_one": lambda: MemoryProbe(one_params).run(),
    }, runs, warmup)
    net_many, net_one = med["many"] - med["ping"], med["one"] - med["ping"]
    # The verdict: the module alone as a process, 50 vs 1. The task minus ping is shown too, but its 1-container
    # side is a few hundredths of a second left over from two ~1 s playbooks: under load it can even be negative.
    ratio = med["module_many"] / med["module_one"]
    return dict(case="container memory, %d containers vs 1, as a process" % len(names), ours_s=med["module_many"],
                ref="memory_probe with 1 container (module alone as a process)", ref_s=med["module_one"],
                ratio=ratio, target=1.5, met=ratio <= 1.5, task_s=med["many"], task_one_s=med["one"], ping_s=med["ping"],
                net_s=net_many, ref_net_s=net_one, net_ratio=net_many / net_one if net_one > 0 else None,
                total_ratio=med["many"] / med["one"],
                inproc_ratio=med["inproc_many"] / med["inproc_one"], source=many_result["containers"][0]["source"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--procs", type=int, default=500)
    ap.add_argument("--containers", type=int, default=50)
    a = _benchio.parse(ap, runs=1, procs=5, containers=0)
    tmp = tempfile.mkdtemp(prefix="bench_mem_")
    sleepers = []
    names = ["rxi-perf-mem-%02d" % i for i in range(a.containers)]
    rows = []
    warmup = not a.quick
    try:
        for n in names:
            subprocess.run(["docker", "run", "-d", "--name", n, "--memory", "32m", "debian:bookworm-slim", "sleep",
                            "infinity"], capture_output=True, check=True)
        sleepers = [subprocess.Popen(["sleep", "600"]) for _dummy in range(a.procs)]
        nproc = len([d for d in os.listdir("/proc") if d.isdigit()])
        # a user's compose project: about ten containers (the lab has nine)
        rows.append(user_task_row(tmp, names[:10], nproc, a.runs, warmup))
        print(rows[-1], flush=True)
        for proc_ in sleepers:
            proc_.kill()
            proc_.wait()
        sleepers = []
        if names:  # --containers 0 (the quick default): no container case, no Docker engine needed
            rows.append(containers_row(tmp, names, a.runs, warmup))
            print(rows[-1], flush=True)
    finally:
        for proc_ in sleepers:
            proc_.kill()
            proc_.wait()
        if names:
            subprocess.run(["docker", "rm", "-f"] + names, capture_output=True, check=False)
        shutil.rmtree(tmp, ignore_errors=True)
    _benchio.write_result(a, "memory_probe", dict(runs=a.runs, rows=rows))


if __name__ == "__main__":
    main()
