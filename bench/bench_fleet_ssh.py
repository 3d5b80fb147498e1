"""Fleet triage over SSH at the machine's limit (issue 20): what the controller spends per host, and the wall
time against the CPU-bound limit of this machine.

The hosts are SSH-only containers from the lab fleet's host image (lab/roles/fleet/files/Dockerfile: sshd, user
`ops` with passwordless sudo, python3 and the probes' Python libraries), each with its own IP on a Docker network
this benchmark creates, port 22. No deployment runs on them: every dependency of the probes is down (URLs, ports
on the host's own 127.0.0.1:1, no docker CLI), so each probe answers at once and the figures are the cost of
Ansible, SSH and the probes themselves. Each host has the same small log file (bind-mounted read-only).

The controller connects the way a user's inventory does (inventories/fleet): user ops, become with sudo, its own
ed25519 key, host keys checked strictly against a known_hosts written by ssh-keyscan, and the checkout's
ansible.cfg (pipelining, ControlMaster=auto with ControlPersist=60s, forks 50). The inventory, key and
known_hosts live in a temporary directory.

Measured in one run, for each fleet size:
- controller CPU: `ansible-playbook playbooks/triage.yml` runs as a child, and the CPU of its whole process tree
  (ansible-playbook, its forked workers, the ssh clients, and the ssh ControlMaster processes that ControlPersist
  detaches: this process is a child subreaper, so they are reparented to it and counted) is taken from
  getrusage(RUSAGE_CHILDREN) plus /proc for masters still alive. Each run starts cold: the previous run's masters
  are ended before it. The same for a one-task `ansible.builtin.ping` playbook (Ansible's fixed cost).
- hosts' CPU: each host container's cgroup CPU usage (cpuacct.usage or cpu.stat usage_usec) before and after.
- CPU-bound limit = (controller CPU + hosts' CPU) / cores; the wall time's target is <= 1.25x that limit.

--levers runs the triage at --lever-hosts hosts under each lever of issue 20 (forks, strategy free, pipelining off,
no ControlMaster, a warm ControlMaster, Mitogen when --mitogen names its unpacked wheel) and a profile (which
part of the play costs the controller per host).

Writes <out-dir>/fleet_ssh.json. Usage: python bench/bench_fleet_ssh.py [--sizes 1,10,50] [--runs 3] [--levers]
[--lever-hosts 10] [--mitogen DIR] [--quick] [--out-dir DIR]. --quick: one host, one run, no levers.
Env: BENCH_FLEET_PREFIX (container and network names, default rxi-fleetssh-), BENCH_FLEET_IMAGE.
"""

import argparse
import ctypes
import json
import os
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time

import _benchio

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(sys.executable)
IMAGE = os.environ.get("BENCH_FLEET_IMAGE", "reflexion-fleet/host:1")
IMAGE_CONTEXT = os.path.join(ROOT, "lab", "roles", "fleet", "files")
PREFIX = os.environ.get("BENCH_FLEET_PREFIX", "rxi-fleetssh-")
NETWORK = PREFIX + "net"
CPU_TARGET = 0.15
WALL_TARGET = 1.25
CLK_TCK = os.sysconf("SC_CLK_TCK")
# The user's ConnectTimeout and Ansible's timeout are 10 s; a machine shared with other work (load averages of 300
# were seen) can take longer to accept a connection. A longer timeout costs nothing when the hosts answer.
CONNECT_TIMEOUT = int(os.environ.get("BENCH_FLEET_CONNECT_TIMEOUT", "60"))

# Every dependency down, on the host's own loopback: the probes answer at once and nothing leaves the host.
TRIAGE_VARS = {
    "reflexion_base_url": "http://127.0.0.1:1", "reflexion_health_url": "http://127.0.0.1:1/health",
    "reflexion_metrics_url": "http://127.0.0.1:1/metrics",
    "reflexion_pg_host": "127.0.0.1", "reflexion_pg_port": 1, "reflexion_redis_host": "127.0.0.1", "reflexion_redis_port": 1,
    "reflexion_openai_base_url": "http://127.0.0.1:1", "reflexion_anthropic_base_url": "http://127.0.0.1:1",
    "triage_metrics_sample_interval": 0, "triage_memory_samples": 1, "triage_open_incident_at": "never",
    "triage_log_paths": ["/var/log/reflexion/*.log"],
}


