# -*- coding: utf-8 -*-
# Copyright: reflexion.incident contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The import graph of plugins/ (issue 17): acyclic, and module_utils (shipped to targets) never imports the
controller-side plugin_utils, action or callback code."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ast
import glob
import os

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PREFIX = "ansible_collections.reflexion.incident."


def module_name(path):
    rel = os.path.relpath(path, ROOT)[:-3]
    return rel.replace(os.sep, ".")


def imports_of(path):
    """The plugins.* modules of this collection that a file imports (by absolute collection path)."""
    with open(path) as f:
        tree = ast.parse(f.read(), filename=path)
    found = set()
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
            names.extend("%s.%s" % (node.module, alias.name) for alias in node.names)
        elif isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        for name in names:
            if name.startswith(PREFIX + "plugins."):
                found.add(name[len(PREFIX):])
    return found


def graph():
    files = sorted(glob.glob(os.path.join(ROOT, "plugins", "**", "*.py"), recursive=True))
    nodes = dict((module_name(p), p) for p in files)
    edges = {}
    for name, path in nodes.items():
        # "from ...module_utils import _x" names the package and the module: keep the ones that are files
        edges[name] = sorted(n for n in imports_of(path) if n in nodes and n != name)
    return edges


def find_cycle(edges):
    """One cycle as a list of modules, or None (iterative DFS with colours)."""
    colour = dict((n, 0) for n in edges)
    for start in sorted(edges):
        if colour[start]:
            continue
        stack = [(start, iter(edges[start]))]
        path = [start]
        colour[start] = 1
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                colour[node] = 2
                stack.pop()
                path.pop()
            elif colour[child] == 1:
                return path[path.index(child):] + [child]
            elif colour[child] == 0:
                colour[child] = 1
                stack.append((child, iter(edges[child])))
                path.append(child)
    return None


def test_the_graph_is_read():
    edges = graph()
    # a known edge, so that a parser that reads nothing cannot pass the tests below
    assert "plugins.module_utils._probe_health" in edges["plugins.modules.health_probe"]
    assert "plugins.plugin_utils._severity" in edges["plugins.action.classify"]


def test_find_cycle_finds_one():
    assert find_cycle({"a": ["b"], "b": ["c"], "c": ["a"]}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": ["b"], "b": [], "c": ["a"]}) is None


def test_plugins_import_graph_is_acyclic():
    cycle = find_cycle(graph())
    assert cycle is None, "import cycle in plugins/: %s" % " -> ".join(cycle)


def test_module_utils_import_no_controller_code():
    edges = graph()
    bad = ["%s -> %s" % (src, dst) for src, dsts in sorted(edges.items()) if src.startswith("plugins.module_utils.")
           for dst in dsts if not dst.startswith("plugins.module_utils.")]
    assert not bad, "module_utils runs on the target and may import only module_utils: %s" % ", ".join(bad)
