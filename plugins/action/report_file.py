# -*- coding: utf-8 -*-
# Copyright: reflexion.incident contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin behind reflexion.incident.report_file (docs: plugins/modules/report_file.py).

Why an action plugin: the report is written on the controller, from data already on the controller;
doing it here costs no module start-up and no connection, which is about a second per triage.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import tempfile

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

ARGUMENT_SPEC = dict(
    path=dict(type="path", required=True),
    content=dict(type="str", required=True),
    mode=dict(type="raw", default="0600"),
    directory_mode=dict(type="raw", default="0700"),
)


def octal(value, name):
    try:
        mode = int(str(value), 8) if not isinstance(value, int) else value
    except ValueError:
        raise ValueError("%s: an octal mode like 0600, got %r" % (name, value)) from None
    if not 0 <= mode <= 0o7777:
        raise ValueError("%s: an octal mode like 0600, got %r" % (name, value))
    return mode


class ActionModule(ActionBase):
    """Write one file on the controller: no module is transferred and no connection is made."""

    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True
    _supports_async = False

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
            with open(path, "rb") as handle:
                before = handle.read()
        except OSError:
            before = None
        changed = before != data or (before is not None and (os.stat(path).st_mode & 0o7777) != mode)
        result.update(changed=changed, path=path, size=len(data))
        if self._task.diff and before != data:
            result["diff"] = dict(before_header=path, after_header=path,
                                  before=(before or b"").decode("utf-8", "replace"), after=args["content"])
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
