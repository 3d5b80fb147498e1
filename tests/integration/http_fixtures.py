"""Real HTTP servers on loopback for the probe tests (threads in the test process)."""

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    routes = {}

    def do_GET(self):  # noqa: N802 - http.server's naming
        route = self.server.routes.get(self.path)
        if route is None:
            self.send_response(404)
            self.end_headers()
            return
        code, body, delay = route
        if delay:
            time.sleep(delay)
        payload = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_HEAD = do_GET  # noqa: N815 - http.server's naming

    def log_message(self, *args):
        pass


class LoopbackServer(object):
    """``routes``: path -> (status code, body (dict or bytes), delay seconds)."""

    def __init__(self, routes):
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.routes = routes
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base(self):
        return "http://127.0.0.1:%d" % self.httpd.server_address[1]

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


DRIP_BYTES = 80
DRIP_EVERY = 0.5


class DripServer(object):
    """A raw TCP server on loopback that drips (issue #15): ``/body`` sends its headers at once, then an
    80-byte body one byte every 0.5 s (40 s in all); ``/headers`` drips the status line and headers too."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.serve, daemon=True)

    @property
    def base(self):
        return "http://127.0.0.1:%d" % self.sock.getsockname()[1]

    def serve(self):
        self.sock.settimeout(0.2)
        while not self.stop.is_set():
            try:
                conn, _addr = self.sock.accept()
            except OSError:
                continue
            threading.Thread(target=self.handle, args=(conn,), daemon=True).start()

    def drip(self, conn, data):
        for i in range(len(data)):
            if self.stop.is_set():
                return
            conn.sendall(data[i:i + 1])
            time.sleep(DRIP_EVERY)

    def handle(self, conn):
        try:
            conn.settimeout(30)
            request = b""
            while b"\r\n\r\n" not in request:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                request += chunk
            path = request.split(b" ", 2)[1]
            body = b"reflexion_requests_total 1\n"[:DRIP_BYTES].ljust(DRIP_BYTES, b"#")
            head = (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n" % len(body))
            if path == b"/headers":
                self.drip(conn, head + body)
            else:
                conn.sendall(head)
                self.drip(conn, body)
        except OSError:
            pass
        finally:
            conn.close()

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.sock.close()
