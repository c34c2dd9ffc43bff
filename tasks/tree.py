"""Navigation over nested tasks by full dotted id ("3", "3.2", "3.2.1").

Task Master stores only the local id on each subtask, so the full id is always derived from the path; these helpers
are the one place that derivation lives.
"""

from collections.abc import Iterator, Sequence

from tasks.errors import TaskError, TaskNotFound
from tasks.model import Task


def iter_tasks(tasks: Sequence[Task], prefix: str = "") -> Iterator[tuple[str, Task]]:
    """Yield `(full_id, task)` depth-first, parents before their subtasks."""
    for task in tasks:
        full_id = f"{prefix}{task.id}"
        yield full_id, task
        yield from iter_tasks(task.subtasks, prefix=f"{full_id}.")


def _split(full_id: str | int) -> list[int]:
    parts = str(full_id).strip().split(".")
    try:
        return [int(part) for part in parts]
    except ValueError:
        raise TaskNotFound(
            f"task id {full_id!r} is not a dotted number like 3 or 3.2; run `taskmaster list` to see ids"
        ) from None


def _not_found(full_id: str | int) -> TaskNotFound:
    return TaskNotFound(f"task {full_id} not found; run `taskmaster list` to see ids")


def find_task(tasks: Sequence[Task], full_id: str | int) -> Task:
    """Return the task at `full_id`, or raise TaskNotFound with a hint for the user."""
    level: Sequence[Task] = tasks
    found: Task | None = None
    parts = _split(full_id)
    for depth, local_id in enumerate(parts):
        matches = [task for task in level if task.id == local_id]
        if not matches:
            raise _not_found(full_id)
        if len(matches) > 1:
            place = ".".join(str(part) for part in parts[: depth + 1])
            raise TaskError(
                f"task id {place} is ambiguous: {len(matches)} tasks share it; give them distinct ids by hand "
                "(`taskmaster validate-dependencies` lists every duplicate)"
            )
        found = matches[0]
        level = found.subtasks
    assert found is not None  # _split never returns an empty list
    return found


def parent_of(tasks: Sequence[Task], full_id: str | int) -> Task | None:
    """The task containing `full_id`, or None for a top-level id; raises TaskNotFound if `full_id` is missing."""
    parts = _split(full_id)
    find_task(tasks, full_id)
    if len(parts) == 1:
        return None
    return find_task(tasks, ".".join(str(part) for part in parts[:-1]))


def next_child_id(task_or_list: Task | Sequence[Task]) -> int:
    """Next free local id among a task's subtasks (or a top-level list): max + 1, like Task Master."""
    children = task_or_list.subtasks if isinstance(task_or_list, Task) else task_or_list
    return max((child.id for child in children), default=0) + 1


def resolve_dependency(full_id_of_owner: str, dep: int | str) -> str:
    """Turn a stored dependency into a full id, as Task Master's `toFullSubId` does.

    On a subtask ("3.2"), any dependency without a dot names a sibling, whether stored as `1` or `"1"`: it means
    "3.1". A dotted string ("4.1") is already a full id. On a top-level task every form is a full id as written.
    (So a subtask cannot depend on a top-level task in Task Master's format; `add_dependency` refuses that.)
    """
    text = str(dep).strip()
    owner_parts = str(full_id_of_owner).split(".")
    if len(owner_parts) == 1 or "." in text:
        return text
    return ".".join([*owner_parts[:-1], text])


def duplicate_ids(tasks: Sequence[Task], prefix: str = "") -> list[str]:
    """Full ids that more than one sibling uses (each reported once), at any depth; iterative for deep trees."""
    found: list[str] = []
    stack: list[tuple[Sequence[Task], str]] = [(tasks, prefix)]
    while stack:
        level, level_prefix = stack.pop()
        seen: set[int] = set()
        for task in level:
            full_id = f"{level_prefix}{task.id}"
            if task.id in seen and full_id not in found:
                found.append(full_id)
            seen.add(task.id)
            stack.append((task.subtasks, f"{full_id}."))
    return found
