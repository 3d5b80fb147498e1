"""Redaction: every secret shape the debug bundle must never carry off the host."""

import time

import pytest

from ansible_collections.reflexion.incident.plugins.module_utils._redact import (
    LINE_CAP,
    MASK,
    redact,
    redact_detail,
    secret_variants,
    sensitive_name,
    truncate_lines,
    url_passwords,
)

CASES = [
    # (id, text, secret that must vanish, text that must remain, kind)
    ("env api key", "OPENAI_API_KEY=abc123def456", "abc123def456", "OPENAI_API_KEY=", "assignment"),
    # review of #15: an escaped quote inside a JSON value, and Ruby/Perl-style => assignments
    ("json escaped quote", '{"password": "ab\\"cdefgh"}', 'cdefgh', '{"password": "', "assignment"),
    ("arrow assignment", 'password => "abcsecret"', "abcsecret", "password => ", "assignment"),
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
    # Security II (#15): the misses
    ("DB_PASS", "DB_PASS=hunter2x", "hunter2x", "DB_PASS=", "assignment"),
    ("PGPASS", "export PGPASS=pgsecret1", "pgsecret1", "export PGPASS=", "assignment"),
    ("PGPASSWORD", "PGPASSWORD=pgsecret2 psql -h db", "pgsecret2", "psql -h db", "assignment"),
    ("REDIS_AUTH", "REDIS_AUTH: rauth33", "rauth33", "REDIS_AUTH:", "assignment"),
    ("pass yaml", "  pass: mypass44\n  user: bob", "mypass44", "user: bob", "assignment"),
    ("url password with @ and /", "DATABASE_URL=postgresql://u:p@ss/w0rd@db.internal:5432/app", "p@ss/w0rd",
     "@db.internal:5432/app", "dsn"),
    ("url password with @ only", "redis://:pa@ss@redis:6379/0", "pa@ss", "@redis:6379/0", "dsn"),
    ("sql password", "ALTER ROLE app WITH LOGIN PASSWORD 'sq''lpw55';", "sq''lpw55", "ALTER ROLE app WITH LOGIN",
     "assignment"),
    ("sql encrypted password", "CREATE USER x ENCRYPTED PASSWORD 'enc66pw' VALID UNTIL 'infinity'", "enc66pw",
     "VALID UNTIL 'infinity'", "assignment"),
    ("mysql -p", "mysql -u root -p sekret77 appdb", "sekret77", "appdb", "assignment"),
    ("redis-cli -a", "redis-cli -h 10.0.0.1 -a rcli88pw ping", "rcli88pw", "ping", "assignment"),
    ("curl -u user:pass", "curl -s -u admin:curl99pw https://x/api", "curl99pw", "-u admin:", "assignment"),
    ("curl --user user:pass", "curl --user bob:curl1313 https://x", "curl1313", "--user bob:", "assignment"),
    ("--password=", "app --password=pw1010 --port 80", "pw1010", "--port 80", "assignment"),
    ("slack webhook", "POST https://hooks.slack.com/services/T0001/B0002/XXXXsecretXXXX ok",
     "XXXXsecretXXXX", " ok", "provider_key"),
    ("cookie header", "Cookie: session=abc123def; csrftoken=def456ghi", "abc123def", "Cookie: ", "assignment"),
    ("cookie header second", "Cookie: session=abc123def; csrftoken=def456ghi", "def456ghi", "Cookie: ", "assignment"),
    ("set-cookie header", "Set-Cookie: sid=s3ss10nval; Path=/; HttpOnly", "s3ss10nval", "Set-Cookie: ", "assignment"),
    ("cookie json", '{"Cookie": "a=b1b2b3; c=d4d5d6", "Host": "x"}', "b1b2b3", '"Host": "x"', "assignment"),
    ("authorization bearer", "curl -H 'Authorization: Bearer tok-bear-1212'", "tok-bear-1212", "Authorization: Bearer",
     "bearer"),
    ("sk- key", "using sk-abcdefghijklmnop1234 now", "sk-abcdefghijklmnop1234", "now", "provider_key"),
    ("sk-ant- key", "x-api-key sk-ant-api03-abcdefgh12", "sk-ant-api03-abcdefgh12", "x-api-key", "provider_key"),
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
        # ports and paths after -p, uid:gid after -u, ls -a: not secrets
        "docker run -p 8000:8000 reflexion/app",
        "docker run -p 127.0.0.1:8080:80/tcp -p 53:53/udp img",
        "postgres -D /var/lib/postgresql/data -p 5432",
        "mkdir -p /var/lib/reflexion",
        "docker exec -u 1000:1000 app id",
        "ps -u root",
        "ls -a /etc",
        "bypass: true",
        "http://localhost:8000/users/@me",
        "SELECT * FROM pg_stat_activity WHERE usename = 'app'",
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


def test_redis_cli_only_masks_its_own_a_flag():
    out, n = redact("redis-cli -a rcli88pw ping; ls -a /tmp")
    assert out == "redis-cli -a [REDACTED] ping; ls -a /tmp"
    assert n == 1


@pytest.mark.parametrize("name,expected", [
    ("DB_PASS", True), ("PGPASS", True), ("REDIS_AUTH", True), ("pass", True), ("Cookie", True),
    ("bypass", False), ("compass", False), ("oauth_provider", False),
])
def test_sensitive_name_misses(name, expected):
    assert sensitive_name(name) is expected


# ---- bounded and linear (Security II, #15, item 4): the old assignment pattern rescanned token-like runs
# (30 KB: ~45 s; a 200 MB line: minutes). Generous bounds: they prove "bounded", not speed.

@pytest.mark.parametrize("text", [
    "a" * 30000,  # one long token-like run (the old pattern restarted the name at every character)
    "eyJ-" * 8000,  # JWT-like starts inside one run
    "a.b-" * 8000,  # names with dots and dashes
    "http://a" * 4000,  # scheme-like starts
    "x=\" " * 8000 + "k='" * 8000,  # unterminated quoted values
    "-----BEGIN RSA PRIVATE KEY-----\n" * 2000,  # PEM blocks without an END
    "redis-cli " * 4000,  # redis-cli without -a
])
def test_a_30kb_token_like_run_is_fast(text):
    start = time.monotonic()
    redact(text, line_cap=None)  # no cap: the patterns themselves must be linear
    assert time.monotonic() - start < 2.0


def test_a_5mb_line_is_cut_and_fast():
    secret_line = "OPENAI_API_KEY=sk-line-secret-0123456789abcdef " + "z" * (5 * 1024 * 1024)
    start = time.monotonic()
    out, n = redact(secret_line)
    assert time.monotonic() - start < 2.0
    assert "sk-line-secret-0123456789abcdef" not in out
    assert out.startswith("OPENAI_API_KEY=[REDACTED] ")
    assert n == 1
    assert len(out) <= LINE_CAP + 40
    assert out.endswith(" bytes]") and "[truncated " in out[-40:]


def test_a_5mb_text_of_short_lines_is_linear():
    text = "2026-11-26T10:00:00Z ERROR db failed password=hunter2 user=app\n" * 80000  # ~5 MB
    start = time.monotonic()
    out, n = redact(text)
    assert time.monotonic() - start < 10.0
    assert "hunter2" not in out
    assert n == 80000


def test_truncate_lines_marks_what_it_cut():
    line = "word " * 20 + "x" * 100
    out, cut = truncate_lines("short\n" + line + "\nlast", cap=50)
    first, middle, last = out.split("\n")
    assert (first, last) == ("short", "last")
    # cut at the last space before the cap: a token is kept or dropped whole
    assert middle == line[:49] + " [truncated %d bytes]" % (len(line) - 49)
    assert cut == len(line) - 49
    assert truncate_lines("abc", cap=50) == ("abc", 0)


def test_the_cut_falls_inside_a_giant_secret_and_it_is_still_masked():
    out, n = redact("token=" + "s" * (LINE_CAP * 2))
    assert "s" * 100 not in out and n == 1
    assert "[truncated " in out


def test_secret_variants_cover_a_trailing_newline():
    forms = secret_variants("sk-abc123\n")
    assert {"sk-abc123\n", "sk-abc123", "sk-abc123\\n"} <= forms
    assert "" not in forms
    assert secret_variants(None) == set()
    assert "line-two-secret" in secret_variants("first-line\nline-two-secret\n")


def test_url_passwords():
    assert url_passwords({"a": ["postgresql://u:pw1@h/db", "http://h/x"], "b": "ftp://u:p2@h"}) == {"pw1", "p2"}
