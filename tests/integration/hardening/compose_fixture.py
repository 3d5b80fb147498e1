"""A throw-away compose project of the hardening tests (project names rxi-hard-*, ports 127.0.0.1:189xx).

Built from molecule/shared_mitigation/compose_app (read-only: the files are copied): an app service
(2 replicas, healthchecked) and a db service, in a temp dir that is a git repo with tags v1.0.0 and
v1.1.0 (HEAD), like the deployment checkout. Removed with its images and volumes in teardown.
"""

import json
import os
import shutil
import subprocess
import tempfile
import time

from ..conftest import ROOT

FIXTURE = os.path.join(ROOT, "molecule", "shared_mitigation", "compose_app")


def sh(argv, cwd=None, check=True, timeout=600):
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=check, timeout=timeout)


class ComposeProject(object):
    def __init__(self, name, publish):
        assert name.startswith("rxi-hard-")
        self.name = name
        self.dir = tempfile.mkdtemp(prefix=name + "-")
        self.publish = publish

    def git(self, *args):
        return sh(["git", "-C", self.dir, "-c", "user.name=hardening", "-c", "user.email=hardening@localhost"]
                  + list(args)).stdout.strip()

    def compose(self, *args, **kw):
        return sh(["docker", "compose", "--project-directory", self.dir, "-p", self.name] + list(args), **kw)

    def create(self):
        for f in ("app.py", "Dockerfile", "compose.yml"):
            shutil.copy(os.path.join(FIXTURE, f), self.dir)
        with open(os.path.join(self.dir, "VERSION"), "w") as f:
            f.write("1.0.0\n")
        with open(os.path.join(self.dir, ".gitignore"), "w") as f:
            f.write(".env\n")
        self.git("init", "--quiet")
        self.git("add", "--all")
        self.git("commit", "--quiet", "-m", "release 1.0.0")
        self.git("tag", "v1.0.0")
        with open(os.path.join(self.dir, "VERSION"), "w") as f:
            f.write("1.1.0\n")
        self.git("commit", "--quiet", "-am", "release 1.1.0")
        self.git("tag", "v1.1.0")
        with open(os.path.join(self.dir, ".env"), "w") as f:
            f.write("RXI_MIT_APP_PUBLISH=%s\nDISABLE_EXTERNAL_SERVICE=false\nLLM_PROVIDER=openai\n" % self.publish)

    def up(self, replicas=2):
        self.compose("up", "-d", "--build", "--wait", "--wait-timeout", "120", "--scale", "app=%d" % replicas)

    def containers(self, service):
        out = sh(["docker", "ps", "-q", "--filter", "label=com.docker.compose.project=" + self.name,
                  "--filter", "label=com.docker.compose.service=" + service]).stdout.split()
        return sorted(out)

    def container_names(self, service):
        return sorted(sh(["docker", "ps", "--format", "{{.Names}}", "--filter",
                          "label=com.docker.compose.project=" + self.name, "--filter",
                          "label=com.docker.compose.service=" + service]).stdout.split())

    def started(self, service):
        """container id -> State.StartedAt: a restart or a recreate changes it."""
        ids = self.containers(service)
        if not ids:
            return {}
        data = json.loads(sh(["docker", "inspect"] + ids).stdout)
        return dict((c["Id"], c["State"]["StartedAt"]) for c in data)

    def head(self):
        return self.git("rev-parse", "HEAD")

    def destroy(self):
        self.compose("down", "--rmi", "local", "--volumes", "--remove-orphans", "--timeout", "3", check=False)
        ids = sh(["docker", "ps", "-aq", "--filter", "label=com.docker.compose.project=" + self.name],
                 check=False).stdout.split()
        if ids:
            sh(["docker", "rm", "-f"] + ids, check=False)
        shutil.rmtree(self.dir, ignore_errors=True)


def wait_for(predicate, timeout=60.0, step=0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return bool(predicate())
