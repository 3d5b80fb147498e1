"""Issue 16, docs say only what the code does: file checks of the claims the docs make about the repository.

- every `molecule <command> -s X` and MOLECULE_SCENARIOS="..." in the Markdown names an existing scenario,
  and "one scenario per role" is only claimed while every role has one;
- CONTRIBUTING.md's list of role scenarios names existing scenarios, and every role is accounted for;
- docs/operator/guardrails.md: every switch's default in its table is the role's default (the playbooks'
  for auto_mitigate); a timeline claim says the callback must be enabled unless ansible.cfg enables it;
  "off by default" never hides that auto_mitigate restarts the app by default;
- docs/eda.md: the resolved rule's status update finds its incident the way playbooks/status_update.yml
  does (no `incident_id` is passed), with the playbook's alert -> scenario mapping; the ServiceDown rule's
  restart request is the one the rulebook passes.
"""

import configparser
import glob
import os
import re

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MOLECULE = os.path.join(ROOT, "molecule")
SKIP_DIRS = (".venv", "collections", ".ansible", ".cache", "_build", "node_modules", "tests/output")


def read(rel):
    with open(os.path.join(ROOT, rel), encoding="utf-8") as handle:
        return handle.read()


def markdown_files():
    found = []
    for path in glob.glob(os.path.join(ROOT, "**", "*.md"), recursive=True):
        rel = os.path.relpath(path, ROOT)
        if not any(rel == d or rel.startswith(d + os.sep) for d in SKIP_DIRS):
            found.append(rel)
    return sorted(found)


def scenarios():
    return {os.path.basename(os.path.dirname(p)) for p in glob.glob(os.path.join(MOLECULE, "*", "molecule.yml"))}


def roles():
    """The product's roles and the test bed's (the lab collection in lab/, issue 17)."""
    paths = glob.glob(os.path.join(ROOT, "roles", "*", "tasks")) + glob.glob(os.path.join(ROOT, "lab", "roles", "*", "tasks"))
    return {os.path.basename(os.path.dirname(p)) for p in paths}


def role_default(name):
    """The value of ``name`` in the roles' defaults/main.yml (the one role that defines it)."""
    found = {}
    for path in glob.glob(os.path.join(ROOT, "roles", "*", "defaults", "main.yml")):
        with open(path) as handle:
            data = yaml.safe_load(handle) or {}
        if name in data:
            found[os.path.relpath(path, ROOT)] = data[name]
    assert len(found) == 1, "%s: defined in %s" % (name, sorted(found) or "no role's defaults/main.yml")
    return next(iter(found.values()))


@pytest.mark.parametrize("doc", markdown_files())
def test_every_molecule_scenario_a_doc_names_exists(doc):
    text = read(doc)
    named = re.findall(r"\bmolecule\s+(?:test|converge|verify|destroy|create|prepare|idempotence|login|check)\b"
                       r"[^\n`]*?\s-s\s+([\w-]+)", text)
    for group in re.findall(r"MOLECULE_SCENARIOS=\"([^\"]*)\"", text):
        named += group.split()
    missing = sorted(set(n for n in named if n not in scenarios()))
    assert not missing, "%s names molecule scenarios that do not exist (ls molecule/): %s" % (doc, missing)


@pytest.mark.parametrize("doc", markdown_files())
def test_one_scenario_per_role_only_if_true(doc):
    if not re.search(r"scenario per role", read(doc), re.I):
        return
    without = sorted(roles() - scenarios())
    assert not without, "%s claims one molecule scenario per role; roles without one: %s" % (doc, without)


def test_contributing_lists_the_role_scenarios_that_exist():
    text = read("CONTRIBUTING.md")
    bullet = re.search(r"^- \*\*roles\*\*:(.*?)(?=^- \*\*|\n\n)", text, re.M | re.S)
    assert bullet, "CONTRIBUTING.md: no '- **roles**:' list of the role scenarios"
    listed = set(re.findall(r"`([\w-]+)`", bullet.group(1)))
    assert listed - roles() <= {"rollback_role"}, listed - roles()
    missing = sorted(n for n in listed if n not in scenarios())
    assert not missing, "CONTRIBUTING.md lists role scenarios that do not exist: %s" % missing
    # every role is either listed with its scenario or named as having none / tested elsewhere
    unaccounted = sorted(r for r in roles() if "`%s`" % r not in text)
    assert not unaccounted, "CONTRIBUTING.md does not say how these roles are tested: %s" % unaccounted


