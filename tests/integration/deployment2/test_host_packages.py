"""The host package list of docs/quickstart.md covers every third-party import of the code that runs on the hosts
(plugins/modules, plugins/module_utils). Would fail before issue 22: python3-docker and python3-requests were missing."""

import ast
import os
import re
import sys

from ..conftest import ROOT

# Third-party import -> Debian package. A new import must be added here AND to the quickstart's list.
DEBIAN = {
    "psycopg2": "python3-psycopg2",
    "redis": "python3-redis",
    "prometheus_client": "python3-prometheus-client",
    "docker": "python3-docker",
    "requests": "python3-requests",
    "yaml": "python3-yaml",
}
# Python 2 names behind `except ImportError` fallbacks: not packages.
PY2_STDLIB = {"httplib", "urlparse", "urllib2", "ConfigParser", "Queue", "StringIO", "cookielib", "HTMLParser"}
# What the hosts run besides our modules: community.docker's docker_* modules (docker SDK, requests),
# which the mitigation roles call on the host.
COMMUNITY_DOCKER = {"docker", "requests"}


def third_party_imports():
    found = {}
    stdlib = set(sys.stdlib_module_names)
    for sub in ("modules", "module_utils"):
        base = os.path.join(ROOT, "plugins", sub)
        for name in sorted(os.listdir(base)):
            if not name.endswith(".py"):
                continue
            path = os.path.join(base, name)
            with open(path) as f:
                tree = ast.parse(f.read(), path)
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    tops = [a.name.split(".")[0] for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    tops = [node.module.split(".")[0]]
                else:
                    continue
                for top in tops:
                    if top in stdlib or top in PY2_STDLIB or top in ("ansible", "ansible_collections", "__future__"):
                        continue
                    found.setdefault(top, set()).add("plugins/%s/%s" % (sub, name))
    return found


def documented_packages():
    with open(os.path.join(ROOT, "docs", "quickstart.md")) as f:
        text = f.read()
    line = re.search(r"(?m)^apt-get install python3 (.*)$", text)
    assert line, "docs/quickstart.md has no `apt-get install python3 ...` line for the hosts"
    return set(line.group(1).split())


def test_every_host_import_has_a_listed_package():
    imports = third_party_imports()
    for name in COMMUNITY_DOCKER:
        imports.setdefault(name, set()).add("community.docker modules used by the roles")
    assert "psycopg2" in imports and "redis" in imports, imports  # the walk sees the modules
    unmapped = sorted(set(imports) - set(DEBIAN))
    assert not unmapped, "no Debian package known for %s (used by %s)" % (unmapped, [sorted(imports[u]) for u in unmapped])
    listed = documented_packages()
    missing = sorted(DEBIAN[m] for m in imports if DEBIAN[m] not in listed)
    assert not missing, "docs/quickstart.md's host packages lack %s" % missing
