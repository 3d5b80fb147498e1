"""execution-environment.yml: `ansible-builder create` writes a complete build context offline; the
collection tarball it names is the one `ansible-galaxy collection build` makes; the builder's own
introspection reads our requirements.txt and bindep.txt from the installed collection."""

import os
import shutil
import subprocess
import sys

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
BIN = os.path.dirname(sys.executable)


def run(cmd, cwd, **env):
    e = dict(os.environ, PATH=BIN + os.pathsep + os.environ.get("PATH", ""), ANSIBLE_NOCOLOR="1")
    e.update(env)
    proc = subprocess.run(cmd, cwd=cwd, env=e, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, "%s\n%s\n%s" % (" ".join(cmd), proc.stdout, proc.stderr)
    return proc


def read_yaml(path):
    with open(path) as f:
        return yaml.safe_load(f)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The EE definition, its files and a freshly built collection tarball in a scratch dir; then `create`."""
    work = tmp_path_factory.mktemp("ee")
    version = read_yaml(os.path.join(ROOT, "galaxy.yml"))["version"]
    run([os.path.join(BIN, "ansible-galaxy"), "collection", "build", "--force", "--output-path", str(work), ROOT], cwd=ROOT)
    tarball = work / ("reflexion-incident-%s.tar.gz" % version)
    assert tarball.is_file()
    for name in ("execution-environment.yml", "requirements.txt", "bindep.txt"):
        shutil.copy(os.path.join(ROOT, name), str(work / name))
    proc = run([os.path.join(BIN, "ansible-builder"), "create", "-f", "execution-environment.yml", "-c", "context",
                "--output-filename", "Containerfile", "-v", "3"], cwd=str(work))
    return {"work": work, "version": version, "tarball": tarball, "context": work / "context", "output": proc.stdout}


def test_definition_is_v3_with_our_files():
    ee = read_yaml(os.path.join(ROOT, "execution-environment.yml"))
    assert ee["version"] == 3
    deps = ee["dependencies"]
    assert deps["python"] == "requirements.txt"
    assert deps["system"] == "bindep.txt"
    version = read_yaml(os.path.join(ROOT, "galaxy.yml"))["version"]
    assert deps["galaxy"]["collections"] == [
        {"name": "collections/reflexion-incident-%s.tar.gz" % version, "type": "file"}], \
        "execution-environment.yml must name the collection version galaxy.yml builds"
    assert ee["additional_build_files"] == [{"src": "reflexion-incident-%s.tar.gz" % version, "dest": "collections"}]
    # the pins in the EE are the pins we test with
    with open(os.path.join(ROOT, "requirements.txt")) as f:
        pins = {line.split("==")[0].strip().lower(): line.strip() for line in f if "==" in line and not line.startswith("#")}
    assert deps["ansible_core"]["package_pip"] == pins["ansible-core"]
    assert deps["ansible_runner"]["package_pip"] == pins["ansible-runner"]


def test_builder_create_writes_the_context_offline(built):
    ctx = built["context"]
    containerfile = (ctx / "Containerfile").read_text()
    build = ctx / "_build"
    assert (build / "collections" / built["tarball"].name).is_file()
    assert (build / "requirements.txt").read_text() == open(os.path.join(ROOT, "requirements.txt")).read()
    assert (build / "bindep.txt").read_text() == open(os.path.join(ROOT, "bindep.txt")).read()
    reqs = read_yaml(str(build / "requirements.yml"))
    assert reqs["collections"][0]["name"] == "collections/" + built["tarball"].name
    assert "ansible-galaxy collection install" in containerfile
    assert "introspect.py introspect" in containerfile
    assert "--user-pip=requirements.txt --user-bindep=bindep.txt" in containerfile
    assert 'ANSIBLE_INSTALL_REFS="ansible-core==2.21.5 ansible-runner==2.4.3"' in containerfile
    assert "ansible-galaxy collection list reflexion.incident" in containerfile


def test_builder_introspection_reads_our_collection(built, tmp_path):
    """The step the image build runs (introspect.py) over our installed collection, run here on the host."""
    inst = tmp_path / "inst"
    run([os.path.join(BIN, "ansible-galaxy"), "collection", "install", "--force", "--no-deps", "-p", str(inst),
         str(built["tarball"])], cwd=str(tmp_path), ANSIBLE_COLLECTIONS_PATH=str(inst))
    assert (inst / "ansible_collections" / "reflexion" / "incident" / "extensions" / "eda" / "plugins" /
            "event_source" / "alertmanager.py").is_file(), "the EDA event source must ship in the collection"
    proc = run([sys.executable, str(built["context"] / "_build" / "scripts" / "introspect.py"), "introspect",
                str(inst), "--user-pip=requirements.txt", "--user-bindep=bindep.txt"], cwd=str(built["work"]))
    found = yaml.safe_load(proc.stdout)
    python = " ".join(found["python"])
    system = " ".join(found["system"])
    assert "ansible==14.5.0" in python and "aiohttp==" in python and "ansible-runner==2.4.3" in python
    assert "openssh-clients [platform:rpm]" in system and "git-core [platform:rpm]" in system
