"""Bad-input cases added by the Security II issue (#15), area: secrets. Same shapes as matrix.py's MODULES and ROLES.

Every value holding ``rxi-secret-NN...`` is a secret: test_bad_input.py asserts it appears nowhere in the
output of the run (stdout, stderr, results with their injected invocation), in any form. Several end in a
newline, as a key read from a file or a Kubernetes secret does; the others hold a CR/LF inside (header
injection), which must be refused with a message that names the option but never shows the value.
"""

DEAD = "http://127.0.0.1:1"

MODULES = {
    # llm_api_probe: keys with whitespace inside, URL passwords
    "sec-llm-key-inner-newline": ("llm_api_probe", {"providers": [
        {"name": "openai", "base_url": DEAD, "api_key": "rxi-secret-01llm\nX-Injected: 1"}]}, "providers[openai].api_key"),
    "sec-llm-key-inner-space": ("llm_api_probe", {"providers": [
        {"name": "anthropic", "base_url": DEAD, "api_key": "rxi-secret-02llm second-word"}]},
        "providers[anthropic].api_key"),
    "sec-llm-base-url-password": ("llm_api_probe", {"providers": [
        {"name": "openai", "base_url": "ftp://u:rxi-secret-03url@127.0.0.1/"}]}, "providers[openai].base_url"),
    # health_probe: header injection, in a value and in a name
    "sec-health-header-crlf": ("health_probe", {"urls": [DEAD + "/"],
                                                "headers": {"X-Token": "rxi-secret-04hdr\r\nX-Injected: 1"}}, "headers"),
    "sec-health-header-inner-lf": ("health_probe", {"urls": [DEAD + "/"],
                                                    "headers": {"X-Token": "rxi-secret-05hdr\nmore"}}, "X-Token"),
    "sec-health-header-name-crlf": ("health_probe", {"urls": [DEAD + "/"],
                                                     "headers": {"X-Token\r\nX-Injected": "rxi-secret-06hdr"}},
                                    "headers"),
    # triage_probe: one invalid sub-option while the other probes carry secrets (ending in a newline)
    "sec-triage-since-with-secrets": ("triage_probe", {
        "logs": {"paths": ["{tmp}/app.log"], "since": "-1h"},
        "pg": {"login_host": "127.0.0.1", "login_port": 1, "login_password": "rxi-secret-07pg\n"},
        "redis": {"login_host": "127.0.0.1", "login_port": 1, "login_password": "rxi-secret-07rd\n"},
        "llm": {"providers": [{"name": "openai", "base_url": DEAD, "api_key": "rxi-secret-07llm\n"}]},
        "health": {"urls": [DEAD + "/"], "headers": {"X-Token": "rxi-secret-07hdr\n"}}}, "since"),
    "sec-triage-pg-port-with-dsn": ("triage_probe", {"pg": {
        "login_port": "abc", "login_password": "rxi-secret-08pg",
        "dsn": "postgresql://app:rxi-secret-08dsn@127.0.0.1/db"}}, "port"),
    "sec-triage-llm-key-inner-newline": ("triage_probe", {"llm": {"providers": [
        {"name": "openai", "base_url": DEAD, "api_key": "rxi-secret-09llm\nX-Injected: 1"}]}}, "api_key"),
    "sec-triage-header-crlf": ("triage_probe", {"health": {
        "urls": [DEAD + "/"], "headers": {"X-Token": "rxi-secret-10hdr\r\nX-Injected: 1"}}}, "headers"),
    "sec-triage-redis-unknown-with-secrets": ("triage_probe", {
        "redis": {"login_password": "rxi-secret-11rd\n", "no_such_option": 1},
        "llm": {"providers": [{"name": "anthropic", "base_url": DEAD, "api_key": "rxi-secret-11llm\n"}]}},
        "no_such_option"),
    "sec-triage-metrics-url-password": ("triage_probe", {"metrics": {
        "urls": ["ftp://u:rxi-secret-12url@127.0.0.1/metrics"]}}, "urls"),
    # health_probe/metrics_probe on their own: a URL password in a bad URL is masked in the message and the invocation
    "sec-health-url-password-bad-port": ("health_probe", {"urls": ["http://u:rxi-secret-13url@127.0.0.1:99999/health"]},
                                         "urls"),
    "sec-metrics-url-password-bad-port": ("metrics_probe", {"urls": ["http://u:rxi-secret-14url@127.0.0.1:99999/metrics"]},
                                          "urls"),
}

ROLES = {
    # the issue's own reproduction: a free-text AWX field (triage_log_since) is invalid, the passwords are set
    "sec-triage-since-with-secrets": ("triage", None, {
        "triage_log_since": "-1h",
        "reflexion_pg_password": "rxi-secret-21pg\n",
        "reflexion_redis_password": "rxi-secret-21rd\n",
        "triage_llm_providers": [{"name": "openai", "base_url": DEAD, "api_key": "rxi-secret-21llm\n"}]}, "since"),
    "sec-triage-llm-key-inner-newline": ("triage", None, {
        "triage_llm_providers": [{"name": "openai", "base_url": DEAD, "api_key": "rxi-secret-22llm\nX-Injected: 1"}]},
        "api_key"),
}
