"""Issue 16, no test skips on CI: with REFLEXION_NO_SKIP=1 (exported by scripts/test.sh) tests/conftest.py turns
every skip into a failure (a skipped test fails; a module skipped at collection fails the run), and leaves
xfail alone. Run by hand without the variable, skips stay skips. Runs a real inner pytest (pytester)."""

import os

pytest_plugins = ["pytester"]

CONFTEST = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "conftest.py")
TESTS = '''
import pytest

def test_ok():
    pass

def test_skipped_in_the_body():
    pytest.skip("no java on PATH")

@pytest.mark.skipif(True, reason="promtool is not installed")
def test_skipped_by_a_mark():
    pass

@pytest.mark.xfail(reason="a known bug")
def test_xfail():
    assert False
'''
IMPORTORSKIP = '''
import pytest
pytest.importorskip("rxi_no_such_module")

def test_never_runs():
    pass
'''


def _run(pytester, monkeypatch, value):
    with open(CONFTEST) as handle:
        pytester.makeconftest(handle.read())
    pytester.makepyfile(test_some=TESTS, test_module_skip=IMPORTORSKIP)
    if value is None:
        monkeypatch.delenv("REFLEXION_NO_SKIP", raising=False)
    else:
        monkeypatch.setenv("REFLEXION_NO_SKIP", value)
    return pytester.runpytest("-p", "no:cacheprovider", "-p", "no:rerunfailures")


def test_without_the_variable_skips_stay_skips(pytester, monkeypatch):
    result = _run(pytester, monkeypatch, None)
    result.assert_outcomes(passed=1, skipped=3, xfailed=1)
    assert result.ret == 0


def test_with_the_variable_every_skip_fails_the_run(pytester, monkeypatch):
    result = _run(pytester, monkeypatch, "1")
    # the skip in the body fails the test, the skipif mark errors its setup, xfail is untouched
    result.assert_outcomes(passed=1, failed=1, errors=1, skipped=1, xfailed=1)
    assert result.ret == 1
    out = result.stdout.str()
    assert "REFLEXION_NO_SKIP=1: a skip fails this run" in out
    assert "no java on PATH" in out and "promtool is not installed" in out
    # the module skipped at collection is listed and fails the run (it does not interrupt the others)
    assert "modules skipped at collection" in out and "rxi_no_such_module" in out


def test_the_variable_set_to_zero_is_off(pytester, monkeypatch):
    result = _run(pytester, monkeypatch, "0")
    result.assert_outcomes(passed=1, skipped=3, xfailed=1)
