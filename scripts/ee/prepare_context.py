"""Stage everything the execution environment build needs, on the host, so the image build is offline.

Writes into STAGE (scripts/build_ee.sh passes .cache/ee/stage):

- execution-environment.yml (copied from the repository root);
- collections/: the reflexion.incident tarball (``ansible-galaxy collection build``), a tarball of every
  collection galaxy.yml depends on (and their own dependencies), packed from the collections the pinned
  ``ansible`` package installed in this venv, and requirements.yml naming them all;
- wheelhouse/: binary wheels for the image's Python (pip download; cached by the requirement set);
- ee/: pkgmgr and pip.conf from scripts/ee/.

Prints one line: the sha256 of all inputs (collection contents, wheels, definition, helpers, base image id,
ansible-builder version). build_ee.sh skips the build when the image's label carries the same hash.
"""

import argparse
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
from importlib import metadata

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
# The image's interpreter: Debian trixie's python3 (3.13) on x86_64.
WHEEL_TARGET = ["--python-version", "3.13", "--implementation", "cp", "--abi", "cp313", "--abi", "abi3",
                "--abi", "none", "--platform", "manylinux_2_28_x86_64", "--platform", "manylinux_2_17_x86_64",
                "--platform", "manylinux2014_x86_64", "--platform", "manylinux1_x86_64", "--platform", "any"]
# What ansible-builder's own stages pip-install besides the EE's requirements (builder stage; base stage).
BUILDER_TOOLS = ["bindep", "pyyaml", "packaging", "pip"]
SAFE_NAME = re.compile(r"^[a-z0-9_]+\.[a-z0-9_]+$")


def die(msg):
    sys.stderr.write("prepare_context: %s\n" % msg)
    sys.exit(1)


def run(cmd, **kw):
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, **kw)
    if proc.returncode != 0:
        die("%s failed:\n%s%s" % (" ".join(cmd), proc.stdout[-4000:], proc.stderr[-4000:]))
    return proc.stdout


def read_yaml(path):
    with open(path) as f:
        return yaml.safe_load(f)


def installed_collections_root():
    """The ansible_collections directory of the pinned `ansible` package in this venv."""
    import ansible_collections  # pylint: disable=import-outside-toplevel

    for path in ansible_collections.__path__:
        if os.path.isfile(os.path.join(path, "community", "general", "MANIFEST.json")):
            return path
    die("the `ansible` package's collections are not installed in %s (pip install -r requirements.txt)" % BIN)
    return None


def manifest(root, fqcn):
    ns, name = fqcn.split(".")
    path = os.path.join(root, ns, name, "MANIFEST.json")
    if not os.path.isfile(path):
        die("collection %s is not in %s" % (fqcn, root))
    with open(path) as f:
        return json.load(f)["collection_info"]


def dependency_closure(root, deps):
    """Every collection galaxy.yml depends on, and theirs, from the installed MANIFEST.json files."""
    todo, seen = list(deps), {}
    while todo:
        fqcn = todo.pop()
        if fqcn in seen:
            continue
        if not SAFE_NAME.match(fqcn):
            die("bad collection name %r in dependencies" % fqcn)
        info = manifest(root, fqcn)
        seen[fqcn] = info["version"]
        todo.extend(info.get("dependencies") or {})
    return seen


def pack_collection(src, dest):
    """A collection artifact from an installed collection, deterministic (sorted, mtime 0, root-owned) so the
    docker layer cache and the inputs hash stay put. The `ansible` package leaves out some files that
    FILES.json lists (dotfiles, tests), which ansible-galaxy would fail to extract: FILES.json keeps only the
    files present (their checksums still verified at install) and MANIFEST.json the new FILES.json's sha256."""
    if os.path.isfile(dest):
        return
    with open(os.path.join(src, "FILES.json")) as f:
        files = json.load(f)
    files["files"] = [e for e in files["files"]
                      if e["name"] == "." or os.path.lexists(os.path.join(src, e["name"]))]
    files_raw = json.dumps(files, indent=4).encode()
    with open(os.path.join(src, "MANIFEST.json")) as f:
        man = json.load(f)
    man["file_manifest_file"]["chksum_sha256"] = hashlib.sha256(files_raw).hexdigest()
    generated = {"FILES.json": files_raw, "MANIFEST.json": json.dumps(man, indent=4).encode()}
    listed = {e["name"] for e in files["files"]}

    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for arcname, data in generated.items():
            info = tarfile.TarInfo(arcname)
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
        for dirpath, dirnames, filenames in os.walk(src):
            dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
            for name in sorted(dirnames) + sorted(filenames):
                full = os.path.join(dirpath, name)
                arcname = os.path.relpath(full, src)
                if arcname in generated or arcname not in listed:
                    continue
                info = tar.gettarinfo(full, arcname=arcname)
                info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
                if info.isreg():
                    with open(full, "rb") as f:
                        tar.addfile(info, f)
                else:
                    tar.addfile(info)
    tmp = dest + ".tmp"
    with open(tmp, "wb") as out, gzip.GzipFile(fileobj=out, mode="wb", mtime=0, filename="") as gz:
        gz.write(raw.getvalue())
    os.replace(tmp, dest)


