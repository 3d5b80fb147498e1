"""docs/runbook-map.md names only things that exist, tunes only variables that are read, and covers the runbook.

- every backticked `playbooks/x.yml`, `roles/x`, `reflexion.incident.x` and repository path exists;
- every variable in a table's last column ("Tuned by") is read somewhere in the collection;
- every section heading of the runbook (docs/runbook.txt) appears in the map;
- every scenario playbook and every role of the collection is mentioned (a new one needs its row).
"""

import glob
import hashlib
import os
import re

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MAP = os.path.join(ROOT, "docs", "runbook-map.md")
RUNBOOK = os.path.join(ROOT, "docs", "runbook.txt")
# Where the team keeps the runbook's source; docs/runbook.txt must be a verbatim copy of it.
SOURCE = os.path.join(os.path.dirname(ROOT), "shared", "seed", "000_7d26c7df731303ff.txt")
# sha256 of that source: a clean clone without ../shared still checks the copy (issue 16: no skips)
SOURCE_SHA256 = "a562cc5af43024168a4e477a779132ad53643aa5578178f16d2343b0b9a2d41b"
PATH_PREFIXES = ("playbooks/", "roles/", "plugins/", "extensions/", "awx/", "docs/", "scripts/",
                 "inventories/", "molecule/", "tests/")
# Not playbook-run by an operator and not a runbook step: the lab's own playbook.
NOT_RUNBOOK_PLAYBOOKS = {"lab.yml"}
# Roles that are infrastructure of the lab/test harness rather than a runbook step.
NOT_RUNBOOK_ROLES = set()


def _read(path):
    with open(path, encoding="utf-8") as handle:
        return handle.read()


def _backticked(text):
    return re.findall(r"`([^`\n]+)`", text)


def _collection_names():
    """Every module, plugin and role name the collection has."""
    names = set()
    for path in glob.glob(os.path.join(ROOT, "plugins", "*", "*.py")):
        kind = os.path.basename(os.path.dirname(path))
        if kind not in ("module_utils", "doc_fragments") and not os.path.basename(path).startswith("_"):
            names.add(os.path.splitext(os.path.basename(path))[0])
    for path in glob.glob(os.path.join(ROOT, "extensions", "eda", "plugins", "*", "*.py")):
        names.add(os.path.splitext(os.path.basename(path))[0])
    for path in glob.glob(os.path.join(ROOT, "roles", "*", "tasks")):
        names.add(os.path.basename(os.path.dirname(path)))
    return names


def _corpus():
    """The text of everything that can read a variable: playbooks, roles, plugins, rulebooks, inventories."""
    chunks = []
    for pattern in ("playbooks/*.yml", "roles/*/*/*.yml", "roles/*/templates/*", "plugins/*/*.py",
                    "extensions/**/*.yml", "extensions/**/*.py", "inventories/**/*.yml"):
        for path in glob.glob(os.path.join(ROOT, pattern), recursive=True):
            chunks.append(_read(path))
    return "\n".join(chunks)


@pytest.fixture(scope="module")
def text():
    return _read(MAP)


def test_named_playbooks_roles_and_paths_exist(text):
    missing = []
    checked = 0
    for token in _backticked(text):
        token = token.strip()
        if token.startswith(PATH_PREFIXES) and " " not in token and "<" not in token:
            checked += 1
            if not os.path.exists(os.path.join(ROOT, token.rstrip("/"))):
                missing.append(token)
    assert checked >= 20, "the map names only %d paths; is it the runbook map?" % checked
    assert not missing, "docs/runbook-map.md names paths that do not exist: %s" % ", ".join(sorted(set(missing)))


def test_named_modules_and_plugins_exist(text):
    names = _collection_names()
    fqcns = re.findall(r"`reflexion\.incident\.([a-z0-9_]+)`", text)
    assert "health_probe" in fqcns
    missing = sorted(set(name for name in fqcns if name not in names))
    assert not missing, "docs/runbook-map.md names reflexion.incident.%s, which the collection lacks" % (
        ", reflexion.incident.".join(missing))