# --- processes: this benchmark is the subreaper of everything the playbook leaves behind ----------------------

def become_subreaper():
    """PR_SET_CHILD_SUBREAPER: ssh ControlMaster processes detached by ControlPersist are reparented to us (not to
    init), so their CPU is ours to count when we reap them."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(36, 1, 0, 0, 0) != 0:
        raise SystemExit("prctl(PR_SET_CHILD_SUBREAPER) failed: errno %d" % ctypes.get_errno())


def leftover_children():
    """pid -> CPU seconds so far of our direct children that are still alive (the persisting ssh masters)."""
    out = {}
    me = os.getpid()
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # fields[0] is the state (field 3 of stat); ppid is field 4, utime 14, stime 15
        if int(fields[1]) == me and fields[0] != "Z":
            out[int(name)] = (int(fields[11]) + int(fields[12])) / CLK_TCK
    return out


def end_leftovers():
    """End and reap the persisting masters (their CPU then lands in RUSAGE_CHILDREN)."""
    pids = list(leftover_children())
    for pid in pids:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    for pid in pids:
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass


def children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# --- the hosts -----------------------------------------------------------------------------------------------

def docker(*args, check=True):
    return subprocess.run(["docker"] + list(args), capture_output=True, text=True, check=check)


def ensure_image():
    """The lab fleet's host image, built from its Dockerfile when missing (what lab/roles/fleet builds)."""
    if docker("image", "inspect", IMAGE, check=False).returncode == 0:
        return
    docker("build", "-q", "-t", IMAGE, "--build-arg", "FLEET_USER=ops", IMAGE_CONTEXT)


def remove_fleet():
    ids = docker("ps", "-aq", "--filter", "name=^" + PREFIX, check=False).stdout.split()
    if ids:
        docker("rm", "-f", *ids, check=False)
    docker("network", "rm", NETWORK, check=False)


def write_log(path, lines=2000):
    now = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
    with open(path, "w") as f:
        for i in range(lines):
            f.write("%s ERROR [req=%d] request failed: upstream timeout\n%s INFO [req=%d] ok\n" % (now, i, now, i))


def cgroup_cpu_path(pid):
    """The file holding the CPU usage of the cgroup of ``pid`` (cgroup v1 cpuacct or v2 cpu.stat)."""
    with open("/proc/%d/cgroup" % pid) as f:
        for line in f:
            _hid, controllers, path = line.rstrip("\n").split(":", 2)
            if "cpuacct" in controllers.split(","):
                candidate = "/sys/fs/cgroup/cpuacct%s/cpuacct.usage" % path
                if not os.path.exists(candidate):
                    candidate = "/sys/fs/cgroup/cpu,cpuacct%s/cpuacct.usage" % path
                return candidate
            if controllers == "":
                return "/sys/fs/cgroup%s/cpu.stat" % path
    raise SystemExit("no CPU accounting cgroup for pid %d" % pid)


def read_cgroup_cpu(path):
    with open(path) as f:
        text = f.read()
    if path.endswith("cpuacct.usage"):
        return int(text) / 1e9
    for line in text.splitlines():
        if line.startswith("usage_usec "):
            return int(line.split()[1]) / 1e6
    raise SystemExit("no usage_usec in %s" % path)


