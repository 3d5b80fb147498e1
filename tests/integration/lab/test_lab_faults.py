"""Each fault shows its symptom in the real signals, the runbook's mitigation clears it, and fault=none resets the lab.

One lab for the module (the session fixture `lab`); each test injects with playbooks/lab_fault.yml through
run_playbook, reads /health, /metrics, the log files, pg_stat_activity, docker inspect/stats, applies the
runbook's mitigation by hand (the way an operator or a mitigation role does), then `clean_lab` runs fault=none.
"""

import time

import docker
import psycopg2
import pytest

from .conftest import (
    BASE_URL,
    INVENTORY,
    LLM,
    PG,
    LogTail,
    chat_codes,
    compose,
    docker_inspect,
    git,
    health,
    http,
    metric_sum,
    metrics_text,
    ok,
    project_containers,
    set_env,
    wait_until,
)

pytestmark = [pytest.mark.docker, pytest.mark.lab]


def inject(run_playbook, fault):
    return ok(run_playbook("playbooks/lab_fault.yml", extra_vars={"fault": fault}, inventory=INVENTORY))


def pg(sql):
    conn = psycopg2.connect(**PG)
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(sql)
            return cur.fetchall()
    finally:
        conn.close()


def five_xx(codes):
    return sum(1 for c in codes if c is not None and c >= 500)


def health_if(predicate):
    """The /health answer when `predicate(answer)` holds, else None (for wait_until)."""
    answer = health()
    return answer if predicate(answer) else None


def restart_app():
    """The runbook: `docker compose restart reflexion` (the app re-reads .env at start)."""
    compose("restart", "reflexion")
    wait_until(lambda: health()[0] == 200, timeout=60, what="the app answering again")


def test_high_error_rate_then_circuit_breaker(clean_lab, run_playbook):
    tail = LogTail()
    before = metric_sum(metrics_text(), "reflexion_requests_total", status="502")
    inject(run_playbook, "high_error_rate")
    codes = chat_codes(20)
    assert five_xx(codes) >= 4, codes
    assert metric_sum(metrics_text(), "reflexion_requests_total", status="502") > before
    assert metric_sum(metrics_text(), "reflexion_llm_requests_total", provider="openai", outcome="server_error") > 0
    assert tail.errors("server error") and tail.errors("failed")
    # Mitigation (runbook 4.3): enable the circuit breaker and restart the app.
    set_env("DISABLE_EXTERNAL_SERVICE", "true")
    restart_app()
    assert five_xx(chat_codes(15)) == 0
    code, body, _h = health()
    assert body["components"]["llm"]["status"] == "disabled" and body["circuit_breaker"] is True


def test_fault_none_alone_clears_high_error_rate(clean_lab, run_playbook):
    inject(run_playbook, "high_error_rate")
    wait_until(lambda: five_xx(chat_codes(10)) > 0, timeout=60, what="5xx answers")
    inject(run_playbook, "none")
    assert five_xx(chat_codes(15)) == 0
    assert http("GET", LLM + "/_admin/mode")[1]["modes"]["openai"]["mode"] == "ok"


def test_db_connections_then_terminate_backends(clean_lab, run_playbook):
    tail = LogTail()
    inject(run_playbook, "db_connections")
    by_state = dict(pg("SELECT state, count(*) FROM pg_stat_activity WHERE application_name = 'reflexion-worker' GROUP BY state"))
    assert by_state.get("active") == 5 and by_state.get("idle in transaction") == 5, by_state
    held = sum(by_state.values())
    max_conn = int(pg("SHOW max_connections")[0][0])
    assert held >= max_conn - 3 - 4
    assert pg("SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep%' AND state = 'active' "
              "AND pid <> pg_backend_pid()")[0][0] == 5
    code, body, _h = wait_until(lambda: health_if(lambda r: r[0] == 503), timeout=30, what="/health 503")
    assert body["status"] == "unhealthy" and body["components"]["db"]["status"] == "down"
    assert "connection slots" in body["components"]["db"]["error"]
    assert five_xx(chat_codes(5)) == 5
    assert metric_sum(metrics_text(), "reflexion_db_errors_total", kind="connect") > 0
    assert tail.errors("database connection failed")
    # Mitigation (runbook, Database Issues): kill the problem queries and idle-in-transaction sessions.
    killed = pg("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE pid <> pg_backend_pid() "
                "AND (state = 'idle in transaction' OR (state = 'active' AND query LIKE '%pg_sleep%'))")[0][0]
    assert killed == 10
    wait_until(lambda: health()[0] == 200, timeout=30, what="/health 200 after pg_terminate_backend")
    assert five_xx(chat_codes(10)) == 0
    time.sleep(3)  # the runaway client must not reconnect
    left = dict(pg("SELECT state, count(*) FROM pg_stat_activity WHERE application_name = 'reflexion-worker' GROUP BY state"))
    assert "idle in transaction" not in left and "active" not in left, left


