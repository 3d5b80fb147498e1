"""Host state after the pg_cleanup role's converge, read from the real cluster's pg_stat_activity."""

PORT = 18707
SQL = "SELECT application_name FROM pg_stat_activity WHERE usename = 'app' ORDER BY 1"


def psql(host, sql):
    return host.check_output("runuser -u postgres -- psql -h 127.0.0.1 -p %s -d postgres -tAc %s", str(PORT), sql)


def test_the_cluster_still_listens(host):
    assert host.socket("tcp://127.0.0.1:%d" % PORT).is_listening


def test_the_long_runner_is_gone_and_the_protected_pg_dump_session_survived(host):
    assert psql(host, SQL).splitlines() == ["pg_dump"]


def test_the_mitigation_lock_was_released(host):
    assert not host.file("/var/lib/reflexion-incident/locks/rxi-mit-pg-cleanup.lock").exists
