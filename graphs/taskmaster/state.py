"""State of the autonomous loop: plain JSON-able data, so a run killed at any point resumes from its checkpoint."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from typing_extensions import TypedDict  # pydantic (Studio's input forms) needs it on Python 3.11

StopReason = Literal["all_done", "nothing_ready", "max_tasks", "max_minutes", "token_budget", "human_review", "error"]
Outcome = Literal["done", "review", "deferred", "expanded", "error", "superseded"]


def append(left: list[Any] | None, right: list[Any] | None) -> list[Any]:
    return [*(left or []), *(right or [])]


class WorkResult(TypedDict, total=False):
    ticket: dict[str, Any]  # tasks.board.Ticket as a dict
    kind: str  # research, code, plan or breakdown
    why: str  # why this kind was chosen
    outcome: Outcome
    reason: str  # for review, deferred and error: what to do about it
    details: str | None  # text appended to the task's details
    test_strategy: str | None
    artifacts: list[str]
    input_tokens: int
    output_tokens: int
    seconds: float


class TaskmasterInput(TypedDict, total=False):
    source_text: str | None  # a PRD or goal that seeds an empty tag before the loop starts


class TaskmasterOutput(TypedDict, total=False):
    """What a run returns: every task's result on this thread, why the loop stopped, and what it noticed."""

    results: Annotated[list[WorkResult], append]
    stop_reason: StopReason | None
    notes: Annotated[list[str], append]


class TaskmasterState(TaskmasterInput, TaskmasterOutput, total=False):
    seeded: bool
    batch: list[dict[str, Any]]
    applied: int  # results[:applied] are written to the tasks file
