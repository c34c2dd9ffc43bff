"""The codegen graph.

classify → plan → attempt ⇄ (self-debug: same worker, verifier errors fed back) → escalate → plan → attempt … →
review (interrupt) or finish.

A change of tier starts clean: the stronger worker plans and writes from the spec, told only which checks the
smaller one failed (`handoff`), never shown its code, plan or raw feedback. Carrying them over made Qwen 1.5B patch
SmolLM2's code and solve fewer HumanEval problems than on its own, at several times the tokens (docs/models.md).

`route` after each attempt is the single decision point, driven by the task type's rule in the escalation
matrix: a pass finishes (or goes to review when the rule always wants a person); a failure retries the
same worker up to `max_attempts`, then moves to the next usable tier of the chain; at the chain end the
rule says whether a person reviews it (LangGraph interrupt, resumed with
`Command(resume={"action": "approve"|"edit"|"skip", "code": ...})`) or the task is left failed.
Paid (cloud) tiers are skipped unless the model config allows cloud, and a budget guard refuses a paid
step that would pass the budget.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from langgraph.types import interrupt

from agents.coder import generate_code, handoff_note, plan_code, router_judge, verify_with
from agents.errors import AgentError, BudgetExceeded
from agents.escalation import BudgetGuard, EscalationMatrix, StartPolicy, TypeRule, classify, step_cost
from agents.llm.config import Tier
from agents.llm.router import ModelRouter
from agents.verification.judge import Judge, JudgeVerdict
from graphs.codegen.records import AttemptRecord, AttemptRecorder
from graphs.codegen.state import CodegenInput, CodegenOutput, CodegenState
from graphs.context import ContextResolver, context_seam
from graphs.errors import EmptyInput, GraphError

REVIEW_ACTIONS = ("approve", "edit", "skip")
_CHARS_PER_TOKEN = 3


@dataclass
class CodegenContext:
    router: ModelRouter
    matrix: EscalationMatrix = field(default_factory=EscalationMatrix)
    record: AttemptRecorder | None = None
    budget: BudgetGuard | None = None
    rule: TypeRule | None = None  # replaces the matrix's rule for every task (evaluation policies)
    plan: bool = True
    classify_with_model: bool = False  # ask the classifier role when keyword rules and scores are silent
    language: str = "python"
    run_id: str = ""
    start_policy: StartPolicy | None = None  # adaptive routing: may start a type above its chain's first tier

    def __post_init__(self) -> None:
        if self.budget is None and self.matrix.budget_usd is not None:
            self.budget = BudgetGuard(self.matrix.budget_usd)

    def rule_for(self, state: CodegenState) -> TypeRule:
        return self.rule or self.matrix.rule_for(state["task_type"])

    def tier(self, name: str) -> Tier:
        try:
            return self.router.config.tier_for(name)[1]
        except KeyError:
            raise GraphError(
                f"the escalation chain names tier {name!r}, which is not configured; define it under [tiers] "
                "or fix escalation.rules"
            ) from None

    def usable(self, name: str) -> bool:
        """Cloud tiers take part only when the user allowed cloud calls."""
        return not self.tier(name).cloud or self.router.config.allow_cloud


# --- helpers -------------------------------------------------------------------------------------------------
def _next_usable(ctx: CodegenContext, chain: list[str], start: int) -> int | None:
    return next((i for i in range(start, len(chain)) if ctx.usable(chain[i])), None)


def _meter_snapshot(router: ModelRouter) -> dict[str, tuple[int, int]]:
    return {name: (u.input_tokens, u.output_tokens) for name, u in list(router.meter.tiers.items())}


def _guarded_judge(ctx: CodegenContext, checker: str) -> Judge:
    judge = router_judge(ctx.router, checker)
    tier = ctx.tier(checker)

    def guarded(spec: str, code: str) -> JudgeVerdict:
        if ctx.budget is not None:
            tokens_in = (len(spec) + len(code)) // _CHARS_PER_TOKEN + 300
            ctx.budget.check(checker, tier, input_tokens=tokens_in, output_tokens=tier.max_output_tokens)
        try:
            return judge(spec, code)
        except BudgetExceeded:
            raise
        except AgentError as exc:  # no usable verdict is a failed check, never a pass and never a crash
            return JudgeVerdict(passed=False, confidence=0.0, reasons=[f"the {checker!r} judge gave no verdict: {exc}"])

    return guarded


def _usage_since(ctx: CodegenContext, before: dict[str, tuple[int, int]]) -> tuple[int, int, float, float]:
    """Tokens, real cost and reference (cloud-price) cost of the calls made since `before`."""
    config = ctx.router.config
    tokens_in = tokens_out = 0
    cost = 0.0
    for name, (now_in, now_out) in _meter_snapshot(ctx.router).items():
        d_in, d_out = now_in - before.get(name, (0, 0))[0], now_out - before.get(name, (0, 0))[1]
        if not (d_in or d_out):
            continue
        tokens_in, tokens_out = tokens_in + d_in, tokens_out + d_out
        tier = config.tiers.get(name)
        if tier is not None:
            cost += (
                ctx.budget.charge(tier, input_tokens=d_in, output_tokens=d_out)
                if ctx.budget
                else step_cost(tier, d_in, d_out)
            )
    reference = (
        tokens_in * config.reference_cost_per_1m_input + tokens_out * config.reference_cost_per_1m_output
    ) / 1e6
    return tokens_in, tokens_out, cost, reference


# --- nodes ---------------------------------------------------------------------------------------------------
def classify_task(state: CodegenState, runtime: Runtime[CodegenContext]) -> dict[str, Any]:
    ctx = runtime.context
    spec = (state.get("spec") or "").strip()
    if not spec:
        raise EmptyInput("the code spec is empty; describe what the code must do")
    title = state.get("title") or spec.splitlines()[0][:200]
    if state.get("task_type"):
        if ctx.rule is None:
            ctx.matrix.rule_for(state["task_type"])  # an unknown type fails here, with the valid ones listed
        task_type, complexity, source = state["task_type"], state.get("complexity"), "given"
    else:
        found = classify(
            title,
            spec,
            complexity=state.get("complexity"),
            matrix=ctx.matrix,
            router=ctx.router if ctx.classify_with_model else None,
        )
        task_type, complexity, source = found.task_type, found.complexity, found.source
    update: dict[str, Any] = {
        "task_type": task_type,
        "complexity": complexity,
        "classified_by": source,
        "attempt": 0,
        "attempts": 0,
        "escalations": 0,
        "passed": False,
        "code": "",
        "generated_tests": "",
        "feedback": "",
        "handoff": "",
        "solved_by": None,
    }
    rule = ctx.rule or ctx.matrix.rule_for(task_type)
    first = _next_usable(ctx, rule.chain, 0)
    update["tier_index"] = first if first is not None else len(rule.chain)
    notes: list[str] = []
    if first is None:
        notes.append("no usable worker tier in the chain (cloud tiers are off); nothing was generated")
    elif first > 0:
        notes.append(f"skipped cloud tiers {rule.chain[:first]} (allow_cloud is off)")
    if first is not None and ctx.start_policy is not None:
        decision = ctx.start_policy(task_type, list(rule.chain), ctx.usable)
        chosen = _next_usable(ctx, rule.chain, max(first, decision.index))
        update["tier_index"] = chosen if chosen is not None else first
        notes.append(decision.explanation())
    if notes:
        update["notes"] = notes
    return update


def plan(state: CodegenState, runtime: Runtime[CodegenContext]) -> dict[str, Any]:
    ctx = runtime.context
    chain = ctx.rule_for(state).chain
    if not ctx.plan or state["tier_index"] >= len(chain):
        return {"plan": []}
    try:
        steps = plan_code(ctx.router, chain[state["tier_index"]], state["spec"], state.get("research_context"))
    except BudgetExceeded:
        raise
    except AgentError as exc:
        return {"plan": [], "notes": [f"no plan: {exc}"]}
    return {"plan": steps}


def attempt(state: CodegenState, runtime: Runtime[CodegenContext]) -> dict[str, Any]:
    ctx = runtime.context
    rule = ctx.rule_for(state)
    worker = rule.chain[state["tier_index"]]
    tier = ctx.tier(worker)
    given_tests = state.get("tests")
    want_tests = "tests" in rule.verifiers and not (given_tests and given_tests.strip())
    feedback, previous, handoff = state.get("feedback", ""), state.get("code", ""), state.get("handoff", "")
    if ctx.budget is not None:
        prompt_chars = len(state["spec"]) + len(feedback) + len(previous) + len(handoff)
        prompt_chars += len(state.get("research_context") or "")
        ctx.budget.check(
            worker, tier, input_tokens=prompt_chars // _CHARS_PER_TOKEN + 300, output_tokens=tier.max_output_tokens
        )
    before = _meter_snapshot(ctx.router)
    started = time.perf_counter()
    checker = rule.checker if "judge" in rule.verifiers else None
    try:
        draft = generate_code(
            ctx.router,
            worker,
            state["spec"],
            want_tests=want_tests,
            plan=state.get("plan"),
            context=state.get("research_context"),
            previous_code=previous,
            feedback=feedback,
            handoff=handoff,
        )
    except BudgetExceeded:
        raise
    except AgentError as exc:
        code, tests, report, outcome, feedback_out = previous, "", None, "error", f"the model call failed: {exc}"
    else:
        code = draft.code
        tests = given_tests if not want_tests else draft.tests
        judge = _guarded_judge(ctx, checker) if checker else None
        report = verify_with(rule.verifiers, code, tests=tests, spec=state["spec"], judge=judge, language=ctx.language)
        outcome = "passed" if report.passed else "failed"
        feedback_out = report.feedback()
    latency = time.perf_counter() - started
    tokens_in, tokens_out, cost, reference = _usage_since(ctx, before)
    verifiers = {o.name: {"passed": o.passed, "details": o.details[:300]} for o in report.outcomes} if report else {}
    number = state.get("attempt", 0) + 1
    record = AttemptRecord(
        run_id=ctx.run_id,
        task_id=state.get("task_id") or "",
        task_type=state["task_type"],
        complexity=state.get("complexity"),
        worker_tier=worker,
        checker=checker,
        outcome=outcome,
        attempt=number,
        escalations=state.get("escalations", 0),
        verifiers=verifiers,
        latency_s=round(latency, 4),
        input_tokens=tokens_in,
        output_tokens=tokens_out,
        cost_usd=cost,
        reference_cost_usd=reference,
    )
    if ctx.record is not None:
        ctx.record(record)
    passed = outcome == "passed"
    return {
        "attempt": number,
        "attempts": state.get("attempts", 0) + 1,
        "code": code,
        "generated_tests": tests if want_tests else "",
        "feedback": "" if passed else feedback_out,
        "passed": passed,
        "solved_by": worker if passed else None,
        "verification": report.model_dump() if report else {},
        "history": [record.as_dict()],
    }


def route(state: CodegenState, runtime: Runtime[CodegenContext]) -> str:
    ctx = runtime.context
    rule = ctx.rule_for(state)
    if state.get("passed"):
        return "review" if rule.human_review == "always" else "finish"
    in_chain = state["tier_index"] < len(rule.chain)
    if in_chain and state.get("attempt", 0) < rule.max_attempts:
        return "attempt"
    if in_chain and _next_usable(ctx, rule.chain, state["tier_index"] + 1) is not None:
        return "escalate"
    return "review" if rule.human_review in ("on_failure", "always") else "finish"


def after_classify(state: CodegenState, runtime: Runtime[CodegenContext]) -> str:
    """No usable worker (every tier is a disabled cloud tier): straight to the chain-end decision."""
    rule = runtime.context.rule_for(state)
    if state["tier_index"] < len(rule.chain):
        return "plan"
    return "review" if rule.human_review in ("on_failure", "always") else "finish"


def escalate(state: CodegenState, runtime: Runtime[CodegenContext]) -> dict[str, Any]:
    ctx = runtime.context
    chain = ctx.rule_for(state).chain
    nxt = _next_usable(ctx, chain, state["tier_index"] + 1)
    assert nxt is not None  # route only sends us here when there is one
    skipped = chain[state["tier_index"] + 1 : nxt]
    note = f"escalated {chain[state['tier_index']]} → {chain[nxt]} after {state['attempt']} attempts"
    return {
        "tier_index": nxt,
        "attempt": 0,
        "escalations": state.get("escalations", 0) + 1,
        # the new worker starts from the spec: none of the smaller tier's code, plan or feedback, only a summary
        "code": "",
        "generated_tests": "",
        "feedback": "",
        "plan": [],
        "handoff": handoff_note(state.get("attempt", 0), state.get("feedback", "")),
        "notes": [note + (f" (skipped cloud tiers {skipped})" if skipped else "")],
    }


def review(state: CodegenState) -> dict[str, Any]:
    """A person decides; the payload is everything needed to decide without opening the checkpoint."""
    decision = interrupt(
        {
            "task_id": state.get("task_id"),
            "task_type": state.get("task_type"),
            "passed": state.get("passed", False),
            "code": state.get("code", ""),
            "tests": state.get("tests") or state.get("generated_tests", ""),
            "feedback": state.get("feedback", ""),
            "actions": list(REVIEW_ACTIONS),
        }
    )
    action = (decision or {}).get("action") if isinstance(decision, dict) else decision
    if action not in REVIEW_ACTIONS:
        raise GraphError(f"unknown review action {action!r}; resume with one of: {', '.join(REVIEW_ACTIONS)}")
    if action == "skip":
        return {"status": "skipped", "solved_by": None, "review": {"action": "skip"}}
    if action == "edit":
        code = decision.get("code") if isinstance(decision, dict) else None
        if not code:
            raise GraphError("an edit review needs the new code; resume with {'action': 'edit', 'code': '...'}")
        return {"status": "edited", "code": code, "solved_by": "human", "review": {"action": "edit"}}
    return {
        "status": "approved",
        "solved_by": state.get("solved_by") if state.get("passed") else "human",
        "review": {"action": "approve"},
    }


def finish(state: CodegenState) -> dict[str, Any]:
    return {"status": "solved" if state.get("passed") else "failed"}


def result_summary(state: dict[str, Any]) -> dict[str, Any]:
    """The headline: which tier solved it, after how many attempts and escalations."""
    return {
        "task_id": state.get("task_id"),
        "task_type": state.get("task_type"),
        "complexity": state.get("complexity"),
        "status": state.get("status"),
        "solved_by": state.get("solved_by"),
        "attempts": state.get("attempts", 0),
        "escalations": state.get("escalations", 0),
    }


def build_codegen_graph(checkpointer: Any = None, *, resolve_context: ContextResolver[Any, Any] | None = None) -> Any:
    """The compiled graph; run it with a CodegenContext, or with `resolve_context`'s plain values (Studio)."""
    context_schema, live = context_seam(CodegenContext, resolve_context)
    builder = StateGraph(
        CodegenState, context_schema=context_schema, input_schema=CodegenInput, output_schema=CodegenOutput
    )
    builder.add_node("classify", live(classify_task))
    builder.add_node("plan", live(plan))
    builder.add_node("attempt", live(attempt))
    builder.add_node("escalate", live(escalate))
    builder.add_node("review", review)
    builder.add_node("finish", finish)
    builder.add_edge(START, "classify")
    builder.add_conditional_edges("classify", live(after_classify), ["plan", "review", "finish"])
    builder.add_edge("plan", "attempt")
    builder.add_conditional_edges("attempt", live(route), ["attempt", "escalate", "review", "finish"])
    builder.add_edge("escalate", "plan")  # the stronger tier makes its own plan
    builder.add_edge("review", END)
    builder.add_edge("finish", END)
    return builder.compile(checkpointer=checkpointer)
