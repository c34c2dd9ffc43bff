"""Task Master's editing tools on the editing layer the CLI also uses (tasks/editing.py, tasks/tags.py): add_task,
add_subtask, update_task, update_subtask, update, remove_task, remove_subtask, clear_subtasks, move_task, add_tag,
use_tag, delete_tag, rename_tag, copy_tag, generate.

As in the CLI, a `prompt` is written up by the local model (agents/planner/editor.py: draft_task, revise_task,
subtask_note) on the process-wide router; fields given directly and `noAi` notes need no model. The model runs
before the edit, so no lock is held across a model call, and every edit is one locked atomic write: a refused edit
leaves tasks.json untouched.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.types import CallToolResult, ToolAnnotations
from pydantic import Field

from taskmaster.mcp.jobs import run_job
from taskmaster.mcp.models import MODELS
from taskmaster.mcp.project import File, ProjectRoot, Tag, id_list, settings_for, task_file
from taskmaster.mcp.results import ToolInputError, ok, tool_errors

Deps = Annotated[str | None, Field(description="Comma-separated ids this task depends on.")]
Skip = Annotated[bool | None, Field(description="Ignored: there are no per-task files to regenerate.")]
Research = Annotated[bool | None, Field(description="Add context retrieved from the local knowledge base.")]
Profile = Annotated[str | None, Field(description="Model profile for the prompt forms.")]


def _change(settings: Any, prompt: str, research: bool | None) -> str:
    if not research:
        return prompt
    from taskmaster.workspace.research_context import retrieve_context

    return prompt + f"\n\nBackground:\n{retrieve_context(settings, prompt) or ''}"


def _revision(router: Any, task: Any, change: str) -> dict[str, Any]:
    """The CLI's update-task revision (agents/planner/editor.py), imported when a prompt needs the model."""
    from agents.planner.editor import revision_fields

    return revision_fields(router, task, change)


def _note(router: Any, task: Any, change: str) -> str:
    from agents.planner.editor import task_note

    return task_note(router, task, change)


def _deps(dependencies: str | None) -> list[str]:
    return id_list(dependencies) if dependencies and dependencies.strip() else []


@tool_errors
async def add_task(
    ctx: Context,
    prompt: Annotated[str | None, Field(description="What the task is about; the local model writes it.")] = None,
    title: Annotated[str | None, Field(description="Task title (manual creation).")] = None,
    description: Annotated[str | None, Field(description="Task description.")] = None,
    details: Annotated[str | None, Field(description="Implementation details.")] = None,
    testStrategy: Annotated[str | None, Field(description="Test strategy.")] = None,
    dependencies: Deps = None,
    priority: Annotated[str | None, Field(description="critical, high, medium or low.")] = None,
    file: File = None,
    projectRoot: ProjectRoot = None,
    tag: Tag = None,
    research: Research = None,
    profile: Profile = None,
) -> CallToolResult:
    """Add a top-level task with the next free id: manual (title) or written by the model from prompt."""
    from tasks.editing import add_task as add

    if bool(prompt) == bool(title):
        raise ToolInputError("give either title (manual) or prompt (the model writes the task), not both")
    settings = settings_for(projectRoot, tag, profile)
    store = task_file(settings, file)
    fields: dict[str, Any] = {
        "title": title or "",
        "description": description or "",
        "details": details or "",
        "test_strategy": testStrategy or "",
        "priority": priority,
    }
    if prompt:
        from agents.planner.editor import draft_task

        existing = [(str(t.id), t.title) for t in store.load()]
        change = prompt
        draft = await run_job(
            ctx, lambda job: draft_task(MODELS.router(settings), _change(settings, change, research), existing)
        )
        fields = {
            "title": draft.title,
            "description": description or draft.description,
            "details": details or draft.details,
            "test_strategy": testStrategy or draft.test_strategy,
            "priority": priority or draft.priority,
        }
    task = add(store, dependencies=_deps(dependencies), **fields)
    return ok(f"Added task {task['id']}: {task['title']}", {"task": task, "tag": settings.tag})


