# -*- coding: utf-8 -*-
# Copyright: reflexion.incident contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin behind reflexion.incident.report_file (docs: plugins/modules/report_file.py).

Why an action plugin: the report is written on the controller, from data already on the controller;
doing it here costs no module start-up and no connection, which is about a second per triage.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os
import stat
import tempfile

from ansible.errors import AnsibleActionFail

from ansible_collections.reflexion.incident.plugins.plugin_utils._action import ControllerAction

ARGUMENT_SPEC = dict(
    path=dict(type="path", required=True),
    content=dict(type="str", required=True),
    mode=dict(type="raw", default="0600"),
    directory_mode=dict(type="raw", default="0700"),
)


# At most this much of an existing file is read for the diff (the comparison reads len(content) + 1 bytes).
DIFF_CAP = 1 << 20


def read_existing(path, limit):
    """``(bytes, size)`` of the first ``limit`` bytes of the file at ``path``, or ``(None, 0)`` when there is none.

    Only a regular file is read: it is opened with O_NONBLOCK (a FIFO does not block the open) and its type is
    checked on the open descriptor, so a FIFO, /dev/zero or a socket raise ValueError naming ``path``.
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            return None, 0
        raise
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            kind = ("a FIFO" if stat.S_ISFIFO(st.st_mode) else "a character device" if stat.S_ISCHR(st.st_mode)
                    else "a directory" if stat.S_ISDIR(st.st_mode) else "not a regular file")
            raise ValueError("path: %s exists and is not a regular file (%s); refusing to read or replace it"
                             % (path, kind))
        chunks, got = [], 0
        while got < limit:
            chunk = os.read(fd, min(1 << 20, limit - got))
            if not chunk:
                break
            chunks.append(chunk)
            got += len(chunk)
        return b"".join(chunks), st.st_size
    finally:
        os.close(fd)


def octal(value, name):
    try:
        mode = int(str(value), 8) if not isinstance(value, int) else value
    except ValueError:
        raise ValueError("%s: an octal mode like 0600, got %r" % (name, value)) from None
    if not 0 <= mode <= 0o7777:
        raise ValueError("%s: an octal mode like 0600, got %r" % (name, value))
    return mode


class ActionModule(ControllerAction):
    """Write one file on the controller: no module is transferred and no connection is made."""

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        try:
            _validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
            mode = octal(args["mode"], "mode")
            dir_mode = octal(args["directory_mode"], "directory_mode")
        except (AnsibleActionFail, ValueError) as exc:
            result.update(failed=True, msg=str(exc).split("\n", maxsplit=1)[0])
            return result
        path = args["path"]
        if not os.path.isabs(path):
            result.update(failed=True, msg="path: must be absolute, got %r" % path)
            return result
        data = args["content"].encode("utf-8")
        try:
            before, before_size = read_existing(path, len(data) + 1 + (DIFF_CAP if self._task.diff else 0))
        except ValueError as exc:
            result.update(failed=True, msg=str(exc))
            return result
        except OSError:
            before, before_size = None, 0
        changed = before != data or (before is not None and (os.stat(path).st_mode & 0o7777) != mode)
        result.update(changed=changed, path=path, size=len(data))
        if self._task.diff and before != data:
            text = (before or b"").decode("utf-8", "replace")
            if before is not None and before_size > len(before):
                text += "\n[truncated: the existing file has %d bytes, only the first %d are shown]\n" % (
                    before_size, len(before))
            result["diff"] = dict(before_header=path, after_header=path, before=text, after=args["content"])
        if not changed or self._task.check_mode:
            return result
        try:
            directory = os.path.dirname(path)
            if not os.path.isdir(directory):
                os.makedirs(directory, dir_mode)
            fd, tmp_path = tempfile.mkstemp(dir=directory, prefix=".report-")
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
                os.chmod(tmp_path, mode)
                os.rename(tmp_path, path)
            except BaseException:
                os.unlink(tmp_path)
                raise
        except OSError as exc:
            result.update(failed=True, changed=False, msg="cannot write %s: %s" % (path, exc.strerror or exc))
        return result
