# -*- coding: utf-8 -*-
# Copyright: reflexion.incident contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The base of the collection's controller-side action plugins (classify, plan, report_file).

Each runs on the controller over data already registered there: no module is transferred and no
connection to the target is made (the target may be the host that is down).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase


class ControllerAction(ActionBase):
    """An action plugin that needs no connection, supports check mode and never runs async."""

    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True
    _supports_async = False

    def validated(self, argument_spec):
        """(args, None) when the task's arguments fit ``argument_spec``, else (None, the first line of the reason)."""
        try:
            _validation, args = self.validate_argument_spec(argument_spec=argument_spec)
        except AnsibleActionFail as exc:
            return None, str(exc).split("\n", maxsplit=1)[0]
        return args, None
