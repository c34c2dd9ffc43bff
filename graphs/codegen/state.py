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


class CodegenState(CodegenInput, total=False):
    classified_by: str
    plan: list[str]
    tier_index: int  # position in the rule's chain
    attempt: int  # attempts by the current worker
    attempts: int  # attempts in all
    escalations: int
    code: str
    generated_tests: str
    feedback: str  # the current tier's own verifier errors, for its next self-debug attempt
    handoff: str  # after an escalation: which checks the smaller tier failed (never its code)
    passed: bool
    verification: dict[str, Any]
    history: Annotated[list[dict[str, Any]], append]
    notes: Annotated[list[str], append]
    status: Status
    solved_by: str | None  # the worker tier whose code passed (or "human" after an edit)
    review: dict[str, Any] | None
