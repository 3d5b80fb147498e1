"""A tiny Chrome DevTools Protocol client over --remote-debugging-pipe (fd 3 in, fd 4 out, NUL-separated JSON):
Debian's chromium in headless mode, no websocket library, no network. Used by test_incident_page.py."""

import base64
import json
import os
import select
import shutil
import subprocess
import tempfile
import time

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")


def chromium_path():
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


class Browser(object):
    """``with Browser() as b: page = b.open("file:///...")`` -> the text, the errors, screenshots."""

    def __init__(self, deadline_s=45):
        self.deadline = time.monotonic() + deadline_s
        self.proc = None
        self.buf = b""
        self.next_id = 0
        self.events = []
        self.session = None
        self.profile = tempfile.mkdtemp(prefix="rxi-page-chromium-")

    def __enter__(self):
        exe = chromium_path()
        assert exe, "chromium is not installed (scripts/ensure_host_packages.sh installs it from packages-debian.txt)"
        to_child_r, self.to_child_w = os.pipe()
        self.from_child_r, from_child_w = os.pipe()

        def wire():
            # copies first: a pipe end may already be fd 3 or 4 (dup2 onto itself would leave it non-inheritable)
            a, b = os.dup(to_child_r), os.dup(from_child_w)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self.proc = subprocess.Popen(
            [
                exe,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--remote-debugging-pipe",
                "--user-data-dir=" + self.profile,
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-extensions",
                "--disable-background-networking",
                "--disable-sync",
                "--disable-component-update",
                "about:blank",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=wire,
            close_fds=False,  # fds 3 and 4 (dup2 makes them inheritable) reach chromium
        )
        os.close(to_child_r)
        os.close(from_child_w)
        targets = self.call("Target.getTargets")["targetInfos"]
        page = next(t for t in targets if t["type"] == "page")
        self.session = self.call("Target.attachToTarget", {"targetId": page["targetId"], "flatten": True}, session=False)[
            "sessionId"
        ]
        for domain in ("Page", "Runtime", "Log"):
            self.call(domain + ".enable")
        return self

    def __exit__(self, *exc):
        if self.proc and self.proc.poll() is None:
            try:
                self.call("Browser.close", session=False, timeout=5)
            except (AssertionError, OSError):
                pass
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for fd in (self.to_child_w, self.from_child_r):
            try:
                os.close(fd)
            except OSError:
                pass
        shutil.rmtree(self.profile, ignore_errors=True)

    # --- the protocol
    def _read(self, timeout):
        end = min(time.monotonic() + timeout, self.deadline)
        while b"\0" not in self.buf:
            left = end - time.monotonic()
            assert left > 0, "chromium did not answer in time"
            ready, _w, _x = select.select([self.from_child_r], [], [], left)
            if ready:
                chunk = os.read(self.from_child_r, 1 << 20)
                assert chunk, "chromium closed the DevTools pipe"
                self.buf += chunk
        raw, self.buf = self.buf.split(b"\0", 1)
        return json.loads(raw)

    def call(self, method, params=None, session=True, timeout=20):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session and self.session:
            msg["sessionId"] = self.session
        os.write(self.to_child_w, json.dumps(msg).encode() + b"\0")
        while True:
            reply = self._read(timeout)
            if reply.get("id") == self.next_id:
                assert "error" not in reply, "%s: %s" % (method, reply["error"])
                return reply.get("result", {})
            self.events.append(reply)

    def wait_event(self, method, timeout=20):
        for i, ev in enumerate(self.events):
            if ev.get("method") == method:
                return self.events.pop(i)
        while True:
            ev = self._read(timeout)
            if ev.get("method") == method:
                return ev
            self.events.append(ev)

    # --- what the tests use
    def open(self, url, width=412, height=900, mobile=True):
        self.call(
            "Emulation.setDeviceMetricsOverride", {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile}
        )
        self.events = [e for e in self.events if e.get("method") not in ("Page.loadEventFired",)]
        self.call("Page.navigate", {"url": url})
        self.wait_event("Page.loadEventFired")

    def eval(self, expression):
        res = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        assert "exceptionDetails" not in res, res
        return res["result"].get("value")

    def errors(self):
        """Console errors, uncaught exceptions and browser log errors (CSP violations, failed loads) seen so far."""
        self.eval("1")  # flush: events that arrived before this answer are in self.events
        out = []
        for ev in self.events:
            m, p = ev.get("method"), ev.get("params", {})
            if m == "Runtime.exceptionThrown":
                out.append("exception: %s" % p.get("exceptionDetails", {}).get("text"))
            elif m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                out.append("console.%s: %s" % (p["type"], [a.get("value") for a in p.get("args", [])]))
            elif m == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
                out.append("log: %s %s" % (p["entry"].get("text"), p["entry"].get("url", "")))
        return out

    def screenshot(self, path):
        data = self.call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})["data"]
        with open(path, "wb") as fh:
            fh.write(base64.b64decode(data))
        return path

    def pdf(self):
        return base64.b64decode(self.call("Page.printToPDF", {"printBackground": False})["data"])
