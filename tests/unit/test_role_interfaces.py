"""Every role's interface is declared: meta/argument_specs.yml has an entry point for main and for every tasks
file that a role, playbook, molecule scenario or test calls with ``tasks_from`` (issue 17 item 2).

ansible-core validates a role's arguments at entry only for the entry point named exactly like the
``tasks_from`` value: ``tasks_from: record.yml`` looks up an entry point ``record.yml`` and validates nothing,
so a caller must write ``tasks_from: record`` and the spec must have ``record``. The specs are checked with
ansible-core's own ArgumentSpecValidator against the role defaults and against the literal values callers pass.
"""

import glob
import importlib
import os
import sys

import pytest
import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# collection name -> the folder holding its roles (the lab collection lives in lab/, issue 17 item 1)
COLLECTIONS = {"reflexion.incident": os.path.join(ROOT, "roles"), "reflexion.lab": os.path.join(ROOT, "lab", "roles")}
CALLER_DIRS = ("roles", "playbooks", "molecule", "tests", "lab", "extensions", "awx")
SKIP_DIRS = {".venv", ".venv-oldest", "collections", ".cache", "output", "_build", "node_modules", "__pycache__"}
INCLUDE_ACTIONS = {"include_role", "import_role", "ansible.builtin.include_role", "ansible.builtin.import_role",
                   "ansible.legacy.include_role", "ansible.legacy.import_role"}


def role_dirs():
    """(fully qualified role name, role folder) of every role in the repository."""
    out = []
    for coll, folder in COLLECTIONS.items():
        for path in sorted(glob.glob(os.path.join(folder, "*", "tasks", "main.yml"))):
            role_dir = os.path.dirname(os.path.dirname(path))
            out.append(("%s.%s" % (coll, os.path.basename(role_dir)), role_dir))
    return out


ROLES = dict(role_dirs())


def load_specs(role_dir):
    for name in ("argument_specs.yml", "argument_specs.yaml"):
        path = os.path.join(role_dir, "meta", name)
        if os.path.exists(path):
            with open(path) as f:
                return (yaml.safe_load(f) or {}).get("argument_specs") or {}
    return None


def load_defaults(role_dir):
    path = os.path.join(role_dir, "defaults", "main.yml")
    if not os.path.exists(path):
        return {}
    with open(path) as f:
        return yaml.safe_load(f) or {}


def resolve_role(name, caller_path):
    """The fully qualified name of a role a caller names (short names resolve in the caller's collection).

    A molecule scenario's own test role (molecule/<scenario>/roles/<name>, found through the scenario's
    ANSIBLE_ROLES_PATH) is checked like the collection's roles, under the key "molecule:<scenario>/<name>".
    """
    if name.count(".") == 2:
        return name
    local = os.path.join(os.path.dirname(caller_path), "roles", name)
    if "." not in name and os.path.isfile(os.path.join(local, "tasks", "main.yml")):
        key = "molecule:%s/%s" % (os.path.basename(os.path.dirname(caller_path)), name)
        ROLES.setdefault(key, local)
        return key
    rel = os.path.relpath(caller_path, ROOT)
    coll = "reflexion.lab" if rel.startswith("lab" + os.sep) else "reflexion.incident"
    return "%s.%s" % (coll, name)


def walk(node, found, path):
    if isinstance(node, dict):
        for key, value in node.items():
            if key in INCLUDE_ACTIONS and isinstance(value, dict) and "name" in value:
                found.append((path, value["name"], value.get("tasks_from"), node.get("vars") or {}))
            walk(value, found, path)
    elif isinstance(node, list):
        for item in node:
            walk(item, found, path)


def yaml_callers():
    """(file, role name, tasks_from or None, vars) of every include_role/import_role in the repository's YAML."""
    found = []
    for top in CALLER_DIRS:
        for dirpath, dirnames, filenames in os.walk(os.path.join(ROOT, top)):
            dirnames[:] = [d for d in dirnames if d not in SKIP_DIRS]
            for fn in filenames:
                if not fn.endswith((".yml", ".yaml")):
                    continue
                path = os.path.join(dirpath, fn)
                try:
                    with open(path) as f:
                        docs = list(yaml.safe_load_all(f))
                except yaml.YAMLError:
                    continue  # templates (*.yml.j2 are skipped above) and non-Ansible YAML with tags
                walk(docs, found, path)
    return found


def matrix_callers():
    """The role cases of the bad-input matrix (tests/integration/hardening): they include roles by tasks_from too."""
    sys.path.insert(0, ROOT)
    try:
        matrix = importlib.import_module("tests.integration.hardening.matrix")
    finally:
        sys.path.remove(ROOT)
    path = os.path.join(ROOT, "tests", "integration", "hardening", "matrix.py")
    # test_bad_input.py includes "reflexion.incident.<role>"; one case per entry point is enough here
    entries = sorted(set((role, tasks_from or "") for role, tasks_from, _vars, _opt in matrix.ROLES.values()))
    return [(path, role if role.count(".") == 2 else "reflexion.incident." + role, tasks_from or None, {})
            for role, tasks_from in entries]


CALLERS = yaml_callers()


