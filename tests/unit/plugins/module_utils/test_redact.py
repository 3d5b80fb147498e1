"""Redaction: every secret shape the debug bundle must never carry off the host."""

import pytest

from ansible_collections.reflexion.incident.plugins.module_utils._redact import MASK, redact, redact_detail, sensitive_name

CASES = [
    # (id, text, secret that must vanish, text that must remain, kind)
    ("env api key", "OPENAI_API_KEY=abc123def456", "abc123def456", "OPENAI_API_KEY=", "assignment"),
    ("env export", "export DB_PASSWORD='hunter2 two'", "hunter2", "export DB_PASSWORD='", "assignment"),
    ("env secret", "JWT_SECRET=s3cr3tvalue", "s3cr3tvalue", "JWT_SECRET=", "assignment"),
    ("env token", "SLACK_TOKEN=tok-999-zzz", "tok-999-zzz", "SLACK_TOKEN=", "assignment"),
    ("yaml key", "  redis_password: p4ssw0rd!", "p4ssw0rd!", "redis_password:", "assignment"),
    ("json key", '{"api_key": "k-1234567", "user": "bob"}', "k-1234567", '"user": "bob"', "assignment"),
    ("ini key", "secret_key = abcdefg", "abcdefg", "secret_key =", "assignment"),
    ("query param", "GET /cb?token=qwerty12&x=1", "qwerty12", "&x=1", "assignment"),
    ("cli flag", "app --password=topsecret --port 80", "topsecret", "--port 80", "assignment"),
    ("docker env list", '"Env": ["ANTHROPIC_API_KEY=zzzyyyxxx", "PATH=/usr/bin"]', "zzzyyyxxx", "PATH=/usr/bin", "assignment"),
    ("bearer", "Authorization: Bearer eyAbc.def-ghi_jkl", "eyAbc.def-ghi_jkl", "Authorization: Bearer ", "bearer"),
    ("basic", "Authorization: Basic dXNlcjpwYXNz", "dXNlcjpwYXNz", "Basic ", "bearer"),
    ("postgres dsn", "DATABASE_URL=postgresql://app:dbpass123@db:5432/reflexion", "dbpass123", "postgresql://app:", "dsn"),
    ("redis dsn", "redis://:redispw99@redis:6379/0", "redispw99", "@redis:6379/0", "dsn"),
    (
        "openai key in a log",
        "calling openai with sk-proj-AbCdEfGhIjKlMnOpQrSt failed",
        "sk-proj-AbCdEfGhIjKlMnOpQrSt",
        "failed",
        "provider_key",
    ),
    ("anthropic key", "key sk-ant-api03-XYZxyz0123456789 rejected", "sk-ant-api03-XYZxyz0123456789", "rejected", "provider_key"),
    ("aws key", "AKIAABCDEFGHIJKLMNOP", "AKIAABCDEFGHIJKLMNOP", "", "provider_key"),
    ("github token", "ghp_abcdefghijklmnopqrstuvwxyz0123", "ghp_abcdefghijklmnopqrstuvwxyz0123", "", "provider_key"),
    ("pem", "-----BEGIN RSA PRIVATE KEY-----\nMIIabc\n-----END RSA PRIVATE KEY-----", "MIIabc", "", "pem"),
]


@pytest.mark.parametrize("text,secret,kept,kind", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_redacts(text, secret, kept, kind):
    out, counts = redact_detail(text)
    assert secret not in out
    assert MASK in out
    assert kept in out
    assert counts[kind] >= 1


@pytest.mark.parametrize(
    "text",
    [
        "Linux host 6.1.0 #1 SMP x86_64 GNU/Linux",
        "keyspace_hits:120\nkeyspace_misses:3\nused_memory:1024",
        'reflexion_llm_tokens_total{provider="openai"} 1234',
        "max_tokens: 256",
        "Filesystem Size Used Avail Use% Mounted on",
        "postgresql://app@db:5432/reflexion",
        'time=12:30:01 level=error msg="connection failed"',
        "sk-short",
    ],
)
def test_leaves_harmless_text_alone(text):
    assert redact(text) == (text, 0)


def test_count_and_idempotence():
    text = "A_TOKEN=one\nB_PASSWORD=two\nC=postgres://u:three@h/d\nBearer fourfour sk-ant-fivefivefive55"
    once, n = redact(text)
    assert n == 5
    for secret in ("one", "two", "three", "fourfour", "fivefivefive55"):
        assert "=" + secret not in once and secret not in once.split(MASK)[-1]
    twice, m = redact(once)
    assert twice == once
    assert m == 0


def test_empty():
    assert redact("") == ("", 0)
    assert redact(None) == (None, 0)


@pytest.mark.parametrize(
    "name,expected",
    [
        ("OPENAI_API_KEY", True),
        ("apiKey", True),
        ("db.password", True),
        ("PGPASSWD", True),
        ("GITHUB_TOKEN", True),
        ("client_secret", True),
        ("keyspace_hits", False),
        ("max_tokens", False),
        ("USER", False),
        ("HOME", False),
    ],
)
def test_sensitive_name(name, expected):
    assert sensitive_name(name) is expected


def test_nested_assignment_after_a_harmless_key():
    out, n = redact("msg=OPENAI_API_KEY=canary-abc-123 next")
    assert "canary-abc-123" not in out
    assert out == "msg=OPENAI_API_KEY=[REDACTED] next"
    assert n == 1
