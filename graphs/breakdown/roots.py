"""Seeds for an `expand` run: an existing task as the root node the breakdown graph grows subtasks under.

Shared by `taskmaster expand` and the autonomous loop's breakdown step, so both expand a task the same way.
"""

from __future__ import annotations

from typing import Any

from tasks.tree import next_child_id


def expansion_root(full_id: str, task: Any, *, count: int | None, force: bool) -> dict[str, Any]:
    """`task` is a tasks.model.Task; `count` forces that many subtasks, None lets the complexity score decide."""
    return {
        "id": full_id,
        "parent": None,
        "depth": 0,
        "order": task.id,
        "title": task.title,
        "description": task.description,
        "details": task.details,
        "complexity": task.complexity,
        "recommended": None,
        "scored": task.complexity is not None or count is not None,
        "expanded": False,
        "force_children": count,
        "next_child": 1 if force else next_child_id(task),
        "replace_children": force,
    }


def subtask_count(complexity: int | None, max_breadth: int, default: int = 3) -> int:
    """How many subtasks to ask for: about half the complexity score, within the breadth limit."""
    count = (complexity and max(1, round(complexity / 2))) or default
    return max(1, min(max_breadth, count))
