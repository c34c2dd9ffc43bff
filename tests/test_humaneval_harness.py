"""HumanEval harness with a scripted model: prompt-only self-checks, official tests scored in our sandbox."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from e2e import STRONG_ENV, run_cli, strong_server  # noqa: F401 - strong_server is a fixture
from fakes import make_router

from agents.escalation import EscalationMatrix
from graphs.codegen import AttemptRecord
from taskmaster.errors import AppError
from taskmaster.evals.humaneval import final_program, load_problems, policy_rule, run_humaneval, score

PROBLEMS = {p.task_id: p for p in load_problems(2)}
CANONICAL = {
    "HumanEval/0": (
        "from typing import List\n\n\ndef has_close_elements(numbers: List[float], threshold: float) -> bool:\n"
        "    return any(abs(a - b) < threshold for i, a in enumerate(numbers) for b in numbers[i + 1 :])\n"
    ),
}


def responder(schema: str, messages: list) -> Any:
    prompt = messages[1].content
    assert "def check(" not in "".join(str(m.content) for m in messages)  # official tests never reach the model
    if "has_close_elements" in prompt:
        return f"```python\n{CANONICAL['HumanEval/0']}```"
    return "```python\ndef separate_paren_groups(paren_string):\n    return []\n```"


def test_dataset_loads_from_the_package() -> None:
    problems = load_problems()
    assert len(problems) == 164 and problems[0].task_id == "HumanEval/0"
    assert all(p.entry_point and "def check" in p.test for p in problems[:5])


def test_verified_policy_scores_with_official_tests_in_the_sandbox() -> None:
    router, _ = make_router(responder)
    records: list[AttemptRecord] = []
    report = run_humaneval(router, policy="verified", limit=2, record=records.append, max_attempts=2)
    by_id = {r.task_id: r for r in report.results}
    assert report.problems == 2 and report.passed == 1 and report.pass_at_1 == 0.5
    assert by_id["HumanEval/0"].passed and by_id["HumanEval/0"].solved_by == "fast"
    assert by_id["HumanEval/0"].attempts == 1
    # the wrong answer fails its docstring examples, retries once on the same tier, then is scored as failed
    assert not by_id["HumanEval/1"].passed and by_id["HumanEval/1"].attempts == 2
    assert by_id["HumanEval/1"].status == "failed"
    assert report.solved_by_tier == {"fast": 1}
    assert [r.worker_tier for r in records] == ["fast", "fast", "fast"]
    assert report.input_tokens == 30 and report.output_tokens == 15  # 3 calls x (10 in, 5 out)
    assert "failed" in records[1].verifiers["tests"]["details"]


def test_single_policy_uses_the_top_tier_once_without_checks() -> None:
    router, _ = make_router(responder)
    records: list[AttemptRecord] = []
    report = run_humaneval(router, policy="single", limit=2, record=records.append)
    assert [r.worker_tier for r in records] == ["planner", "planner"]
    assert all(r.verifiers == {} for r in records)
    assert report.passed == 1 and report.solved_by_tier == {"planner": 1}


def test_policies_map_to_rules() -> None:
    matrix = EscalationMatrix()
    assert policy_rule("escalate", matrix).chain == ["fast", "coder", "planner"]
    assert policy_rule("verified", matrix, max_attempts=1).max_attempts == 1
    with pytest.raises(AppError, match="unknown evaluation policy"):
        policy_rule("best", matrix)


def test_score_rejects_wrong_and_accepts_body_only_answers() -> None:
    problem = PROBLEMS["HumanEval/0"]
    assert not score(problem, "def has_close_elements(numbers, threshold):\n    return False\n")
    body = "    return any(abs(a - b) < threshold for i, a in enumerate(numbers) for b in numbers[i + 1 :])\n"
    assert final_program(problem, body).startswith(problem.prompt)
    assert score(problem, body)


def test_tier_option_and_escalation_skips_a_tier_on_the_same_model() -> None:
    matrix = EscalationMatrix()
    ladder = {"fast": "smollm2", "coder": "qwen2.5-coder-1.5b", "planner": "qwen2.5-coder-1.5b"}.__getitem__
    assert policy_rule("escalate", matrix, model_of=ladder).chain == ["fast", "coder"]
    assert policy_rule("single", matrix, tier="fast").chain == ["fast"]
    assert policy_rule("verified", matrix, tier="coder").chain == ["coder"]
    with pytest.raises(AppError, match="--tier"):
        policy_rule("escalate", matrix, tier="coder")


def test_report_counts_tokens_and_solved_share_per_tier() -> None:
    router, _ = make_router(responder)
    report = run_humaneval(router, policy="verified", tier="coder", limit=2, max_attempts=2)
    assert report.chain == ["coder"] and report.tier == "coder"
    assert report.tokens_by_tier == {"coder": {"input": 30, "output": 15}}
    assert report.as_dict()["share_by_tier"] == {"coder": 1.0}
    with pytest.raises(AppError, match="unknown tier"):
        run_humaneval(router, policy="single", tier="huge", limit=1)


def test_each_problem_reports_its_own_tokens_and_a_run_can_start_midway() -> None:
    """What bench/cascade.py resumes from: per-problem tokens per tier, and problems `start`..`limit`-1 only."""
    router, _ = make_router(responder)
    report = run_humaneval(router, policy="verified", tier="coder", limit=2, max_attempts=2)
    first, second = report.results
    assert first.tokens_by_tier == {"coder": {"input": 10, "output": 5}} and first.final_tier == "coder"
    assert second.tokens_by_tier == {"coder": {"input": 20, "output": 10}}  # a failed try and its retry
    rest = run_humaneval(router, policy="verified", tier="coder", limit=2, max_attempts=2, start=1)
    assert [r.task_id for r in rest.results] == ["HumanEval/1"] and rest.problems == 1


@pytest.mark.usefixtures("strong_server")
def test_one_problem_solved_by_the_1_5b_tier_through_the_verified_loop(isolated_project: Path) -> None:
    """Quality on the real ladder: Qwen2.5-Coder-1.5B (coder tier) solves HumanEval/0 with verify + self-debug."""
    result = run_cli(
        "eval", "humaneval", "--limit", "1", "--policy", "verified", "--tier", "coder", "--json",
        cwd=isolated_project, env=STRONG_ENV, timeout=900,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["chain"] == ["coder"] and report["results"][0]["task_id"] == "HumanEval/0"
    assert report["passed"] == 1 and report["results"][0]["status"] == "solved"
    assert report["solved_by_tier"] == {"coder": 1}
    assert set(report["tokens_by_tier"]) == {"coder"} and report["tokens_by_tier"]["coder"]["output"] > 0