def test_tuning_variables_are_read_somewhere(text):
    corpus = _corpus()
    unknown = []
    for line in text.splitlines():
        if not line.startswith("|") or line.startswith("| ---") or line.startswith("| Runbook step"):
            continue
        last = line.rstrip().rstrip("|").rsplit("|", 1)[-1]
        for token in _backticked(last):
            name = token.split("=", 1)[0].strip()
            if "_" not in name or not re.match(r"^[a-zA-Z_][a-zA-Z0-9_]*$", name) or name.startswith(PATH_PREFIXES):
                continue  # a value (open, 4g, never) or a path
            if not re.search(r"\b%s\b" % re.escape(name), corpus):
                unknown.append(name)
    assert not unknown, "variables in the map that nothing reads: %s" % ", ".join(sorted(set(unknown)))


def test_every_scenario_playbook_and_role_is_mapped(text):
    playbooks = [os.path.basename(p) for p in glob.glob(os.path.join(ROOT, "playbooks", "*.yml"))]
    unmapped = ["playbooks/%s" % name for name in playbooks
                if name not in NOT_RUNBOOK_PLAYBOOKS and "`playbooks/%s`" % name not in text]
    roles = [os.path.basename(os.path.dirname(p)) for p in glob.glob(os.path.join(ROOT, "roles", "*", "tasks"))]
    unmapped += ["roles/%s" % name for name in roles
                 if name not in NOT_RUNBOOK_ROLES and "`roles/%s`" % name not in text]
    assert not unmapped, "not in docs/runbook-map.md (add the runbook step they automate): %s" % ", ".join(sorted(unmapped))


def _norm(value):
    value = re.sub(r"^\d+\.\s*", "", value.strip())
    return re.sub(r"[^a-z0-9]+", " ", value.lower()).strip()


def test_the_runbook_copy_is_verbatim():
    with open(RUNBOOK, "rb") as handle:
        assert hashlib.sha256(handle.read()).hexdigest() == SOURCE_SHA256, \
            "docs/runbook.txt differs from its source (sha256 %s): copy it again" % SOURCE_SHA256
    if os.path.isfile(SOURCE):  # beside the team's checkout: the source itself has not moved on
        with open(SOURCE, "rb") as handle:
            assert hashlib.sha256(handle.read()).hexdigest() == SOURCE_SHA256, \
                "the runbook's source changed: copy it to docs/runbook.txt and update SOURCE_SHA256"


def test_every_runbook_section_is_covered(text):
    headings = list(re.findall(r"^#{3,4}\s+(.+)$", _read(RUNBOOK), re.M))
    assert len(headings) > 20
    body = _norm(text)
    missing = [h for h in headings if _norm(h) not in body]
    assert not missing, "runbook sections missing from docs/runbook-map.md: %s" % "; ".join(missing)


GUIDES = ["docs/quickstart.md", "CONTRIBUTING.md"] + sorted(
    os.path.relpath(p, ROOT) for p in glob.glob(os.path.join(ROOT, "docs", "operator", "*.md")))


@pytest.mark.parametrize("guide", GUIDES)
def test_guides_name_existing_paths(guide):
    """The quickstart, CONTRIBUTING and the operator guides name playbooks, roles and files that exist."""
    missing = []
    for token in _backticked(_read(os.path.join(ROOT, guide))):
        token = token.strip()
        if (token.startswith(PATH_PREFIXES) and " " not in token and "<" not in token and "*" not in token
                and not token.startswith(("docs/_build", "tests/output/"))):  # outputs the build and the tests write
            if not os.path.exists(os.path.join(ROOT, token.rstrip("/"))):
                missing.append(token)
    names = _collection_names()
    named = re.findall(r"`reflexion\.incident\.([a-z0-9_]+)`", _read(os.path.join(ROOT, guide)))
    missing += ["reflexion.incident.%s" % n for n in named if n not in names]
    assert not missing, "%s names what does not exist: %s" % (guide, ", ".join(sorted(set(missing))))
