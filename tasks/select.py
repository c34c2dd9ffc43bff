"""Choosing what to work on next, and status changes that ripple to subtasks, following Task Master."""

from collections.abc import Callable, Sequence

from tasks.errors import TaskError
from tasks.model import Priority, Task, TaskStatus
from tasks.tree import find_task, iter_tasks, resolve_dependency

_WORKABLE = frozenset({TaskStatus.PENDING, TaskStatus.IN_PROGRESS})


def _id_key(full_id: str) -> tuple[int, ...]:
    return tuple(int(part) for part in full_id.split("."))


def next_task(tasks: Sequence[Task]) -> tuple[str, Task] | None:
    """The task Task Master's `next` command would pick, as `(full_id, task)`, or None if nothing is workable.

    Mirrors `findNextTask` in Task Master's `scripts/modules/task-manager/find-next-task.js`:

    1. A task is *eligible* when its status is pending or in-progress and every dependency is done.
    2. First, look only at subtasks of parents whose status is in-progress (finish what was started). A subtask
       without its own priority inherits the parent's. Sort by priority (high > medium > low), then fewest
       dependencies, then parent id, then subtask id, and return the first.
    3. Otherwise pick among eligible top-level tasks with the same ordering: priority, fewest dependencies, lowest id.

    Generalised for deeper nesting: in-progress parents at any depth offer their direct subtasks in step 2, and
    "done" is looked up across all depths. Dependencies resolve as `resolve_dependency` does (an int on a subtask
    is a sibling; a string is a full id), where Task Master would also read a dot-less string on a subtask as a
    sibling.
    """
    ready = ready_tasks(tasks)
    return ready[0] if ready else None


def ready_tasks(
    tasks: Sequence[Task], *, skip: Callable[[str, Task], bool] | None = None
) -> list[tuple[str, Task]]:
    """Every eligible task in `next_task` order (its first item is what `next` picks), minus those `skip` rejects.

    The autonomous loop takes several at once for parallel work and skips tasks other runs hold.
    """
    done = {full_id for full_id, task in iter_tasks(tasks) if task.status == TaskStatus.DONE}

    def eligible(full_id: str, task: Task) -> bool:
        if skip is not None and skip(full_id, task):
            return False
        return task.status in _WORKABLE and all(resolve_dependency(full_id, dep) in done for dep in task.dependencies)

    subtask_candidates: list[tuple[tuple[int, int, tuple[int, ...]], str, Task]] = []
    for parent_id, parent in iter_tasks(tasks):
        if parent.status != TaskStatus.IN_PROGRESS:
            continue
        for subtask in parent.subtasks:
            full_id = f"{parent_id}.{subtask.id}"
            if not eligible(full_id, subtask):
                continue
            priority = subtask.priority if "priority" in subtask.model_fields_set else parent.priority
            key = (-priority.rank, len(subtask.dependencies), _id_key(full_id))
            subtask_candidates.append((key, full_id, subtask))
    ordered = [(full_id, subtask) for _, full_id, subtask in sorted(subtask_candidates, key=lambda c: c[0])]
    top_level = [(str(task.id), task) for task in tasks if eligible(str(task.id), task)]
    top_level.sort(key=lambda item: (-Priority(item[1].priority).rank, len(item[1].dependencies), item[1].id))
    return ordered + top_level


def set_status(tasks: Sequence[Task], full_id: str | int, status: TaskStatus | str) -> list[str]:
    """Set a task's status; marking it done also marks every unfinished descendant done, as Task Master does.

    Returns the full ids whose status actually changed, so callers can report them.
    """
    try:
        new_status = TaskStatus(status)
    except ValueError:
        choices = ", ".join(member.value for member in TaskStatus)
        raise TaskError(f"unknown status {status!r}; use one of: {choices}") from None
    target_id = str(full_id).strip()
    target = find_task(tasks, target_id)
    changed: list[str] = []
    if target.status != new_status:
        target.status = new_status
        changed.append(target_id)
    if new_status == TaskStatus.DONE:
        for sub_id, subtask in iter_tasks(target.subtasks, prefix=f"{target_id}."):
            if subtask.status != TaskStatus.DONE:
                subtask.status = TaskStatus.DONE
                changed.append(sub_id)
    return changed