def start_fleet(n, tmp):
    """n SSH hosts on our own network; returns [(name, ip, cgroup cpu file)] once every sshd answers."""
    docker("network", "create", NETWORK)
    log_dir = os.path.join(tmp, "log")
    os.makedirs(log_dir, exist_ok=True)
    write_log(os.path.join(log_dir, "app.log"))
    names = ["%sh%03d" % (PREFIX, i) for i in range(n)]
    for name in names:
        docker("run", "-d", "--name", name, "--hostname", name[len(PREFIX):], "--network", NETWORK,
               "-v", "%s:/fleet/authorized_keys:ro" % os.path.join(tmp, "id_ed25519.pub"),
               "-v", "%s:/var/log/reflexion:ro" % log_dir, IMAGE)
    hosts = []
    for name in names:
        info = json.loads(docker("inspect", name).stdout)[0]
        ip = info["NetworkSettings"]["Networks"][NETWORK]["IPAddress"]
        hosts.append((name, ip, cgroup_cpu_path(info["State"]["Pid"])))
    ips = [ip for _name, ip, _path in hosts]
    deadline = time.monotonic() + 180 + 6 * n  # a busy machine starts 50 sshd slowly
    while True:  # every sshd answers with its host key: write the known_hosts the inventory checks strictly
        scan = subprocess.run(["ssh-keyscan", "-T", "20", "-t", "ed25519"] + ips, capture_output=True, text=True,
                              check=False)
        lines = [line for line in scan.stdout.splitlines() if line and not line.startswith("#")]
        if len(lines) == len(ips):
            break
        if time.monotonic() > deadline:
            raise SystemExit("sshd did not answer on every host: %d of %d" % (len(lines), len(ips)))
        time.sleep(1)
    with open(os.path.join(tmp, "known_hosts"), "w") as f:
        f.write("\n".join(sorted(lines)) + "\n")
    return hosts


def write_inventory(hosts, tmp):
    """The user's settings (inventories/fleet/group_vars/fleet.yml), with this run's key and known_hosts."""
    path = os.path.join(tmp, "hosts.yml")
    inventory = {"all": {"children": {"fleet": {
        "hosts": {name[len(PREFIX):]: {"ansible_host": ip} for name, ip, _path in hosts},
        "vars": {
            "ansible_connection": "ssh", "ansible_user": "ops",
            "ansible_ssh_private_key_file": os.path.join(tmp, "id_ed25519"),
            "ansible_ssh_common_args": "-o UserKnownHostsFile=%s -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes "
                                       "-o ServerAliveInterval=15 -o ConnectTimeout=%d" % (
                                           os.path.join(tmp, "known_hosts"), CONNECT_TIMEOUT),
            "ansible_become": True, "ansible_become_method": "sudo", "ansible_python_interpreter": "/usr/bin/python3",
        }}}}}
    with open(path, "w") as f:
        json.dump(inventory, f, indent=1)  # JSON is YAML
    return path


# --- one measured run ----------------------------------------------------------------------------------------

def measured_run(playbook, inventory, hosts, env_extra=None, extra_vars=None, warm=False):
    """Run the playbook once; return wall, the controller's CPU (whole tree, masters included) and the hosts'."""
    if not warm:
        end_leftovers()  # cold: no ControlMaster left from the previous run
    env = _benchio.ansible_env()
    env["ANSIBLE_TIMEOUT"] = str(CONNECT_TIMEOUT)
    env.update(env_extra or {})
    cmd = [os.path.join(BIN, "ansible-playbook"), "-i", inventory, os.path.join(ROOT, playbook)]
    if extra_vars:
        cmd += ["-e", json.dumps(extra_vars)]
    masters_before = leftover_children()
    hosts_before = [read_cgroup_cpu(path) for _name, _ip, path in hosts]
    cpu_before = children_cpu()
    start = time.monotonic()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    wall = time.monotonic() - start
    cpu_after = children_cpu()
    masters_after = leftover_children()
    hosts_after = [read_cgroup_cpu(path) for _name, _ip, path in hosts]
    if proc.returncode != 0:  # a triage that failed on a host is not a triage: never time it
        sys.stderr.write(proc.stdout[-4000:] + proc.stderr[-2000:])
        raise SystemExit("playbook failed (rc=%d): %s" % (proc.returncode, " ".join(cmd)))
    masters = sum(cpu - masters_before.get(pid, 0.0) for pid, cpu in masters_after.items())
    return {"wall_s": wall, "controller_cpu_s": cpu_after - cpu_before + masters,
            "hosts_cpu_s": sum(after - before for after, before in zip(hosts_after, hosts_before))}


