"""Verifier latency per candidate and the sandbox's start-up overhead.

Target: a sandboxed pytest run of a small file takes at most 1 s. Prints medians over a few repeats and the
ratio target/figure, like every bench script (>= 1.0 meets it).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections.abc import Callable

from agents.verification.compile import check_compiles
from agents.verification.sandbox import SandboxLimits, run_in_sandbox
from agents.verification.syntax import check_syntax
from agents.verification.tests import run_tests

REPEATS = 5
TARGET_PYTEST_S = 1.0
CANDIDATES = {
    "good": "def add(a, b):\n    return a + b\n",
    "wrong": "def add(a, b):\n    return a - b\n",
}
TESTS = (
    "from solution import add\n\n"
    "def test_add():\n    assert add(1, 2) == 3\n\n"
    "def test_zero():\n    assert add(0, 0) == 0\n"
)


def median_seconds(action: Callable[[], object]) -> float:
    samples = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        action()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def main() -> None:
    print(f"verifier latency per candidate (median of {REPEATS})")
    print(f"{'candidate':<10} {'syntax':>10} {'compile':>10} {'tests':>10}")
    pytest_times = []
    for name, code in CANDIDATES.items():
        syntax = median_seconds(lambda code=code: check_syntax(code))
        compiled = median_seconds(lambda code=code: check_compiles(code, use_mypy=False))
        tested = median_seconds(lambda code=code: run_tests(code, TESTS))
        pytest_times.append(tested)
        print(f"{name:<10} {syntax * 1000:>8.2f}ms {compiled * 1000:>8.1f}ms {tested * 1000:>8.1f}ms")

    sandboxed = median_seconds(lambda: run_in_sandbox([sys.executable, "-c", "pass"], {}, SandboxLimits()))
    plain = median_seconds(lambda: subprocess.run([sys.executable, "-c", "pass"], check=True))
    print()
    print(
        f"python -c pass: sandboxed {sandboxed * 1000:.1f}ms, plain {plain * 1000:.1f}ms, "
        f"overhead {(sandboxed - plain) * 1000:.1f}ms ({sandboxed / plain:.2f}x)"
    )
    worst = max(pytest_times)
    print(
        f"sandboxed pytest of a small file: {worst:.3f}s  target <= {TARGET_PYTEST_S:.1f}s  "
        f"ratio {TARGET_PYTEST_S / max(worst, 1e-9):.2f}  {'OK' if worst <= TARGET_PYTEST_S else 'BELOW TARGET'}"
    )


if __name__ == "__main__":
    main()
