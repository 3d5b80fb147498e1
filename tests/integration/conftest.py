"""Integration helpers: run our modules and playbooks through real ansible, against real services."""

import json
import os
import re
import signal
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)


def ansible_env(**extra):
    env = dict(os.environ)
    env.update(
        ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
        ANSIBLE_STDOUT_CALLBACK="ansible.posix.json",
        ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
        ANSIBLE_NOCOLOR="1",
        PATH=BIN + os.pathsep + env.get("PATH", ""),
    )
    env.update(extra)
    return env


def run_bounded(cmd, timeout, **kwargs):
    """``subprocess.run(cmd, capture_output=True, text=True)`` with a deadline that holds: the command runs in a
    session of its own, and at the deadline the whole session is killed. ``subprocess.run``'s own timeout kills
    only the direct child and then waits for its pipes, which ansible's forked workers (or a module's grep)
    still hold: a hung run would hang the test, and CI, instead of failing it."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                            **kwargs)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired as expired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            out, err = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:  # a process that left the session still holds the pipes
            proc.kill()
            out, err = "", ""
        raise subprocess.TimeoutExpired(cmd, timeout, output=out, stderr=err) from expired
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def json_callback_document(stdout):
    """The ansible.posix.json callback's document in ``stdout`` ({} when there is none). With -v..-vvvv,
    ansible prints its own lines around it; the document starts with "{" at column 0 (nested braces are
    indented)."""
    start = re.search(r"^\{$", stdout, re.M)
    try:
        data, dummy = json.JSONDecoder().raw_decode(stdout[start.start():] if start else stdout)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


class ModuleRun(object):
    """The outcome of one ad-hoc module run: the task result plus the raw output."""

    def __init__(self, proc):
        self.rc = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        try:
            self.result = json_callback_document(proc.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]
        except (KeyError, IndexError):
            self.result = {}

    def __getitem__(self, key):
        return self.result[key]

    def get(self, key, default=None):
        return self.result.get(key, default)

    @property
    def failed(self):
        return bool(self.result.get("failed")) or self.rc != 0

    @property
    def output(self):
        return self.stdout + self.stderr


@pytest.fixture
def run_module():
    """``run_module("health_probe", {...}, check=False)`` runs reflexion.incident.<name> on localhost."""

    def _run(name, args, check=False, diff=False, verbosity=0, timeout=300):
        fqcn = name if "." in name else "reflexion.incident." + name
        cmd = [os.path.join(BIN, "ansible"), "localhost", "-i", os.path.join(ROOT, "inventories/local"),
               "-m", fqcn, "-a", json.dumps(args)]
        if check:
            cmd.append("--check")
        if diff:
            cmd.append("--diff")
        if verbosity:
            cmd.append("-" + "v" * verbosity)
        return ModuleRun(run_bounded(cmd, timeout, cwd=ROOT, env=ansible_env()))

    return _run


@pytest.fixture
def run_playbook():
    """``run_playbook("playbooks/x.yml", extra_vars={...}, inventory=...)`` -> CompletedProcess (default callback)."""

    def _run(playbook, extra_vars=None, inventory="inventories/local", check=False, args=(), env=None, timeout=900):
        cmd = [os.path.join(BIN, "ansible-playbook"), "-i", os.path.join(ROOT, inventory), os.path.join(ROOT, playbook)]
        if extra_vars:
            cmd += ["-e", json.dumps(extra_vars)]
        if check:
            cmd.append("--check")
        cmd += list(args)
        e = ansible_env(ANSIBLE_STDOUT_CALLBACK="default")
        e.update(env or {})
        return run_bounded(cmd, timeout, cwd=ROOT, env=e)

    return _run
