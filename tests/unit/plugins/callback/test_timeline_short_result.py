"""incident_timeline's one-line task summary: redacted, short, and bounded in time whatever the task printed."""

import time

from ansible_collections.reflexion.incident.plugins.callback.incident_timeline import SHORT_MAX, short_result


def test_a_huge_token_like_output_is_summarised_fast():
    # the old code redacted the whole stdout: a 30 KB token took seconds, 200 MB over a minute
    start = time.monotonic()
    out = short_result({"msg": "x" * 30000, "stdout": "OPENAI_API_KEY=abc123def456 " + "y" * 3000})
    assert time.monotonic() - start < 2.0
    assert len(out) <= SHORT_MAX
    assert out.startswith("msg=xxx") and out.endswith("...")


def test_secrets_are_redacted_in_the_summary():
    out = short_result({"msg": "failed: OPENAI_API_KEY=abc123def456 at postgresql://u:p@ss/w0rd@db/app"})
    assert "abc123def456" not in out and "p@ss" not in out and "w0rd" not in out
    assert "OPENAI_API_KEY=[REDACTED]" in out


def test_a_secret_at_the_cut_is_not_shown_in_part():
    out = short_result({"msg": " ".join(["word"] * 1020) + " token=" + "s" * 50})
    assert "sss" not in out
