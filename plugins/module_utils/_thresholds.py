# -*- coding: utf-8 -*-
# Copyright: reflexion.incident contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE: this module_utils is internal to reflexion.incident. Its API may change in any
# release without notice; do not import it from other collections.
"""The service thresholds, defined once for the Python side (issue 17 item 2).

metrics_probe (on the target), classify and plan (plugin_utils, on the controller) and verify_wait import them
from here. The roles' side is reflexion.incident.settings (roles/settings/defaults/main.yml), whose
reflexion_error_ratio_threshold and reflexion_p95_latency_threshold hold the same values;
tests/unit/plugins/module_utils/test_thresholds.py checks that the two homes agree, and that the modules'
DOCUMENTATION defaults (literal, as ansible-test requires) state these numbers.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# The 5xx share (5xx answers / all answers) of the HighErrorRate alert: the symptom, P1, and below it "fixed".
ERROR_RATIO = 0.05
# The 5xx share at which the service counts as down (P0).
ERROR_RATIO_DOWN = 0.5
# The p95 latency in seconds that counts as slow (P1; verify's limit while monitoring).
P95_LATENCY_S = 2.0
