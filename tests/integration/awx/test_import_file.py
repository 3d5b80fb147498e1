"""awx/awx_import.json checked with awxkit's own import code, as far as it runs without an AWX (issue 19).

`awx import` (awxkit.cli.resource.Import -> ApiV2.import_assets) needs a server for three things only: the
API root listing (which resources exist), the OPTIONS schema of each endpoint (which fields a POST takes) and
the natural-key look-ups (GET by name). Offline this test runs awxkit's own ordering (ApiV2._dependent_resources
over the root listing AWX serves), its natural-key classes (NATURAL_KEY, the resources map get_by_natural_key
uses) and its payload builders (the fields awxkit posts for each object), and checks that every reference
resolves in that order. docs/awx.md, "What is validated without a server".
"""

import json
import os
import re
import subprocess
import sys

import jinja2.sandbox
import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
AWX = os.path.join(ROOT, "awx")
# The top-level keys of AWX 24's /api/v2/ (the listing ApiV2.import_assets reads first).
API_ROOT = ("ping instances instance_groups config settings me dashboard organizations users execution_environments "
            "projects project_updates teams credentials credential_types credential_input_sources applications tokens "
            "metrics inventory inventory_sources inventory_updates groups hosts job_templates jobs ad_hoc_commands "
            "system_job_templates system_jobs schedules roles notification_templates notifications labels "
            "unified_job_templates unified_jobs activity_stream workflow_job_templates workflow_jobs "
            "workflow_approvals workflow_job_template_nodes workflow_job_nodes").split()
PREEXISTING = [{"name": "Default", "type": "organization"}]  # every AWX has it
# job templates whose playbook can change the service: a workflow must pass an approval node before them
CHANGES_THE_SERVICE = {"reflexion high_error_rate", "reflexion database_connection_issues", "reflexion memory_leak",
                       "reflexion llm_api_failures", "reflexion restart_services", "reflexion rollback",
                       "reflexion scale_up", "reflexion circuit_breaker"}
DERIVED = {("job_template", "organization"): lambda a: a["project"]["organization"],
           ("inventory_source", "organization"): lambda a: a["inventory"]["organization"]}
SCENARIOS = ["high_error_rate", "database_connection_issues", "memory_leak", "llm_api_failures"]


def load_import():
    with open(os.path.join(AWX, "awx_import.json")) as f:
        return json.load(f)


def freeze(key):
    from awxkit.api.utils import freeze as awx_freeze
    return awx_freeze(key)


def is_ref(value):
    return isinstance(value, dict) and "type" in value


def offline_api():
    from awxkit.api.client import Connection
    from awxkit.api.pages.api import ApiV2
    from awxkit.api.resources import resources

    listing = {k: getattr(resources, "inventories" if k == "inventory" else k) for k in API_ROOT
               if getattr(resources, "inventories" if k == "inventory" else k, None)}
    # 127.0.0.1:9 (discard) is never contacted: nothing below sends a request
    return ApiV2(Connection("http://127.0.0.1:9"), endpoint=resources.v2, json=listing)


def page_class(natural_key):
    """The awxkit page class get_by_natural_key would query for this natural key (its `type`)."""
    from awxkit.api.pages.page import PageList, get_registered_page
    from awxkit.api.resources import resources

    endpoint = getattr(resources, natural_key["type"], None)
    assert endpoint is not None, "awxkit has no resource for natural key type %r" % natural_key["type"]
    list_class = get_registered_page("".join([endpoint.rsplit("/", 2)[0], "/"]))
    # the list page's results are pages of its item class, whose natural keys are compared
    return next(c for c in list_class.__mro__ if not issubclass(c, PageList))


