"""The codegen graph's escalation state machine with a scripted model that fails a set number of times."""

from __future__ import annotations

from typing import Any

import pytest
from fakes import make_router
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

from agents.errors import BudgetExceeded
from agents.escalation import EscalationMatrix, TypeRule
from graphs.codegen import AttemptRecord, CodegenContext, build_codegen_graph, result_summary

BROKEN = "```python\ndef add(a, b:\n    return a + b\n```"
GOOD = (
    "```python\ndef add(a, b):\n    return a + b\n```\n\n"
    "```python\nfrom solution import *\n\n\ndef test_add():\n    assert add(2, 3) == 5\n```"
)
SPEC = "Write add(a, b) that returns the sum of two numbers."


def scripted(failures: int, judge_passes: bool = True):
    """Code requests fail (broken syntax) `failures` times, then succeed; plans and verdicts are canned."""
    calls = {"code": 0}

    def respond(schema: str, messages: list) -> Any:
        if schema == "CodePlan":
            return {"steps": ["write add", "test it"]}
        if schema == "JudgeVerdict":
            return {"passed": judge_passes, "confidence": 0.9, "reasons": ["looks right"]}
        assert schema == "", schema
        calls["code"] += 1
        return BROKEN if calls["code"] <= failures else GOOD

    return respond


def run(
    failures: int,
    task_type: str,
    *,
    saver: Any = None,
    thread: str = "t",
    matrix: EscalationMatrix | None = None,
    router: Any = None,
    **context: Any,
) -> tuple[dict[str, Any], list[AttemptRecord], Any]:
    records: list[AttemptRecord] = []
    router = router or make_router(scripted(failures))[0]
    graph = build_codegen_graph(saver or InMemorySaver())
    ctx = CodegenContext(router=router, matrix=matrix or EscalationMatrix(), record=records.append, **context)
    config = {"configurable": {"thread_id": thread}}
    state = graph.invoke({"spec": SPEC, "task_id": "7", "task_type": task_type}, config, context=ctx)
    return state, records, (graph, config, ctx)


def tiers(records: list[AttemptRecord]) -> list[str]:
    return [r.worker_tier for r in records]


def test_self_debug_then_escalate_per_standard_dev_rule() -> None:
    state, records, _ = run(4, "standard_dev")
    # fast gets its 3 attempts, then coder: fails once, passes on its 2nd
    assert tiers(records) == ["fast", "fast", "fast", "coder", "coder"]
    assert [r.outcome for r in records] == ["failed"] * 4 + ["passed"]
    assert [r.attempt for r in records] == [1, 2, 3, 1, 2]
    assert [r.escalations for r in records] == [0, 0, 0, 1, 1]
    assert records[0].verifiers == {"syntax": {"passed": False, "details": records[0].verifiers["syntax"]["details"]}}
    assert set(records[-1].verifiers) == {"syntax", "tests"} and records[-1].verifiers["tests"]["passed"]
    assert result_summary(state) | {} == {
        "task_id": "7",
        "task_type": "standard_dev",
        "complexity": None,
        "status": "solved",
        "solved_by": "coder",
        "attempts": 5,
        "escalations": 1,
    }
    assert "def test_add" in state["generated_tests"]
    assert state["plan"] == ["write add", "test it"]


def test_verifier_errors_are_fed_back_on_retry() -> None:
    seen: list[str] = []

    def respond(schema: str, messages: list) -> Any:
        if schema == "CodePlan":
            return {"steps": ["x"]}
        seen.append(messages[-1].content)
        return BROKEN if len(seen) == 1 else GOOD

    router, _ = make_router(respond)
    state, records, _ = run(0, "quick_edit", router=router)
    assert "failed verification" in seen[1] and "[syntax]" in seen[1] and "def add(a, b:" in seen[1]
    assert state["status"] == "solved" and len(records) == 2


def test_quick_edit_stops_at_max_attempts_and_skips_review() -> None:
    state, records, _ = run(99, "quick_edit")
    assert tiers(records) == ["fast", "fast"]
    assert state["status"] == "failed" and state["solved_by"] is None
    assert state["attempts"] == 2 and state["escalations"] == 0


