"""Pick verifiers by task type: cheap checks for quick edits, tests and a judge as the stakes grow.

Verifiers run cheapest first; a candidate that does not parse is not worth sandboxing, so a failed syntax or
compile check stops the run. A verifier that cannot apply (no judge wired, tests for a non-Python language) is
listed as skipped: it neither passes nor fails the report, but lowers its confidence.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, Field

from agents.verification.compile import check_compiles
from agents.verification.errors import VerificationError
from agents.verification.judge import Judge, check_with_judge
from agents.verification.outcome import VerifierOutcome
from agents.verification.syntax import check_syntax
from agents.verification.tests import run_tests

TaskType = Literal["quick_edit", "standard_dev", "complex", "critical"]

VERIFIERS_BY_TASK_TYPE: dict[str, list[str]] = {
    "quick_edit": ["syntax"],
    "standard_dev": ["syntax", "tests"],
    "complex": ["syntax", "tests", "judge"],
    "critical": ["syntax", "compile", "tests", "judge"],  # human review is added by the workflow, not here
}
_GATES = {"syntax", "compile"}
_SKIP_PENALTY = 0.5


class VerificationReport(BaseModel):
    passed: bool
    outcomes: list[VerifierOutcome]
    confidence: float = Field(ge=0.0, le=1.0)
    skipped: list[str] = Field(default_factory=list)

    def feedback(self) -> str:
        """All failure text in one block, ready to hand back to the model for another attempt."""
        return "\n\n".join(f"[{o.name}] " + "\n".join(o.errors) for o in self.outcomes if not o.passed)


def verifiers_for(task_type: str) -> list[str]:
    if task_type not in VERIFIERS_BY_TASK_TYPE:
        raise VerificationError(f"unknown task type {task_type!r}; use one of: {', '.join(VERIFIERS_BY_TASK_TYPE)}")
    return VERIFIERS_BY_TASK_TYPE[task_type]


def verify(
    code: str,
    *,
    language: str = "python",
    tests: str | None = None,
    task_type: str = "standard_dev",
    spec: str = "",
    judge: Judge | None = None,
    module_aliases: tuple[str, ...] = (),
) -> VerificationReport:
    """`module_aliases`: extra names the tests may import the candidate by (besides `solution`)."""
    names = verifiers_for(task_type)
    return run_verifiers(
        names, code, language=language, tests=tests, spec=spec, judge=judge, module_aliases=module_aliases
    )


def run_verifiers(
    names: Sequence[str],
    code: str,
    *,
    language: str = "python",
    tests: str | None = None,
    spec: str = "",
    judge: Judge | None = None,
    module_aliases: tuple[str, ...] = (),
) -> VerificationReport:
    """Run `names` in order; a failed syntax or compile gate stops the run, an inapplicable one is skipped."""
    outcomes: list[VerifierOutcome] = []
    skipped: list[str] = []
    is_python = language.lower() in {"python", "py"}
    for name in names:
        if name == "syntax":
            outcome = check_syntax(code, language)
        elif name == "compile" and is_python:
            outcome = check_compiles(code)
        elif name == "tests" and is_python:
            outcome = run_tests(code, tests, aliases=module_aliases)
        elif name == "judge" and judge is not None:
            outcome = check_with_judge(spec, code, judge)
        else:
            skipped.append(_skip_reason(name, language))
            continue
        outcomes.append(outcome)
        if name in _GATES and not outcome.passed:
            break
    passed = bool(outcomes) and all(o.passed for o in outcomes)
    confidence = min((o.confidence for o in outcomes), default=0.0) * (_SKIP_PENALTY if skipped else 1.0)
    return VerificationReport(passed=passed, outcomes=outcomes, confidence=round(confidence, 3), skipped=skipped)


def _skip_reason(name: str, language: str) -> str:
    if name == "judge":
        return "judge: no judge model wired"
    return f"{name}: not available for {language}"
