"""Model-free task edits with Task Master's names and semantics: the one layer the CLI and the MCP server call.

Every function takes a `TaskFile` (one tag of one tasks.json), does a single locked read-modify-write, and returns
plain JSON-ready data. Failures raise `tasks.errors.TaskError` subclasses whose message is one actionable sentence.
New tasks and subtasks get the keys, in the order, that task-master-ai 0.43.1 writes, so a file edited here reads
the same in `task-master`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from tasks.dependencies import add_dependency
from tasks.errors import DependencyError, TaskError, TaskNotFound
from tasks.model import Priority, Task, TaskStatus
from tasks.select import now_iso, parse_status, set_status, touch
from tasks.store import TaskFile, new_tag_metadata, tag_section
from tasks.tree import find_task, iter_tasks, next_child_id, parent_of, resolve_dependency

# Fields `update_task` may set; keys are Task Master's JSON names.
UPDATABLE_FIELDS = ("title", "description", "details", "testStrategy", "priority")


def _ids(task_ids: str | int | Iterable[str | int]) -> list[str]:
    """Comma-separated or listed ids, trimmed, in order, without blanks."""
    parts = str(task_ids).split(",") if isinstance(task_ids, (str, int)) else [str(item) for item in task_ids]
    ids = [part.strip() for part in parts if part.strip()]
    if not ids:
        raise TaskError("no task id given; pass ids like 3 or 3,4 or 3.2")
    return ids


def _priority(value: str | None) -> Priority:
    try:
        return Priority(str(value or "medium").strip().lower())
    except ValueError:
        choices = ", ".join(member.value for member in Priority)
        raise TaskError(f"unknown priority {value!r}; use one of: {choices}") from None


def _split_parent(full_id: str) -> tuple[str, int]:
    parent, _, local = full_id.rpartition(".")
    return parent, int(local)


def _siblings(tasks: list[Task], full_id: str) -> list[Task]:
    parent = parent_of(tasks, full_id)
    return tasks if parent is None else parent.subtasks


def _new_task(
    task_id: int,
    title: str,
    description: str,
    details: str,
    test_strategy: str,
    dependencies: list[int | str],
    priority: Priority,
) -> Task:
    """A top-level task shaped like Task Master's manual `add-task` writes it."""
    return Task.model_validate(
        {
            "id": task_id,
            "title": title,
            "description": description,
            "details": details,
            "testStrategy": test_strategy,
            "status": TaskStatus.PENDING.value,
            "dependencies": dependencies,
            "priority": priority.value,
            "subtasks": [],
        }
    )


def add_task(
    store: TaskFile,
    *,
    title: str,
    description: str = "",
    details: str = "",
    test_strategy: str = "",
    priority: str | None = "medium",
    dependencies: Sequence[str | int] = (),
) -> dict[str, Any]:
    """Append a new top-level task (next free id); dependencies must exist. Returns the task's JSON."""
    if not title.strip():
        raise TaskError("a task needs a title; pass --title (or --prompt to have the model write one)")
    level = _priority(priority)
    with store.edit() as tasks:
        task_id = next_child_id(tasks)
        task = _new_task(task_id, title.strip(), description, details, test_strategy, [], level)
        tasks.append(task)
        for dep in dependencies:
            add_dependency(tasks, str(task_id), str(dep))
        return task.to_json()


def add_subtask(
    store: TaskFile,
    parent_id: str | int,
    *,
    title: str | None = None,
    description: str = "",
    details: str = "",
    status: str = "pending",
    dependencies: Sequence[str | int] = (),
    task_id: str | int | None = None,
) -> dict[str, Any]:
    """Add a subtask under `parent_id`: a new one from `title`, or convert top-level task `task_id` into one.

    Converting (Task Master's `add-subtask --task-id`) moves the task under the parent with the next free subtask
    id and rewrites every dependency that pointed at it. Returns `{"id": full id, "subtask": JSON}`.
    """
    parent_key = str(parent_id).strip()
    with store.edit() as tasks:
        parent = find_task(tasks, parent_key)
        new_local = next_child_id(parent)
        full_id = f"{parent_key}.{new_local}"
        if task_id is not None:
            source_key = str(task_id).strip()
            if "." in source_key:
                raise TaskError(f"--task-id {source_key} is a subtask; give a top-level task id to convert")
            if source_key == parent_key.split(".")[0]:
                raise TaskError(f"task {source_key} cannot become a subtask of itself or its own subtask")
            source = find_task(tasks, source_key)
            tasks.remove(source)
            _move_references(tasks, source_key, full_id, moved=source)
            source.id = new_local
            parent.subtasks.append(source)
            subtask = source
        else:
            if not (title or "").strip():
                raise TaskError("a new subtask needs --title (or use --task-id to convert an existing task)")
            subtask = Task.model_validate(
                {
                    "id": new_local,
                    "title": (title or "").strip(),
                    "description": description,
                    "details": details,
                    "status": parse_status(status).value,
                    "dependencies": [],
                }
            )
            parent.subtasks.append(subtask)
            for dep in dependencies:
                add_dependency(tasks, full_id, str(dep))
        touch(parent)
        return {"id": full_id, "subtask": subtask.to_json()}


