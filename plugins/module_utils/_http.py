# -*- coding: utf-8 -*-
# Copyright: reflexion.incident contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE: this module_utils is internal to reflexion.incident. Its API may change in any
# release without notice; do not import it from other collections.
"""One HTTP request with curl ``-w``-style timings (dns, connect, tls, ttfb, total).

``open_url`` cannot split a request into phases, so this drives ``http.client`` over a socket
it connected itself. Proxies are not used: a probe measures the path to the service.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import socket
import ssl
import threading
import time

try:
    from urllib.parse import urlsplit
except ImportError:  # pragma: no cover - Python 2 is not supported, kept for sanity's compile test
    from urlparse import urlsplit  # type: ignore

try:
    import http.client as httplib
except ImportError:  # pragma: no cover
    import httplib  # type: ignore

DEFAULT_PORTS = {"http": 80, "https": 443}


class HttpProbeError(Exception):
    """A request failed at a named phase (dns, connect, tls, request)."""

    def __init__(self, phase, message, timings):
        super(HttpProbeError, self).__init__(message)
        self.phase = phase
        self.timings = timings


def parse_url(url):
    """Split and validate ``url``; raise ValueError with a clear message when it is unusable."""
    parts = urlsplit(url)
    if parts.scheme not in DEFAULT_PORTS:
        raise ValueError("URL %r must start with http:// or https://" % (url,))
    if not parts.hostname:
        raise ValueError("URL %r has no host" % (url,))
    try:
        port = parts.port or DEFAULT_PORTS[parts.scheme]
    except ValueError:
        raise ValueError("URL %r has an invalid port" % (url,)) from None
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return parts.scheme, parts.hostname, port, path


def _ms(start):
    return round((time.monotonic() - start) * 1000.0, 2)


# The most bytes of a response body any request reads (a caller may ask for less with max_body).
MAX_BODY_CAP = 64 << 20
_CHUNK = 65536


class _Deadline(object):
    """One total deadline for a request: DNS, connect, TLS, headers and body all draw on it.

    Socket timeouts apply per read, so a server that drips one byte at a time would never trip them;
    a watchdog timer therefore shuts the connection down when the deadline passes, which ends any
    read blocked in ``http.client`` or ``ssl`` at once.
    """

    def __init__(self, timeout):
        self.timeout = timeout
        self.start = time.monotonic()
        self.end = self.start + timeout
        self.expired = False
        self._timer = None
        self._watch = None

    def remaining(self):
        left = self.end - time.monotonic()
        if left <= 0:
            self.expired = True
            raise socket.timeout("deadline exceeded")
        return left

    def message(self, phase):
        return "timed out: deadline exceeded, no complete response within %gs (in the %s phase)" % (self.timeout, phase)

    def watch(self, sock):
        """Arm the watchdog on ``sock`` (a duplicate descriptor, so it outlives a TLS wrap)."""
        try:
            self._watch = socket.socket(sock.family, sock.type, sock.proto, fileno=os.dup(sock.fileno()))
        except (OSError, ValueError):
            return
        self._timer = threading.Timer(max(self.end - time.monotonic(), 0), self._fire)
        self._timer.daemon = True
        self._timer.start()

    def _fire(self):
        self.expired = True
        watch = self._watch
        if watch is None:
            return
        try:
            watch.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def disarm(self):
        if self._timer is not None:
            self._timer.cancel()
        if self._watch is not None:
            self._watch.close()
            self._watch = None


def _resolve(host, port, deadline):
    """getaddrinfo has no timeout of its own: run it in a thread and wait at most the time left. An address
    literal (127.0.0.1, ::1: every lab and loopback probe) needs no name lookup and no thread."""
    try:
        return socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM, 0, socket.AI_NUMERICHOST)
    except socket.gaierror:
        pass  # a name: look it up under the deadline
    box = {}

    def work():
        try:
            box["infos"] = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            box["error"] = exc

    t = threading.Thread(target=work)
    t.daemon = True
    t.start()
    t.join(deadline.remaining())
    if t.is_alive():
        deadline.expired = True
        raise socket.timeout("deadline exceeded")
    if "error" in box:
        raise box["error"]
    return box["infos"]


def timed_request(url, method="GET", headers=None, body=None, timeout=5.0, validate_certs=True, max_body=1048576):
    """Perform one request. Returns ``(status_code, headers_dict, body_bytes, timings)``.

    ``timeout`` is ONE total deadline for the whole request, DNS, connect, TLS, headers and body
    included (not a per-read timeout): a server that drips its answer is cut off when it passes.
    At most ``max_body`` bytes of the body are read (never more than MAX_BODY_CAP, 64 MiB); the rest
    is not read (the body returned is cut there, as before).

    ``timings`` holds cumulative milliseconds like curl's ``-w``: ``dns``, ``connect``, ``tls``,
    ``ttfb`` and ``total``. Raises HttpProbeError naming the phase that failed; a request that ran
    out of time says "deadline exceeded".
    """
    scheme, host, port, path = parse_url(url)
    timings = {"dns": None, "connect": None, "tls": None, "ttfb": None, "total": None}
    deadline = _Deadline(float(timeout))
    start = deadline.start
    max_body = max(0, min(int(max_body), MAX_BODY_CAP))

    try:
        infos = _resolve(host, port, deadline)
    except socket.timeout:
        timings["total"] = _ms(start)
        raise HttpProbeError("dns", "cannot resolve %s: %s" % (host, deadline.message("dns")), timings) from None
    except (OSError, UnicodeError) as exc:
        timings["total"] = _ms(start)
        raise HttpProbeError("dns", "cannot resolve %s: %s" % (host, exc), timings) from None
    timings["dns"] = _ms(start)

    sock = None
    last_error = None
    for family, socktype, proto, _name, addr in infos:
        try:
            sock = socket.socket(family, socktype, proto)
            sock.settimeout(deadline.remaining())
            sock.connect(addr)
            break
        except (OSError, socket.timeout) as exc:
            last_error = deadline.message("connect") if deadline.expired or isinstance(exc, socket.timeout) else exc
            if sock is not None:
                sock.close()
            sock = None
            if deadline.expired:
                break
    if sock is None:
        timings["total"] = _ms(start)
        raise HttpProbeError("connect", "cannot connect to %s:%s: %s" % (host, port, last_error), timings)
    timings["connect"] = _ms(start)
    deadline.watch(sock)
    phase = "tls" if scheme == "https" else "headers"

    try:
        if scheme == "https":
            ctx = ssl.create_default_context()
            if not validate_certs:
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
            sock.settimeout(deadline.remaining())
            sock = ctx.wrap_socket(sock, server_hostname=host)
            timings["tls"] = _ms(start)
        else:
            timings["tls"] = 0.0
        phase = "headers"
        conn = httplib.HTTPConnection(host, port, timeout=deadline.remaining())
        conn.sock = sock
        send_headers = {"User-Agent": "reflexion.incident", "Accept": "*/*", "Connection": "close"}
        send_headers.update(headers or {})
        sock.settimeout(deadline.remaining())
        conn.request(method, path, body=body, headers=send_headers)
        sock.settimeout(deadline.remaining())
        resp = conn.getresponse()
        timings["ttfb"] = _ms(start)
        phase = "body"
        chunks = []
        got = 0
        while got < max_body:
            if resp.isclosed():
                # the whole Content-Length is read and http.client closed the socket; on Python 3.13
                # settimeout() on it then fails with EBADF (issue 19: triage in the trixie EE)
                break
            sock.settimeout(deadline.remaining())
            chunk = resp.read1(min(_CHUNK, max_body - got))
            if deadline.expired:
                raise socket.timeout("deadline exceeded")
            if not chunk:
                break
            chunks.append(chunk)
            got += len(chunk)
        data = b"".join(chunks)
        deadline.remaining()
        timings["total"] = _ms(start)
        resp_headers = dict((k.lower(), v) for k, v in resp.getheaders())
        status = resp.status
        conn.close()
    except ssl.SSLError as exc:
        timings["total"] = _ms(start)
        sock.close()
        if deadline.expired:
            raise HttpProbeError("request", "request to %s failed: %s" % (url, deadline.message(phase)), timings) from None
        raise HttpProbeError("tls", "TLS failed with %s:%s: %s" % (host, port, exc), timings) from None
    except (OSError, socket.timeout, httplib.HTTPException, ValueError) as exc:
        timings["total"] = _ms(start)
        sock.close()
        msg = str(exc) or type(exc).__name__
        if deadline.expired or isinstance(exc, socket.timeout) or "timed out" in msg:
            msg = deadline.message(phase)
        raise HttpProbeError("request", "request to %s failed: %s" % (url, msg), timings) from None
    finally:
        deadline.disarm()
    return status, resp_headers, data, timings


def header_problem(name, value):
    """Why a request header cannot be sent as given, or None. Never quotes the value (it is often a secret):
    a CR, LF or NUL in a name or a value would split the request (header injection)."""
    if not isinstance(name, str) or not name or any(c in name for c in "\r\n\0:") or name != name.strip():
        return "a header name must be a non-empty token without spaces, CR, LF, NUL or ':'"
    text = value if isinstance(value, str) else str(value)
    if any(c in text for c in "\r\n\0"):
        return "the value of header %s holds a CR, LF or NUL character (not sent; give the value alone)" % name
    return None
