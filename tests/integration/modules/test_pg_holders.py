"""pg_activity_probe's ``holders``: who holds the connections, whatever its application_name - against a real
PostgreSQL 15 on loopback with sessions psycopg2 opens, some with an EMPTY application_name (psql, a script)."""

import pytest

from ..pg_redis_servers import APP_PASSWORD, MONITOR_PASSWORD, opened_sessions, postgres_server, wait_until


@pytest.fixture(scope="module")
def pg():
    with postgres_server() as server:
        yield server


def test_holders_group_every_client_including_nameless_ones(run_module, pg):
    with opened_sessions(pg) as s:
        for _dummy in range(5):
            s.open(app="")  # a script that sets no application_name
        for _dummy in range(2):
            s.open(app="rxi-named")
        s.open(user="rxi_monitor", password=MONITOR_PASSWORD, app="")  # nameless, another user: its own group
        idle_tx = s.open(app="", autocommit=False)
        idle_tx.cursor().execute("SELECT 1")  # now idle in transaction
        assert wait_until(lambda: len(pg.activity("application_name = '' AND usename = 'rxi_app'")) == 6)

        r = run_module("pg_activity_probe", pg.monitor_args())
        assert not r.failed, r.output
        truth = pg.activity("application_name IN ('', 'rxi-named')")
        holders = dict(((h["application_name"], h["user"], h["client_addr"]), h) for h in r["holders"])
        nameless = holders[("", "rxi_app", "127.0.0.1")]
        assert nameless["count"] == 6 == len([t for t in truth if t[1] == "" and t[3] == "rxi_app"])
        assert nameless["by_state"] == {"idle": 5, "idle in transaction": 1}
        assert nameless["databases"] == ["reflexion"]
        assert holders[("rxi-named", "rxi_app", "127.0.0.1")]["count"] == 2
        assert holders[("", "rxi_monitor", "127.0.0.1")]["count"] == 1
        # the biggest holder first, and the probe's own session is not a holder
        assert r["holders"][0]["count"] == max(h["count"] for h in r["holders"])
        assert r["holders"][0]["application_name"] == "" and r["holders"][0]["user"] == "rxi_app"
        assert "reflexion.incident.pg_activity_probe" not in [h["application_name"] for h in r["holders"]]
        assert r["holders_other"] == 0
        # by_application and by_user keep their shape (the probe's own session counted there, as before)
        assert r["by_application"][""] == 7 and r["by_application"]["rxi-named"] == 2
        assert r["by_user"]["rxi_app"] == 8
        assert r["by_application"]["reflexion.incident.pg_activity_probe"] == 1
        assert APP_PASSWORD not in r.output