def test_full_chain_exhausted_without_review_is_failed() -> None:
    state, records, _ = run(99, "standard_dev")
    assert tiers(records) == ["fast"] * 3 + ["coder"] * 3 + ["planner"] * 3
    assert state["status"] == "failed" and state["escalations"] == 2


@pytest.mark.parametrize(
    ("action", "status", "solved_by"), [("approve", "approved", "human"), ("skip", "skipped", None)]
)
def test_complex_chain_end_interrupts_and_resumes(action: str, status: str, solved_by: str | None) -> None:
    saver = InMemorySaver()
    state, records, (graph, config, ctx) = run(99, "complex", saver=saver)
    assert tiers(records) == ["coder"] * 3 + ["planner"] * 3
    assert "__interrupt__" in state
    payload = state["__interrupt__"][0].value
    assert payload["passed"] is False and "def add(a, b:" in payload["code"] and payload["actions"]
    final = graph.invoke(Command(resume={"action": action}), config, context=ctx)
    assert final["status"] == status and final["solved_by"] == solved_by
    assert len(records) == 6  # resuming does not re-run attempts


def test_edit_review_replaces_the_code() -> None:
    _, _, (graph, config, ctx) = run(99, "complex")
    final = graph.invoke(
        Command(resume={"action": "edit", "code": "def add(a, b):\n    return a + b\n"}), config, context=ctx
    )
    assert final["status"] == "edited" and final["solved_by"] == "human" and "return a + b" in final["code"]


def test_critical_passes_and_still_goes_to_human_review() -> None:
    state, records, (graph, config, ctx) = run(0, "critical")
    assert tiers(records) == ["planner"] and records[0].outcome == "passed"
    assert set(records[0].verifiers) == {"syntax", "compile", "tests", "judge"}
    assert records[0].checker == "planner"
    assert "__interrupt__" in state and state["__interrupt__"][0].value["passed"] is True
    final = graph.invoke(Command(resume={"action": "approve"}), config, context=ctx)
    assert final["status"] == "approved" and final["solved_by"] == "planner"


def test_judge_rejection_fails_the_attempt() -> None:
    router, _ = make_router(scripted(0, judge_passes=False))
    rule = TypeRule(
        complexity_min=0,
        complexity_max=10,
        chain=["coder"],
        checker="planner",
        max_attempts=1,
        verifiers=["syntax", "judge"],
    )
    state, records, _ = run(0, "standard_dev", router=router, rule=rule)
    assert records[0].outcome == "failed" and records[0].verifiers["judge"]["passed"] is False
    assert state["status"] == "failed"


def _with_cloud_planner(router: Any, *, allow: bool) -> Any:
    planner = router.config.tiers["planner"]
    router.config.tiers["planner"] = planner.model_copy(
        update={"cloud": True, "cost_per_1m_input": 1000.0, "cost_per_1m_output": 2000.0}
    )
    router.config.allow_cloud = allow
    return router


def test_cloud_tier_is_skipped_when_cloud_is_off() -> None:
    router = _with_cloud_planner(make_router(scripted(99))[0], allow=False)
    state, records, _ = run(99, "standard_dev", router=router)
    assert tiers(records) == ["fast"] * 3 + ["coder"] * 3
    assert state["status"] == "failed"


def test_budget_guard_refuses_a_paid_step_past_the_budget() -> None:
    router = _with_cloud_planner(make_router(scripted(99))[0], allow=True)
    with pytest.raises(BudgetExceeded, match="budget"):
        run(99, "standard_dev", router=router, matrix=EscalationMatrix(budget_usd=0.01))


def test_paid_steps_within_budget_are_charged() -> None:
    router = _with_cloud_planner(make_router(scripted(6))[0], allow=True)
    state, records, (_, _, ctx) = run(6, "standard_dev", router=router, matrix=EscalationMatrix(budget_usd=100.0))
    assert state["solved_by"] == "planner"
    paid = [r for r in records if r.worker_tier == "planner"]
    assert all(r.cost_usd == pytest.approx((10 * 1000 + 5 * 2000) / 1e6) for r in paid)
    assert all(r.cost_usd == 0.0 for r in records if r.worker_tier != "planner")
    assert ctx.budget.spent_usd == pytest.approx(sum(r.cost_usd for r in paid))