def test_the_import_file_is_json_awx_import_reads():
    # awx import reads stdin with json.load (format json, the default) and passes the dict to import_assets
    proc = subprocess.run([sys.executable, os.path.join(AWX, "build_import.py"), "--check"], capture_output=True,
                          text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    from awxkit.api.pages.api import EXPORTABLE_RESOURCES
    data = load_import()
    assert set(data) <= set(EXPORTABLE_RESOURCES)
    for resource in ("credential_types", "credentials", "projects", "inventory", "inventory_sources",
                     "execution_environments", "job_templates", "workflow_job_templates"):
        assert data.get(resource), resource


def test_natural_keys_are_the_ones_awxkit_computes():
    """Each natural key has exactly the fields of the page class's NATURAL_KEY (plus type) with the object's own
    values: the key AWX computes after the import, so that a second import finds the object (no duplicate)."""
    data = load_import()
    checked = 0
    for resource, assets in data.items():
        for asset in assets:
            nk = asset["natural_key"]
            cls = page_class(nk)
            assert set(nk) == set(cls.NATURAL_KEY) | {"type"}, (resource, asset["name"], cls.NATURAL_KEY)
            for field in cls.NATURAL_KEY:
                # AWX derives a job template's and an inventory source's organization from its project/inventory
                derived = DERIVED.get((nk["type"], field))
                value = asset[field] if field in asset or derived is None else derived(asset)
                assert nk[field] == value, (resource, asset["name"], field)
            checked += 1
    for wf in data["workflow_job_templates"]:
        for node in wf["related"]["workflow_nodes"]:
            cls = page_class(node["natural_key"])
            assert cls.__name__ == "WorkflowJobTemplateNode", cls
            assert set(node["natural_key"]) == set(cls.NATURAL_KEY) | {"type"}
            assert node["natural_key"]["workflow_job_template"] == wf["natural_key"]
            assert node["natural_key"]["identifier"] == node["identifier"]
            checked += 1
    assert checked > 20


def test_every_reference_resolves_in_awx_import_order():
    """awxkit's own order (ApiV2._dependent_resources); an object may only refer to one created before it (or to
    the Default organization). Related sets (credentials, workflow nodes) are assigned after every resource."""
    order = list(offline_api()._dependent_resources())
    data = load_import()
    assert [r for r in order if r in data] == ["credential_types", "inventory", "workflow_job_templates", "credentials",
                                               "execution_environments", "projects", "inventory_sources",
                                               "job_templates"]
    known = {freeze(k) for k in PREEXISTING}
    unresolved = []
    for resource in order:
        for asset in data.get(resource) or []:
            for field, value in asset.items():
                if field != "natural_key" and is_ref(value) and freeze(value) not in known:
                    unresolved.append("%s %r: %s -> %r" % (resource, asset["name"], field, value))
            known.add(freeze(asset["natural_key"]))
    # _assign_related: attach sets by natural key, create sets (workflow nodes) after all objects exist
    for resource in ("job_templates", "workflow_job_templates"):
        for asset in data[resource]:
            for cred in asset.get("related", {}).get("credentials", []):
                if freeze(cred) not in known:
                    unresolved.append("%s %r: credential %r" % (resource, asset["name"], cred))
    for wf in data["workflow_job_templates"]:
        nodes = {freeze(n["natural_key"]) for n in wf["related"]["workflow_nodes"]}
        for node in wf["related"]["workflow_nodes"]:
            if "unified_job_template" in node and freeze(node["unified_job_template"]) not in known:
                unresolved.append("%s node %s: %r" % (wf["name"], node["identifier"], node["unified_job_template"]))
            for kind in ("success_nodes", "failure_nodes", "always_nodes"):
                for target in node["related"].get(kind, []):
                    if freeze(target) not in nodes:
                        unresolved.append("%s node %s: %s %r" % (wf["name"], node["identifier"], kind, target))
    assert not unresolved, "\n".join(unresolved)


def _payload(cls, asset, extra=None):
    from awxkit.api.client import Connection
    from awxkit.utils import PseudoNamespace

    kwargs = dict(extra or {})
    for field, value in asset.items():
        if field in ("natural_key", "related"):
            continue
        if is_ref(value):
            value = PseudoNamespace(id=1, managed=False, kind=value.get("kind", ""), name=value.get("name", ""))
            field = {"source_project": "project"}.get(field, field)
        kwargs[field] = value
    return cls(Connection("http://127.0.0.1:9")).payload(**kwargs)


def test_every_field_is_one_awxkit_posts():
    """`awx import` silently drops a field the endpoint does not take; awxkit's payload builders list the fields
    each object takes, so a misspelt field (scm_update_cache_timout) fails here instead of vanishing in AWX."""
    from awxkit.api import pages

    classes = {"credential_types": pages.CredentialType, "credentials": pages.Credential, "projects": pages.Project,
               "inventory": pages.Inventory, "inventory_sources": pages.InventorySource,
               "execution_environments": pages.ExecutionEnvironment, "job_templates": pages.JobTemplate,
               "workflow_job_templates": pages.WorkflowJobTemplate}
    data = load_import()
    dropped = []
    for resource, cls in classes.items():
        for asset in data[resource]:
            payload = _payload(cls, asset)
            dropped += ["%s %r: %s" % (resource, asset["name"], f) for f in asset
                        if f not in ("natural_key", "related") and f not in payload]
    for wf in data["workflow_job_templates"]:
        for node in wf["related"]["workflow_nodes"]:
            payload = _payload(pages.WorkflowJobTemplateNode, node,
                               {"unified_job_template": None} if "unified_job_template" not in node else None)
            dropped += ["%s node %s: %s" % (wf["name"], node["identifier"], f) for f in node
                        if f not in ("natural_key", "related") and f not in payload]
    assert not dropped, "fields awx import would drop:\n" + "\n".join(dropped)
    # the check itself catches a misspelt field
    bad = dict(data["projects"][0], scm_update_cache_timout=300)
    assert "scm_update_cache_timout" not in _payload(pages.Project, bad)


def test_project_and_inventory_source():
    data = load_import()
    project = data["projects"][0]
    assert project["scm_update_on_launch"] is True and project["scm_update_cache_timeout"] == 300
    source = data["inventory_sources"][0]
    assert source["source"] == "scm" and source["source_project"] == project["natural_key"]
    assert source["inventory"] == data["inventory"][0]["natural_key"]
    assert os.path.isfile(os.path.join(ROOT, source["source_path"])), source["source_path"]
    assert source["update_on_launch"] is True and source["update_cache_timeout"] == 300


def test_the_secrets_credential_type():
    from awxkit.api.utils import remove_encrypted

    data = load_import()
    ctype = data["credential_types"][0]
    assert ctype["kind"] == "cloud"  # the only kinds AWX allows for a custom type: cloud, net
    fields = {f["id"]: f for f in ctype["inputs"]["fields"]}
    secrets = {"pg_password", "redis_password", "openai_api_key", "anthropic_api_key", "webhook_url",
               "incident_pg_dsn"}
    assert secrets <= set(fields)
    for fid, field in fields.items():
        assert re.match(r"^[a-zA-Z_]+[a-zA-Z0-9_]*$", fid) and field["label"] and field["type"] == "string", field
        assert bool(field.get("secret")) is (fid in secrets), fid
    used = set()
    for kind in ("extra_vars", "env"):
        for value in ctype["injectors"][kind].values():
            used |= set(re.findall(r"{{\s*(\w+)", value))
    assert used == set(fields), "injectors and fields differ: %s" % (used ^ set(fields))
    # the collection's own variable names: each injected extra var is read by a role, playbook or the inventory
    text = ""
    for dirpath, _dirs, files in os.walk(ROOT):
        if any(p in dirpath for p in ("/.venv", "/.git", "/collections", "/tests", "/awx", "/docs", "/.ansible")):
            continue
        for name in files:
            if name.endswith((".yml", ".py")):
                with open(os.path.join(dirpath, name), errors="replace") as f:
                    text += f.read()
    for var in ctype["injectors"]["extra_vars"]:
        assert var in text, "%s is injected but nothing in the collection reads it" % var
    for var in ("REFLEXION_PG_PASSWORD", "REFLEXION_REDIS_PASSWORD", "REFLEXION_WEBHOOK_URL", "REFLEXION_INCIDENT_STORE"):
        assert var in ctype["injectors"]["env"] and var in text, var
    # the import carries no secret: the credential has only the non-secret store choice
    cred = data["credentials"][0]
    assert set(cred["inputs"]) == {"incident_store"} and remove_encrypted(cred["inputs"]) == cred["inputs"]
    assert cred["credential_type"] == ctype["natural_key"]
    for jt in data["job_templates"]:
        assert jt["related"]["credentials"] == [cred["natural_key"]], jt["name"]


def render_injectors(ctype, inputs):
    """Render the injectors as AWX does (a Jinja sandbox; an input left empty renders as "")."""
    env = jinja2.sandbox.ImmutableSandboxedEnvironment()
    return ({k: env.from_string(v).render(**inputs) for k, v in ctype["injectors"]["extra_vars"].items()},
            {k: env.from_string(v).render(**inputs) for k, v in ctype["injectors"]["env"].items()})


def test_injected_secrets_reach_the_collection_variables(tmp_path):
    """The rendered injectors, given to ansible-playbook as AWX gives them (-e @file and the environment), set the
    variables the roles read, through inventories/example's group_vars as well."""
    ctype = load_import()["credential_types"][0]
    empty_vars, empty_env = render_injectors(ctype, {})
    assert set(empty_vars.values()) == {""} and empty_env["REFLEXION_INCIDENT_STORE"] == "files"
    inputs = {"pg_password": "pg-s3cret", "redis_password": "redis-s3cret", "openai_api_key": "sk-test-1",
              "anthropic_api_key": "sk-ant-test-1", "webhook_url": "http://127.0.0.1:9/hook",
              "incident_store": "postgresql",
              "incident_pg_dsn": "host=127.0.0.1 port=5439 dbname=incidents user=oncall password=store-s3cret"}
    extra_vars, env_vars = render_injectors(ctype, inputs)
    assert env_vars["REFLEXION_INCIDENT_STORE"] == "postgresql" and "store-s3cret" in env_vars["REFLEXION_INCIDENT_PG_DSN"]
    # libpq's own variables would become every PostgreSQL probe's defaults in the job: never injected
    assert not [k for k in env_vars if k.startswith("PG")], env_vars
    varsfile = tmp_path / "extra_vars.json"
    varsfile.write_text(json.dumps(extra_vars))
    out = tmp_path / "seen.json"
    play = [{"name": "Show what the roles read", "hosts": "localhost", "gather_facts": False, "tasks": [
        {"name": "Write the variables", "ansible.builtin.copy": {"dest": str(out), "mode": "0600", "content": (
            "{{ {'pg': reflexion_pg_password, 'redis': reflexion_redis_password, 'openai': reflexion_openai_api_key,"
            " 'anthropic': reflexion_anthropic_api_key, 'webhook': communicate_webhook_url,"
            " 'env_webhook': lookup('ansible.builtin.env', 'REFLEXION_WEBHOOK_URL'),"
            " 'env_store': lookup('ansible.builtin.env', 'REFLEXION_INCIDENT_STORE')} | to_json }}")}}]}]
    playbook = tmp_path / "show.yml"
    playbook.write_text(yaml.safe_dump(play))
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), **env_vars)
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i",
                           os.path.join(ROOT, "inventories", "example"), "-e", "@" + str(varsfile),
                           "-e", "ansible_connection=local ansible_python_interpreter=" + sys.executable, str(playbook)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    seen = json.loads(out.read_text())
    assert seen == {"pg": "pg-s3cret", "redis": "redis-s3cret", "openai": "sk-test-1", "anthropic": "sk-ant-test-1",
                    "webhook": "http://127.0.0.1:9/hook", "env_webhook": "http://127.0.0.1:9/hook",
                    "env_store": "postgresql"}


