# -*- coding: utf-8 -*-
# Copyright: reflexion.incident contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE: this module_utils is internal to reflexion.incident. Its API may change in any
# release without notice; do not import it from other collections.
"""The names other probes (container_probe, deploy_probe, debug_bundle) import from log_grep's engine.

The engine itself is split by concern into small private files:

- ``_log_time``: a line's timestamp, the since/until specs;
- ``_log_patterns``: the runbook's presets, the literal prefilter of a regex;
- ``_log_signatures``: error signatures (masked lines, bounded counts);
- ``_log_scan``: the block scanner of one file (window, prefilter, counts, tail);
- ``_log_files``: safe opening of regular files inside a root;
- ``_log_readers``: plain files (blocks, ``since`` by binary search, a parallel whole-file scan);
- ``_log_gzip``: rotated .gz files (zlib in a thread, capped expansion);
- ``_log_grep_bin``: the fast path through the host's GNU grep (and ``gzip -dc``).

New code imports from those files; this one only keeps the older import paths working.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.reflexion.incident.plugins.module_utils._log_files import (  # noqa: F401
    file_kind,
    glob_root,
    open_regular,
    resolve_inside,
)
from ansible_collections.reflexion.incident.plugins.module_utils._log_patterns import (  # noqa: F401
    PRESETS,
    Pattern,
    compile_patterns,
    required_literals,
)
from ansible_collections.reflexion.incident.plugins.module_utils._log_scan import BLOCK, MAX_CARRY, FileScan  # noqa: F401
from ansible_collections.reflexion.incident.plugins.module_utils._log_signatures import (  # noqa: F401
    Signatures,
    mask_message,
    signature_keys,
)
from ansible_collections.reflexion.incident.plugins.module_utils._log_time import (  # noqa: F401
    line_timestamp,
    parse_time_spec,
    strip_timestamp,
    timestamp_format,
)

__all__ = [
    "BLOCK", "MAX_CARRY", "PRESETS", "FileScan", "Pattern", "Signatures", "compile_patterns", "file_kind", "glob_root",
    "line_timestamp", "mask_message", "open_regular", "parse_time_spec", "required_literals", "resolve_inside",
    "signature_keys", "strip_timestamp", "timestamp_format",
]