def update_task(
    store: TaskFile, task_id: str | int, *, fields: dict[str, Any] | None = None, append: str | None = None
) -> dict[str, Any]:
    """Set any of UPDATABLE_FIELDS on one task or subtask, and/or append a timestamped note to its details
    (Task Master's `<info added on …>` block, as `update-task --append` writes).

    Done tasks are refused, as Task Master refuses to rewrite completed work. Returns the task's JSON.
    """
    changes = dict(fields or {})
    unknown = sorted(set(changes) - set(UPDATABLE_FIELDS))
    if unknown:
        raise TaskError(f"cannot update {', '.join(unknown)}; updatable fields: {', '.join(UPDATABLE_FIELDS)}")
    key = str(task_id).strip()
    with store.edit() as tasks:
        task = find_task(tasks, key)
        if task.status in (TaskStatus.DONE, TaskStatus.COMPLETED):
            raise TaskError(f"task {key} is done; set it back to pending first if it really needs changing")
        for name, value in changes.items():
            if name == "priority":
                task.priority = _priority(value)
            elif name == "testStrategy":
                task.test_strategy = str(value)
            else:
                setattr(task, name, str(value))
        stamp = now_iso()
        if append:
            block = f"<info added on {stamp}>\n{append.strip()}\n</info added on {stamp}>"
            task.details = f"{task.details}\n{block}" if task.details else block
        touch(task, stamp)
        return task.to_json()


def update_subtask(store: TaskFile, subtask_id: str | int, note: str) -> dict[str, Any]:
    """Append a timestamped note to a subtask's details, in Task Master's `<info added on …>` block form."""
    key = str(subtask_id).strip()
    if "." not in key:
        raise TaskError(f"{key} is not a subtask id; use the parent.sub form, e.g. {key}.1")
    if not note.strip():
        raise TaskError("nothing to add; pass the note with --prompt")
    with store.edit() as tasks:
        subtask = find_task(tasks, key)
        stamp = now_iso()
        block = f"<info added on {stamp}>\n{note.strip()}\n</info added on {stamp}>"
        subtask.details = f"{subtask.details}\n{block}" if subtask.details else block
        touch(subtask, stamp)
        return {"id": key, "subtask": subtask.to_json()}


def remove_subtask(store: TaskFile, subtask_ids: str | Iterable[str], *, convert: bool = False) -> list[dict[str, Any]]:
    """Delete subtasks, or with `convert` turn each into a new top-level task (Task Master's `--convert`).

    Dependencies on a deleted subtask are removed everywhere; on a converted one they are rewritten.
    Returns one `{"removed": id}` or `{"removed": id, "converted_to": new id}` per subtask.
    """
    results: list[dict[str, Any]] = []
    with store.edit() as tasks:
        for key in _ids(subtask_ids):
            if "." not in key:
                raise TaskError(f"{key} is not a subtask id; use remove-task for top-level tasks")
            subtask = find_task(tasks, key)
            parent = parent_of(tasks, key)
            assert parent is not None
            parent.subtasks.remove(subtask)
            touch(parent)
            if convert:
                new_id = next_child_id(tasks)
                _move_references(tasks, key, str(new_id), moved=subtask)
                subtask.id = new_id
                tasks.append(subtask)
                results.append({"removed": key, "converted_to": str(new_id)})
            else:
                _drop_references(tasks, {key, *(f"{key}.{sub}" for sub, _ in iter_tasks(subtask.subtasks))})
                results.append({"removed": key})
    return results


def clear_subtasks(store: TaskFile, task_ids: str | Iterable[str] | None = None) -> list[str]:
    """Remove all subtasks of the given tasks, or of every task when `task_ids` is None; returns ids cleared."""
    cleared: list[str] = []
    with store.edit() as tasks:
        targets = [str(task.id) for task in tasks] if task_ids is None else _ids(task_ids)
        for key in targets:
            task = find_task(tasks, key)
            if task.subtasks:
                gone = {full_id for full_id, _ in iter_tasks(task.subtasks, prefix=f"{key}.")}
                task.subtasks = []
                _drop_references(tasks, gone)
                touch(task)
                cleared.append(key)
    return cleared