def test_empty_spec_fails_with_a_clear_error() -> None:
    from graphs.errors import EmptyInput

    router, _ = make_router(scripted(0))
    graph = build_codegen_graph()
    with pytest.raises(EmptyInput, match="spec is empty"):
        graph.invoke({"spec": "  "}, context=CodegenContext(router=router))


def test_judge_without_a_usable_verdict_is_a_failed_check_not_a_crash() -> None:
    def respond(schema: str, messages: list) -> Any:
        return "no json here" if schema == "JudgeVerdict" else scripted(0)(schema, messages)

    router, _ = make_router(respond, retries=0)
    rule = TypeRule(
        complexity_min=0, complexity_max=10, chain=["coder"], checker="planner", max_attempts=1, verifiers=["judge"]
    )
    state, records, _ = run(0, "standard_dev", router=router, rule=rule)
    assert records[0].outcome == "failed" and "no verdict" in records[0].verifiers["judge"]["details"]
    assert state["status"] == "failed"


def test_model_classifier_is_used_only_when_enabled() -> None:
    def respond(schema: str, messages: list) -> Any:
        if schema == "TaskTypeGuess":
            return {"task_type": "quick_edit", "complexity": 1, "reason": "tiny"}
        return scripted(0)(schema, messages)

    router, _ = make_router(respond)
    graph = build_codegen_graph()
    ruled = graph.invoke({"spec": SPEC}, context=CodegenContext(router=router))
    assert (ruled["task_type"], ruled["classified_by"]) == ("standard_dev", "default")
    asked = graph.invoke({"spec": SPEC}, context=CodegenContext(router=router, classify_with_model=True))
    assert (asked["task_type"], asked["classified_by"]) == ("quick_edit", "model")


def test_a_new_tier_starts_from_the_spec_and_self_debug_keeps_its_own_feedback() -> None:
    """The prompt rule: the stronger tier never sees the weaker tier's code; its own retries see its own code."""
    weak = "```python\ndef add(a, b:\n    return a - b  # WEAK\n```"
    strong_broken = "```python\ndef add(a, b:\n    return a + b  # STRONG\n```"
    code_requests: list[list[Any]] = []
    plans = {"n": 0}

    def respond(schema: str, messages: list) -> Any:
        if schema == "CodePlan":
            plans["n"] += 1
            return {"steps": [f"plan {plans['n']}"]}
        code_requests.append(messages)
        n = len(code_requests)
        return weak if n <= 3 else strong_broken if n == 4 else GOOD

    router, _ = make_router(respond)
    state, records, (graph, config, _) = run(0, "standard_dev", router=router)
    assert tiers(records) == ["fast"] * 3 + ["coder"] * 2 and state["solved_by"] == "coder"

    first_strong = "\n".join(m.content for m in code_requests[3])
    assert len(code_requests[3]) == 2  # system + the spec: no "previous solution" turn
    assert "WEAK" not in first_strong and "failed verification" not in first_strong.split("<earlier_failures>")[0]
    assert "<earlier_failures>" in first_strong and "3 attempt(s)" in first_strong and "[syntax]" in first_strong
    assert SPEC in first_strong and "plan 2" in first_strong and "plan 1" not in first_strong  # its own plan

    retry = "\n".join(m.content for m in code_requests[4])
    assert "STRONG" in retry and "WEAK" not in retry  # self-debug within the tier: its own code and errors
    assert "Your previous solution failed verification" in retry and "[syntax]" in retry
    handoff = graph.get_state(config).values["handoff"]  # internal state: not part of the graph's output
    assert handoff.startswith("A smaller model made 3 attempt(s)")


def test_the_first_tier_gets_no_handoff_note() -> None:
    seen: list[str] = []

    def respond(schema: str, messages: list) -> Any:
        if schema == "CodePlan":
            return {"steps": ["x"]}
        seen.append("\n".join(m.content for m in messages))
        return GOOD

    router, _ = make_router(respond)
    state, _, (graph, config, _) = run(0, "standard_dev", router=router)
    assert state["status"] == "solved" and "<earlier_failures>" not in seen[0]
    assert graph.get_state(config).values["handoff"] == ""
