"""Planner calls behind the editing commands: one structured request each, through the router.

The model proposes text; the model-free layer (tasks/editing.py) applies it under the tasks.json lock, so no lock
is ever held across a model call.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel

from agents.llm.bounded import BoundedStr
from agents.planner import editor_prompts as prompts
from agents.planner.schemas import TaskDraft

if TYPE_CHECKING:
    from agents.llm.router import ModelRouter
    from tasks.model import Task

ROLE = "planner"


class TaskRevision(BaseModel):
    title: BoundedStr(100, min_length=3)
    description: BoundedStr(300, min_length=1)
    details: BoundedStr(600, description="How to implement it.")
    test_strategy: BoundedStr(300, description="How to verify it is done.")
    priority: Literal["high", "medium", "low"]


class SubtaskNote(BaseModel):
    note: BoundedStr(600, min_length=3, description="Findings, decisions or next steps.")


def _messages(system: str, user: str) -> list:
    from langchain_core.messages import HumanMessage, SystemMessage

    return [SystemMessage(content=system), HumanMessage(content=user)]


def draft_task(router: ModelRouter, request: str, existing: list[tuple[str, str]]) -> TaskDraft:
    """A new task for `request`, written knowing the titles of the existing tasks."""
    user = prompts.DRAFT_USER.format(existing=prompts.task_lines(existing), request=request.strip())
    return router.structured(ROLE, TaskDraft, _messages(prompts.DRAFT_SYSTEM, user), purpose="add-task")


def revise_task(
    router: ModelRouter,
    *,
    title: str,
    description: str,
    details: str,
    test_strategy: str,
    priority: str,
    change: str,
) -> TaskRevision:
    """The task rewritten for `change` (update-task / update)."""
    user = prompts.REVISE_USER.format(
        title=title,
        description=description or "-",
        details=details or "-",
        test_strategy=test_strategy or "-",
        priority=priority,
        change=change.strip(),
    )
    return router.structured(ROLE, TaskRevision, _messages(prompts.REVISE_SYSTEM, user), purpose="update-task")


def subtask_note(router: ModelRouter, *, title: str, description: str, details: str, update: str) -> str:
    """The note update-subtask appends (Task Master has the model write it from the user's prompt)."""
    user = prompts.NOTE_USER.format(
        title=title, description=description or "-", details=(details or "-")[-1500:], update=update.strip()
    )
    return router.structured(ROLE, SubtaskNote, _messages(prompts.NOTE_SYSTEM, user), purpose="update-subtask").note


def revision_fields(router: ModelRouter, task: Task, change: str) -> dict[str, Any]:
    """revise_task for a stored task, as the tasks.json fields update-task and update write (CLI and MCP alike)."""
    revised = revise_task(
        router,
        title=task.title,
        description=task.description,
        details=task.details,
        test_strategy=task.test_strategy,
        priority=str(task.priority),
        change=change,
    )
    return {
        "title": revised.title,
        "description": revised.description,
        "details": revised.details,
        "testStrategy": revised.test_strategy,
        "priority": revised.priority,
    }


def task_note(router: ModelRouter, task: Task, update: str) -> str:
    """subtask_note for a stored task or subtask."""
    return subtask_note(router, title=task.title, description=task.description, details=task.details, update=update)
