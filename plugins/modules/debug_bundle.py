#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: reflexion.incident contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: debug_bundle
short_description: Collect the runbook's debug information on a host, redact it there, and pack a tar.gz
version_added: 0.1.0
description:
  - Runs each item of O(items) (a command, an HTTP GET, or the last lines of log files) on the host,
    redacts every output on the host (env vars and config keys matching KEY/TOKEN/SECRET/PASSWORD, bearer
    tokens, DSN passwords, provider keys such as C(sk-...)) and packs the results with a C(manifest.json)
    into C(<dest_dir>/<incident_id>.tar.gz) (mode 0600).
  - Every item is optional. A missing binary, a non-zero exit, a timeout or an unreachable URL is
    recorded in the manifest as failed and never fails the task.
  - The manifest lists what was collected, what failed, what the size cap skipped, and how many
    values were redacted per item and per kind (counts, never the values).
  - Nothing collected is returned to the controller except the manifest; the role
    M(reflexion.incident.debug_bundle) fetches the tar.gz.
  - Idempotent per incident - when the bundle exists it is left alone unless O(force=true).
  - When the disk has less than O(min_free_mb) free, or a write fails with ENOSPC, the task fails with
    RV(disk_full=true) and a message saying so, and leaves no partial file.
author:
  - Reflexion SRE team (@reflexion)
options:
  incident_id:
    description: The incident id; names the bundle. Letters, digits and C(._-), starting with a letter or digit.
    type: str
    required: true
  dest_dir:
    description:
      - Directory on the host for the bundle; created 0700.
      - It must be a real directory (not a symlink) owned by the user the module runs as and writable by no one
        else, or the task fails naming O(dest_dir) (another user could have created V(/tmp/reflexion-debug) first).
        The bundle is built in a private staging directory (C(mkdtemp), 0700) inside it, then renamed into place.
    type: path
    default: /tmp/reflexion-debug
  items:
    description: What to collect. Exactly one of O(items[].command), O(items[].url) or O(items[].files) per item.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: The item's name (its file in the bundle is C(<name>.txt));
          letters, digits, C(._-), starting with a letter or digit.
        type: str
        required: true
      command:
        description: An argv list run without a shell, for example V([df, -h]).
        type: list
        elements: str
      url:
        description:
          - An HTTP(S) URL to GET (health, /metrics). O(items[].timeout) is one total deadline for the request,
            DNS and a slowly dripped body included; at most O(max_item_bytes) bytes of the body are read.
          - Redirects are not followed and no proxy is used; an HTTP status of 400 or more records the item as failed.
        type: str
      files:
        description:
          - Glob patterns of log files; the last O(items[].lines) lines of each (C(.gz) files are skipped), read from
            at most the last O(max_item_bytes) bytes of the file.
          - Only regular files are read (a FIFO or a device such as C(/dev/zero) is listed in RV(manifest.refused)).
            A file that resolves, through a symlink, outside the directory its pattern names (the part of the
            pattern before any glob character) is not read and is listed in RV(manifest.refused).
        type: list
        elements: str
      lines:
        description: How many lines to keep from the end of each file in O(items[].files).
        type: int
        default: 100
      filter:
        description:
          - A regular expression; only matching output lines are kept (plus the first line, a header).
          - The runbook's C(ps aux | grep reflexion) is V(command=[ps, aux]) with V(filter=reflexion).
        type: str
      env:
        description: Extra environment for O(items[].command) (for example C(PGPASSWORD)); never logged.
        type: dict
      timeout:
        description: Seconds allowed for this item.
        type: int
        default: 20
  max_item_bytes:
    description: An item's output is cut to its last this-many bytes.
    type: int
    default: 1048576
  max_bundle_bytes:
    description: Items that would take the bundle's content over this size are skipped (recorded in the manifest).
    type: int
    default: 20971520
  min_free_mb:
    description: Refuse to write when the filesystem of O(dest_dir) has less free space than this.
    type: int
    default: 50
  force:
    description: Collect again even when the bundle exists.
    type: bool
    default: false
attributes:
  check_mode:
    support: full
    description: Reports whether a bundle would be written; collects and writes nothing.
  diff_mode:
    support: none
    description: A binary bundle has no useful diff.
  idempotent:
    support: full
    description: An existing bundle for the incident is kept unless O(force=true).
notes:
  - The redaction runs on the host, before anything is written or returned.
seealso:
  - module: reflexion.incident.incident