def remove_task(store: TaskFile, task_ids: str | Iterable[str]) -> list[str]:
    """Delete tasks or subtasks and every dependency on them (in this tag), as Task Master does."""
    removed: list[str] = []
    with store.edit() as tasks:
        for key in _ids(task_ids):
            task = find_task(tasks, key)
            _siblings(tasks, key).remove(task)
            gone = {key, *(full_id for full_id, _ in iter_tasks(task.subtasks, prefix=f"{key}."))}
            _drop_references(tasks, gone)
            removed.append(key)
    return removed


def set_task_status(store: TaskFile, task_ids: str | Iterable[str], status: str) -> list[str]:
    """`set-status` for comma-separated ids; returns every full id whose status changed (incl. rolled-up parents)."""
    new_status = parse_status(status)
    with store.edit() as tasks:
        return [changed for key in _ids(task_ids) for changed in set_status(tasks, key, new_status)]


def move_task(store: TaskFile, from_ids: str, to_ids: str) -> list[dict[str, str]]:
    """Task Master's `move --from --to` within one tag, for comma-separated pairs.

    task → new top-level id (renumber), subtask → subtask (same or another parent), subtask → top-level task,
    task → subtask of another task. The destination id must be free (Task Master refuses to overwrite), except
    that a subtask destination under an existing parent takes the next free id if its number is taken.
    Dependencies on the moved task are rewritten to its new id.
    """
    sources, destinations = _ids(from_ids), _ids(to_ids)
    if len(sources) != len(destinations):
        raise TaskError(f"--from has {len(sources)} id(s) but --to has {len(destinations)}; give one --to per --from")
    moves: list[dict[str, str]] = []
    with store.edit() as tasks:
        for source_key, dest_key in zip(sources, destinations, strict=True):
            moves.append({"from": source_key, "to": _move_one(tasks, source_key, dest_key)})
    return moves


def move_between_tags(
    tasks_path: Path | str,
    task_ids: str | Iterable[str],
    from_tag: str,
    to_tag: str,
    *,
    with_dependencies: bool = False,
    ignore_dependencies: bool = False,
) -> dict[str, Any]:
    """Task Master's `move --from <ids> --from-tag A --to-tag B`: move top-level tasks (with subtasks) to another tag.

    Ids keep their numbers; a number already used in the target tag is refused. Dependencies that cross the two
    tags are refused unless `with_dependencies` (also move everything the tasks depend on, transitively) or
    `ignore_dependencies` (drop the crossing dependencies on both sides). Returns `{"moved": [...], "to": tag}`.
    """
    if from_tag == to_tag:
        raise TaskError(f"--from-tag and --to-tag are both {from_tag!r}; use move --from/--to within a tag")
    wanted = _ids(task_ids)
    if any("." in key for key in wanted):
        raise TaskError("only top-level tasks move between tags; move the subtask to top level first")
    source_file, target_file = TaskFile(tasks_path, from_tag), TaskFile(tasks_path, to_tag)
    with source_file.edit_document() as document:
        source_section = tag_section(document, from_tag)
        if source_section is None:
            raise TaskError(f"tag {from_tag!r} does not exist; run `taskmaster tags` to see tags")
        target_section = tag_section(document, to_tag)
        source = source_file._parse_tasks(source_section["tasks"], from_tag, strict=True)
        target = target_file._parse_tasks(target_section["tasks"], to_tag, strict=True) if target_section else []
        by_id = {str(task.id): task for task in source}
        for key in wanted:
            find_task(source, key)
        moving = set(wanted)

        def top_level_deps(task_key: str) -> set[str]:
            return {
                resolve_dependency(full_id, dep).split(".")[0]
                for full_id, item in iter_tasks([by_id[task_key]])
                for dep in item.dependencies
            } - {task_key}

        if with_dependencies:
            queue = list(moving)
            while queue:
                for dep in top_level_deps(queue.pop()):
                    if dep in by_id and dep not in moving:
                        moving.add(dep)
                        queue.append(dep)
        crossing = sorted(
            {f"{key} → {dep}" for key in moving for dep in top_level_deps(key) if dep not in moving and dep in by_id}
            | {f"{key} → {dep}" for key in by_id if key not in moving for dep in top_level_deps(key) if dep in moving}
        )
        if crossing and not ignore_dependencies:
            raise DependencyError(
                f"moving would split dependencies across tags ({', '.join(crossing)}); "
                "add --with-dependencies or --ignore-dependencies"
            )
        taken = {task.id for task in target}
        clash = sorted(int(key) for key in moving if int(key) in taken)
        if clash:
            raise TaskError(
                f"task {clash[0]} already exists in tag {to_tag!r}; renumber it with move --from/--to first"
            )
        moved = [task for task in source if str(task.id) in moving]
        staying = [task for task in source if str(task.id) not in moving]
        gone_from_source = {full_id for task in moved for full_id, _ in iter_tasks([task])}
        _drop_references(staying, gone_from_source)
        stayed_ids = {full_id for task in staying for full_id, _ in iter_tasks([task])}
        _drop_references(moved, stayed_ids)
        for task in moved:
            touch(task)
        source_section["tasks"] = [task.to_json() for task in staying]
        if target_section is None:
            target_section = {"tasks": [], "metadata": new_tag_metadata(to_tag)}
            document[to_tag] = target_section
        target_section["tasks"] = [*(task.to_json() for task in target), *(task.to_json() for task in moved)]
        for section in (source_section, target_section):
            if isinstance(section.get("metadata"), dict):
                section["metadata"]["updated"] = now_iso()
    return {"moved": sorted(moving, key=int), "from": from_tag, "to": to_tag}