def _paths(nodes, start):
    """Every path (list of identifiers) from ``start`` along success/failure/always edges (the graph is acyclic)."""
    edges = [t["identifier"] for kind in ("success_nodes", "failure_nodes", "always_nodes")
             for t in nodes[start]["related"].get(kind, [])]
    if not edges:
        return [[start]]
    return [[start] + rest for e in edges for rest in _paths(nodes, e)]


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_workflow_approval_before_anything_that_changes_the_service(scenario):
    data = load_import()
    wf = {w["name"]: w for w in data["workflow_job_templates"]}["reflexion %s workflow" % scenario]
    nodes = {n["identifier"]: n for n in wf["related"]["workflow_nodes"]}
    targets = {t["identifier"] for n in nodes.values() for kind in ("success_nodes", "failure_nodes", "always_nodes")
               for t in n["related"].get(kind, [])}
    roots = sorted(set(nodes) - targets)
    assert roots == ["triage"] and nodes["triage"]["unified_job_template"]["name"] == "reflexion triage"

    def template(i):
        return nodes[i].get("unified_job_template", {}).get("name")

    def is_approval(i):
        return "unified_job_template" not in nodes[i] and "create_approval_template" in nodes[i]["related"]

    for path in _paths(nodes, "triage"):
        for pos, ident in enumerate(path):
            if template(ident) in CHANGES_THE_SERVICE:
                assert any(is_approval(p) for p in path[:pos]), "%s reaches %s without an approval" % (path, ident)
    # the runbook's order on the approved path: triage -> approval -> mitigate -> verify -> status update
    assert [template(i) or "approval" for i in ["triage", "approve", "mitigate", "verify", "update"]] == [
        "reflexion triage", "approval", "reflexion %s" % scenario, "reflexion triage", "reflexion status_update"]
    assert ["approve"] == [t["identifier"] for t in nodes["triage"]["related"]["success_nodes"]]
    assert ["mitigate"] == [t["identifier"] for t in nodes["approve"]["related"]["success_nodes"]]
    assert ["declined"] == [t["identifier"] for t in nodes["approve"]["related"]["failure_nodes"]]
    assert nodes["approve"]["related"]["create_approval_template"]["timeout"] > 0
    assert nodes["verify"]["extra_data"] == {"triage_open_incident_at": "never"}


def test_workflow_node_answers_are_accepted_by_their_templates():
    """A node's extra_data is a launch of its job template: AWX applies the same survey rules."""
    from .launch_rules import launch

    data = load_import()
    jts = {jt["name"]: jt for jt in data["job_templates"]}
    for wf in data["workflow_job_templates"]:
        for node in wf["related"]["workflow_nodes"]:
            if "unified_job_template" in node:
                launch(jts[node["unified_job_template"]["name"]], node["extra_data"])
