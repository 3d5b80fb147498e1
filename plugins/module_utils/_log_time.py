# -*- coding: utf-8 -*-
# Copyright: reflexion.incident contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE: this module_utils is internal to reflexion.incident. Its API may change in any
# release without notice; do not import it from other collections.
"""log_grep's time parsing: a line's timestamp (ISO 8601, Python logging, syslog, nginx/apache, JSON)
and the since/until specs (``1h``, ISO 8601)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import calendar
import re
import time

_MONTHS = dict((m, i + 1) for i, m in enumerate(
    (b"jan", b"feb", b"mar", b"apr", b"may", b"jun", b"jul", b"aug", b"sep", b"oct", b"nov", b"dec")))

_ISO = re.compile(br"(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,9}))?\s?(Z|[+-]\d{2}:?\d{2}(?![\d:]))?")
_CLF = re.compile(br"\[(\d{2})/([A-Za-z]{3})/(\d{4}):(\d{2}):(\d{2}):(\d{2}) ([+-]\d{4})\]")
_SYSLOG = re.compile(br"(?:<\d{1,3}>)?([A-Z][a-z]{2}) {1,2}(\d{1,2}) (\d{2}):(\d{2}):(\d{2})\b")
_JSON = re.compile(br'"(?:time|timestamp|ts|@timestamp)"\s*:\s*(?:"([^"]{1,64})"|(\d{9,16}(?:\.\d+)?))')
_SPEC = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|d|w)\s*$", re.IGNORECASE)
_UNITS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 604800}


def _tz_offset(zone):
    if not zone or zone in (b"Z", "Z"):
        return 0
    zone = zone.replace(b":", b"") if isinstance(zone, bytes) else zone.replace(":", "")
    sign = -1 if zone[:1] in (b"-", "-") else 1
    return sign * (int(zone[1:3]) * 3600 + int(zone[3:5]) * 60)


def _epoch(year, month, day, hour, minute, sec, frac=None, zone=None, naive_local=True):
    tup = (year, month, day, hour, minute, sec, 0, 0, -1)
    if zone is None and naive_local:
        base = time.mktime(tup)
    else:
        base = calendar.timegm(tup) - _tz_offset(zone)
    if frac:
        base += float(b"0." + frac if isinstance(frac, bytes) else "0." + frac)
    return base


def _iso_epoch(m):
    g = m.groups()
    return _epoch(int(g[0]), int(g[1]), int(g[2]), int(g[3]), int(g[4]), int(g[5]), g[6], g[7])


def line_timestamp(line, now=None):
    """Epoch seconds of the timestamp that starts ``line`` (bytes), or None.

    Recognised: ISO 8601 (with or without fraction and zone, which covers Python logging's
    ``2026-11-26 22:41:18,123``), syslog ``Nov 26 22:41:18``, nginx/apache
    ``[26/Nov/2026:22:41:18 +0000]`` and JSON lines with ``time``/``timestamp``/``ts`` (ISO or
    epoch seconds/milliseconds). Times without a zone are the host's local time.
    """
    try:
        head = bytes(line[:256])
        if head[:1] == b"{":
            m = _JSON.search(head)
            if not m:
                m = _JSON.search(bytes(line[:4096]))
            if m:
                if m.group(2):
                    value = float(m.group(2))
                    return value / 1000.0 if value > 1e11 else value
                iso = _ISO.match(m.group(1))
                if iso:
                    return _iso_epoch(iso)
                try:
                    value = float(m.group(1))
                    return value / 1000.0 if value > 1e11 else value
                except ValueError:
                    return None
            return None
        m = _ISO.search(head, 0, 48)
        if m:
            return _iso_epoch(m)
        m = _CLF.search(head, 0, 160)
        if m:
            g = m.groups()
            month = _MONTHS.get(g[1].lower())
            if month:
                return _epoch(int(g[2]), month, int(g[0]), int(g[3]), int(g[4]), int(g[5]), None, g[6])
            return None
        m = _SYSLOG.match(head)
        if m:
            g = m.groups()
            month = _MONTHS.get(g[0].lower())
            if not month:
                return None
            now = time.time() if now is None else now
            year = time.localtime(now).tm_year
            value = _epoch(year, month, int(g[1]), int(g[2]), int(g[3]), int(g[4]))
            if value > now + 86400:  # syslog has no year: December's lines read in January
                value = _epoch(year - 1, month, int(g[1]), int(g[2]), int(g[3]), int(g[4]))
            return value
    except (ValueError, OverflowError):
        return None
    return None


def timestamp_format(line):
    """Name of the timestamp format of ``line`` (for reports), or None."""
    head = line[:256]
    if head[:1] == b"{" and _JSON.search(head):
        return "json"
    m = _ISO.search(head, 0, 48)
    if m:
        return "python" if m.group(0)[10:11] == b" " and m.group(0)[19:20] == b"," else "iso8601"
    if _CLF.search(head, 0, 160):
        return "clf"
    if _SYSLOG.match(head):
        return "syslog"
    return None


# A time window reaches back at most this far, and no further than the Unix epoch: logs are younger,
# and times outside it overflow the platform's time functions.
MAX_SPAN = 100 * 366 * 86400
MIN_TIME = 0.0
MAX_TIME = 253402300799.0  # 9999-12-31T23:59:59Z


def parse_time_spec(spec, now=None):
    """``1h``/``30m``/``2d``/``90s``/``1w`` (ago) or ISO 8601 -> epoch seconds. ValueError if unusable,
    including a duration longer than 100 years and a time before 1970 or after 9999."""
    now = time.time() if now is None else now
    text = str(spec).strip()
    try:
        value = _parse_time_spec(text, now)
    except OverflowError:
        raise ValueError("%r is out of range (from 1970-01-01 to 9999-12-31)" % (text[:64],)) from None
    if not MIN_TIME <= value <= MAX_TIME:
        raise ValueError("%r is out of range (from 1970-01-01 to 9999-12-31)" % (text[:64],))
    return value


def _parse_time_spec(text, now):
    m = _SPEC.match(text)
    if m:
        span = float(m.group(1)) * _UNITS[m.group(2).lower()]
        if not span <= MAX_SPAN:
            raise ValueError("%r is longer than 100 years" % (text[:64],))
        return now - span
    iso = _ISO.match(text.encode("ascii", "replace"))
    if iso and iso.end() == len(text):
        g = iso.groups()
        if not (1 <= int(g[1]) <= 12 and 1 <= int(g[2]) <= 31 and int(g[3]) <= 23 and int(g[4]) <= 59
                and int(g[5]) <= 60):
            raise ValueError("%r is not a valid ISO 8601 time" % (text,))
        return _iso_epoch(iso)
    m = re.match(r"^(\d{4})-(\d{2})-(\d{2})$", text)
    if m:
        return _epoch(int(m.group(1)), int(m.group(2)), int(m.group(3)), 0, 0, 0)
    raise ValueError("%r is neither a duration like 1h, 30m, 2d nor an ISO 8601 time" % (text,))


def strip_timestamp(line):
    """``line`` without its leading timestamp (and the separators after it)."""
    head = line[:256]
    m = _ISO.search(head, 0, 48) or _CLF.search(head, 0, 160) or _SYSLOG.match(head)
    if m and m.start() < 48:
        rest = line[m.end():]
        return rest.lstrip(b" ]|-:\t")
    return line
