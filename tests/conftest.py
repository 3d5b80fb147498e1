"""Make ``ansible_collections.reflexion.incident`` importable from this checkout."""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLLECTIONS = os.path.join(ROOT, "collections")
if COLLECTIONS not in sys.path:
    sys.path.insert(0, COLLECTIONS)

import pytest  # noqa: E402

# Issue 16: no test skips on CI. scripts/test.sh exports REFLEXION_NO_SKIP=1, and then a skipped test (or a
# module skipped at collection, e.g. by importorskip) is reported as FAILED with its skip reason: what it
# needs is installed by the project's own files (packages-debian.txt, requirements.txt), so a skip means
# the machine is not set up and the run proves less than it says. Run by hand, skips stay skips.
NO_SKIP_VAR = "REFLEXION_NO_SKIP"


def _no_skip():
    return os.environ.get(NO_SKIP_VAR, "").strip().lower() not in ("", "0", "false", "no")


def _skip_reason(longrepr):
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return "%s (%s:%s)" % (longrepr[2], longrepr[0], longrepr[1])
    return str(longrepr)


def _fail_the_skip(report):
    if _no_skip() and report.skipped and not hasattr(report, "wasxfail"):
        report.longrepr = "%s=1: a skip fails this run (install what the test needs): %s" % (
            NO_SKIP_VAR, _skip_reason(report.longrepr))
        report.outcome = "failed"
    return report


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    return _fail_the_skip((yield))


_COLLECTION_SKIPS = []


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector):
    # A module skipped at collection stays a skip here (a collection error would interrupt the whole
    # session); it is listed and fails the run at the end instead.
    report = yield
    if _no_skip() and report.skipped:
        _COLLECTION_SKIPS.append("%s: %s" % (report.nodeid, _skip_reason(report.longrepr)))
    return report


def pytest_terminal_summary(terminalreporter):
    if _COLLECTION_SKIPS:
        terminalreporter.section("%s=1: modules skipped at collection (this fails the run)" % NO_SKIP_VAR)
        for line in _COLLECTION_SKIPS:
            terminalreporter.line(line)


def pytest_sessionfinish(session, exitstatus):
    if _COLLECTION_SKIPS and exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