"""

EXAMPLES = r"""
- name: Collect system information (runbook, Debug Information Collection)
  reflexion.incident.debug_bundle:
    incident_id: "{{ incident.id }}"
    items:
      - {name: uname, command: [uname, -a]}
      - {name: df, command: [df, -h]}
      - {name: ps, command: [ps, aux], filter: reflexion}
      - {name: health, url: "http://127.0.0.1:8000/health?detailed=true"}
      - {name: app-logs, files: [/var/log/reflexion/*.log], lines: 200}
  register: bundle
"""

RETURN = r"""
path:
  description: The bundle on the host.
  returned: always
  type: str
  sample: /tmp/reflexion-debug/incident-2026-11-26-140311.tar.gz
size:
  description: Size of the bundle in bytes (0 when none was written).
  returned: always
  type: int
manifest:
  description: The bundle's manifest.json (also inside the bundle).
  returned: always
  type: dict
  contains:
    incident_id:
      description: The incident id.
      type: str
    created_at:
      description: UTC time of collection.
      type: str
    collected:
      description: Items collected, each with name, file, bytes, redactions, truncated.
      type: list
      elements: dict
    failed:
      description: Items that failed, each with name and error.
      type: list
      elements: dict
    skipped:
      description: Items the size cap left out, each with name and reason.
      type: list
      elements: dict
    refused:
      description:
        - Files of O(items[].files) that were not read, each with name (the item), path and reason; a symlink
          whose target leaves the pattern's directory, or a file that is not a regular file.
      type: list
      elements: dict
    redactions:
      description: Total values redacted.
      type: int
    redactions_by_kind:
      description: Redactions per kind (pem, dsn, bearer, provider_key, assignment).
      type: dict
disk_full:
  description: True when the bundle could not be written for lack of space.
  returned: always
  type: bool
free_mb:
  description: Free space on the filesystem of the destination, in MiB, when checked.
  returned: always
  type: int
"""

import datetime
import errno
import fnmatch
import glob
import io
import json
import os
import re
import shutil
import stat
import tarfile
import tempfile

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.reflexion.incident.plugins.module_utils._http import HttpProbeError, timed_request
from ansible_collections.reflexion.incident.plugins.module_utils._logs import glob_root, open_regular, resolve_inside
from ansible_collections.reflexion.incident.plugins.module_utils._redact import KINDS, redact_detail

# \Z, not $ ("$" also matches before a trailing newline); a name is never "." or ".."
NAME_RE = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9._-]*\Z")


class DiskFullError(Exception):
    pass


def tail_file(path, lines, max_bytes):
    """The last ``lines`` lines of a regular file, reading at most its last ``max_bytes`` bytes (a FIFO,
    a device such as /dev/zero or a socket raises OSError without being read)."""
    with open_regular(path) as fh:
        size = os.fstat(fh.fileno()).st_size
        start = max(0, size - max_bytes)
        fh.seek(start)
        data = b""
        while len(data) < size - start:
            chunk = fh.read(min(1 << 20, size - start - len(data)))
            if not chunk:
                break
            data += chunk
    rows = data.splitlines(True)
    if start and rows:
        rows = rows[1:]  # the first one is cut
    return b"".join(rows[-lines:]).decode("utf-8", "replace")


def keep_matching(text, pattern):
    rows = text.splitlines()
    if not rows:
        return text
    rx = re.compile(pattern)
    return "\n".join([rows[0]] + [r for r in rows[1:] if rx.search(r)]) + "\n"


class Collector(object):
    def __init__(self, module):
        self.module = module
        self.p = module.params
        self.timeout_bin = module.get_bin_path("timeout")
        self.refused = []

    def run_item(self, item):
        """Return the raw text of one item; raise RuntimeError with a short reason on failure."""
        if item.get("command"):
            argv = list(item["command"])
            exe = self.module.get_bin_path(argv[0]) if "/" not in argv[0] else (argv[0] if os.access(argv[0], os.X_OK) else None)
            if not exe:
                raise RuntimeError("%s: command not found" % argv[0])
            argv[0] = exe
            if self.timeout_bin:
                argv = [self.timeout_bin, str(item["timeout"])] + argv
            rc, out, err = self.module.run_command(argv, environ_update=item.get("env") or {}, check_rc=False)
            if rc != 0:
                reason = "timed out" if rc == 124 else "exit %d" % rc
                raise RuntimeError("%s: %s" % (reason, " ".join((err or out or "").split())[:300]))
            return out if not err else out + "\n--- stderr ---\n" + err
        if item.get("url"):
            # one total deadline (DNS and a dripping body included) and a body cap
            try:
                code, _headers, data, _timings = timed_request(item["url"], timeout=item["timeout"],
                                                               max_body=self.p["max_item_bytes"] + 1)
            except (HttpProbeError, ValueError) as exc:
                raise RuntimeError(str(exc)) from None
            if code >= 400:
                raise RuntimeError("HTTP Error %d from %s" % (code, item["url"]))
            return data.decode("utf-8", "replace")
        if item.get("files"):
            parts = []
            for pattern in item["files"]:
                root = glob_root(pattern)
                for path in sorted(glob.glob(pattern)):
                    if fnmatch.fnmatch(path, "*.gz"):
                        continue
                    real, outside = resolve_inside(path, root)
                    if outside:  # a symlink leaving the directory the pattern names: listed, never read
                        self.refused.append({"name": item["name"], "path": path, "reason": outside})
                        continue
                    if os.path.isdir(real):
                        continue
                    try:
                        parts.append("==> %s <==\n%s" % (path, tail_file(real, item["lines"], self.p["max_item_bytes"])))
                    except OSError as exc:
                        reason = exc.strerror or str(exc)
                        if exc.errno == errno.EINVAL and "regular file" in reason:
                            self.refused.append({"name": item["name"], "path": path, "reason": reason})
                        parts.append("==> %s <==\n(unreadable: %s)\n" % (path, reason))
            if not parts:
                raise RuntimeError("no file matches %s" % ", ".join(item["files"]))
            return "\n".join(parts)
        raise RuntimeError("nothing to collect")

    def collect(self):
        p = self.p
        manifest = {
            "incident_id": p["incident_id"],
            "created_at": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "collected": [],
            "failed": [],
            "skipped": [],
            "redactions": 0,
            "redactions_by_kind": dict((k, 0) for k in KINDS),
            "limits": {"max_item_bytes": p["max_item_bytes"], "max_bundle_bytes": p["max_bundle_bytes"]},
        }
        manifest["refused"] = self.refused
        files, total = [], 0
        for item in p["items"]:
            name = item["name"]
            try:
                raw = self.run_item(item)
                if item.get("filter"):
                    raw = keep_matching(raw, item["filter"])
            except RuntimeError as exc:
                reason, _counts = redact_detail(str(exc))
                manifest["failed"].append({"name": name, "error": reason})
                continue
            if len(raw) > p["max_item_bytes"]:
                # Bounded work: only the tail is kept anyway, so redact only the tail, cut at a line start (a
                # secret cut in half would no longer match its redaction pattern).
                raw = raw[-p["max_item_bytes"]:]
                raw = raw[raw.find("\n") + 1:] if "\n" in raw else ""
            text, counts = redact_detail(raw)
            data = text.encode("utf-8")
            truncated = len(data) > p["max_item_bytes"]
            if truncated:
                data = data[-p["max_item_bytes"] :]
            if total + len(data) > p["max_bundle_bytes"]:
                manifest["skipped"].append(
                    {"name": name, "reason": "size cap: %d bytes would exceed max_bundle_bytes" % len(data)}
                )
                continue
            total += len(data)
            n = sum(counts.values())
            manifest["redactions"] += n
            for k, v in counts.items():
                manifest["redactions_by_kind"][k] += v
            manifest["collected"].append(
                {"name": name, "file": name + ".txt", "bytes": len(data), "redactions": n, "truncated": truncated}
            )
            files.append((name + ".txt", data))
        return manifest, files


def free_mb(path):
    st = os.statvfs(path)
    return int(st.f_bavail * st.f_frsize // (1024 * 1024))


def check_dest_dir(path, create=True):
    """Create ``path`` 0700 if missing (when ``create``); return why it cannot hold a bundle, or None.

    The default lives in /tmp, where anyone may create it first: it must be a real directory (not a
    symlink) owned by this user and writable by no one else, or the bundle could be read or swapped.
    """
    if not os.path.lexists(path):
        if not create:
            return None
        os.makedirs(path, 0o700)
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode):
        return "%s is a symlink; give a directory owned by this user" % path
    if not stat.S_ISDIR(st.st_mode):
        return "%s is not a directory" % path
    if st.st_uid != os.geteuid():
        return "%s is owned by uid %d, not by this user (uid %d); refusing to stage the bundle there" % (
            path, st.st_uid, os.geteuid())
    if st.st_mode & 0o022:
        return "%s is writable by group or others (mode %04o); refusing to stage the bundle there" % (
            path, stat.S_IMODE(st.st_mode))
    if create and stat.S_IMODE(st.st_mode) != 0o700:
        os.chmod(path, 0o700)
    return None


def write_bundle(path, manifest, files):
    """Build the tar.gz in a private staging directory (mkdtemp, 0700) inside the destination, then
    rename it into place: no partial file, no predictable name another user could prepare."""
    directory = os.path.dirname(path)
    stage = tempfile.mkdtemp(prefix=".stage-", dir=directory)
    tmp = os.path.join(stage, "bundle.tar.gz")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
        with os.fdopen(fd, "wb") as raw:
            with tarfile.open(fileobj=raw, mode="w:gz") as tar:
                base = manifest["incident_id"]
                body = json.dumps(manifest, indent=2, sort_keys=True).encode("utf-8")
                for name, data in [("manifest.json", body)] + files:
                    info = tarfile.TarInfo("%s/%s" % (base, name))
                    info.size, info.mode = len(data), 0o600
                    tar.addfile(info, io.BytesIO(data))
        os.chmod(tmp, 0o600)
        os.rename(tmp, path)
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise DiskFullError(str(exc)) from None
        raise
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def read_manifest(path):
    with tarfile.open(path, "r:gz") as tar:
        for member in tar.getmembers():
            if member.name.endswith("/manifest.json"):
                return json.loads(tar.extractfile(member).read().decode("utf-8"))
    return {}


def validate(module):
    p = module.params
    if not NAME_RE.match(p["incident_id"]):
        module.fail_json(msg="incident_id: letters, digits and ._- only (not starting with . _ or -), got %r"
                         % p["incident_id"])
    if not p["items"]:
        module.fail_json(msg="items: give at least one item (command, url or files)")
    seen = set()
    for i, item in enumerate(p["items"]):
        if not NAME_RE.match(item["name"] or ""):
            module.fail_json(msg="items[%d].name: letters, digits and ._- only, got %r" % (i, item["name"]))
        if item["name"] in seen:
            module.fail_json(msg="items[%d].name: duplicate name %r" % (i, item["name"]))
        seen.add(item["name"])
        given = [k for k in ("command", "url", "files") if item.get(k)]
        if len(given) != 1:
            module.fail_json(msg="items[%d] (%s): give exactly one of command, url, files" % (i, item["name"]))
        if item.get("filter"):
            try:
                re.compile(item["filter"])
            except re.error as exc:
                module.fail_json(msg="items[%d].filter: bad regular expression: %s" % (i, exc))
        if item["lines"] < 1 or item["timeout"] < 1:
            module.fail_json(msg="items[%d]: lines and timeout must be >= 1" % i)
    for name in ("max_item_bytes", "max_bundle_bytes", "min_free_mb"):
        if p[name] < 0:
            module.fail_json(msg="%s: must be >= 0, got %d" % (name, p[name]))


def main():
    module = AnsibleModule(
        argument_spec=dict(
            incident_id=dict(type="str", required=True),
            dest_dir=dict(type="path", default="/tmp/reflexion-debug"),
            items=dict(
                type="list",
                elements="dict",
                required=True,
                options=dict(
                    name=dict(type="str", required=True),
                    command=dict(type="list", elements="str"),
                    url=dict(type="str"),
                    files=dict(type="list", elements="str"),
                    lines=dict(type="int", default=100),
                    filter=dict(type="str"),
                    env=dict(type="dict", no_log=True),
                    timeout=dict(type="int", default=20),
                ),
            ),
            max_item_bytes=dict(type="int", default=1048576),
            max_bundle_bytes=dict(type="int", default=20971520),
            min_free_mb=dict(type="int", default=50),
            force=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    validate(module)
    p = module.params
    path = os.path.join(p["dest_dir"], p["incident_id"] + ".tar.gz")
    result = dict(changed=False, path=path, size=0, manifest={}, disk_full=False, free_mb=None)
    try:
        problem = check_dest_dir(p["dest_dir"], create=False)
    except OSError as exc:
        problem = "cannot inspect %s: %s" % (p["dest_dir"], exc.strerror or exc)
    if problem:
        module.fail_json(msg="dest_dir: %s" % problem, **result)
    if os.path.islink(path) or (os.path.lexists(path) and not os.path.isfile(path)):
        module.fail_json(msg="dest_dir: %s exists and is not a regular file; refusing to read or replace it" % path,
                         **result)
    if os.path.exists(path) and not p["force"]:
        result.update(size=os.path.getsize(path), manifest=read_manifest(path))
        module.exit_json(**result)
    if module.check_mode:
        result["changed"] = True
        module.exit_json(**result)
    try:
        problem = check_dest_dir(p["dest_dir"])
        if problem:
            module.fail_json(msg="dest_dir: %s" % problem, **result)
        free = free_mb(p["dest_dir"])
        result["free_mb"] = free
        if free < p["min_free_mb"]:
            result["disk_full"] = True
            module.fail_json(
                msg="disk full: %d MiB free on %s, below min_free_mb=%d; no bundle written"
                % (free, p["dest_dir"], p["min_free_mb"]),
                **result,
            )
        manifest, files = Collector(module).collect()
        write_bundle(path, manifest, files)
    except DiskFullError as exc:
        result["disk_full"] = True
        module.fail_json(msg="disk full: no space left writing %s (%s); no bundle written" % (path, exc), **result)
    except OSError as exc:
        module.fail_json(msg="dest_dir: cannot write %s: %s" % (path, exc), **result)
    result.update(changed=True, size=os.path.getsize(path), manifest=manifest)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