def median_of(runs, fn):
    results = [fn() for _run in range(runs)]
    return {key: statistics.median(r[key] for r in results) for key in results[0]}


def size_rows(n, runs, inventory, hosts, tmp):
    triage_vars = dict(TRIAGE_VARS, triage_incident_dir=os.path.join(tmp, "incidents"))
    ping = median_of(runs, lambda: measured_run("bench/playbooks/ping.yml", inventory, hosts))
    tri = median_of(runs, lambda: measured_run("playbooks/triage.yml", inventory, hosts, extra_vars=triage_vars))
    cores = os.cpu_count() or 1
    per_host = tri["controller_cpu_s"] / n
    limit = (tri["controller_cpu_s"] + tri["hosts_cpu_s"]) / cores
    common = {"hosts": n, "runs": runs}
    cpu_row = dict(common, **{
        "case": "controller CPU per host, %d host(s)" % n, "ours_s": per_host, "ref_s": ping["controller_cpu_s"] / n,
        "ratio": per_host / (ping["controller_cpu_s"] / n), "net_s": per_host - ping["controller_cpu_s"] / n,
        "ping_s": ping["controller_cpu_s"] / n, "shown": "%.3f s per host" % per_host,
        "target": "<= %.2f s per host" % CPU_TARGET, "met": per_host <= CPU_TARGET})
    wall_row = dict(common, **{
        "case": "wall vs CPU-bound limit, %d host(s)" % n, "ours_s": tri["wall_s"], "ref_s": limit,
        "ratio": tri["wall_s"] / limit, "controller_cpu_s": tri["controller_cpu_s"], "hosts_cpu_s": tri["hosts_cpu_s"],
        "host_cpu_per_host_s": tri["hosts_cpu_s"] / n, "cores": cores, "limit_s": limit,
        "ping_wall_s": ping["wall_s"], "ping_hosts_cpu_s": ping["hosts_cpu_s"],
        "shown": "%.2fx (wall %.2f s, limit (%.2f + %.2f) / %d = %.2f s)" % (
            tri["wall_s"] / limit, tri["wall_s"], tri["controller_cpu_s"], tri["hosts_cpu_s"], cores, limit),
        "target": "<= %.2fx the CPU-bound limit" % WALL_TARGET, "met": tri["wall_s"] / limit <= WALL_TARGET})
    return [cpu_row, wall_row]


