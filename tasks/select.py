"""Choosing what to work on next, and status changes that ripple to parents, following Task Master's tm-core."""

from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from tasks.errors import TaskError
from tasks.model import Task, TaskStatus
from tasks.tree import find_task, iter_tasks, parent_of, resolve_dependency

_WORKABLE = frozenset({TaskStatus.PENDING, TaskStatus.IN_PROGRESS})
# tm-core only counts these top-level tasks (and their subtasks) when it builds the set of completed ids.
_LISTED = frozenset({TaskStatus.PENDING, TaskStatus.IN_PROGRESS, TaskStatus.DONE})
_DONE_LIKE = frozenset({TaskStatus.DONE, TaskStatus.COMPLETED})


def _id_key(full_id: str) -> tuple[int, ...]:
    return tuple(int(part) for part in full_id.split("."))


def now_iso() -> str:
    """Timestamp in JavaScript's `toISOString()` form, which Task Master writes in `updatedAt`."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _completed_ids(tasks: Sequence[Task]) -> set[str]:
    """Full ids tm-core treats as satisfied: done tasks among pending/in-progress/done top-level tasks, and the
    done subtasks under those (at any depth here; tm-core has only one level)."""
    done: set[str] = set()
    for task in tasks:
        if task.status not in _LISTED:
            continue
        for full_id, item in iter_tasks([task]):
            if item.status == TaskStatus.DONE:
                done.add(full_id)
    return done


def next_task(tasks: Sequence[Task]) -> tuple[str, Task] | None:
    """The task Task Master's `next` command would pick, as `(full_id, task)`, or None if nothing is workable.

    Mirrors tm-core's `TaskService.getNextTask` (task-master-ai 0.43.1):

    1. Completed ids: done top-level tasks, and done subtasks of top-level tasks whose status is pending,
       in-progress or done (a done subtask under a `review` parent does not count, as in tm-core).
    2. First, subtasks of in-progress parents whose status is pending or in-progress and whose dependencies are all
       completed (`toFullSubId`: a dependency without a dot is a sibling). A subtask without a priority takes the
       parent's. Order: priority (critical > high > medium > low), fewest dependencies, parent id, subtask id.
    3. Otherwise top-level tasks that are pending or in-progress with all dependencies completed, same order.

    Deeper nesting (ours only): in-progress subtasks also offer their own subtasks in step 2.
    """
    ready = ready_tasks(tasks)
    return ready[0] if ready else None


def ready_tasks(tasks: Sequence[Task], *, skip: Callable[[str, Task], bool] | None = None) -> list[tuple[str, Task]]:
    """Every eligible task in `next_task` order (its first item is what `next` picks), minus those `skip` rejects.

    The autonomous loop takes several at once for parallel work and skips tasks other runs hold.
    """
    done = _completed_ids(tasks)

    def eligible(full_id: str, task: Task) -> bool:
        if skip is not None and skip(full_id, task):
            return False
        return task.status in _WORKABLE and all(resolve_dependency(full_id, dep) in done for dep in task.dependencies)

    subtask_candidates: list[tuple[tuple[int, int, tuple[int, ...]], str, Task]] = []
    for parent_id, parent in iter_tasks(tasks):
        if parent.status != TaskStatus.IN_PROGRESS:
            continue
        inherited = parent.priority_or(None)
        for subtask in parent.subtasks:
            full_id = f"{parent_id}.{subtask.id}"
            if not eligible(full_id, subtask):
                continue
            priority = subtask.priority_or(inherited)
            key = (-priority.rank, len(subtask.dependencies), _id_key(full_id))
            subtask_candidates.append((key, full_id, subtask))
    ordered = [(full_id, subtask) for _, full_id, subtask in sorted(subtask_candidates, key=lambda c: c[0])]
    top_level = [(str(task.id), task) for task in tasks if eligible(str(task.id), task)]
    top_level.sort(key=lambda item: (-item[1].priority.rank, len(item[1].dependencies), item[1].id))
    return ordered + top_level


def parse_status(status: TaskStatus | str) -> TaskStatus:
    """The status named by `status`, or a TaskError listing the valid ones."""
    try:
        return TaskStatus(str(status).strip())
    except ValueError:
        choices = ", ".join(member.value for member in TaskStatus)
        raise TaskError(f"unknown status {status!r}; use one of: {choices}") from None


def touch(task: Task, when: str | None = None) -> None:
    """Stamp `updatedAt` as Task Master does on every task it changes."""
    task.updatedAt = when or now_iso()  # an extra field: Task allows any Task Master key


def _rollup(children: Sequence[Task], current: TaskStatus) -> TaskStatus:
    """tm-core's parent rule: all done → done; any in-progress or done → in-progress; all pending → pending."""
    if not children:
        return current
    if all(child.status in _DONE_LIKE for child in children):
        return TaskStatus.DONE
    if any(child.status == TaskStatus.IN_PROGRESS or child.status in _DONE_LIKE for child in children):
        return TaskStatus.IN_PROGRESS
    if all(child.status == TaskStatus.PENDING for child in children):
        return TaskStatus.PENDING
    return current


def set_status(tasks: Sequence[Task], full_id: str | int, status: TaskStatus | str) -> list[str]:
    """Set a task's status the way tm-core's `updateTaskStatus` does; return the full ids whose status changed.

    A subtask's change re-derives its parent's status from all its siblings (`_rollup`), and, for our deeper
    trees, the grandparent's from the parent's and so on up. Marking a parent done does not touch its subtasks.
    Changed tasks and their parents get a fresh `updatedAt`, as Task Master writes.
    """
    new_status = parse_status(status)
    target_id = str(full_id).strip()
    target = find_task(tasks, target_id)
    if target.status == new_status:
        return []
    when = now_iso()
    target.status = new_status
    touch(target, when)
    changed = [target_id]
    child_id = target_id
    while (parent := parent_of(tasks, child_id)) is not None:
        parent_id = child_id.rsplit(".", 1)[0]
        rolled = _rollup(parent.subtasks, parent.status)
        touch(parent, when)
        if rolled == parent.status:
            break
        parent.status = rolled
        changed.append(parent_id)
        child_id = parent_id
    return changed
