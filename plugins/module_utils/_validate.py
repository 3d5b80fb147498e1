# -*- coding: utf-8 -*-
# Copyright: reflexion.incident contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE: this module_utils is internal to reflexion.incident. Its API may change in any
# release without notice; do not import it from other collections.
"""Input checks every module shares.

Ansible's ``float`` type accepts ``"nan"``, ``"inf"`` and ``"-inf"`` (Python's float() does), and a NaN
compares false with everything: a NaN threshold silently disables the check it guards and a NaN or
infinite timeout either never fires or fires at once. :func:`non_finite_option` finds such a value in
any ``float`` option of an argument spec (suboptions and float lists included) so every module can
refuse it with a message naming the option.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import math

# Every wait has a cap: a timeout longer than a day is a typo, and a huge one (1e20) overflows the
# platform's time_t inside the HTTP watchdog, which would read as "service down". Durations in seconds.
MAX_WAIT_SECONDS = 86400
# Options that are waits in seconds (statement_timeout is milliseconds and PostgreSQL's own business).
WAIT_SUFFIXES = ("timeout",)
NOT_WAITS = ("statement_timeout",)


def _is_wait(name):
    return name.endswith(WAIT_SUFFIXES) and name not in NOT_WAITS


def is_finite_number(value):
    """True when ``value`` is an int or a finite float (bools are not numbers here)."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    return isinstance(value, float) and math.isfinite(value)


def _non_finite(value):
    return isinstance(value, float) and not math.isfinite(value)


def non_finite_option(spec, params, prefix=""):
    """The message for the first ``float`` option of ``spec`` whose value in ``params`` is NaN or
    infinite (nested ``options`` and ``elements: float`` lists included), or whose value is a wait
    (``*timeout``) longer than MAX_WAIT_SECONDS; None when all are fine."""
    if not isinstance(params, dict):
        return None
    for name, opt in spec.items():
        value = params.get(name)
        if value is None:
            continue
        label = prefix + name
        if opt.get("type") == "float" and _non_finite(value):
            return "%s: must be a finite number, got %s" % (label, value)
        if (opt.get("type") in ("float", "int") and _is_wait(name) and not isinstance(value, bool)
                and isinstance(value, (int, float)) and value > MAX_WAIT_SECONDS):
            return "%s: must be at most %d seconds, got %s" % (label, MAX_WAIT_SECONDS, value)
        if opt.get("type") == "list" and opt.get("elements") == "float" and isinstance(value, list):
            for index, item in enumerate(value):
                if _non_finite(item):
                    return "%s[%d]: must be a finite number, got %s" % (label, index, item)
        if opt.get("options"):
            items = value if isinstance(value, list) else [value]
            for index, item in enumerate(items):
                sub = "%s[%d]." % (label, index) if isinstance(value, list) else label + "."
                msg = non_finite_option(opt["options"], item, sub)
                if msg:
                    return msg
    return None


def require_finite(module, spec):
    """fail_json naming the option when a ``float`` option of ``spec`` is NaN or infinite."""
    msg = non_finite_option(spec, module.params)
    if msg:
        module.fail_json(msg=msg)


def finite_float(name, value):
    """``value`` as a finite float; ValueError naming ``name`` when it is not a number, NaN or infinite."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError("%s must be a number, got %s" % (name, type(value).__name__))
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError("%s must be a number, got %r" % (name, value)) from None
    if not math.isfinite(number):
        raise ValueError("%s must be a finite number, got %r" % (name, value))
    return number
