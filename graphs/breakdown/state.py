"""Breakdown state. Nodes are kept flat (dotted id → plain dict) so parallel branches merge cleanly
and every checkpoint is plain JSON-able data."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from typing_extensions import TypedDict  # pydantic (Studio's input forms) needs it on Python 3.11

Mode = Literal["parse", "expand", "analyze"]


def merge_dicts(left: dict[str, Any] | None, right: dict[str, Any] | None) -> dict[str, Any]:
    """Reducer: later writes to the same key win (branches only write their own keys)."""
    merged = dict(left or {})
    for key, value in (right or {}).items():
        merged[key] = {**merged[key], **value} if isinstance(value, dict) and key in merged else value
    return merged


def append(left: list[Any] | None, right: list[Any] | None) -> list[Any]:
    return [*(left or []), *(right or [])]


class PlanNode(TypedDict, total=False):
    id: str
    parent: str | None
    depth: int  # 0 = the top level of this run
    order: int
    title: str
    description: str
    details: str
    testStrategy: str
    priority: str
    dependencies: list[int | str]
    complexity: int | None
    recommended: int | None
    scored: bool
    expanded: bool
    force_children: int | None  # expand exactly this many children regardless of complexity
    existing: bool  # was already in tasks.json when the run started
    next_child: int  # first free subtask number when appending children
    replace_children: bool  # expand --force: the new subtasks replace the old ones


class BreakdownInput(TypedDict, total=False):
    mode: Mode
    source_text: str
    num_tasks: int
    first_id: int
    roots: list[PlanNode]
    research_context: str | None


class BreakdownOutput(TypedDict, total=False):
    """What a run returns: the tree, every planned node with its scores, what went wrong, whether it was written."""

    tasks: list[dict[str, Any]]  # the finished tree (Task Master JSON)
    nodes: Annotated[dict[str, Any], merge_dicts]  # dotted id → PlanNode (complexity scores, parents)
    problems: Annotated[list[str], append]  # tasks that could not be scored or expanded, and why
    written: bool  # False when the context has no tasks file (the tree is only returned)


class BreakdownState(BreakdownInput, BreakdownOutput, total=False):
    sections: list[str]
    drafts: Annotated[dict[str, Any], merge_dicts]  # section index (str) → list of draft dicts
