"""Run pytest on the candidate plus its tests inside the sandbox; failures come back as self-debug feedback.

The verdict is never read from what the candidate can produce (stdout, the exit code, files): it comes from the
harness's own pytest plugin (harness_plugin.py), which signs one record at session end with a one-time key and
sends it over a private pipe. Two runs are made: a collection-only run that lists the test ids, and the real
run, whose record must name exactly those ids, each passed. The test functions the test file defines (read from
its source, never from the candidate's process) must all be among them. A run that ends before the harness
reports, a record that does not verify, or a run in which pytest's machinery was altered is a failure.
"""

from __future__ import annotations

import ast
import hmac
import importlib.util
import json
import re
import secrets
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from agents.verification.outcome import VerifierOutcome
from agents.verification.sandbox import SandboxLimits, SandboxResult, run_in_sandbox

NAME = "tests"
MODULE = "solution"
TEST_FILE = "test_solution.py"
_MAX_FAILURE_CHARS = 4000
_COUNT = re.compile(r"(\d+) (passed|failed|errors?|skipped|xfailed|xpassed)")
_NO_TESTS_COLLECTED = 5
_PLUGIN_SOURCE = Path(__file__).with_name("harness_plugin.py")
# A skip or an expected failure counts only where the test file itself marks the test so: a candidate could
# otherwise call pytest.skip() or pytest.xfail() whenever its answer would be wrong.
_MARKED_OUTCOMES = {"skipped": ("skip", "skipif"), "xfailed": ("xfail",)}


