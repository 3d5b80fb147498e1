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

import socket
import ssl
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


def timed_request(url, method="GET", headers=None, body=None, timeout=5.0, validate_certs=True, max_body=1048576):
    """Perform one request. Returns ``(status_code, headers_dict, body_bytes, timings)``.

    ``timings`` holds cumulative milliseconds like curl's ``-w``: ``dns``, ``connect``, ``tls``,
    ``ttfb`` and ``total``. Raises HttpProbeError naming the phase that failed.
    """
    scheme, host, port, path = parse_url(url)
    timings = {"dns": None, "connect": None, "tls": None, "ttfb": None, "total": None}
    start = time.monotonic()
    deadline = start + timeout

    def remaining():
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout("timed out after %.1fs" % timeout)
        return left

    try:
        infos = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)
    except socket.gaierror as exc:
        timings["total"] = _ms(start)
        raise HttpProbeError("dns", "cannot resolve %s: %s" % (host, exc), timings) from None
    timings["dns"] = _ms(start)

    sock = None
    last_error = None
    for family, socktype, proto, _name, addr in infos:
        try:
            sock = socket.socket(family, socktype, proto)
            sock.settimeout(remaining())
            sock.connect(addr)
            break
        except (OSError, socket.timeout) as exc:
            last_error = exc
            if sock is not None:
                sock.close()
            sock = None
    if sock is None:
        timings["total"] = _ms(start)
        raise HttpProbeError("connect", "cannot connect to %s:%s: %s" % (host, port, last_error), timings)
    timings["connect"] = _ms(start)

    try:
        if scheme == "https":
            ctx = ssl.create_default_context()
            if not validate_certs:
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
            sock.settimeout(remaining())
            sock = ctx.wrap_socket(sock, server_hostname=host)
            timings["tls"] = _ms(start)
        else:
            timings["tls"] = 0.0

        conn = httplib.HTTPConnection(host, port, timeout=remaining())
        conn.sock = sock
        send_headers = {"User-Agent": "reflexion.incident", "Accept": "*/*", "Connection": "close"}
        send_headers.update(headers or {})
        conn.request(method, path, body=body, headers=send_headers)
        sock.settimeout(remaining())
        resp = conn.getresponse()
        timings["ttfb"] = _ms(start)
        data = resp.read(max_body)
        timings["total"] = _ms(start)
        resp_headers = dict((k.lower(), v) for k, v in resp.getheaders())
        status = resp.status
        conn.close()
    except ssl.SSLError as exc:
        timings["total"] = _ms(start)
        sock.close()
        raise HttpProbeError("tls", "TLS failed with %s:%s: %s" % (host, port, exc), timings) from None
    except (OSError, socket.timeout, httplib.HTTPException) as exc:
        timings["total"] = _ms(start)
        sock.close()
        msg = str(exc) or type(exc).__name__
        if isinstance(exc, socket.timeout) or "timed out" in msg:
            msg = "timed out after %.1fs" % timeout
        raise HttpProbeError("request", "request to %s failed: %s" % (url, msg), timings) from None
    return status, resp_headers, data, timings
