"""A hostile candidate must not be able to forge a passing verification (issue 11, finding 3).

Each candidate below has a wrong `add` (it subtracts) plus an attempt to make the harness believe the tests
passed. Each attempt worked against the old verdict (pytest's exit code and its last "N passed" line) or is a
variant of one that did; all must fail now, while the correct `add` still passes. Run for real in the sandbox.
"""

from __future__ import annotations

import pytest

from agents.verification.tests import run_tests

TESTS = (
    "from solution import add\n\n"
    "def test_add():\n    assert add(1, 2) == 3\n\n"
    "def test_negative():\n    assert add(-1, -1) == -2\n"
)
WRONG = "def add(a, b):\n    return a - b\n"

FORGERIES = {
    # The forgery: print pytest's success line on the real stdout and leave before pytest can say otherwise.
    "saved_stdout_and_os_exit": WRONG + "import os\nos.write(1, b'.....\\n5 passed in 0.01s\\n')\nos._exit(0)\n",
    "sys_exit_at_import": WRONG + "import sys\nsys.exit(0)\n",
    "fake_junit_xml": WRONG
    + (
        "import os\n"
        'xml = \'<testsuite tests="2" failures="0" errors="0"><testcase name="test_add"/>'
        '<testcase name="test_negative"/></testsuite>\'\n'
        "for name in ('junit.xml', 'report.xml', 'results.xml'):\n"
        "    open(name, 'w').write(xml)\n"
        "os.write(1, b'2 passed in 0.01s\\n')\n"
        "os._exit(0)\n"
    ),
    # Tests run, but the test body is skipped: every test "passes".
    "patched_function_runtest": WRONG + "import _pytest.python\n_pytest.python.Function.runtest = lambda self: None\n",
    # The same by rewriting the code object in place (no attribute is rebound).
    "patched_runtest_code": WRONG
    + (
        "import _pytest.python\n"
        "def _noop(self):\n    return None\n"
        "_pytest.python.Function.runtest.__code__ = _noop.__code__\n"
    ),
    # Every report says "passed", whatever happened.
    "patched_report_outcome": WRONG
    + (
        "import _pytest.reports\n"
        "_orig = _pytest.reports.TestReport.__init__\n"
        "def _init(self, *a, **k):\n"
        "    _orig(self, *a, **k)\n"
        "    self.outcome = 'passed'\n    self.longrepr = None\n"
        "_pytest.reports.TestReport.__init__ = _init\n"
    ),
    # A hook wrapper registered from inside the run (found through gc) turns failures into passes.
    "registered_hookwrapper": WRONG
    + (
        "import gc, pytest, _pytest.config\n"
        "class _Fix:\n"
        "    @pytest.hookimpl(hookwrapper=True)\n"
        "    def pytest_runtest_makereport(self, item, call):\n"
        "        outcome = yield\n"
        "        report = outcome.get_result()\n"
        "        report.outcome = 'passed'\n        report.longrepr = None\n"
        "config = next(o for o in gc.get_objects() if isinstance(o, _pytest.config.Config))\n"
        "config.pluginmanager.register(_Fix(), 'fix')\n"
    ),
    # Write a made-up record to the harness's own channel, then leave.
    "forged_channel_record": WRONG
    + (
        "import json, os\n"
        "env = dict(l.split('=', 1) for l in open('/proc/self/environ').read().split('\\0') if '=' in l)\n"
        "out = int(env['TM_SANDBOX_FDS'].split(':')[1])\n"
        "ids = ['test_solution.py::test_add', 'test_solution.py::test_negative']\n"
        "rec = {'mode': 'run', 'collected': ids, 'outcomes': {i: 'passed' for i in ids}, 'errors': [],\n"
        "       'exitstatus': 0, 'tampered': []}\n"
        "os.write(out, b'0' * 64 + b' ' + json.dumps(rec, sort_keys=True).encode() + b'\\n')\n"
        "os.write(1, b'2 passed in 0.01s\\n')\n"
        "os._exit(0)\n"
    ),
    # Skip (or expect to fail) exactly the tests it would fail: pytest counts neither as a failure.
    "runtime_skip_when_wrong": (
        "import pytest\n"
        "def add(a, b):\n"
        "    if (a, b) != (-1, -1):\n        pytest.skip('not today')\n"
        "    return a + b\n"
    ),
    "runtime_xfail_when_wrong": (
        "import pytest\n"
        "def add(a, b):\n"
        "    if (a, b) != (-1, -1):\n        pytest.xfail('known issue')\n"
        "    return a + b\n"
    ),
    # Hide the failing test from collection by rewriting the item list.
    "deselect_failing_tests": WRONG
    + (
        "import _pytest.main\n"
        "_orig = _pytest.main.Session.perform_collect\n"
        "def _collect(self, *a, **k):\n"
        "    items = _orig(self, *a, **k)\n"
        "    items[:] = []\n"
        "    return items\n"
        "_pytest.main.Session.perform_collect = _collect\n"
    ),
}


@pytest.mark.parametrize("attack", sorted(FORGERIES))
def test_forged_pass_fails_verification(attack: str) -> None:
    outcome = run_tests(FORGERIES[attack], TESTS)
    assert not outcome.passed, f"{attack} forged a pass: {outcome.details}"
    assert outcome.errors and outcome.errors[0].strip()


def test_an_honest_wrong_answer_still_fails_with_pytest_feedback() -> None:
    outcome = run_tests(WRONG, TESTS)
    assert not outcome.passed
    assert "assert -1 == 3" in outcome.errors[0]


def test_correct_code_still_passes() -> None:
    outcome = run_tests("def add(a, b):\n    return a + b\n", TESTS)
    assert outcome.passed, outcome.errors
    assert "2 passed" in outcome.details


def test_parametrized_and_class_tests_pass_when_correct() -> None:
    tests = (
        "import pytest\nfrom solution import add\n\n"
        "@pytest.mark.parametrize('a,b,c', [(1, 2, 3), (0, 0, 0)])\n"
        "def test_param(a, b, c):\n    assert add(a, b) == c\n\n"
        "class TestAdd:\n    def test_method(self):\n        assert add(2, 2) == 4\n"
    )
    outcome = run_tests("def add(a, b):\n    return a + b\n", tests)
    assert outcome.passed, outcome.errors
    assert "3 passed" in outcome.details


def test_the_candidate_is_importable_under_its_own_name() -> None:
    tests = "from good import add\nimport solution\n\ndef test_same():\n    assert add is solution.add\n"
    tests += "\ndef test_add():\n    assert add(1, 2) == 3\n"
    outcome = run_tests("def add(a, b):\n    return a + b\n", tests, aliases=("good",))
    assert outcome.passed, outcome.errors


def test_an_alias_never_shadows_a_module_pytest_needs() -> None:
    outcome = run_tests("def add(a, b):\n    return a + b\n", TESTS, aliases=("json", "os"))
    assert outcome.passed, outcome.errors


def test_skips_and_xfails_the_test_file_declares_still_count() -> None:
    tests = (
        "import pytest\nfrom solution import add\n\n"
        "@pytest.fixture\ndef test_data():\n    return (1, 2)\n\n"
        "def test_add(test_data):\n    assert add(*test_data) == 3\n\n"
        "@pytest.mark.skip(reason='later')\ndef test_later():\n    assert add(1, 1) == 3\n\n"
        "@pytest.mark.xfail(reason='known')\ndef test_known():\n    assert add(1, 1) == 3\n"
    )
    outcome = run_tests("def add(a, b):\n    return a + b\n", tests)
    assert outcome.passed, outcome.errors
