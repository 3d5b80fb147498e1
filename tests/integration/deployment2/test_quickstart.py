"""docs/quickstart.md as a test: copy inventories/example, fill it as the doc says, run its read-only commands
exactly as written, in a clean copy of the checkout, and prove they wrote nothing into that checkout.

Would fail before issue 22: the example required vault_reflexion_pg_password (the documented triage omits
--ask-vault-pass), had no setting for the incidents directory outside the checkout (the triage report landed in
incidents/ of the checkout), and lacked settings a site needs (monitoring window, proof URL, state dir, ...).
"""

import os
import re
import shlex
import subprocess
import tempfile

from ..conftest import BIN, ROOT
from .conftest import fill_inventory, site_env, site_settings

DOC = os.path.join(ROOT, "docs", "quickstart.md")


def documented_commands():
    with open(DOC) as f:
        text = f.read()
    section = text[text.index("Then, read-only first"):]
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    cmds = []
    for line in block.splitlines():
        line = line.split("  #", 1)[0].strip()
        if line.startswith("ansible"):
            cmds.append(line)
    return cmds


def clean_checkout(dest):
    """What a clone of this checkout holds (tracked and not-ignored files), committed in a fresh repository."""
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, capture_output=True,
                           check=True).stdout.split(b"\0")
    os.makedirs(dest)
    subprocess.run(["cp", "--parents", "-P", "-t", dest] + [f.decode() for f in files if f and os.path.lexists(
        os.path.join(ROOT, f.decode()))], cwd=ROOT, check=True)
    git = ["git", "-C", dest, "-c", "user.name=t", "-c", "user.email=t@localhost"]
    subprocess.run(git + ["init", "-q"], check=True)
    subprocess.run(git + ["add", "-A"], check=True)
    subprocess.run(git + ["commit", "-qm", "clone"], check=True)


def status(checkout):
    out = subprocess.run(["git", "status", "--porcelain", "--ignored", "--untracked-files=all"], cwd=checkout,
                         capture_output=True, text=True, check=True).stdout.splitlines()
    # Python's byte-code caches of the controller plugins are not something a command "wrote"; the copied
    # inventory is the one the quickstart tells you to make (git ignores inventories/prod/).
    return [line for line in out if "__pycache__" not in line and " inventories/prod/" not in line]


def test_quickstart_commands_as_written(acme):
    cmds = documented_commands()
    assert any("playbooks/triage.yml" in c for c in cmds) and any("--check" in c for c in cmds), cmds
    work = tempfile.mkdtemp(prefix="acme-quickstart-")
    checkout = os.path.join(work, "reflexion.incident")
    home = os.path.join(work, "home")
    os.makedirs(home)
    clean_checkout(checkout)
    before = status(checkout)
    assert before == [], before
    # `cp -r inventories/example inventories/prod`, then fill it; the incidents directory stays the example's
    # own default (under $HOME, outside the checkout).
    settings = site_settings(acme, os.path.join(work, "state"), None)
    del settings["reflexion_incident_dir"]
    fill_inventory(os.path.join(checkout, "inventories", "prod"), settings)
    env = site_env(HOME=home, ANSIBLE_CONFIG=os.path.join(checkout, "ansible.cfg"), ANSIBLE_STDOUT_CALLBACK="default",
                   ANSIBLE_LOCAL_TEMP=os.path.join(home, ".ansible", "tmp"))
    env.pop("ANSIBLE_ASK_VAULT_PASS", None)
    env.pop("ANSIBLE_VAULT_PASSWORD_FILE", None)
    for cmd in cmds:
        argv = shlex.split(cmd)
        argv[0] = os.path.join(BIN, argv[0])
        proc = subprocess.run(argv, cwd=checkout, env=env, capture_output=True, text=True, timeout=300, check=False)
        assert proc.returncode == 0, "%s\n%s\n%s" % (cmd, proc.stdout[-4000:], proc.stderr[-3000:])
        assert "vault" not in proc.stderr.lower(), proc.stderr
    reports = os.path.join(home, "reflexion-incidents", "no-incident", "triage-docker-1.acme.test.md")
    assert os.path.isfile(reports), "the triage report is not under the example's incidents directory"
    with open(reports) as f:
        assert "Severity" in f.read()
    assert status(checkout) == [], "the read-only commands wrote into the checkout"
    assert not os.path.exists(os.path.join(checkout, "incidents"))
    subprocess.run(["rm", "-rf", work], check=False)


def test_example_names_every_setting():
    """Every reflexion_* variable the roles and playbooks read about the deployment is in the example."""
    with open(os.path.join(ROOT, "inventories", "example", "group_vars", "all.yml")) as f:
        example = f.read()
    for key in ("reflexion_base_url", "reflexion_log_dir", "reflexion_compose_project_dir",
                "reflexion_compose_project_name", "reflexion_app_service", "reflexion_db_service",
                "reflexion_redis_service", "reflexion_pg_host", "reflexion_redis_host", "reflexion_prometheus_url",
                "reflexion_alertmanager_url", "reflexion_incident_dir", "reflexion_incident_state_dir",
                "verify_monitor_seconds", "reflexion_llm_proof_url", "reflexion_app_process_pattern"):
        assert re.search(r"(?m)^%s: " % key, example), key
    assert not re.search(r"(?m)^reflexion_incident_dir: .*playbook_dir", example)
    # No setting may require a vault variable without a default.
    for line in example.splitlines():
        if "vault_" in line and not line.lstrip().startswith("#"):
            assert "default(" in line, line
