"""metrics_probe's rates from Prometheus (issue 20), against the Debian prometheus binary scraping a real
prometheus_client exporter on loopback: the rates Prometheus computed match the two-scrape rates on the same
traffic, and a Prometheus that is down, that does not answer, or that has no series gives way to the two scrapes."""

import json
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request

import pytest

# One request in five is a 500 (the ratio is 0.2 whatever the speed), and every request takes 0.3 s (the p95 lies in
# the (0.25, 0.5] bucket).
EXPORTER = r"""
import sys, time
from prometheus_client import Counter, Histogram, start_http_server
REQ = Counter("reflexion_requests_total", "HTTP requests answered, by status code", ["status"])
DUR = Histogram("reflexion_request_duration_seconds", "HTTP request duration",
                buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))
start_http_server(int(sys.argv[1]), addr="127.0.0.1")
i = 0
while True:
    i += 1
    REQ.labels("200").inc()
    DUR.observe(0.3)
    if i % 4 == 0:
        REQ.labels("500").inc()
        DUR.observe(0.3)
    time.sleep(0.05)
"""


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def prom_query(url, query):
    data = urllib.request.urlopen(url + "/api/v1/query?" + urllib.parse.urlencode({"query": query}), timeout=5).read()
    return json.loads(data)["data"]["result"]


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory):
    """A real Prometheus (1 s scrapes, job reflexion) with a minute of the exporter's traffic behind it."""
    # packages-debian.txt installs it: missing is a failure, not a skip
    assert shutil.which("prometheus"), "needs the Debian prometheus binary (packages-debian.txt)"
    tmp = tmp_path_factory.mktemp("prom")
    port, exporter = free_port(), free_port()
    cfg = tmp / "prometheus.yml"
    cfg.write_text("global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: reflexion\n    static_configs:\n"
                   "      - targets: ['127.0.0.1:%d']\n" % exporter)
    procs = [subprocess.Popen([sys.executable, "-c", EXPORTER, str(exporter)])]
    procs.append(subprocess.Popen(
        ["prometheus", "--config.file=%s" % cfg, "--storage.tsdb.path=%s" % (tmp / "tsdb"),
         "--web.listen-address=127.0.0.1:%d" % port], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    url = "http://127.0.0.1:%d" % port
    try:
        # ready when the 1m window holds enough scrapes for a rate of the errors (polled, not a fixed sleep)
        deadline = time.monotonic() + 120
        ready = False
        while time.monotonic() < deadline and not ready:
            try:
                ready = bool(prom_query(url, 'rate(reflexion_requests_total{job="reflexion",status="500"}[1m]) > 0')) \
                    and bool(prom_query(url, 'count_over_time(up{job="reflexion"}[1m]) >= 10'))
            except (OSError, ValueError, KeyError):
                pass
            time.sleep(1)
        assert ready, "prometheus on %s has not scraped the exporter in 120 s" % url
        yield {"url": url, "metrics": "http://127.0.0.1:%d/metrics" % exporter}
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(30)


@pytest.fixture
def silent_server():
    """A loopback server that accepts connections and never answers (a Prometheus that hangs)."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    held = []
    stop = threading.Event()

    def accept():
        srv.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(srv.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield "http://127.0.0.1:%d" % srv.getsockname()[1]
    stop.set()
    thread.join(5)
    for conn in held:
        conn.close()
    srv.close()


def probe(run_module, prometheus, **args):
    params = dict({"url": prometheus["metrics"], "sample_interval": 2}, **args)
    r = run_module("metrics_probe", params)
    assert not r.failed, r.output
    return r


def test_rates_from_prometheus_match_two_scrapes(run_module, prometheus):
    prom = probe(run_module, prometheus, prometheus_url=prometheus["url"], prometheus_selector='job="reflexion"')
    assert prom["source"] == "prometheus" and prom["prometheus_error"] is None and prom["rate_window"] == "1m"
    assert prom["sample_interval"] == 0  # one scrape only: the targets' status and samples
    assert [t["status"] for t in prom["targets"]] == ["healthy"]
    assert any(m["name"] == "reflexion_requests_total" for m in prom["metrics"])
    assert prom["rates"]["sample_interval"] == 60.0 and prom["rates"]["requests_per_s"] > 0
    assert "rates from Prometheus over 1m" in prom["reason"]

    scraped = probe(run_module, prometheus)
    assert scraped["source"] == "scrape" and scraped["prometheus_error"] is None
    assert scraped["sample_interval"] >= 2
    # the same traffic seen by both paths: one request in five a 500, every request in the (0.25, 0.5] bucket
    for rates in (prom["rates"], scraped["rates"]):
        assert rates["error_ratio"] == pytest.approx(0.2, abs=0.04), rates
        assert 0.25 < rates["p95_latency_s"] <= 0.5, rates
    # 20 % of 5xx is "degraded" for the probe on both paths
    assert prom["status"] == scraped["status"] == "degraded"


def test_prometheus_down_falls_back_to_two_scrapes(run_module, prometheus):
    dead = "http://127.0.0.1:%d" % free_port()
    r = probe(run_module, prometheus, prometheus_url=dead)
    assert r["source"] == "scrape" and r["rate_window"] is None
    assert r["prometheus_error"].startswith("Prometheus: ") and "127.0.0.1" in r["prometheus_error"]
    assert r["sample_interval"] >= 2 and r["rates"]["error_ratio"] == pytest.approx(0.2, abs=0.04)
    assert "fell back to two scrapes" in r["reason"]


def test_prometheus_that_does_not_answer_falls_back_within_the_sample_interval(run_module, prometheus, silent_server):
    r = probe(run_module, prometheus, prometheus_url=silent_server, timeout=30)
    # the query waited at most the sample interval (2 s), not the 30 s timeout, then the second scrape was taken
    assert r["source"] == "scrape" and "deadline exceeded" in r["prometheus_error"], r["prometheus_error"]
    assert "within 2s" in r["prometheus_error"], r["prometheus_error"]
    assert r["rates"]["error_ratio"] == pytest.approx(0.2, abs=0.04)


def test_prometheus_without_the_series_falls_back(run_module, prometheus):
    r = probe(run_module, prometheus, prometheus_url=prometheus["url"], prometheus_selector='job="not-scraped"')
    assert r["source"] == "scrape" and "no request rate" in r["prometheus_error"]
    assert r["rates"]["error_ratio"] == pytest.approx(0.2, abs=0.04)


def test_without_sample_interval_prometheus_alone_gives_the_rates(run_module, prometheus):
    r = probe(run_module, prometheus, sample_interval=0, prometheus_url=prometheus["url"], rate_window="30s")
    assert r["source"] == "prometheus" and r["rates"]["sample_interval"] == 30.0
    assert r["rates"]["error_ratio"] == pytest.approx(0.2, abs=0.04)
    down = probe(run_module, prometheus, sample_interval=0, prometheus_url="http://127.0.0.1:%d" % free_port())
    assert down["source"] == "scrape" and down["rates"] is None and "no rates" in down["reason"]


@pytest.mark.parametrize("args, needle", [
    ({"rate_window": "1 minute"}, "rate_window"),
    ({"rate_window": "1m]) or vector(1"}, "rate_window"),
    ({"prometheus_selector": "job=reflexion"}, "prometheus_selector"),
    ({"prometheus_selector": 'job="a"} or vector(1) or up{x="b"'}, "prometheus_selector"),
    ({"status_label": "status-code"}, "status_label"),
    ({"requests_metric": "requests total"}, "requests_metric"),
    ({"labels": {"bad-name": "x"}}, "labels"),
])
def test_bad_input_for_the_rates_query(run_module, args, needle):
    params = dict({"url": "http://127.0.0.1:1/metrics", "prometheus_url": "http://127.0.0.1:1"}, **args)
    r = run_module("metrics_probe", params)
    assert r.failed
    assert r["msg"].startswith(needle + ":"), r["msg"]
    assert "Traceback" not in r.output
