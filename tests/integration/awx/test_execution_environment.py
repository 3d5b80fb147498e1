"""The execution environment's definition, offline (issue 19 item 5); the image itself: tests/integration/lab/test_ee.py.

- execution-environment.yml: ansible-builder v3 on debian:trixie-slim, ansible-galaxy --offline over local
  tarballs, pip from the wheelhouse, the pins we test with, no development requirements;
- meta/execution-environment.yml: the collection's runtime Python and system needs, covering every third-party
  import of plugins/;
- galaxy.yml declares exactly the collections the roles, playbooks and plugins use;
- scripts/ee/prepare_context.py stages a context from which `ansible-galaxy collection install --offline`
  installs our collection WITH its dependencies (no Galaxy), and the builder's introspection then asks for
  the runtime requirements only.
"""

import ast
import os
import re
import subprocess
import sys

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
BIN = os.path.dirname(sys.executable)
# third-party import name -> the distribution meta/ee-requirements.txt must name
IMPORTS = {"psycopg2": "psycopg2-binary", "redis": "redis", "prometheus_client": "prometheus-client",
           "docker": "docker", "requests": "requests"}
FQCN = re.compile(r"\b([a-z][a-z0-9_]*)\.([a-z][a-z0-9_]*)\.[a-z][a-z0-9_]*\b")
IMPORT = re.compile(r"\bansible_collections\.([a-z][a-z0-9_]*)\.([a-z][a-z0-9_]*)\.")


