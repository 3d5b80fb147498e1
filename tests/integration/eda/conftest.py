"""EDA test helpers: the real event source in an asyncio loop, a real Alertmanager, real payloads."""

import asyncio
import datetime
import importlib.util
import json
import os
import shutil
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
SOURCE_PATH = os.path.join(ROOT, "extensions", "eda", "plugins", "event_source", "alertmanager.py")
ALERTMANAGER = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")


def load_source():
    """Import the event source the way ansible-rulebook does: from its file."""
    spec = importlib.util.spec_from_file_location("reflexion_eda_alertmanager_source", SOURCE_PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_http(url, timeout=60.0, proc=None):
    """Wait until ``url`` answers anything; fail early if ``proc`` died."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise AssertionError("process exited with rc=%s before %s answered" % (proc.returncode, url))
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                return resp.status
        except urllib.error.HTTPError as exc:
            return exc.code
        except OSError as exc:
            last = exc
            time.sleep(0.2)
    raise AssertionError("%s did not answer within %ss: %s" % (url, timeout, last))


def post(url, body, headers=None, timeout=10):
    """POST ``body`` (dict -> JSON, bytes as-is); return (status, parsed JSON body or text)."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    all_headers = {"Content-Type": "application/json"}
    all_headers.update(headers or {})
    req = urllib.request.Request(url, data=data, method="POST", headers=all_headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            status, raw = resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode("utf-8", "replace")


def iso(ts):
    return datetime.datetime.fromtimestamp(ts, tz=datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def alert(name, instance="app-1:8000", status="firing", severity="P1", playbook=None, ends_at=None, **labels):
    """One alert in Alertmanager's webhook (version 4) shape."""
    lbl = {"alertname": name, "instance": instance, "severity": severity, "job": "reflexion"}
    lbl.update(labels)
    return {
        "status": status,
        "labels": lbl,
        "annotations": {"summary": "%s on %s" % (name, instance),
                        "runbook_playbook": playbook or "playbooks/high_error_rate.yml"},
        "startsAt": "2026-11-26T10:00:00.000Z",
        "endsAt": ends_at or ("0001-01-01T00:00:00Z" if status == "firing" else "2026-11-26T10:05:00.000Z"),
        "generatorURL": "http://127.0.0.1:9090/graph?g0.expr=reflexion_error_ratio",
        "fingerprint": "%016x" % (abs(hash((name, instance))) % (1 << 64)),
    }


def payload(*alerts, status=None, receiver="eda"):
    """A whole Alertmanager webhook payload, as Alertmanager 0.25 sends it."""
    first = alerts[0]["labels"] if alerts else {}
    return {
        "receiver": receiver,
        "status": status or ("firing" if any(a["status"] == "firing" for a in alerts) else "resolved"),
        "alerts": list(alerts),
        "groupLabels": {"alertname": first.get("alertname", "")},
        "commonLabels": first,
        "commonAnnotations": alerts[0]["annotations"] if alerts else {},
        "externalURL": "http://127.0.0.1:9093",
        "version": "4",
        "groupKey": '{}:{alertname="%s"}' % first.get("alertname", ""),
        "truncatedAlerts": 0,
    }


class SourceRunner(object):
    """Runs the source's ``main(queue, args)`` coroutine in its own asyncio loop (a thread)."""

    def __init__(self, args):
        self.module = load_source()
        self.args = dict(args)
        self.loop = asyncio.new_event_loop()
        self.queue = None
        self.task = None
        self.error = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        asyncio.set_event_loop(self.loop)
        self.queue = asyncio.Queue()
        self.task = self.loop.create_task(self.module.main(self.queue, self.args))
        try:
            self.loop.run_until_complete(self.task)
        except BaseException as exc:  # noqa: BLE001 - reported to the test through .error
            self.error = exc

    @property
    def base(self):
        return "http://%s:%d" % (self.args.get("host", "127.0.0.1"), self.args["port"])

    def start(self):
        self.thread.start()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.error is not None or not self.thread.is_alive():
                raise AssertionError("source stopped: %r" % (self.error,))
            try:
                with urllib.request.urlopen(self.base + "/", timeout=1) as resp:
                    if resp.read() == b"up":
                        return self
            except OSError:
                time.sleep(0.05)
        raise AssertionError("source did not listen on %s" % self.base)

    def get(self, timeout=10):
        """The next event from the queue (fails the test after ``timeout`` seconds)."""
        fut = asyncio.run_coroutine_threadsafe(asyncio.wait_for(self.queue.get(), timeout), self.loop)
        return fut.result(timeout + 5)

    def pending(self):
        return asyncio.run_coroutine_threadsafe(_qsize(self.queue), self.loop).result(5)

    def stop(self):
        if self.task is not None and not self.task.done():
            self.loop.call_soon_threadsafe(self.task.cancel)
        self.thread.join(10)
        assert not self.thread.is_alive(), "source did not stop on cancel"


async def _qsize(queue):
    return queue.qsize()


@pytest.fixture
def source():
    """``source(args)`` starts the real source on a free loopback port and stops it afterwards."""
    started = []

    def _start(args=None):
        a = {"host": "127.0.0.1", "port": free_port()}
        a.update(args or {})
        runner = SourceRunner(a).start()
        started.append(runner)
        return runner

    yield _start
    for runner in started:
        runner.stop()


class Alertmanager(object):
    """A real prometheus-alertmanager on loopback, clustering off, routing everything to one webhook."""

    def __init__(self, workdir, webhook_url, http_config=None, group_wait="1s", group_interval="1s"):
        self.workdir = workdir
        self.port = free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        webhook = {"url": webhook_url, "send_resolved": True}
        if http_config:
            webhook["http_config"] = http_config
        config = {
            "route": {"receiver": "eda", "group_by": ["alertname", "instance"], "group_wait": group_wait,
                      "group_interval": group_interval, "repeat_interval": "1h"},
            "receivers": [{"name": "eda", "webhook_configs": [webhook]}],
        }
        self.config_path = os.path.join(workdir, "alertmanager.yml")
        with open(self.config_path, "w") as f:
            yaml.safe_dump(config, f)
        self.log_path = os.path.join(workdir, "alertmanager.log")
        self.proc = None

    def start(self):
        log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [ALERTMANAGER, "--config.file=" + self.config_path, "--storage.path=" + os.path.join(self.workdir, "data"),
             "--web.listen-address=127.0.0.1:%d" % self.port, "--cluster.listen-address=", "--log.level=debug"],
            stdout=log, stderr=subprocess.STDOUT)
        log.close()
        wait_http(self.url + "/-/ready", proc=self.proc)
        return self

    def fire(self, name, instance, ends_in=None, **labels):
        """Post one alert to Alertmanager's v2 API (the way Prometheus does)."""
        lbl = {"alertname": name, "instance": instance, "severity": "P1"}
        lbl.update(labels)
        now = time.time()
        item = {"labels": lbl, "annotations": {"summary": "%s on %s" % (name, instance)},
                "startsAt": iso(now - 1), "generatorURL": "http://127.0.0.1:9090/graph"}
        if ends_in is not None:
            item["endsAt"] = iso(now + ends_in)
        status, body = post(self.url + "/api/v2/alerts", [item])
        assert status == 200, body

    def resolve(self, name, instance, **labels):
        lbl = {"alertname": name, "instance": instance, "severity": "P1"}
        lbl.update(labels)
        now = time.time()
        item = {"labels": lbl, "annotations": {"summary": "%s on %s" % (name, instance)},
                "startsAt": iso(now - 60), "endsAt": iso(now - 0.5), "generatorURL": "http://127.0.0.1:9090/graph"}
        status, body = post(self.url + "/api/v2/alerts", [item])
        assert status == 200, body

    def log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


@pytest.fixture
def alertmanager(tmp_path):
    """``alertmanager(webhook_url, http_config=None)`` starts a real Alertmanager; stopped afterwards."""
    if not ALERTMANAGER:
        pytest.skip("prometheus-alertmanager is not installed (Debian package prometheus-alertmanager)")
    started = []

    def _start(webhook_url, http_config=None, **kw):
        d = tmp_path / ("am%d" % len(started))
        d.mkdir()
        am = Alertmanager(str(d), webhook_url, http_config=http_config, **kw)
        started.append(am)
        return am.start()

    yield _start
    for am in started:
        am.stop()
