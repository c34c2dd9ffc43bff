"""Codegen state: plain JSON-able data so every checkpoint (and an interrupted review) survives a restart."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from typing_extensions import TypedDict  # pydantic (Studio's input forms) needs it on Python 3.11

Status = Literal["solved", "approved", "edited", "skipped", "failed"]


def append(left: list[Any] | None, right: list[Any] | None) -> list[Any]:
    return [*(left or []), *(right or [])]


class CodegenInput(TypedDict, total=False):
    spec: str
    title: str  # for the classifier; defaults to the spec's first line
    task_id: str
    task_type: str | None  # forces the type instead of classifying
    complexity: int | None
    tests: str | None  # given tests: the worker writes none and may not change these
    research_context: str | None


class CodegenOutput(TypedDict, total=False):
    """What a run returns: the code and its tests, how it was verified, who solved it after how many tries.

    While a human review is pending, `invoke` adds `__interrupt__` (the review's payload) and `status` is unset.
    """

    task_id: str
    task_type: str | None  # as given, or as classified
    complexity: int | None
    tests: str | None  # the given tests, if any
    classified_by: str
    plan: list[str]  # the last worker's plan
    code: str
    generated_tests: str
    passed: bool
    verification: dict[str, Any]
    history: Annotated[list[dict[str, Any]], append]  # one entry per attempt
    notes: Annotated[list[str], append]
    status: Status
    solved_by: str | None  # the worker tier whose code passed (or "human" after an edit)
    attempts: int  # attempts in all
    escalations: int
    review: dict[str, Any] | None


class CodegenState(CodegenInput, CodegenOutput, total=False):
    tier_index: int  # position in the rule's chain
    attempt: int  # attempts by the current worker
    feedback: str  # the current tier's own verifier errors, for its next self-debug attempt
    handoff: str  # after an escalation: which checks the smaller tier failed (never its code)