@tool_errors
async def add_subtask(
    id: Annotated[str, Field(description="Parent task id.")],
    taskId: Annotated[str | None, Field(description="Existing top-level task to convert into a subtask.")] = None,
    title: Annotated[str | None, Field(description="Title of a new subtask.")] = None,
    description: Annotated[str | None, Field(description="Description of the new subtask.")] = None,
    details: Annotated[str | None, Field(description="Details of the new subtask.")] = None,
    status: Annotated[str | None, Field(description="Status of the new subtask (default pending).")] = None,
    dependencies: Deps = None,
    file: File = None,
    skipGenerate: Skip = None,
    projectRoot: ProjectRoot = None,
    tag: Tag = None,
) -> CallToolResult:
    """Add a subtask to a task, or convert an existing top-level task into one."""
    from tasks.editing import add_subtask as add

    settings = settings_for(projectRoot, tag)
    result = add(
        task_file(settings, file),
        id,
        title=title,
        description=description or "",
        details=details or "",
        status=status or "pending",
        dependencies=_deps(dependencies),
        task_id=taskId,
    )
    return ok(f"Added subtask {result['id']}: {result['subtask']['title']}", result)


@tool_errors
async def update_task(
    ctx: Context,
    id: Annotated[str, Field(description="Task or subtask id to update.")],
    prompt: Annotated[str | None, Field(description="The change; the local model rewrites the task for it.")] = None,
    research: Research = None,
    append: Annotated[
        bool | None, Field(description="Append a timestamped note (written by the model) instead of rewriting.")
    ] = None,
    metadata: Annotated[str | None, Field(description="Not supported.")] = None,
    title: Annotated[str | None, Field(description="New title (no model).")] = None,
    description: Annotated[str | None, Field(description="New description (no model).")] = None,
    details: Annotated[str | None, Field(description="New details (no model).")] = None,
    testStrategy: Annotated[str | None, Field(description="New test strategy (no model).")] = None,
    priority: Annotated[str | None, Field(description="New priority (no model).")] = None,
    file: File = None,
    projectRoot: ProjectRoot = None,
    tag: Tag = None,
    profile: Profile = None,
) -> CallToolResult:
    """Change one task: fields directly, or rewritten by the model from prompt (append: a timestamped note)."""
    from tasks.editing import update_task as update_one
    from tasks.tree import find_task

    if metadata:
        raise ToolInputError("metadata is not supported; set title, description, details, testStrategy or priority")
    fields = {
        name: value
        for name, value in (
            ("title", title),
            ("description", description),
            ("details", details),
            ("testStrategy", testStrategy),
            ("priority", priority),
        )
        if value is not None
    }
    if not prompt and not fields:
        raise ToolInputError("nothing to change: give prompt, or fields like title, details or priority")
    settings = settings_for(projectRoot, tag, profile)
    store = task_file(settings, file)
    note = None
    if prompt:
        task = find_task(store.load(), id)
        change = _change(settings, prompt, research)
        if append:
            note = await run_job(ctx, lambda job: _note(MODELS.router(settings), task, change))
        else:
            fields = {**await run_job(ctx, lambda job: _revision(MODELS.router(settings), task, change)), **fields}
    updated = update_one(store, id, fields=fields, append=note)
    return ok(f"{'Appended a note to' if note else 'Updated'} task {id}.", {"task": updated, "tag": settings.tag})