def test_the_roles_and_the_callers_are_found():
    assert {"reflexion.incident.triage", "reflexion.incident.resolve", "reflexion.incident.mitigation_lock"} <= set(ROLES)
    entry = {(resolve_role(n, p), t) for p, n, t, _v in CALLERS if t}
    # the calls this test exists for: triage's record/report/find_incident, resolve's tried, the lock's release
    assert ("reflexion.incident.triage", "record") in entry, sorted(entry)
    assert ("reflexion.incident.resolve", "tried") in entry, sorted(entry)
    assert ("reflexion.incident.mitigation_lock", "release") in entry, sorted(entry)


@pytest.mark.parametrize("role", sorted(ROLES))
def test_every_role_declares_main_with_typed_described_options(role):
    specs = load_specs(ROLES[role])
    assert specs is not None, "%s: no meta/argument_specs.yml" % role
    assert "main" in specs, "%s: no main entry point" % role
    for entry, spec in specs.items():
        assert os.path.exists(os.path.join(ROLES[role], "tasks", entry + ".yml")), (
            "%s: entry point %s has no tasks/%s.yml" % (role, entry, entry))
        assert spec.get("short_description"), "%s:%s: no short_description" % (role, entry)
        for name, opt in (spec.get("options") or {}).items():
            assert opt.get("type"), "%s:%s: option %s has no type" % (role, entry, name)
            assert opt.get("description"), "%s:%s: option %s has no description" % (role, entry, name)
            if opt.get("required"):
                assert "default" not in opt, "%s:%s: %s is required and has a default" % (role, entry, name)


@pytest.mark.parametrize("role", sorted(ROLES))
def test_spec_defaults_are_the_role_defaults_and_pass_the_spec(role):
    """One home for each default: the spec documents defaults/main.yml's value, and that value passes the spec."""
    specs = load_specs(ROLES[role]) or {}
    defaults = load_defaults(ROLES[role])
    for entry, spec in specs.items():
        options = spec.get("options") or {}
        for name, opt in options.items():
            # a templated default is described in words (or left out) in the spec; a literal one must be the same
            if "default" in opt and name in defaults and "{{" not in repr(defaults[name]):
                assert opt["default"] == defaults[name], "%s:%s: %s defaults to %r in the spec, %r in defaults/main.yml" % (
                    role, entry, name, opt["default"], defaults[name])
        # literal defaults (a template is resolved at run time) must satisfy the types and choices
        literal = dict((k, v) for k, v in defaults.items() if k in options and "{{" not in repr(v))
        literal.update(dict((k, o["default"]) for k, o in options.items()
                            if "default" in o and k not in literal and "{{" not in repr(o["default"])))
        result = ArgumentSpecValidator(options).validate(literal)
        # a required option has no default by design (a fact of an earlier step, or the caller's own value)
        errors = [e for e in result.error_messages if "missing required" not in e]
        assert not errors, "%s:%s: its own defaults fail its spec: %s" % (role, entry, errors)
    declared = set()
    for spec in specs.values():
        declared.update(spec.get("options") or {})
    undeclared = sorted(set(defaults) - declared)
    assert not undeclared, "%s: defaults/main.yml sets options no entry point declares: %s" % (role, undeclared)


def caller_cases():
    cases = []
    for path, name, tasks_from, role_vars in CALLERS + matrix_callers():
        if "{{" in str(name):
            continue
        cases.append(pytest.param(path, resolve_role(name, path), tasks_from, role_vars,
                                  id="%s->%s:%s" % (os.path.relpath(path, ROOT), name, tasks_from or "main")))
    return cases


@pytest.mark.parametrize("path, role, tasks_from, role_vars", caller_cases())
def test_every_called_entry_point_has_a_spec_and_accepts_the_literal_vars(path, role, tasks_from, role_vars):
    rel = os.path.relpath(path, ROOT)
    assert role in ROLES, "%s calls %s, which is not a role of this repository" % (rel, role)
    entry = tasks_from or "main"
    specs = load_specs(ROLES[role]) or {}
    assert entry in specs, (
        "%s calls %s with tasks_from=%s, and its meta/argument_specs.yml has no entry point %r (ansible validates "
        "the entry point named exactly like tasks_from; write it without .yml)" % (rel, role, entry, entry))
    options = specs[entry].get("options") or {}
    literal = dict((k, v) for k, v in role_vars.items() if k in options and "{{" not in repr(v))
    if "matrix.py" in rel or not literal:
        return  # the matrix passes bad values on purpose (test_bad_input.py checks they are refused)
    result = ArgumentSpecValidator(options).validate(literal)
    errors = [e for e in result.error_messages if "missing required" not in e]
    assert not errors, "%s passes %s to %s:%s, which its spec refuses: %s" % (rel, literal, role, entry, errors)


def test_a_survey_string_for_a_bool_option_passes_the_spec():
    """AWX surveys and -e give strings: the bool options callers set from them must accept "false" and "yes"."""
    options = load_specs(ROLES["reflexion.incident.triage"])["find_incident"]["options"]
    for value in ("false", "yes", "True", "0"):
        assert not ArgumentSpecValidator(options).validate({"triage_find_unresolved_only": value}).error_messages, value
    assert ArgumentSpecValidator(options).validate({"triage_find_unresolved_only": "maybe"}).error_messages