def _move_one(tasks: list[Task], source_key: str, dest_key: str) -> str:
    moving = find_task(tasks, source_key)
    if "." in dest_key:
        dest_parent_key, dest_local = _split_parent(dest_key)
        dest_parent = find_task(tasks, dest_parent_key)
        if dest_key == source_key or dest_parent is moving or dest_key.startswith(f"{source_key}."):
            raise TaskError(f"cannot move {source_key} into itself")
        if any(child.id == dest_local for child in dest_parent.subtasks if child is not moving):
            dest_local = next_child_id(dest_parent)
            dest_key = f"{dest_parent_key}.{dest_local}"
        _siblings(tasks, source_key).remove(moving)
        _move_references(tasks, source_key, dest_key, moved=moving)
        moving.id = dest_local
        dest_parent.subtasks.append(moving)
        touch(dest_parent)
    else:
        try:
            dest_local = int(dest_key)
        except ValueError:
            raise TaskNotFound(f"destination {dest_key!r} is not an id like 7 or 7.2") from None
        if any(task.id == dest_local for task in tasks):
            raise TaskError(f"task {dest_local} already exists; move to an unused id (Task Master refuses too)")
        _siblings(tasks, source_key).remove(moving)
        _move_references(tasks, source_key, dest_key, moved=moving)
        moving.id = dest_local
        tasks.append(moving)
    touch(moving)
    return dest_key


def _stored(owner_id: str, target: str) -> int | str:
    """Stored form of a dependency from `owner_id` on `target` (sibling/top-level int, else dotted string)."""
    owner_parts, target_parts = owner_id.split("."), target.split(".")
    if len(owner_parts) == len(target_parts) and owner_parts[:-1] == target_parts[:-1]:
        return int(target_parts[-1])
    return target


def _drop_references(tasks: list[Task], gone: set[str]) -> None:
    for full_id, task in iter_tasks(tasks):
        kept = [dep for dep in task.dependencies if resolve_dependency(full_id, dep) not in gone]
        if len(kept) != len(task.dependencies):
            task.dependencies = kept


def _move_references(tasks: list[Task], old: str, new: str, *, moved: Task) -> None:
    """Re-point dependencies after `moved` goes from full id `old` to `new` (it is already detached from `tasks`).

    Dependencies are resolved with the owners' *old* ids first, then stored in the form their new place needs.
    """

    def renamed(full_id: str) -> str:
        if full_id == old:
            return new
        if full_id.startswith(f"{old}."):
            return new + full_id[len(old) :]
        return full_id

    old_prefix = old.rpartition(".")[0] + "." if "." in old else ""
    # `moved` still carries its old local id, so under the old prefix it yields its old full ids.
    owners: list[tuple[str, Task]] = [*iter_tasks(tasks), *iter_tasks([moved], prefix=old_prefix)]
    updates: list[tuple[Task, list[int | str]]] = []
    for owner_old_id, owner in owners:
        owner_new_id = renamed(owner_old_id)
        new_deps: list[int | str] = []
        changed = False
        for dep in owner.dependencies:
            target_old = resolve_dependency(owner_old_id, dep)
            target_new = renamed(target_old)
            if target_new == target_old and owner_new_id == owner_old_id:
                new_deps.append(dep)
                continue
            form = _stored(owner_new_id, target_new)
            if "." in owner_new_id and isinstance(form, str) and "." not in form:
                changed = True  # a subtask cannot name a top-level task in Task Master's format: drop it
                continue
            if isinstance(dep, str) and isinstance(form, int):
                form = str(form)  # keep tm-core's string form
            changed = changed or form != dep
            new_deps.append(form)
        if changed:
            updates.append((owner, new_deps))
    for owner, deps in updates:
        owner.dependencies = deps
