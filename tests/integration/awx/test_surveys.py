"""AWX job templates as code: one per scenario and standalone playbook; every survey field matches the spec
it feeds (awx/survey_map.yml -> the role's meta/argument_specs.yml, or a playbook-level spec); the
`awx import` file is generated from the templates and up to date."""

import glob
import json
import os
import subprocess
import sys

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
AWX = os.path.join(ROOT, "awx")
PLAYBOOKS = ["high_error_rate", "database_connection_issues", "memory_leak", "llm_api_failures", "triage", "scale_up",
             "restart_services", "circuit_breaker", "rollback", "collect_debug_info", "status_update",
             "post_incident_review"]
EDA_LAUNCHED = {"high_error_rate", "database_connection_issues", "memory_leak", "llm_api_failures", "restart_services",
                "status_update"}
SURVEY_TYPES = {"text", "textarea", "password", "integer", "float", "multiplechoice", "multiselect"}


def load(path):
    with open(path) as f:
        return yaml.safe_load(f)


def templates():
    return {os.path.basename(p)[:-4]: load(p) for p in sorted(glob.glob(os.path.join(AWX, "job_templates", "*.yml")))}


def survey(jt):
    return (jt.get("related") or {}).get("survey_spec", {}).get("spec", [])


def choices_of(question):
    c = question.get("choices", [])
    return c.split("\n") if isinstance(c, str) else list(c)


def is_template(value):
    return isinstance(value, str) and "{{" in value


def mismatches(question, spec):
    """Differences between one AWX survey question and the argument spec it feeds (pure)."""
    problems = []
    stype = spec.get("type", "str")
    qtype = question["type"]
    default = spec.get("default")
    required = bool(spec.get("required", False))
    choices = spec.get("choices")
    allowed = {
        "integer": stype == "int",
        "float": stype == "float",
        "text": stype in ("str", "path", "raw") and not choices,
        "textarea": stype in ("str", "raw") and not choices,
        "password": stype == "str" and bool(spec.get("no_log")),
        "multiplechoice": stype == "bool" or (stype == "str" and bool(choices)),
        "multiselect": stype == "list" and bool(choices),
    }
    if not allowed.get(qtype, False):
        problems.append("type: survey %s cannot feed argument type %s%s" % (qtype, stype, " with choices" if choices else ""))
    if bool(question.get("required", False)) != required:
        problems.append("required: survey %s, spec %s" % (question.get("required", False), required))
    qdefault = question.get("default", "")
    if is_template(default):
        if qdefault not in ("", None):
            problems.append("default: the spec default %r reads the inventory; the survey must leave it empty, not %r"
                            % (default, qdefault))
    elif stype == "bool":
        want = "" if default is None else str(bool(default)).lower()
        if str(qdefault).lower() != want:
            problems.append("default: survey %r, spec %r" % (qdefault, default))
    elif qtype == "multiselect":
        got = qdefault.split("\n") if isinstance(qdefault, str) and qdefault else list(qdefault or [])
        if got != list(default or []):
            problems.append("default: survey %r, spec %r" % (qdefault, default))
    else:
        want = "" if default is None else default
        if qdefault != want and not (qtype in ("integer", "float") and qdefault not in ("", None) and default is not None
                                     and float(qdefault) == float(default)):
            problems.append("default: survey %r, spec %r" % (qdefault, default))
    if stype == "bool" and qtype == "multiplechoice" and sorted(choices_of(question)) != ["false", "true"]:
        problems.append("choices: a bool needs exactly true/false, got %r" % choices_of(question))
    if choices and choices_of(question) != [str(c) for c in choices]:
        problems.append("choices: survey %r, spec %r" % (choices_of(question), choices))
    return problems


def role_spec(role, argument, entry_point="main"):
    """The argument's spec, or None when the role is not there yet; fails when the role lacks the argument."""
    path = os.path.join(ROOT, "roles", role, "meta", "argument_specs.yml")
    if not os.path.isfile(path):
        return None
    options = load(path)["argument_specs"][entry_point].get("options", {})
    assert argument in options, "roles/%s/meta/argument_specs.yml (%s) has no option %s; options: %s" % (
        role, entry_point, argument, ", ".join(sorted(options)))
    return options[argument]


def test_one_job_template_per_playbook():
    found = templates()
    assert sorted(found) == sorted(PLAYBOOKS)
    names = set()
    for name, jt in found.items():
        assert jt["playbook"] == "playbooks/%s.yml" % name
        assert jt["natural_key"] == {"organization": {"name": "Default", "type": "organization"},
                                     "name": jt["name"], "type": "job_template"}
        assert jt["project"]["name"] == "reflexion.incident" and jt["project"]["type"] == "project"
        assert jt["execution_environment"]["type"] == "execution_environment"
        # issue 19: the templates EDA Controller launches take the alert's fields as extra vars
        assert jt["job_type"] == "run" and jt["ask_variables_on_launch"] is (name in EDA_LAUNCHED), name
        assert jt["survey_enabled"] is bool(survey(jt)), name
        assert jt["name"] not in names
        names.add(jt["name"])