def run(cmd, cwd, **env):
    e = dict(os.environ, PATH=BIN + os.pathsep + os.environ.get("PATH", ""), ANSIBLE_NOCOLOR="1")
    e.update(env)
    proc = subprocess.run(cmd, cwd=cwd, env=e, capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, "%s\n%s\n%s" % (" ".join(cmd), proc.stdout[-4000:], proc.stderr[-4000:])
    return proc


def read_yaml(path):
    with open(path) as f:
        return yaml.safe_load(f)


def dev_pins():
    with open(os.path.join(ROOT, "requirements.txt")) as f:
        return {line.split("==")[0].strip().lower(): line.strip() for line in f
                if "==" in line and not line.startswith("#")}


def ee_requirements():
    with open(os.path.join(ROOT, "meta", "ee-requirements.txt")) as f:
        return [line.strip() for line in f if line.strip() and not line.startswith("#")]


@pytest.fixture(scope="module")
def staged(tmp_path_factory):
    """prepare_context.py into a scratch stage (wheel and collection caches shared with build_ee.sh), then
    `ansible-builder create` from it."""
    work = tmp_path_factory.mktemp("ee")
    stage = work / "stage"
    proc = run([sys.executable, os.path.join(ROOT, "scripts", "ee", "prepare_context.py"), str(stage), "--cache",
                os.path.join(ROOT, ".cache", "ee")], cwd=ROOT)
    digest = proc.stdout.strip()
    run([os.path.join(BIN, "ansible-builder"), "create", "-f", str(stage / "execution-environment.yml"), "-c",
         str(work / "context"), "--output-filename", "Containerfile", "-v", "3"], cwd=str(work))
    return {"work": work, "stage": stage, "context": work / "context", "digest": digest}


def test_definition_is_offline_and_pinned():
    ee = read_yaml(os.path.join(ROOT, "execution-environment.yml"))
    assert ee["version"] == 3
    assert ee["images"]["base_image"]["name"] == "debian:trixie-slim"
    assert ee["build_arg_defaults"]["ANSIBLE_GALAXY_CLI_COLLECTION_OPTS"] == "--offline"
    deps = ee["dependencies"]
    assert deps["galaxy"] == "collections/requirements.yml"
    # no development requirements: Python and system needs come from the collection's meta/execution-environment.yml
    assert "python" not in deps and "system" not in deps
    pins = dev_pins()
    assert deps["ansible_core"]["package_pip"] == pins["ansible-core"]
    assert deps["ansible_runner"]["package_pip"] == pins["ansible-runner"]
    # the dependency collections' own lists (paramiko, textfsm, ...) stay out
    galaxy = read_yaml(os.path.join(ROOT, "galaxy.yml"))
    excluded = set(deps["exclude"]["all_from_collections"])
    assert set(galaxy["dependencies"]) <= excluded and "reflexion.incident" not in excluded
    steps = "\n".join(ee["additional_build_steps"]["prepend_base"])
    assert "/etc/pip.conf" in steps and "/output/wheelhouse" in steps
    with open(os.path.join(ROOT, "scripts", "ee", "pip.conf")) as f:
        conf = f.read()
    assert "no-index = true" in conf and "find-links = /output/wheelhouse" in conf


def test_meta_ee_lists_the_runtime_needs_of_the_plugins():
    meta = read_yaml(os.path.join(ROOT, "meta", "execution-environment.yml"))
    for key in ("python", "system"):
        assert os.path.isfile(os.path.join(ROOT, meta["dependencies"][key])), meta
    reqs = ee_requirements()
    names = {re.split(r"[=<>!~\[ ]", r, maxsplit=1)[0].lower() for r in reqs}
    imported = set()
    for dirpath, _dirs, files in os.walk(os.path.join(ROOT, "plugins")):
        for name in files:
            if name.endswith(".py"):
                with open(os.path.join(dirpath, name)) as f:
                    tree = ast.parse(f.read())
                for node in ast.walk(tree):
                    if isinstance(node, ast.Import):
                        imported.update(a.name.split(".")[0] for a in node.names)
                    elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                        imported.add(node.module.split(".")[0])
    third_party = {m for m in imported if m in IMPORTS}
    assert third_party >= {"psycopg2", "redis"}, imported
    for module in third_party:
        assert IMPORTS[module] in names, "plugins import %s but meta/ee-requirements.txt lacks %s" % (
            module, IMPORTS[module])
    # every pin agrees with what requirements.txt tests with; no development tool comes along
    pins = dev_pins()
    for req in reqs:
        name = req.split("==")[0].lower()
        assert req == pins.get(name), "%s: requirements.txt pins %s" % (req, pins.get(name))
    assert not names & {"molecule", "ansible-lint", "pytest", "ruff", "sphinx", "antsibull-docs", "ansible"}
    with open(os.path.join(ROOT, "meta", "ee-bindep.txt")) as f:
        bindep = [line for line in f if line.strip() and not line.startswith("#")]
    assert not [line for line in bindep if "compile" in line or "gcc" in line or "-dev" in line], bindep
    assert "openssh-client [platform:dpkg]\n" in bindep


def test_galaxy_yml_declares_every_collection_the_content_uses():
    galaxy = read_yaml(os.path.join(ROOT, "galaxy.yml"))
    used = {}
    for top in ("roles", "playbooks", "plugins", "extensions", "meta"):
        for dirpath, _dirs, files in os.walk(os.path.join(ROOT, top)):
            for name in files:
                if not name.endswith((".yml", ".yaml", ".py", ".j2")):
                    continue
                rel = os.path.relpath(os.path.join(dirpath, name), ROOT)
                if rel in ("playbooks/lab.yml", "playbooks/lab_fault.yml"):
                    continue  # the lab's entry points: reflexion.lab, excluded from the tarball
                with open(os.path.join(ROOT, rel), errors="replace") as f:
                    for line in f:
                        # YAML: FQCNs outside comments; Python: imports of another collection's code
                        pattern = IMPORT if name.endswith(".py") else FQCN
                        for ns, coll in pattern.findall(line.split("#", 1)[0]):
                            if ns in ("community", "ansible") and coll != "builtin" and coll != "eda":
                                used.setdefault("%s.%s" % (ns, coll), rel)
    assert set(galaxy["dependencies"]) == set(used), "used: %s" % used
    # each bound is met by the collections the pinned `ansible` package ships (what the EE build packs)
    import ansible_collections  # pylint: disable=import-outside-toplevel

    for fqcn, spec in galaxy["dependencies"].items():
        manifests = [os.path.join(p, *fqcn.split("."), "MANIFEST.json") for p in ansible_collections.__path__]
        manifest = next(m for m in manifests if os.path.isfile(m))
        shipped = tuple(int(x) for x in yaml.safe_load(open(manifest))["collection_info"]["version"].split("."))
        wanted = tuple(int(x) for x in spec.lstrip(">=").split("."))
        assert spec.startswith(">=") and shipped >= wanted, (fqcn, spec, shipped)


def test_staged_context_installs_offline_with_dependencies(staged, tmp_path):
    stage = staged["stage"]
    reqs = read_yaml(str(stage / "collections" / "requirements.yml"))["collections"]
    version = read_yaml(os.path.join(ROOT, "galaxy.yml"))["version"]
    assert reqs[0] == {"name": "collections/reflexion-incident-%s.tar.gz" % version, "type": "file"}
    for entry in reqs:
        assert (stage / entry["name"]).is_file(), entry
    assert any(w.startswith("ansible_core-2.21.5-") for w in os.listdir(str(stage / "wheelhouse")))
    assert re.fullmatch(r"[0-9a-f]{64}", staged["digest"])
    # what the image's galaxy stage runs: --offline, no Galaxy, dependencies resolved from the tarballs
    inst = tmp_path / "inst"
    proc = run([os.path.join(BIN, "ansible-galaxy"), "collection", "install", "--offline", "-r",
                "collections/requirements.yml", "-p", str(inst)], cwd=str(stage),
               ANSIBLE_COLLECTIONS_PATH=str(inst), ANSIBLE_GALAXY_DISABLE_GPG_VERIFY="1")
    galaxy = read_yaml(os.path.join(ROOT, "galaxy.yml"))
    for fqcn in list(galaxy["dependencies"]) + ["reflexion.incident"]:
        assert (inst / "ansible_collections" / fqcn.split(".")[0] / fqcn.split(".")[1] / "MANIFEST.json").is_file(), \
            proc.stdout
    staged["installed"] = inst


def test_builder_context_and_introspection_are_runtime_only(staged):
    ctx = staged["context"]
    containerfile = (ctx / "Containerfile").read_text()
    assert 'ANSIBLE_GALAXY_CLI_COLLECTION_OPTS="--offline"' in containerfile
    assert 'ANSIBLE_INSTALL_REFS="ansible-core==2.21.5 ansible-runner==2.4.3"' in containerfile
    assert "--exclude-collection-reqs=exclude-collections.txt" in containerfile
    assert "--user-pip" not in containerfile, "no top-level requirements file: the dev pins stay out"
    assert "COPY _build/wheelhouse/ /output/wheelhouse/" in containerfile
    assert (ctx / "_build" / "ee" / "pkgmgr").stat().st_mode & 0o111
    # the builder's own introspection (the image's builder stage) over the collections installed offline
    inst = staged.get("installed")
    assert inst is not None, "test_staged_context_installs_offline_with_dependencies (run first) did not install"
    proc = run([sys.executable, str(ctx / "_build" / "scripts" / "introspect.py"), "introspect", str(inst),
                "--exclude-collection-reqs=%s" % (ctx / "_build" / "exclude-collections.txt")], cwd=str(ctx))
    found = yaml.safe_load(proc.stdout)
    python = " ".join(found["python"])
    system = " ".join(found["system"])
    assert "psycopg2-binary==2.9.13" in python and "redis==8.1.0" in python, python
    for unwanted in ("paramiko", "textfsm", "ttp", "netaddr", "ansible==", "molecule", "aiohttp"):
        assert unwanted not in python, python
    assert "openssh-client [platform:dpkg]" in system and "gcc" not in system, system