@tool_errors
async def update_subtask(
    ctx: Context,
    id: Annotated[str, Field(description='Subtask id in parent.sub form, e.g. "5.2".')],
    prompt: Annotated[str | None, Field(description="What to add; the local model writes the note.")] = None,
    research: Research = None,
    metadata: Annotated[str | None, Field(description="Not supported.")] = None,
    file: File = None,
    projectRoot: ProjectRoot = None,
    tag: Tag = None,
    noAi: Annotated[bool | None, Field(description="Append the prompt as is, without the model.")] = None,
    profile: Profile = None,
) -> CallToolResult:
    """Append a timestamped note to a subtask's details (Task Master's <info added on …> block)."""
    from tasks.editing import update_subtask as update_one
    from tasks.tree import find_task

    if metadata:
        raise ToolInputError("metadata is not supported; pass the note as prompt")
    if not (prompt or "").strip():
        raise ToolInputError("nothing to add; pass the note as prompt")
    if "." not in id:
        raise ToolInputError(f"{id} is not a subtask id; use the parent.sub form, e.g. {id}.1")
    settings = settings_for(projectRoot, tag, profile)
    store = task_file(settings, file)
    note = prompt or ""
    if not noAi:
        subtask = find_task(store.load(), id)
        change = _change(settings, note, research)
        note = await run_job(ctx, lambda job: _note(MODELS.router(settings), subtask, change))
    result = update_one(store, id, note)
    return ok(f"Appended a note to subtask {id}.", result)


@tool_errors
async def update(
    ctx: Context,
    prompt: Annotated[str, Field(description="The change; the model rewrites every pending task from `from` on.")],
    from_: Annotated[str | None, Field(alias="from", description="First task id to update (default 1).")] = None,
    research: Research = None,
    file: File = None,
    projectRoot: ProjectRoot = None,
    tag: Tag = None,
    profile: Profile = None,
) -> CallToolResult:
    """Rewrite every pending top-level task with id ≥ from with the local model, following prompt."""
    from tasks.editing import update_task as update_one

    if not prompt.strip():
        raise ToolInputError("nothing to change; pass the change as prompt")
    try:
        start = int(str(from_ or "1").strip())
    except ValueError:
        raise ToolInputError(f"from must be a top-level task id like 4, not {from_!r}") from None
    settings = settings_for(projectRoot, tag, profile)
    store = task_file(settings, file)
    targets = [t for t in store.load() if t.id >= start and str(t.status) in ("pending", "in-progress", "blocked")]
    if not targets:
        raise ToolInputError(f"no pending tasks with id {start} or higher; see get_tasks")
    change = _change(settings, prompt, research)

    def work(job: Any) -> list[tuple[str, dict[str, Any]]]:
        router = MODELS.router(settings)
        revisions = []
        for task in targets:
            revisions.append((str(task.id), _revision(router, task, change)))
            job.progress(f"revised task {task.id}", len(targets))
            job.check()
        return revisions

    revisions = await run_job(ctx, work)
    updated = [update_one(store, key, fields=fields) for key, fields in revisions]  # no lock across model calls
    return ok(f"Updated {len(updated)} task(s) from {start}.", {"updated": [k for k, _ in revisions], "tasks": updated})


@tool_errors
async def remove_task(
    id: Annotated[str, Field(description="Task or subtask id(s) to remove, comma-separated.")],
    file: File = None,
    projectRoot: ProjectRoot = None,
    confirm: Annotated[bool | None, Field(description="Ignored: the call itself is the confirmation.")] = None,
    tag: Tag = None,
) -> CallToolResult:
    """Remove tasks or subtasks, and every dependency on them."""
    from tasks.editing import remove_task as remove

    settings = settings_for(projectRoot, tag)
    removed = remove(task_file(settings, file), id_list(id))
    return ok(f"Removed {', '.join(removed)}.", {"removed": removed, "tag": settings.tag})


@tool_errors
async def remove_subtask(
    id: Annotated[str, Field(description="Subtask id(s) in parent.sub form, comma-separated.")],
    convert: Annotated[bool | None, Field(description="Make it a top-level task instead of deleting it.")] = None,
    file: File = None,
    skipGenerate: Skip = None,
    projectRoot: ProjectRoot = None,
    tag: Tag = None,
) -> CallToolResult:
    """Remove subtasks, or convert them to top-level tasks."""
    from tasks.editing import remove_subtask as remove

    settings = settings_for(projectRoot, tag)
    results = remove(task_file(settings, file), id_list(id), convert=bool(convert))
    return ok(f"{'Converted' if convert else 'Removed'} {id}.", {"results": results})


