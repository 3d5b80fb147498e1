# -*- coding: utf-8 -*-
# Copyright: reflexion.incident contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE: this module_utils is internal to reflexion.incident. Its API may change in any
# release without notice; do not import it from other collections.
"""The deploy_probe probe's work (the runbook's "check recent deployments": ``git log --oneline -10`` in the
deployment checkout, and when it was checked out): its options, their validation and the class that probes.
Shared by the deploy_probe module and triage_probe. Read-only: git runs with no pager, no optional locks and no
fsmonitor, under one deadline."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import time

from ansible_collections.reflexion.incident.plugins.module_utils._logs import parse_time_spec
from ansible_collections.reflexion.incident.plugins.module_utils._probe import PROBE_COMMON_SPEC, resolve_timeout
from ansible_collections.reflexion.incident.plugins.module_utils._redact import redact
from ansible_collections.reflexion.incident.plugins.module_utils._signals import (
    GIT_LOG_FORMAT,
    parse_epoch,
    parse_git_log,
)
from ansible_collections.reflexion.incident.plugins.module_utils._validate import require_finite

# timeout when the option is not set (seconds)
DEFAULT_TIMEOUT = 10.0

MAX_COUNT = 100
OUTPUT_CAP = 1 << 20


def iso(ts):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts)) if ts is not None else None


class GitError(Exception):
    pass


class DeployProbe(object):
    def __init__(self, params, recent_since, run_command):
        self.p = params
        self.recent_since = recent_since
        self.deadline = time.monotonic() + params["timeout"]
        # AnsibleModule.run_command; it has no timeout, so git runs under coreutils' timeout(1) for the deadline
        self.run_command = run_command

    def git(self, *args):
        """Run git read-only in the checkout; its stdout, or GitError with its stderr's first line."""
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise GitError("deadline of %gs passed" % self.p["timeout"])
        env = dict(LC_ALL="C", GIT_TERMINAL_PROMPT="0", GIT_OPTIONAL_LOCKS="0", GIT_PAGER="cat", PAGER="cat")
        argv = ["timeout", "--kill-after=1", "%.3f" % left, "git", "--no-pager", "-c", "core.fsmonitor=false",
                "-c", "log.showSignature=false", "-C", self.p["path"]] + list(args)
        try:
            rc, out, err = self.run_command(argv, environ_update=env, errors="surrogate_or_replace", handle_exceptions=False)
        except OSError as exc:
            raise GitError("cannot run git: %s" % (exc.strerror or exc)) from None
        if rc in (124, 137):  # timeout(1): the deadline passed (137: killed after the grace second)
            raise GitError("git %s: no answer within the deadline of %gs" % (args[0], self.p["timeout"]))
        if rc == 127:
            raise GitError("cannot run git: not found on the host")
        out = out[:OUTPUT_CAP]
        if rc != 0:
            lines = err[:4096].strip().splitlines()
            raise GitError(lines[0] if lines else "git %s exited %d" % (args[0], rc))
        return out

    def run(self):
        p = self.p
        result = dict(changed=False, path=p["path"], is_git_repo=False, commits=[], oneline=[], head=None,
                      describe=None, checkout_epoch=None, checkout_time=None, checkout_source=None,
                      recent_since=iso(self.recent_since), recent_deploy=False, status="healthy", reason="")
        if not os.path.isdir(p["path"]):
            result["reason"] = "no deployment checkout: %s is not a directory" % p["path"]
            return result
        try:
            self.git("rev-parse", "--is-inside-work-tree")
        except GitError as exc:
            result["reason"] = "no deploy history: %s is not a git checkout (%s)" % (p["path"], exc)
            return result
        result["is_git_repo"] = True
        try:
            commits = parse_git_log(self.git("log", "-n", str(p["count"]), "--no-color", "--format=" + GIT_LOG_FORMAT))
        except GitError as exc:  # an empty repository, a broken object store
            result["reason"] = "git log failed: %s" % exc
            return result
        for c in commits:
            c["subject"] = redact(c["subject"])[0]
            c["oneline"] = redact(c["oneline"])[0]
            c["time"] = iso(c["epoch"])
        result["commits"] = commits
        result["oneline"] = [c["oneline"] for c in commits]
        result["head"] = commits[0]["sha"] if commits else None
        try:
            result["describe"] = self.git("describe", "--tags", "--always").strip()[:200] or None
        except GitError:
            pass
        # When HEAD last moved here (a checkout, a pull, a reset): the reflog knows; a fresh clone's reflog has
        # its clone time too. Without a reflog (reflogs off, a copied tree) the HEAD commit's time stands in.
        try:
            epoch = parse_epoch(self.git("log", "-g", "-1", "--format=%ct", "HEAD"))
        except GitError:
            epoch = None
        if epoch is not None:
            result["checkout_source"] = "reflog"
        elif commits and commits[0]["epoch"] is not None:
            epoch, result["checkout_source"] = commits[0]["epoch"], "head_commit"
        result["checkout_epoch"] = epoch
        result["checkout_time"] = iso(epoch)
        result["recent_deploy"] = epoch is not None and epoch >= self.recent_since
        head = commits[0]["oneline"] if commits else "no commit"
        result["reason"] = "HEAD %s (%s), checked out %s%s" % (
            result["describe"] or "?", head[:120], result["checkout_time"] or "at an unknown time",
            "; a deploy since %s" % result["recent_since"] if result["recent_deploy"] else "")
        return result


def validate(module):
    p = module.params
    require_finite(module, argument_spec())
    resolve_timeout(module, DEFAULT_TIMEOUT, high=300)
    if not p["path"] or not os.path.isabs(p["path"]) or "\x00" in p["path"]:
        module.fail_json(msg="path: must be an absolute path to the deployment checkout, got %r" % (p["path"],))
    if not 1 <= p["count"] <= MAX_COUNT:
        module.fail_json(msg="count: must be 1-%d, got %d" % (MAX_COUNT, p["count"]))
    if not 0 < p["timeout"] <= 300:
        module.fail_json(msg="timeout: must be more than 0 and at most 300 seconds, got %s" % p["timeout"])
    try:
        recent_since = parse_time_spec(p["recent_window"])
    except (ValueError, OverflowError) as exc:
        module.fail_json(msg="recent_window: %s" % exc)
    return (recent_since,)


def argument_spec():
    """deploy_probe's options, with the options every probe shares."""
    spec = dict(
        path=dict(type="path", required=True),
        count=dict(type="int", default=10),
        recent_window=dict(type="str", default="24h"),
    )
    spec.update(PROBE_COMMON_SPEC)
    return spec
