"""Configuration from the process environment, overridden by the compose project's .env file.

The .env file is read at start-up, so the runbook's mitigation works as written: edit .env
(DISABLE_EXTERNAL_SERVICE=true, FALLBACK_LLM_PROVIDER=anthropic), then `docker compose restart reflexion`.
"""

import os

TRUE_WORDS = ("1", "true", "yes", "on")


def parse_env_file(text):
    """Parse docker compose .env syntax: KEY=VALUE lines, comments, optional quotes, `export ` prefix."""
    out = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export "):].lstrip()
        if "=" not in line:
            continue
        key, value = line.split("=", 1)
        key = key.strip()
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in ("'", '"'):
            value = value[1:-1]
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        if key:
            out[key] = value
    return out


def as_bool(value):
    return str(value).strip().lower() in TRUE_WORDS


class Config(object):
    """Everything the app reads, resolved once at start-up."""

    def __init__(self, values):
        g = values.get
        self.port = int(g("APP_PORT", "8000"))
        self.service_name = g("APP_SERVICE_NAME", "reflexion")
        self.db = dict(host=g("DB_HOST", "postgres"), port=int(g("DB_PORT", "5432")), dbname=g("DB_NAME", "reflexion"),
                       user=g("DB_USER", "reflexion"), password=g("DB_PASSWORD", ""),
                       connect_timeout=int(g("DB_CONNECT_TIMEOUT_S", "3")))
        self.redis = dict(host=g("REDIS_HOST", "redis"), port=int(g("REDIS_PORT", "6379")),
                          password=g("REDIS_PASSWORD", "") or None)
        self.llm_provider = g("LLM_PROVIDER", "openai").strip().lower()
        self.fallback_provider = g("FALLBACK_LLM_PROVIDER", "").strip().lower()
        self.disable_external = as_bool(g("DISABLE_EXTERNAL_SERVICE", "false"))
        self.llm_timeout = float(g("LLM_TIMEOUT_S", "5"))
        self.base_urls = {"openai": g("OPENAI_BASE_URL", "https://api.openai.com").rstrip("/"),
                          "anthropic": g("ANTHROPIC_BASE_URL", "https://api.anthropic.com").rstrip("/")}
        self.api_keys = {"openai": g("OPENAI_API_KEY", ""), "anthropic": g("ANTHROPIC_API_KEY", "")}
        self.models = {"openai": g("OPENAI_MODEL", "gpt-4o-mini"), "anthropic": g("ANTHROPIC_MODEL", "claude-3-5-haiku-latest")}
        self.log_dir = g("LOG_DIR", "/var/log/reflexion")
        self.log_file = g("LOG_FILE", "app.log")
        self.cache_ttl = int(g("CACHE_TTL_S", "300"))
        self.leak_mb_per_s = float(g("LEAK_MB_PER_S", "4"))
        self.leak_max_mb = float(g("LEAK_MAX_MB", "400"))
        self.release_error_rate = float(g("RELEASE_ERROR_RATE", "0"))
        self.version = g("APP_VERSION", "unknown")


def load_config(environ=None, env_file=None, release_file=None):
    """Environment first, then the .env file (it wins), then the release file (VERSION, error rate)."""
    values = dict(os.environ if environ is None else environ)
    env_file = env_file if env_file is not None else values.get("APP_ENV_FILE", "/etc/reflexion/deploy/.env")
    if env_file and os.path.isfile(env_file):
        with open(env_file) as handle:
            values.update(parse_env_file(handle.read()))
    release_file = release_file if release_file is not None else values.get("APP_RELEASE_FILE", "")
    if release_file and os.path.isfile(release_file):
        with open(release_file) as handle:
            values.update(parse_env_file(handle.read()))
    return Config(values)