@tool_errors
async def clear_subtasks(
    id: Annotated[str | None, Field(description="Task id(s), comma-separated; or use all.")] = None,
    all: Annotated[bool | None, Field(description="Clear the subtasks of every task.")] = None,
    file: File = None,
    projectRoot: ProjectRoot = None,
    tag: Tag = None,
) -> CallToolResult:
    """Remove all subtasks of the given tasks (or of every task)."""
    from tasks.editing import clear_subtasks as clear

    if not id and not all:
        raise ToolInputError("give id (comma-separated task ids) or all=true")
    settings = settings_for(projectRoot, tag)
    cleared = clear(task_file(settings, file), None if all else id_list(id or ""))
    return ok(f"Cleared subtasks of {', '.join(cleared) or 'no task'}.", {"cleared": cleared})


@tool_errors
async def move_task(
    from_: Annotated[str, Field(alias="from", description='Id(s) to move, e.g. "5" or "5.2" or "5,6".')],
    to: Annotated[str | None, Field(description="Destination id(s), one per source; omit for cross-tag moves.")] = None,
    file: File = None,
    projectRoot: ProjectRoot = None,
    tag: Tag = None,
    fromTag: Annotated[str | None, Field(description="Source tag for cross-tag moves.")] = None,
    toTag: Annotated[str | None, Field(description="Target tag for cross-tag moves.")] = None,
    withDependencies: Annotated[bool | None, Field(description="Move the tasks' dependencies along.")] = None,
    ignoreDependencies: Annotated[bool | None, Field(description="Drop dependencies that cross tags.")] = None,
) -> CallToolResult:
    """Move tasks or subtasks to new ids within a tag, or top-level tasks to another tag."""
    from tasks.editing import move_between_tags
    from tasks.editing import move_task as move

    settings = settings_for(projectRoot, tag)
    store = task_file(settings, file)
    if toTag and toTag != (fromTag or settings.tag):
        result = move_between_tags(
            store.path,
            id_list(from_),
            fromTag or settings.tag,
            toTag,
            with_dependencies=bool(withDependencies),
            ignore_dependencies=bool(ignoreDependencies),
        )
        return ok(f"Moved {from_} to tag {toTag}.", result)
    if not to:
        raise ToolInputError("give to (the destination id), or toTag to move to another tag")
    moves = move(store, from_, to)
    return ok(", ".join(f"{m['from']} → {m['to']}" for m in moves), {"moves": moves})


@tool_errors
async def add_tag(
    name: Annotated[str, Field(description="Name of the new tag.")],
    copyFromCurrent: Annotated[bool | None, Field(description="Copy the current tag's tasks.")] = None,
    copyFromTag: Annotated[str | None, Field(description="Copy this tag's tasks.")] = None,
    fromBranch: Annotated[bool | None, Field(description="Not supported (name the tag yourself).")] = None,
    description: Annotated[str | None, Field(description="Tag description.")] = None,
    file: File = None,
    projectRoot: ProjectRoot = None,
) -> CallToolResult:
    """Create a tag, empty or as a copy of another."""
    from tasks.tags import add_tag as add

    if fromBranch:
        raise ToolInputError("fromBranch is not supported; pass the tag name")
    settings = settings_for(projectRoot)
    source = copyFromTag or (settings.tag if copyFromCurrent else None)
    result = add(task_file(settings, file).path, name, copy_from=source, description=description)
    return ok(f"Created tag {name} with {result['tasks']} task(s).", result)


