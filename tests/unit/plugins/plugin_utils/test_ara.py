"""plugin_utils/_ara.py: the labels, the scrubbing and the safe ARA settings of the reflexion.incident.ara callback."""

from ansible_collections.reflexion.incident.plugins.plugin_utils import _ara

MASK = "[REDACTED]"


def record(**extra):
    rec = {"id": "incident-2026-12-02-083804", "title": "high_error_rate: error ratio 43.8% >= 5.0%", "severity": "P2"}
    rec.update(extra)
    return rec


def test_labels_from_the_record():
    assert _ara.incident_labels(record()) == [
        "incident:incident-2026-12-02-083804", "scenario:high_error_rate", "severity:P2"]


def test_labels_skip_what_is_unknown_or_malformed():
    assert _ara.incident_labels(record(title="Manual page from ops", severity=None)) == [
        "incident:incident-2026-12-02-083804"]
    assert _ara.incident_labels(record(title=None, severity="P9")) == ["incident:incident-2026-12-02-083804"]
    assert _ara.incident_labels(None) == []
    assert _ara.scenario_of({"title": "memory_leak: rss 900 MiB"}) == "memory_leak"
    assert _ara.scenario_of({"title": "{{ lookup('pipe', 'id') }}: x"}) is None


def test_merge_replaces_our_labels_and_keeps_the_others():
    current = ["check:False", "incident:incident-2026-12-02-083804", "severity:P2", "tags:all", "tags:all"]
    ours = ["incident:incident-2026-12-02-083804", "scenario:high_error_rate", "severity:P1"]
    assert _ara.merge_labels(current, ours) == ["check:False", "tags:all"] + ours


def test_secret_values_come_from_names_that_say_secret():
    variables = {
        "reflexion_db_password": "rxi-secret-01pw",
        "api": {"openai_api_key": "rxi-secret-02key", "base_url": "http://127.0.0.1:8080"},
        "providers": [{"name": "x", "token": "rxi-secret-03tok"}],
        "short_token": "abc",
        "templated_password": "{{ vault_pw }}",
        "reflexion_url": "http://127.0.0.1:8000",
        "max_tokens": "1234567",
    }
    assert _ara.secret_values(variables) == {"rxi-secret-01pw", "rxi-secret-02key", "rxi-secret-03tok"}


def test_scrub_masks_known_values_keys_and_patterns_without_touching_the_input():
    result = {
        "cmd": ["printf", "%s", "rxi-secret-22varsfile"],
        "msg": "DATABASE_URL=postgresql://app:pw123456@db/reflexion",
        "ansible_facts": {"ara_test_token": "anything"},
        "stdout_lines": ["OPENAI_API_KEY=sk-abc123", "status ok"],
        "changed": False,
        "nested": {"headers": {"Authorization": "Bearer abcdef123456"}},
    }
    before = repr(result)
    out = _ara.scrub(result, ["rxi-secret-22varsfile"])
    assert repr(result) == before
    assert out["cmd"] == ["printf", "%s", MASK]
    assert out["msg"] == "DATABASE_URL=postgresql://app:%s@db/reflexion" % MASK
    assert out["ansible_facts"] == {"ara_test_token": MASK}
    assert out["stdout_lines"] == ["OPENAI_API_KEY=%s" % MASK, "status ok"]
    assert out["changed"] is False
    assert "abcdef123456" not in repr(out)


def test_scrub_is_bounded_on_deep_results():
    deep = "x"
    for _dummy in range(200):
        deep = {"a": deep}
    out = _ara.scrub(deep)
    text = repr(out)
    assert "nested too deep" in text and text.count("{") <= _ara.MAX_DEPTH + 2


def test_safe_defaults_never_override_the_user():
    assert _ara.safe_defaults({"ARA_IGNORED_FACTS": "ansible_env"}).get("ARA_IGNORED_FACTS") is None
    defaults = _ara.safe_defaults({})
    assert defaults["ARA_IGNORED_FACTS"] == "all"
    assert "extra_vars" in defaults["ARA_IGNORED_ARGUMENTS"].split(",")
    # ARA splits list settings on commas: no pattern may hold one
    files = defaults["ARA_IGNORED_FILES"].split(",")
    assert ".ansible/tmp" in files and all(p for p in files)


def test_ignored_file_patterns_cover_vars_files_not_playbooks():
    import re

    patterns = [re.compile(p[len("regex:"):]) for p in _ara.SAFE_DEFAULTS["ARA_IGNORED_FILES"].split(",")
                if p.startswith("regex:")]

    def ignored(path):
        return any(p.search(path) for p in patterns)

    for path in ("/srv/inventories/prod/group_vars/all.yml", "/srv/inventories/prod/host_vars/web1.yml",
                 "/srv/roles/x/vars/main.yml", "/srv/playbooks/vault.yml", "/srv/secrets.yml",
                 "/srv/credentials.yml", "/srv/api_token.txt", "/srv/inventory/hosts.yml"):
        assert ignored(path), path
    for path in ("/srv/playbooks/high_error_rate.yml", "/srv/roles/triage/tasks/record.yml",
                 "/srv/roles/triage/defaults/main.yml"):
        assert not ignored(path), path


def test_urls_and_run_lines():
    assert _ara.playbook_url("http://127.0.0.1:8001/", 7) == "http://127.0.0.1:8001/playbooks/7.html"
    assert _ara.playbook_url(None, 7) is None
    line = _ara.run_line("2026-12-02T08:38:04Z", "incident-2026-12-02-083804", 7, None, "/p.yml", ("a",), "running")
    assert line["ara_playbook_id"] == 7 and line["ara_url"] is None and line["labels"] == ["a"]
    assert "ara_database" not in line
