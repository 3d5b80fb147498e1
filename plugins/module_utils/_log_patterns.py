# -*- coding: utf-8 -*-
# Copyright: reflexion.incident contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE: this module_utils is internal to reflexion.incident. Its API may change in any
# release without notice; do not import it from other collections.
"""log_grep's patterns: the runbook's presets, and the literals every match must contain (the prefilter
that lets the scanner use ``bytes.find`` instead of the regex on every line)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

try:
    import re._parser as sre_parse  # Python >= 3.11
except ImportError:  # pragma: no cover - Python < 3.11
    import sre_parse  # type: ignore

# The runbook's greps, as presets.
PRESETS = {
    # grep -i error /var/log/reflexion/*.log
    "errors": [r"error"],
    # grep -E "(timeout|connection|failed)" /var/log/reflexion/*.log
    "network": [r"timeout|connection|failed"],
    # grep -i "rate limit\|timeout\|unauthorized" (LLM API failures)
    "llm": [r"rate limit|timeout|unauthorized"],
    # grep -E "500|error" (high error rate)
    "http5xx": [r"500|error"],
}


_REPEATS = set(getattr(sre_parse, n) for n in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT") if hasattr(sre_parse, n))


def _best(cands):
    """The candidate literal set whose shortest literal is longest (fewest false hits)."""
    cands = [c for c in cands if c]
    if not cands:
        return None
    return max(cands, key=lambda c: (min(len(x) for x in c), -len(c)))


def required_literals(parsed, icase):
    """Literals (bytes) of which every match of the parsed pattern contains at least one, or None."""
    cands = []
    run = []

    def flush():
        if run:
            cands.append([bytes(bytearray(run))])
            del run[:]

    for op, av in parsed:
        if op == sre_parse.LITERAL and av < 128:
            run.append(ord(chr(av).lower()) if icase else av)
            continue
        flush()
        if op == sre_parse.SUBPATTERN:
            sub = av[-1]
            add_flags, del_flags = av[1], av[2]
            if not icase and (add_flags or 0) & sre_parse.SRE_FLAG_IGNORECASE:
                continue
            if icase and (del_flags or 0) & sre_parse.SRE_FLAG_IGNORECASE:
                pass  # case-sensitive inside: its lowered literal is still in the lowered text
            cands.append(required_literals(sub, icase))
        elif op == sre_parse.BRANCH:
            alts = [required_literals(item, icase) for item in av[1]]
            if all(alts):
                merged = []
                for alt in alts:
                    for lit in alt:
                        if lit not in merged:
                            merged.append(lit)
                cands.append(merged)
        elif op in _REPEATS and av[0] >= 1:
            cands.append(required_literals(av[2], icase))
    flush()
    return _best(cands)


def _pure_literals(parsed):
    """True when the pattern is just literals or an alternation of them (no confirm needed)."""
    items = list(parsed)
    if len(items) == 1 and items[0][0] == sre_parse.BRANCH:
        return all(_pure_literals(b) for b in items[0][1][1])
    if len(items) == 1 and items[0][0] == sre_parse.SUBPATTERN and not items[0][1][1] and not items[0][1][2]:
        return _pure_literals(items[0][1][-1])
    return bool(items) and all(op == sre_parse.LITERAL and av < 128 for op, av in items)


class Pattern(object):
    """One user pattern: the compiled bytes regex plus its literal prefilter."""

    def __init__(self, name, source, ignore_case=True):
        self.name = name
        self.source = source
        flags = re.MULTILINE | (re.IGNORECASE if ignore_case else 0)
        raw = source.encode("utf-8") if not isinstance(source, bytes) else source
        self.regex = re.compile(raw, flags)  # re.error propagates: the caller names the pattern
        try:
            parsed = sre_parse.parse(raw, flags)
            lits = required_literals(parsed, ignore_case)
            self.pure = _pure_literals(parsed) and not (flags & re.VERBOSE)
        except Exception:  # noqa: BLE001 - the prefilter is an optimisation only
            lits, self.pure = None, False
        if lits and min(len(x) for x in lits) < 3:
            lits = None  # too short: more hits than a regex scan is worth
        if lits and ignore_case and any(not x.isascii() for x in lits):
            lits = None
        self.literals = lits
        if not lits:
            self.pure = False


def compile_patterns(patterns, ignore_case=True):
    """``patterns``: list of (name, regex). Returns Pattern objects; ValueError names a bad one."""
    out = []
    for name, source in patterns:
        try:
            out.append(Pattern(name, source, ignore_case))
        except re.error as exc:
            raise ValueError("pattern %r is not a valid regular expression: %s" % (source, exc)) from None
    return out