@tool_errors
async def use_tag(
    name: Annotated[str, Field(description="Tag to switch to.")], file: File = None, projectRoot: ProjectRoot = None
) -> CallToolResult:
    """Make a tag the current one (state.json), as Task Master's use_tag does."""
    from tasks.tags import use_tag as use

    settings = settings_for(projectRoot)
    return ok(f"Current tag: {name}.", use(task_file(settings, file).path, name))


@tool_errors
async def delete_tag(
    name: Annotated[str, Field(description="Tag to delete.")],
    yes: Annotated[bool | None, Field(description="Ignored: the call itself is the confirmation.")] = None,
    file: File = None,
    projectRoot: ProjectRoot = None,
) -> CallToolResult:
    """Delete a tag and its tasks (not master)."""
    from tasks.tags import delete_tag as delete

    settings = settings_for(projectRoot)
    result = delete(task_file(settings, file).path, name)
    return ok(f"Deleted tag {name} ({result['tasks']} task(s)).", result)


@tool_errors
async def rename_tag(
    oldName: Annotated[str, Field(description="Current name.")],
    newName: Annotated[str, Field(description="New name.")],
    file: File = None,
    projectRoot: ProjectRoot = None,
) -> CallToolResult:
    """Rename a tag (not master)."""
    from tasks.tags import rename_tag as rename

    settings = settings_for(projectRoot)
    return ok(f"Renamed tag {oldName} to {newName}.", rename(task_file(settings, file).path, oldName, newName))


@tool_errors
async def copy_tag(
    sourceName: Annotated[str, Field(description="Tag to copy.")],
    targetName: Annotated[str, Field(description="Name of the new tag.")],
    description: Annotated[str | None, Field(description="Description of the new tag.")] = None,
    file: File = None,
    projectRoot: ProjectRoot = None,
) -> CallToolResult:
    """Copy a tag's tasks into a new tag."""
    from tasks.tags import copy_tag as copy

    settings = settings_for(projectRoot)
    result = copy(task_file(settings, file).path, sourceName, targetName, description=description)
    return ok(f"Copied {sourceName} to {targetName} ({result['tasks']} task(s)).", result)


@tool_errors
async def generate(
    output: Annotated[str | None, Field(description="Directory (default: next to tasks.json).")] = None,
    file: File = None,
    projectRoot: ProjectRoot = None,
    tag: Tag = None,
) -> CallToolResult:
    """Write one task_NNN.txt file per task, as Task Master's generate does."""
    from pathlib import Path

    from tasks.task_files import write_task_files

    settings = settings_for(projectRoot, tag)
    store = task_file(settings, file)
    directory = Path(output).expanduser() if output else store.path.parent
    written = write_task_files(store.load(), directory, store.tag)
    return ok(f"Wrote {len(written)} task file(s) to {directory}", {"files": [str(p) for p in written]})


def _wire_names(fn: Callable[..., Awaitable[CallToolResult]]) -> Callable[..., Awaitable[CallToolResult]]:
    """Task Master calls an argument `from`, a Python keyword: the SDK passes it by its alias, this maps it back."""

    @functools.wraps(fn)
    async def wrapper(**kwargs: Any) -> CallToolResult:
        if "from" in kwargs:
            kwargs["from_"] = kwargs.pop("from")
        return await fn(**kwargs)

    return wrapper


TOOLS = [
    add_task,
    add_subtask,
    update_task,
    update_subtask,
    update,
    remove_task,
    remove_subtask,
    clear_subtasks,
    move_task,
    add_tag,
    use_tag,
    delete_tag,
    rename_tag,
    copy_tag,
    generate,
]


def register(server: MCPServer) -> None:
    destructive = {"remove_task", "remove_subtask", "clear_subtasks", "delete_tag"}
    for fn in TOOLS:
        hints = ToolAnnotations(read_only_hint=False, destructive_hint=fn.__name__ in destructive)
        server.add_tool(_wire_names(fn), name=fn.__name__, annotations=hints)
