"""Assemble awx/awx_import.json (for `awx import`) from awx/assets.yml, awx/job_templates/*.yml and
awx/workflows.yml.

    python awx/build_import.py            # rewrite awx/awx_import.json
    python awx/build_import.py --check    # exit 1 if awx/awx_import.json is out of date
"""

import glob
import json
import os
import sys

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
OUTPUT = os.path.join(HERE, "awx_import.json")


def load(path):
    with open(path) as f:
        return yaml.safe_load(f)


def org_key(name):
    return {"name": name, "type": "organization"}


def jt_key(org, name):
    return {"organization": org_key(org), "name": name, "type": "job_template"}


def workflow(spec, org, timeout):
    """One scenario's workflow job template in `awx export` form (see awx/workflows.yml for the graph)."""
    scenario = spec["scenario"]
    name = "reflexion %s workflow" % scenario
    wf_key = {"organization": org_key(org), "name": name, "type": "workflow_job_template"}

    def node_key(identifier):
        return {"workflow_job_template": wf_key, "identifier": identifier, "type": "workflow_job_template_node"}

    def node(identifier, template=None, extra_data=None, success=(), failure=(), always=(), approval=None):
        related = {"success_nodes": [node_key(n) for n in success],
                   "failure_nodes": [node_key(n) for n in failure],
                   "always_nodes": [node_key(n) for n in always]}
        item = {"identifier": identifier, "workflow_job_template": wf_key, "all_parents_must_converge": False,
                "extra_data": extra_data or {}, "natural_key": node_key(identifier)}
        if template is not None:
            item["unified_job_template"] = jt_key(org, template)
        if approval is not None:
            related["create_approval_template"] = approval
        item["related"] = related
        return item

    nodes = [
        node("triage", "reflexion triage", success=["approve"]),
        node("approve", approval={
            "name": "Approve the %s mitigation" % scenario,
            "description": "Triage found the incident; approve to run the %s mitigation (job template "
                           "reflexion %s, auto_mitigate true). Deny or let it time out to only post a "
                           "status update." % (scenario, scenario),
            "timeout": timeout}, success=["mitigate"], failure=["declined"]),
        node("mitigate", "reflexion %s" % scenario, extra_data={"auto_mitigate": "true"},
             success=["verify"], failure=["update"]),
        node("verify", "reflexion triage", extra_data={"triage_open_incident_at": "never"}, always=["update"]),
        # No status: the update keeps the incident's own (verify may have recorded RESOLVED; MONITORING here
        # would move it back).
        node("update", "reflexion status_update", extra_data={
            "mitigation": "The %s mitigation ran after approval (AWX workflow); triage verified the service "
                          "again." % scenario}),
        node("declined", "reflexion status_update", extra_data={
            "status": "INVESTIGATING",
            "mitigation": "The automated %s mitigation was not approved; the on-call engineer is "
                          "investigating." % scenario}),
    ]
    return {
        "name": name,
        "description": spec["description"],
        "organization": org_key(org),
        "extra_vars": "---",
        "survey_enabled": False,
        "allow_simultaneous": False,
        # EDA Controller may launch the workflow (run_workflow_template) with the alert's validated fields
        "ask_variables_on_launch": True,
        "ask_inventory_on_launch": False,
        "ask_limit_on_launch": False,
        "natural_key": wf_key,
        "related": {"workflow_nodes": nodes},
    }


def assemble():
    data = load(os.path.join(HERE, "assets.yml"))
    data["job_templates"] = [load(p) for p in sorted(glob.glob(os.path.join(HERE, "job_templates", "*.yml")))]
    flows = load(os.path.join(HERE, "workflows.yml"))
    data["workflow_job_templates"] = [workflow(w, flows["organization"], flows["approval_timeout"])
                                      for w in flows["workflows"]]
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def main(argv):
    text = assemble()
    if "--check" in argv:
        with open(OUTPUT) as f:
            current = f.read()
        if current != text:
            sys.stderr.write("awx/awx_import.json is out of date: run python awx/build_import.py\n")
            return 1
        return 0
    with open(OUTPUT, "w") as f:
        f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