def lever_rows(n, runs, inventory, hosts, tmp, mitogen):
    """Each lever of issue 20 at n hosts, against the baseline (the checkout's ansible.cfg) in the same rounds."""
    triage_vars = dict(TRIAGE_VARS, triage_incident_dir=os.path.join(tmp, "incidents"))
    levers = [
        ("baseline (ansible.cfg: pipelining, ControlPersist 60s, forks 50, linear)", {}, {}, False),
        ("profile: probe and classify only (triage_report=false)", {}, {"triage_report": False}, False),
        ("warm ControlMaster (a master left from the previous run)", {}, {}, True),
        ("no ControlMaster (ssh_args without ControlMaster/ControlPersist)", {"ANSIBLE_SSH_ARGS": ""}, {}, False),
        ("pipelining off", {"ANSIBLE_PIPELINING": "false"}, {}, False),
        ("forks 5", {"ANSIBLE_FORKS": "5"}, {}, False),
        ("forks 10", {"ANSIBLE_FORKS": "10"}, {}, False),
        ("strategy free", {"ANSIBLE_STRATEGY": "free"}, {}, False),
    ]
    if mitogen:
        plugins = os.path.join(mitogen, "ansible_mitogen", "plugins", "strategy")
        levers.append(("Mitogen mitogen_linear", {"ANSIBLE_STRATEGY": "mitogen_linear", "ANSIBLE_STRATEGY_PLUGINS": plugins,
                                                  "PYTHONPATH": mitogen}, {}, False))
    samples = {name: [] for name, _env, _vars, _warm in levers}
    for _round in range(runs):  # interleaved: load from elsewhere on the machine hits every lever alike
        for name, env, extra, warm in levers:
            if warm:
                measured_run("playbooks/triage.yml", inventory, hosts, env, dict(triage_vars, **extra))
            try:
                samples[name].append(measured_run("playbooks/triage.yml", inventory, hosts, env, dict(triage_vars, **extra),
                                                  warm=warm))
            except SystemExit as exc:
                samples[name].append({"error": str(exc)[:200]})
    rows = []
    base = None
    for name, _env, _vars, _warm in levers:
        good = [s for s in samples[name] if "error" not in s]
        if not good:
            rows.append({"case": "lever: %s, %d hosts" % (name, n), "error": samples[name][0]["error"]})
            continue
        med = {key: statistics.median(s[key] for s in good) for key in good[0]}
        base = base or med
        rows.append({"case": "lever: %s, %d hosts" % (name, n), "ours_s": med["controller_cpu_s"] / n,
                     "ref_s": base["controller_cpu_s"] / n, "ratio": med["controller_cpu_s"] / base["controller_cpu_s"],
                     "wall_s": med["wall_s"], "hosts_cpu_s": med["hosts_cpu_s"], "hosts": n, "runs": len(good)})
    return rows


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1,10,50")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--levers", action="store_true", help="also measure each lever of issue 20 at --lever-hosts")
    parser.add_argument("--lever-hosts", type=int, default=10)
    parser.add_argument("--mitogen", default="", help="directory holding ansible_mitogen and mitogen (an unpacked wheel)")
    args = _benchio.parse(parser, runs=1, sizes="1")
    become_subreaper()
    ensure_image()
    remove_fleet()
    rows = []
    sizes = [int(s) for s in args.sizes.split(",") if s]
    try:
        with tempfile.TemporaryDirectory(prefix="bench-fleet-ssh-") as tmp:
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", PREFIX + "key", "-f",
                            os.path.join(tmp, "id_ed25519")], check=True)
            os.chmod(tmp, 0o755)  # the hosts' sshd reads the bind-mounted public key and log as their own users
            plan = [(n, False) for n in sizes]
            if args.levers and not args.quick:
                plan.append((args.lever_hosts, True))
            for n, levers in plan:
                end_leftovers()
                remove_fleet()
                hosts = start_fleet(n, tmp)
                inventory = write_inventory(hosts, tmp)
                if not args.quick:  # warm-up: the hosts' first python3 start and sudo are not a triage's cost
                    measured_run("bench/playbooks/ping.yml", inventory, hosts)
                if levers:
                    rows += lever_rows(n, args.runs, inventory, hosts, tmp, args.mitogen)
                else:
                    rows += size_rows(n, args.runs, inventory, hosts, tmp)
                for row in rows[-2:]:
                    print(row, flush=True)
                write(args, rows)
                end_leftovers()
    finally:
        end_leftovers()
        remove_fleet()
    write(args, rows)


def write(args, rows):
    """Written after every fleet size too, so that a run stopped on a busy machine keeps what it measured."""
    _benchio.write_result(args, "fleet_ssh", {"runs": args.runs, "cores": os.cpu_count(), "note": (
        "Fleet triage over SSH (issue 20): SSH-only hosts (the lab fleet's host image, own IP, port 22, every "
        "dependency down on the host's loopback), the user's settings (ops + sudo, strict host keys, pipelining, "
        "ControlPersist 60s, forks 50). Controller CPU: the whole process tree of ansible-playbook (workers, ssh "
        "clients, the ControlMaster processes), each run cold; ours_s per host, ref_s a one-task ping playbook per "
        "host. Hosts' CPU: the containers' cgroups. Limit = (controller + hosts' CPU) / cores. Medians of `runs`."),
        "rows": rows})


if __name__ == "__main__":
    main()
