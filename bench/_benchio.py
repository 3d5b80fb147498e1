"""What every bench/bench_*.py shares: the quick mode and where the result file goes.

--quick            tiny inputs and one run: proves the benchmark still completes and writes its result
                   (tests/integration/test_bench_quick.py runs each script so in CI); its figures mean nothing.
--out-dir DIR      where <name>.json is written; also BENCH_RESULTS_DIR. Default: bench/results (the tracked
                   figures that docs/benchmarks.md is rendered from) for a full run, tests/output/bench-quick
                   for a quick run, so a quick run never overwrites the tracked figures.
"""

import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "bench", "results")
QUICK_RESULTS = os.path.join(ROOT, "tests", "output", "bench-quick")


def add_arguments(parser):
    parser.add_argument("--quick", action="store_true",
                        help="tiny inputs, one run: checks that the benchmark completes (figures are meaningless)")
    parser.add_argument("--out-dir", default=os.environ.get("BENCH_RESULTS_DIR") or None,
                        help="directory for the result file (default: bench/results, or tests/output/bench-quick "
                             "with --quick; env BENCH_RESULTS_DIR)")


def parse(parser, **quick):
    """Parse the command line; with --quick, ``quick`` replaces the defaults of the size and run options
    (an option given explicitly still wins, e.g. ``--quick --containers 1``)."""
    add_arguments(parser)
    args, _rest = parser.parse_known_args()
    if args.quick:
        parser.set_defaults(**quick)
    return parser.parse_args()


def write_result(args, name, data):
    """Write ``data`` to <out-dir>/<name>.json and return the path."""
    out_dir = args.out_dir or (QUICK_RESULTS if args.quick else RESULTS)
    os.makedirs(out_dir, exist_ok=True)
    if args.quick:
        data = dict(data, quick=True)
    data = dict(data, loadavg=[round(x, 1) for x in os.getloadavg()])  # the machine is shared: say how busy it was
    path = os.path.join(out_dir, "%s.json" % name)
    with open(path, "w") as f:
        json.dump(data, f, indent=2)
    print("wrote %s" % path)
    return path


# --- what a user waits for: one Ansible task as a process, and Ansible's own fixed cost beside it ----------

BIN = os.path.join(ROOT, ".venv", "bin")
LOCAL_INVENTORY = os.path.join(ROOT, "inventories", "local")


def ansible_env():
    env = dict(os.environ)
    env.update(ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               PATH=os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", ""))
    env.pop("ANSIBLE_CALLBACKS_ENABLED", None)
    return env


def one_task_playbook(tmp, name, module, args):
    """Write a one-task playbook (``module`` with ``args``, on localhost) into ``tmp``; return its path. The
    arguments are written as JSON (a subset of YAML) and hold no Jinja."""
    path = os.path.join(tmp, "%s.yml" % name)
    with open(path, "w") as f:
        f.write("---\n- name: %s\n  hosts: all\n  gather_facts: false\n  tasks:\n    - name: %s\n      %s: %s\n"
                % (name, name, module, json.dumps(args)))
    return path


def run_playbook(path, inventory=LOCAL_INVENTORY):
    """Wall time of ``ansible-playbook -i inventory path`` as a user runs it; SystemExit if it fails."""
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", inventory, path]
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=ansible_env(), capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit("playbook failed (rc=%d): %s\n%s" % (proc.returncode, path, proc.stdout[-3000:]))
    return wall


def interleaved(commands, runs, warmup=True):
    """``commands``: name -> callable returning nothing. Runs each once as a warm-up (unless ``warmup`` is
    false: the quick mode), then ``runs`` rounds in turn (so that load from elsewhere on the machine hits every
    side alike); returns name -> median seconds."""
    times = {name: [] for name in commands}
    for fn in commands.values() if warmup else ():
        fn()
    for _round in range(runs):
        for name, fn in commands.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def ping_playbook(tmp):
    """The fixed cost of one Ansible task: a one-task ansible.builtin.ping playbook on localhost."""
    return one_task_playbook(tmp, "ping", "ansible.builtin.ping", {})
