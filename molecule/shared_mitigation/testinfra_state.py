"""Host-state helpers for the mitigation scenarios' testinfra verifiers (molecule/<scenario>/tests/test_*.py).

Each scenario's tests put this folder on sys.path and read the real state through testinfra's ``host``
fixture: containers (``host.docker``), files (``host.file``), listening ports (``host.socket``) and the
fixture app's HTTP answers (fetched on the host itself with its python3, so the same test works through
any testinfra backend).
"""

import json

HTTP_GET = (
    "import sys, urllib.request, urllib.error\n"
    "try:\n"
    "    r = urllib.request.urlopen(sys.argv[1], timeout=10)\n"
    "except urllib.error.HTTPError as e:\n"
    "    r = e\n"
    "sys.stdout.write('%d\\n' % r.status + r.read().decode())\n"
)


def container(host, name):
    """``docker inspect`` of one container as a dict (testinfra's Docker module)."""
    return host.docker(name).inspect()


def project_containers(host, project, service):
    """The containers of one compose service, by the labels compose sets (running ones only)."""
    out = host.check_output(
        "docker ps -q --filter label=com.docker.compose.project=%s --filter label=com.docker.compose.service=%s",
        project, service)
    return [host.docker(cid).inspect() for cid in out.split()]


def env_of(info):
    """The container's environment as a dict (from its inspect output)."""
    return dict(item.split("=", 1) for item in info["Config"]["Env"])


def http_get(host, url):
    """(status, parsed JSON body or text) of a GET from the host itself."""
    out = host.check_output("python3 -c %s %s", HTTP_GET, url)
    status, dummy, body = out.partition("\n")
    try:
        return int(status), json.loads(body)
    except ValueError:
        return int(status), body


def env_file(host, path):
    """KEY=value lines of a .env file as a dict (the last assignment wins, as for compose)."""
    values = {}
    for line in host.file(path).content_string.splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            key, dummy, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values