def test_survey_questions_are_well_formed():
    for name, jt in templates().items():
        variables = [q["variable"] for q in survey(jt)]
        assert len(variables) == len(set(variables)), name
        for q in survey(jt):
            assert q["type"] in SURVEY_TYPES, (name, q)
            assert q["question_name"], (name, q)
            if q["type"] in ("multiplechoice", "multiselect"):
                assert choices_of(q), (name, q)
                if q.get("default") not in ("", None) and q["type"] == "multiplechoice":
                    assert q["default"] in choices_of(q), (name, q)


def test_every_survey_field_matches_its_argument_spec():
    survey_map = load(os.path.join(AWX, "survey_map.yml"))
    problems, checked, waiting = [], [], set()
    for name, jt in templates().items():
        playbook = os.path.join(ROOT, jt["playbook"])
        mapping = dict(survey_map.get("variables") or {})
        mapping.update((survey_map.get("templates") or {}).get(name) or {})
        for q in survey(jt):
            var = q["variable"]
            entry = mapping.get(var)
            if entry is None:
                problems.append("%s: survey variable %s is not in awx/survey_map.yml" % (name, var))
                continue
            if entry.get("playbook_var") or entry.get("argument") != var:
                if os.path.isfile(playbook):
                    with open(playbook) as f:
                        if var not in f.read():
                            problems.append("%s: %s does not use survey variable %s" % (name, jt["playbook"], var))
            if entry.get("playbook_var"):
                spec = entry["spec"]
            else:
                spec = role_spec(entry["role"], entry["argument"], entry.get("entry_point", "main"))
                if spec is None:
                    waiting.add(entry["role"])
                    continue
            problems += ["%s: %s: %s" % (name, var, p) for p in mismatches(q, spec)]
            checked.append("%s.%s" % (name, var))
    print("checked %d survey fields: %s" % (len(checked), ", ".join(checked)))
    print("roles not written yet (their fields not checked): %s" % (", ".join(sorted(waiting)) or "none"))
    assert not problems, "\n".join(problems)
    assert checked, "no survey field could be checked"


@pytest.mark.parametrize("question, spec, expected", [
    ({"type": "integer", "default": 3, "required": False}, {"type": "int", "default": 3}, []),
    ({"type": "integer", "default": 5, "required": False}, {"type": "int", "default": 3}, ["default"]),
    ({"type": "text", "default": "", "required": False}, {"type": "int", "default": 3}, ["type", "default"]),
    ({"type": "integer", "default": 3, "required": True}, {"type": "int", "default": 3}, ["required"]),
    ({"type": "multiplechoice", "default": "false", "choices": ["true", "false"], "required": False},
     {"type": "bool", "default": False}, []),
    ({"type": "multiplechoice", "default": "true", "choices": ["true", "false"], "required": False},
     {"type": "bool", "default": False}, ["default"]),
    ({"type": "multiplechoice", "default": "never", "choices": ["never", "auto"], "required": False},
     {"type": "str", "default": "never", "choices": ["never", "auto", "always"]}, ["choices"]),
    ({"type": "text", "default": "reflexion", "required": False},
     {"type": "str", "default": "{{ reflexion_app_service | default('reflexion') }}"}, ["default"]),
    ({"type": "text", "default": "", "required": False},
     {"type": "str", "default": "{{ reflexion_app_service | default('reflexion') }}"}, []),
    ({"type": "password", "default": "", "required": False}, {"type": "str"}, ["type"]),
    ({"type": "password", "default": "", "required": False}, {"type": "str", "no_log": True}, []),
])
def test_the_comparison_catches_each_kind_of_mismatch(question, spec, expected):
    found = [p.split(":")[0] for p in mismatches(question, spec)]
    assert found == expected


def test_awx_import_file_is_generated_from_the_templates():
    proc = subprocess.run([sys.executable, os.path.join(AWX, "build_import.py"), "--check"], capture_output=True,
                          text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    with open(os.path.join(AWX, "awx_import.json")) as f:
        data = json.load(f)
    assert sorted(jt["playbook"] for jt in data["job_templates"]) == sorted("playbooks/%s.yml" % p for p in PLAYBOOKS)
    assert [p["name"] for p in data["projects"]] == ["reflexion.incident"]
    assert [i["name"] for i in data["inventory"]] == ["reflexion"]
    assert [e["name"] for e in data["execution_environments"]] == ["reflexion-incident-ee"]


def test_awxkit_accepts_the_import_shape():
    """awxkit's importer reads these keys: every resource is one it exports, every asset has a natural_key."""
    from awxkit.api.pages.api import EXPORTABLE_RESOURCES

    with open(os.path.join(AWX, "awx_import.json")) as f:
        data = json.load(f)
    assert set(data) <= set(EXPORTABLE_RESOURCES)
    for resource, assets in data.items():
        for asset in assets:
            assert asset["natural_key"]["type"], (resource, asset)
            assert asset["natural_key"]["name"] == asset["name"], (resource, asset)
