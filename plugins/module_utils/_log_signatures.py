# -*- coding: utf-8 -*-
# Copyright: reflexion.incident contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE: this module_utils is internal to reflexion.incident. Its API may change in any
# release without notice; do not import it from other collections.
"""log_grep's error signatures: a matched line with its timestamp, numbers, ids and hex masked, counted
in bounded memory."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import re

from ansible_collections.reflexion.incident.plugins.module_utils._log_time import strip_timestamp

_KEY_TABLE = bytes.maketrans(b"0123456789abcdefABCDEF", b"#" * 22)
_MASK = re.compile(
    br"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    br"|0x[0-9a-fA-F]+|\b[0-9a-fA-F]*\d[0-9a-fA-F]*\b|\d+")
SIGNATURE_CAP = 4096


def _mask_one(m):
    tok = m.group(0)
    if len(tok) == 36 and tok.count(b"-") == 4:
        return b"<uuid>"
    if tok[:2] in (b"0x", b"0X") or (len(tok) >= 8 and not tok.isdigit()):
        return b"<hex>"
    return b"<n>"


def mask_message(line):
    """The signature of a log line: timestamp dropped, numbers, ids and hex masked."""
    text = strip_timestamp(line.rstrip(b"\r\n"))
    text = _MASK.sub(_mask_one, text)
    return text[:300].decode("utf-8", "replace").strip()


def signature_keys(lines):
    """Cheap grouping keys for many lines at once (C-speed translate/replace over one joined block)."""
    joined = b"\n".join(lines).translate(_KEY_TABLE)
    while b"##" in joined:
        joined = joined.replace(b"####", b"#").replace(b"##", b"#")
    return joined.split(b"\n")


class Signatures(object):
    """Counts per signature, bounded: when full, the rarer half is dropped (counts then approximate)."""

    def __init__(self, cap=SIGNATURE_CAP):
        self.cap = cap
        self.counts = collections.Counter()
        self.example = {}
        self.approximate = False

    def add_lines(self, lines):
        if not lines:
            return
        keys = signature_keys(lines)
        # C-speed counting; the first line of each key is its example (reversed: the first one wins)
        self.counts.update(keys)
        example = self.example
        firsts = dict(zip(reversed(keys), reversed(lines)))
        for key in firsts.keys() - example.keys():
            example[key] = firsts[key][:1024]
        if len(self.counts) > self.cap:
            self.prune()

    def prune(self):
        keep = dict(self.counts.most_common(self.cap // 2))
        self.counts = collections.Counter(keep)
        self.example = dict((k, v) for k, v in self.example.items() if k in keep)
        self.approximate = True

    def merge(self, other):
        for key, n in other.counts.items():
            self.counts[key] += n
            self.example.setdefault(key, other.example[key])
        self.approximate = self.approximate or other.approximate
        if len(self.counts) > self.cap:
            self.prune()

    def top(self, k):
        merged = collections.Counter()
        for key, n in self.counts.items():
            merged[mask_message(self.example[key])] += n
        return [{"signature": s, "count": n} for s, n in merged.most_common(k)]