def test_memory_leak_then_restart(clean_lab, run_playbook):
    client = docker.from_env()
    apps = [client.containers.get(cid) for cid in project_containers("reflexion", all_states=False)]

    def usage():
        return [c.stats(stream=False)["memory_stats"]["usage"] for c in apps]

    tail = LogTail()
    start = usage()
    inject(run_playbook, "memory_leak")

    def grown_by_30mib():
        now = usage()
        return now if all(n - s > 30 * 2 ** 20 for n, s in zip(now, start)) else None

    grown = wait_until(grown_by_30mib,
                       timeout=60, step=2, what="every replica's memory (docker stats) up by 30 MiB")
    assert len(grown) == 2
    assert metric_sum(metrics_text(), "reflexion_leaked_bytes") > 30 * 2 ** 20
    assert any("memory usage growing" in line for line in tail.lines())
    # Mitigation (runbook, Memory Leak): restart the application.
    restart_app()
    assert metric_sum(metrics_text(), "reflexion_leaked_bytes") == 0
    assert all(u < 100 * 2 ** 20 for u in usage())


@pytest.mark.parametrize("fault,outcome,code,word", [
    ("llm_rate_limit", "rate_limited", 502, "rate limit"),
    ("llm_auth", "auth_failed", 502, "unauthorized"),
    ("llm_timeout", "timeout", 504, "timeout"),
])
def test_llm_faults_then_fallback_provider(clean_lab, run_playbook, fault, outcome, code, word):
    tail = LogTail()
    inject(run_playbook, fault)
    codes = chat_codes(3)
    assert codes == [code] * 3, codes
    assert metric_sum(metrics_text(), "reflexion_llm_requests_total", provider="openai", outcome=outcome) >= 3
    _c, body, _h = health()
    assert body["status"] == "degraded" and body["components"]["llm"]["status"] == "down"
    assert tail.errors(word)
    if fault == "llm_rate_limit":
        status, _b, headers = http("POST", LLM + "/v1/chat/completions", {"messages": []},
                                   headers={"Authorization": "Bearer sk-test-123456"})
        assert status == 429 and headers["retry-after"] == "20" and headers["x-ratelimit-remaining-requests"] == "0"
    # Mitigation (runbook, LLM API Failures): switch to the backup provider and restart.
    set_env("FALLBACK_LLM_PROVIDER", "anthropic")
    restart_app()
    answers = [http("POST", BASE_URL + "/api/chat", {"message": "fallback %d %f" % (i, time.time())}) for i in range(4)]
    assert [a[0] for a in answers] == [200] * 4
    assert {a[1]["provider"] for a in answers} == {"anthropic"}


def test_redis_down_then_start_it(clean_lab, run_playbook):
    tail = LogTail()
    inject(run_playbook, "redis_down")
    assert [info["State"]["Running"] for info in docker_inspect(*project_containers("redis"))] == [False]
    _c, body, _h = wait_until(lambda: health_if(lambda r: r[1]["components"]["redis"]["status"] == "down"),
                              timeout=30, what="redis down in /health")
    assert body["status"] == "degraded"
    chat_codes(3)
    assert tail.errors("redis connection failed")
    assert metric_sum(metrics_text(), "reflexion_redis_errors_total") > 0
    compose("start", "redis")
    wait_until(lambda: health()[1]["components"]["redis"]["status"] == "ok", timeout=30, what="redis ok again")


def test_app_down_then_start_it(clean_lab, run_playbook):
    inject(run_playbook, "app_down")
    assert [info["State"]["Running"] for info in docker_inspect(*project_containers("reflexion"))] == [False, False]
    code, _body, _h = health()
    assert code in (502, 504)  # nginx: refused (502) or timed out (504) reaching the stopped replicas
    assert all(c in (502, 504) for c in chat_codes(2))
    compose("start", "reflexion")
    wait_until(lambda: health()[0] == 200, timeout=60, what="the app back")


def test_bad_deploy_then_rollback(clean_lab, run_playbook):
    tail = LogTail()
    inject(run_playbook, "bad_deploy")
    assert git("describe", "--tags", "--exact-match", "HEAD") == "v1.1.0"
    assert health()[1]["version"] == "1.1.0"
    codes = chat_codes(40)
    assert 3 <= codes.count(500) <= 25, codes
    assert tail.errors("prompt builder")
    assert metric_sum(metrics_text(), "reflexion_requests_total", status="500") >= 3
    # Mitigation (runbook 4.4): check out the previous stable tag and `docker compose up --build -d`.
    git("checkout", "-q", "v1.0.0")
    compose("up", "--build", "-d")
    wait_until(lambda: health()[1].get("version") == "1.0.0" if health()[0] == 200 else None, timeout=90, what="1.0.0 serving")
    assert len(project_containers("reflexion", all_states=False)) == 2
    assert five_xx(chat_codes(20)) == 0