def guardrail_rows():
    """(switch, default as written) from the table of docs/operator/guardrails.md."""
    return re.findall(r"^\| `(\w+)` \| `(true|false)`", read("docs/operator/guardrails.md"), re.M)


def test_guardrails_table_defaults_are_the_code_defaults():
    rows = guardrail_rows()
    assert len(rows) >= 7, rows
    for switch, written in rows:
        if switch == "auto_mitigate":
            for path in glob.glob(os.path.join(ROOT, "playbooks", "*.yml")):
                for found in re.findall(r"auto_mitigate \| default\((\w+)\)", read(os.path.relpath(path, ROOT))):
                    assert found.lower() == written, "%s: auto_mitigate defaults to %s, the doc says %s" % (
                        path, found, written)
            continue
        actual = role_default(switch)
        assert actual is (written == "true"), "%s: the doc says %s, the role's default is %r" % (switch, written, actual)


def test_guardrails_off_by_default_names_what_auto_mitigate_applies():
    text = read("docs/operator/guardrails.md")
    assert "off by default" in text
    defaults_true = [s for s, written in guardrail_rows() if written == "true"]
    assert defaults_true == ["auto_mitigate"], defaults_true
    # auto_mitigate is on and restarts the app by itself: "off by default" must not be said of every
    # step that can drop work without saying that.
    intro = text.split("\n|", 1)[0]
    assert "app restart" in intro and "auto_mitigate" in intro, intro


def test_a_timeline_claim_says_how_the_timeline_is_enabled():
    cfg = configparser.ConfigParser(interpolation=None)
    cfg.read(os.path.join(ROOT, "ansible.cfg"))
    enabled = "incident_timeline" in cfg.get("defaults", "callbacks_enabled", fallback="")
    text = read("docs/operator/guardrails.md")
    if "timeline" in text and not enabled:
        assert "ANSIBLE_CALLBACKS_ENABLED=reflexion.incident.incident_timeline" in text, \
            "guardrails.md relies on timeline.jsonl, which ansible.cfg does not enable: say how to enable it"
    # the timeline records tasks, never the values of variables
    assert not re.search(r"timeline[^.]*shows that it was set", text)


def rulebook_rules():
    with open(os.path.join(ROOT, "extensions", "eda", "rulebooks", "reflexion_alerts.yml")) as handle:
        return yaml.safe_load(handle)[0]["rules"]


def test_eda_doc_incident_lookup_matches_the_code():
    text = read("docs/eda.md")
    resolved = [r for r in rulebook_rules() if 'status == "resolved"' in r["condition"]]
    assert len(resolved) == 1
    passes_id = "incident_id" in resolved[0]["action"]["run_playbook"]["extra_vars"]
    if not passes_id:
        assert not re.search(r"requires `incident_id`", text), \
            "docs/eda.md says the status update requires incident_id; the resolved rule passes none"
    with open(os.path.join(ROOT, "playbooks", "status_update.yml")) as handle:
        mapping = yaml.safe_load(handle)[0]["vars"]["status_update_alert_scenarios"]
    assert "`status_update_alert_scenarios`" in text
    quoted = re.findall(r"`(\w+)` -> `(\w+)`", text)
    assert quoted, "docs/eda.md quotes no alert -> scenario pair"
    for alert, scenario in quoted:
        assert mapping.get(alert) == scenario, (alert, scenario, mapping)


def test_eda_doc_names_the_restart_request_the_rule_passes():
    text = read("docs/eda.md")
    down = [r for r in rulebook_rules() if '"ServiceDown"' in r["condition"] and "firing" in r["condition"]]
    reason = down[0]["action"]["run_playbook"]["extra_vars"]["restart_reason"]
    assert "`restart_reason: %s`" % reason in text
