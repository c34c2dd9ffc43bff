"""Coder calls. Each is one request through the router to the tier the escalation matrix picked."""

from __future__ import annotations

from dataclasses import dataclass

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage

from agents.coder import prompts
from agents.coder.extract import split_code_and_tests
from agents.coder.schemas import CodePlan
from agents.llm.router import ModelRouter
from agents.verification.judge import Judge, JudgeVerdict
from agents.verification.judge_prompt import build_messages

MAX_FEEDBACK_CHARS = 3000
MAX_ECHOED_CODE_CHARS = 6000


@dataclass(frozen=True)
class CodeDraft:
    code: str
    tests: str  # empty when the caller supplied tests (or the model wrote none)


def plan_code(router: ModelRouter, tier: str, spec: str, context: str | None = None) -> list[str]:
    messages = [
        SystemMessage(content=prompts.PLAN_SYSTEM),
        HumanMessage(content=prompts.PLAN_USER.format(spec=spec.strip(), context=prompts.context_block(context))),
    ]
    return list(router.structured(tier, CodePlan, messages, purpose="code planning").steps)


def generate_code(
    router: ModelRouter,
    tier: str,
    spec: str,
    *,
    want_tests: bool,
    plan: list[str] | None = None,
    context: str | None = None,
    previous_code: str = "",
    feedback: str = "",
    handoff: str = "",
) -> CodeDraft:
    """A first draft, or (with previous code and verifier feedback) a self-debugging retry.

    `previous_code` and `feedback` must be this tier's own; after an escalation the caller passes only `handoff`
    (agents.coder.handoff.handoff_note: which checks a smaller tier failed, without its code).
    """
    what = prompts.WANT_CODE_AND_TESTS if want_tests else prompts.WANT_CODE
    messages: list[BaseMessage] = [
        SystemMessage(content=prompts.SYSTEM),
        HumanMessage(
            content=prompts.CODE_USER.format(
                spec=spec.strip(),
                context=prompts.context_block(context),
                plan=prompts.plan_block(plan or []),
                handoff=prompts.handoff_block(handoff),
                what=what,
            )
        ),
    ]
    if feedback:
        messages.append(
            HumanMessage(
                content=prompts.RETRY_USER.format(
                    code=previous_code[-MAX_ECHOED_CODE_CHARS:], feedback=feedback[-MAX_FEEDBACK_CHARS:], what=what
                )
            )
        )
    code, tests = split_code_and_tests(router.complete(tier, messages))
    return CodeDraft(code=code, tests=tests if want_tests else "")


def router_judge(router: ModelRouter, tier: str) -> Judge:
    """The verification judge, answered by a router tier (so it is metered and fails over like any call)."""

    def judge(spec: str, code: str) -> JudgeVerdict:
        pairs = build_messages(spec, code)
        messages = [SystemMessage(content=pairs[0][1]), HumanMessage(content=pairs[1][1])]
        return router.structured(tier, JudgeVerdict, messages, purpose="code review")

    return judge