def tar_member(path, member):
    with tarfile.open(path) as tar:
        return tar.extractfile(member).read()


def requirement_lines(path):
    with open(path) as f:
        return [line.strip() for line in f if line.strip() and not line.lstrip().startswith("#")]


def wheelhouse(cache, reqs, dest):
    """pip download the wheels once per requirement set into the cache, then copy them to dest."""
    key = hashlib.sha256(json.dumps([reqs, WHEEL_TARGET]).encode()).hexdigest()[:16]
    cached = os.path.join(cache, "wheelhouse-" + key)
    if not os.path.isfile(os.path.join(cached, ".complete")):
        shutil.rmtree(cached, ignore_errors=True)
        os.makedirs(cached)
        run([os.path.join(BIN, "pip"), "download", "--quiet", "--only-binary=:all:", "--dest", cached]
            + WHEEL_TARGET + reqs)
        open(os.path.join(cached, ".complete"), "w").close()
    shutil.rmtree(dest, ignore_errors=True)
    os.makedirs(dest)
    for name in sorted(os.listdir(cached)):
        if name.endswith(".whl"):
            shutil.copy2(os.path.join(cached, name), os.path.join(dest, name))


def file_digest(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("stage", help="directory to (re)write")
    ap.add_argument("--cache", required=True, help="directory for the wheel and collection caches")
    ap.add_argument("--base-image-id", default="", help="part of the inputs hash")
    args = ap.parse_args()

    stage, cache = os.path.abspath(args.stage), os.path.abspath(args.cache)
    galaxy = read_yaml(os.path.join(ROOT, "galaxy.yml"))
    ee = read_yaml(os.path.join(ROOT, "execution-environment.yml"))
    shutil.rmtree(stage, ignore_errors=True)
    colls = os.path.join(stage, "collections")
    os.makedirs(colls)
    os.makedirs(os.path.join(cache, "collections"), exist_ok=True)
    digest = hashlib.sha256()

    # our collection, built from the checkout (build_ignore keeps the test bed out)
    run([os.path.join(BIN, "ansible-galaxy"), "collection", "build", "--force", "--output-path", colls, ROOT],
        cwd=ROOT, env=dict(os.environ, ANSIBLE_NOCOLOR="1"))
    ours = "reflexion-incident-%s.tar.gz" % galaxy["version"]
    entries = [{"name": "collections/" + ours, "type": "file"}]
    for member in ("MANIFEST.json", "FILES.json"):
        digest.update(tar_member(os.path.join(colls, ours), member))

    # its dependencies, from the pinned `ansible` package (Galaxy is not reachable)
    root = installed_collections_root()
    for fqcn, version in sorted(dependency_closure(root, galaxy.get("dependencies") or {}).items()):
        name = "%s-%s.tar.gz" % (fqcn.replace(".", "-"), version)
        cached = os.path.join(cache, "collections", name)
        pack_collection(os.path.join(root, *fqcn.split(".")), cached)
        shutil.copy2(cached, os.path.join(colls, name))
        entries.append({"name": "collections/" + name, "type": "file"})
        digest.update(tar_member(cached, "MANIFEST.json"))
    with open(os.path.join(colls, "requirements.yml"), "w") as f:
        f.write("---\n# Written by scripts/ee/prepare_context.py: local tarballs only, installed with --offline.\n")
        yaml.safe_dump({"collections": entries}, f, sort_keys=False)

    # the wheelhouse: ansible-core and ansible-runner as pinned in the EE, the collection's runtime needs,
    # and the tools ansible-builder's stages install
    deps = ee["dependencies"]
    reqs = [deps["ansible_core"]["package_pip"], deps["ansible_runner"]["package_pip"],
            ee["options"]["container_init"]["package_pip"]]
    reqs += requirement_lines(os.path.join(ROOT, "meta", "ee-requirements.txt")) + BUILDER_TOOLS
    wheelhouse(cache, reqs, os.path.join(stage, "wheelhouse"))
    for name in sorted(os.listdir(os.path.join(stage, "wheelhouse"))):
        digest.update(("%s %s\n" % (name, file_digest(os.path.join(stage, "wheelhouse", name)))).encode())

    # the definition and the build helpers
    shutil.copy2(os.path.join(ROOT, "execution-environment.yml"), os.path.join(stage, "execution-environment.yml"))
    shutil.copytree(os.path.join(ROOT, "scripts", "ee"), os.path.join(stage, "ee"),
                    ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    for rel in ("execution-environment.yml", "ee/pkgmgr", "ee/pip.conf"):
        digest.update(("%s %s\n" % (rel, file_digest(os.path.join(stage, rel)))).encode())
    digest.update(("builder %s base %s\n" % (metadata.version("ansible-builder"), args.base_image_id)).encode())
    print(digest.hexdigest())


if __name__ == "__main__":
    main()