@dataclass
class HarnessRecord:
    """What the harness plugin signed: the verdict's only source."""

    collected: list[str] = field(default_factory=list)
    outcomes: dict[str, str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    exitstatus: int = -1
    tampered: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for outcome in self.outcomes.values():
            counts[outcome] = counts.get(outcome, 0) + 1
        if self.errors:
            counts["error"] = counts.get("error", 0) + len(self.errors)
        return counts


def run_tests(
    code: str,
    tests: str | None,
    *,
    module: str = MODULE,
    aliases: tuple[str, ...] = (),
    limits: SandboxLimits | None = None,
) -> VerifierOutcome:
    """The candidate is written as `<module>.py` next to `test_<module>.py`; each alias (e.g. the file's own
    name, `good` for good.py) is importable too and is the very same module object."""
    started = time.monotonic()
    if not tests or not tests.strip():
        return VerifierOutcome(
            name=NAME,
            passed=False,
            confidence=0.0,
            details="no tests given",
            errors=["no tests to run: pass a pytest file that imports the candidate as `solution`"],
        )
    limits = limits or SandboxLimits(wall_seconds=30, cpu_seconds=30, memory_mb=1024)
    plugin = f"_tm_harness_{secrets.token_hex(8)}"
    test_file = f"test_{module}.py"
    files = {f"{module}.py": code, test_file: tests, f"{plugin}.py": _PLUGIN_SOURCE.read_text(encoding="utf-8")}
    for alias in aliases:
        if _usable_alias(alias, module, test_file):
            files[f"{alias}.py"] = f"import sys\nimport {module}\n\nsys.modules[__name__] = {module}\n"
    expected, marks = _defined_tests(tests)

    collect_key, run_key = secrets.token_bytes(32), secrets.token_bytes(32)
    collection = _pytest(files, plugin, test_file, limits, collect_key, collect_only=True)
    listed, collect_problem = _verified(collection, collect_key)
    result = _pytest(files, plugin, test_file, limits, run_key, collect_only=False)
    record, problem = _verified(result, run_key)
    problem = problem or _cross_check(record, listed, collect_problem, expected, marks)
    counts = record.counts() if record else parse_counts(result.stdout)
    passed = problem is None and result.returncode == 0 and counts.get("passed", 0) > 0
    return VerifierOutcome(
        name=NAME,
        passed=passed,
        confidence=_confidence(counts, passed),
        details=_summary(result, counts, problem),
        errors=[] if passed else [_failure_text(result, problem)],
        duration_s=round(time.monotonic() - started, 4),
    )


def _usable_alias(alias: str, module: str, test_file: str) -> bool:
    """Never shadow a module pytest or the tests need (a candidate named json.py must not replace json)."""
    if alias == module or not alias.isidentifier() or f"{alias}.py" == test_file or alias in sys.stdlib_module_names:
        return False
    try:
        return importlib.util.find_spec(alias) is None
    except (ImportError, ValueError):
        return False


def _pytest(
    files: dict[str, str], plugin: str, test_file: str, limits: SandboxLimits, key: bytes, *, collect_only: bool
) -> SandboxResult:
    argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", plugin, "--tb=short"]
    argv += ["-o", "addopts=", "--rootdir=.", *(["--collect-only"] if collect_only else []), test_file]
    # Third-party pytest plugins in the venv (langsmith's costs ~1.4 s to import) are not needed for a candidate.
    env = {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", "TM_HARNESS_MODE": "collect" if collect_only else "run"}
    return run_in_sandbox(argv, files, limits, extra_env=env, channel=key)


def _verified(result: SandboxResult, key: bytes) -> tuple[HarnessRecord | None, str | None]:
    """The one signed record, or why there is none."""
    lines = [line for line in result.channel_out.split(b"\n") if line]
    if not lines:
        why = result.killed_reason or f"exit code {result.returncode}"
        return None, f"pytest ended before the verification harness reported ({why}); the run is not trusted"
    if len(lines) > 1:
        return None, "more than one verification record was written (forged output); the run is not trusted"
    mac, _, payload = lines[0].partition(b" ")
    expected = hmac.digest(key, payload, "sha256").hex().encode()
    if not hmac.compare_digest(mac, expected):
        return None, "the verification record is not signed by the harness (forged output); the run is not trusted"
    data = json.loads(payload)
    record = HarnessRecord(
        collected=list(data["collected"]),
        outcomes=dict(data["outcomes"]),
        errors=list(data["errors"]),
        exitstatus=int(data["exitstatus"]),
        tampered=list(data["tampered"]),
    )
    if record.tampered:
        return record, f"pytest's own machinery was altered during the run ({', '.join(record.tampered[:3])})"
    return record, None


def _cross_check(
    record: HarnessRecord | None,
    listed: HarnessRecord | None,
    collect_problem: str | None,
    expected: set[str],
    marks: dict[str, set[str]],
) -> str | None:
    """Every test the file defines was collected, the same ids both times, and each one passed."""
    if record is None:
        return "no verification record"
    if collect_problem or listed is None:
        return f"collection-only run: {collect_problem or 'no record'}"
    if record.errors or record.exitstatus != 0:
        return None  # an ordinary failure: pytest's own output says what failed
    if sorted(record.collected) != sorted(listed.collected):
        return "the tests run differ from the tests collected in a separate run; the run is not trusted"
    bases = {_base_name(nodeid) for nodeid in record.collected}
    missing = sorted(expected - bases)
    if missing:
        return f"tests defined in the test file were not run: {', '.join(missing[:5])}"
    unfinished = [n for n in record.collected if not _counts_as_done(n, record.outcomes.get(n), marks)]
    if unfinished:
        return f"tests without a passing result: {', '.join(unfinished[:5])}"
    return None


def _counts_as_done(nodeid: str, outcome: str | None, marks: dict[str, set[str]]) -> bool:
    if outcome == "passed":
        return True
    allowed_by = _MARKED_OUTCOMES.get(outcome or "", ())
    return bool(marks.get(_base_name(nodeid), set()) & set(allowed_by))


def _base_name(nodeid: str) -> str:
    return nodeid.split("::")[-1].split("[")[0]


def _defined_tests(source: str) -> tuple[set[str], dict[str, set[str]]]:
    """test_* functions at module level and in Test* classes, read from the test file's source (fixtures
    named test_* are not tests), and the skip/xfail marks each carries (its own or its class's)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set(), {}
    tests: dict[str, set[str]] = {}

    def add(node: ast.FunctionDef | ast.AsyncFunctionDef, inherited: set[str]) -> None:
        names = _decorator_names(node)
        if node.name.startswith("test") and "fixture" not in names:
            tests[node.name] = tests.get(node.name, set()) | names | inherited

    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            add(node, set())
        elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            for item in node.body:
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                    add(item, _decorator_names(node))
    return set(tests), tests


def _decorator_names(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> set[str]:
    """Last dotted name of each decorator: @pytest.mark.skipif(...) -> 'skipif', @pytest.fixture -> 'fixture'."""
    names = set()
    for decorator in node.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        if isinstance(target, ast.Attribute):
            names.add(target.attr)
        elif isinstance(target, ast.Name):
            names.add(target.id)
    return names


def parse_counts(output: str) -> dict[str, int]:
    """Counts from pytest's closing line, e.g. '1 failed, 2 passed in 0.05s' -> {'failed': 1, 'passed': 2}.

    For display only (when the harness did not report); never for the verdict.
    """
    lines = [line for line in output.splitlines() if re.search(r"\b(passed|failed|errors?|no tests ran)\b", line)]
    if not lines:
        return {}
    counts: dict[str, int] = {}
    for number, kind in _COUNT.findall(lines[-1]):
        counts["error" if kind.startswith("error") else kind] = int(number)
    return counts


def _confidence(counts: dict[str, int], passed: bool) -> float:
    """More passing tests make a pass more convincing; a failure is certain either way."""
    if not passed:
        return 1.0
    return min(1.0, 0.6 + 0.1 * counts.get("passed", 0))


def _summary(result: SandboxResult, counts: dict[str, int], problem: str | None) -> str:
    if result.killed_reason:
        return f"pytest stopped: {result.killed_reason}"
    if problem:
        return f"not verified: {problem}"
    if result.returncode == _NO_TESTS_COLLECTED:
        return "pytest collected no tests"
    shown = ", ".join(f"{n} {k}" for k, n in counts.items()) or "no summary line"
    return f"pytest exit {result.returncode}: {shown}"


def _failure_text(result: SandboxResult, problem: str | None) -> str:
    text = (result.stdout + ("\n" + result.stderr if result.stderr.strip() else "")).strip()
    if result.killed_reason:
        text = f"{result.killed_reason}\n{text}"
    if problem:
        text = f"verification: {problem}\n{text}"
    return text if len(text) <= _MAX_FAILURE_CHARS else "…" + text[-_MAX_FAILURE_CHARS:]
