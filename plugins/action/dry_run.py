# -*- coding: utf-8 -*-
# Copyright: reflexion.incident contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin behind reflexion.incident.dry_run (docs: plugins/modules/dry_run.py).

A mitigation role must know whether it is a dry run before it decides what to print, record or apply.
``ansible_check_mode`` reflects only ``--check``; a ``check_mode: true`` keyword on the play, a block or the
``include_role`` that runs the role is seen only by the task itself, in its play context. This plugin reports
that context, on the controller, with no module and no connection.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.reflexion.incident.plugins.plugin_utils._action import ControllerAction


class ActionModule(ControllerAction):

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        args, error = self.validated({})
        if error:
            result.update(failed=True, msg=error)
            return result
        result.update(changed=False, dry_run=bool(self._play_context.check_mode))
        return result
