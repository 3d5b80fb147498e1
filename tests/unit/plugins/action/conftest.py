"""Run the collection's controller-side action plugins the way the task executor does: a real Task (loaded
from a task dict), a real PlayContext, the real local connection and a Templar, then ActionModule.run()."""

import importlib

import pytest
from ansible.parsing.dataloader import DataLoader
from ansible.playbook.play_context import PlayContext
from ansible.playbook.task import Task
from ansible.plugins.loader import connection_loader
from ansible.template import Templar


@pytest.fixture
def run_action():
    loader = DataLoader()

    def run(name, args, check_mode=False, diff=False, task_vars=None):
        module = importlib.import_module("ansible_collections.reflexion.incident.plugins.action." + name)
        task = Task.load({"name": "unit: %s" % name, "action": "reflexion.incident." + name, "args": dict(args)},
                         loader=loader)
        task.check_mode = check_mode
        task.diff = diff
        play_context = PlayContext()
        connection = connection_loader.get("local", play_context)
        action = module.ActionModule(task, connection, play_context, loader, Templar(loader=loader), None)
        return action.run(task_vars=dict(task_vars or {}))

    return run
