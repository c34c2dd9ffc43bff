"""Task Master's editing tools, thin shells over the TasksAPI the CLI also uses (ws.tasks): add_task, add_subtask,
update_task, update_subtask, update, remove_task, remove_subtask, clear_subtasks, move_task, add_tag, use_tag,
delete_tag, rename_tag, copy_tag, generate.

As in the CLI, a `prompt` is written up by the local model (the API asks agents/planner/editor.py) on the server's
process-wide router; fields given directly and `noAi` notes need no model. The model runs before the edit, so no
lock is held across a model call, and every edit is one locked atomic write: a refused edit leaves tasks.json
untouched.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.types import CallToolResult, ToolAnnotations
from pydantic import Field

from taskmaster.mcp.jobs import Job, run_job
from taskmaster.mcp.models import MODELS
from taskmaster.mcp.project import File, ProjectRoot, Tag, id_list, tasks_for
from taskmaster.mcp.results import ToolInputError, ok, tool_errors

if TYPE_CHECKING:
    from agents.llm.router import ModelRouter
    from taskmaster.workspace.tasks_api import TasksAPI

Deps = Annotated[str | None, Field(description="Comma-separated ids this task depends on.")]
Skip = Annotated[bool | None, Field(description="Ignored: there are no per-task files to regenerate.")]
Research = Annotated[bool | None, Field(description="Add context retrieved from the local knowledge base.")]
Profile = Annotated[str | None, Field(description="Model profile for the prompt forms.")]


def _router(api: TasksAPI) -> ModelRouter:
    """The server's process-wide router for this project and profile (the model starts once, not per call)."""
    return MODELS.router(api.workspace.settings)


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
    if bool(prompt) == bool(title):
        raise ToolInputError("give either title (manual) or prompt (the model writes the task), not both")
    with tasks_for(projectRoot, tag, file, profile) as api:

        def add(job: Job | None = None) -> Any:
            return api.add(
                title,
                prompt=prompt,
                description=description,
                details=details,
                test_strategy=testStrategy,
                priority=priority,
                dependencies=_deps(dependencies),
                research=bool(research),
                router=_router(api) if prompt else None,
            )

        created = await run_job(ctx, add) if prompt else add()
    task = created.task.to_json()
    return ok(f"Added task {created.id}: {created.task.title}", {"task": task, "tag": created.tag})


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
    with tasks_for(projectRoot, tag, file) as api:
        added = api.add_subtask(
            id,
            title,
            description=description,
            details=details,
            status=status or "pending",
            dependencies=_deps(dependencies),
            task_id=taskId,
        )
    return ok(f"Added subtask {added.id}: {added.task.title}", {"id": added.id, "subtask": added.task.to_json()})


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
    if metadata:
        raise ToolInputError("metadata is not supported; set title, description, details, testStrategy or priority")
    if not prompt and all(v is None for v in (title, description, details, testStrategy, priority)):
        raise ToolInputError("nothing to change: give prompt, or fields like title, details or priority")
    with tasks_for(projectRoot, tag, file, profile) as api:

        def update(job: Job | None = None) -> Any:
            return api.update(
                id,
                prompt=prompt,
                append=bool(append),
                title=title,
                description=description,
                details=details,
                test_strategy=testStrategy,
                priority=priority,
                research=bool(research),
                router=_router(api) if prompt else None,
            )

        updated = await run_job(ctx, update) if prompt else update()
    noted = bool(prompt and append)
    data = {"task": updated.task.to_json(), "tag": updated.tag}
    return ok(f"{'Appended a note to' if noted else 'Updated'} task {id}.", data)


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
    if metadata:
        raise ToolInputError("metadata is not supported; pass the note as prompt")
    if not (prompt or "").strip():
        raise ToolInputError("nothing to add; pass the note as prompt")
    if "." not in id:
        raise ToolInputError(f"{id} is not a subtask id; use the parent.sub form, e.g. {id}.1")
    with tasks_for(projectRoot, tag, file, profile) as api:

        def note(job: Job | None = None) -> Any:
            return api.update_subtask(
                id,
                prompt or "",
                use_model=not noAi,
                research=bool(research),
                router=None if noAi else _router(api),
            )

        noted = note() if noAi else await run_job(ctx, note)
    return ok(f"Appended a note to subtask {id}.", {"id": noted.id, "subtask": noted.task.to_json()})


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
    if not prompt.strip():
        raise ToolInputError("nothing to change; pass the change as prompt")
    try:
        start = int(str(from_ or "1").strip())
    except ValueError:
        raise ToolInputError(f"from must be a top-level task id like 4, not {from_!r}") from None
    with tasks_for(projectRoot, tag, file, profile) as api:
        statuses = ("pending", "in-progress", "blocked")
        if not any(t.id >= start and str(t.status) in statuses for t in api.list().tasks):
            raise ToolInputError(f"no pending tasks with id {start} or higher; see get_tasks")

        def work(job: Job) -> Any:
            def progress(message: str, total: int) -> None:
                job.progress(message, total)
                job.check()

            return api.update_from(start, prompt, research=bool(research), router=_router(api), on_progress=progress)

        updated = await run_job(ctx, work)
    keys = [entry.id for entry in updated]
    return ok(
        f"Updated {len(updated)} task(s) from {start}.", {"updated": keys, "tasks": [e.task.to_json() for e in updated]}
    )


@tool_errors
async def remove_task(
    id: Annotated[str, Field(description="Task or subtask id(s) to remove, comma-separated.")],
    file: File = None,
    projectRoot: ProjectRoot = None,
    confirm: Annotated[bool | None, Field(description="Ignored: the call itself is the confirmation.")] = None,
    tag: Tag = None,
) -> CallToolResult:
    """Remove tasks or subtasks, and every dependency on them."""
    ids = id_list(id)
    with tasks_for(projectRoot, tag, file) as api:
        removed = api.remove(ids)
    return ok(f"Removed {', '.join(removed)}.", {"removed": removed, "tag": api.tag})


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
    ids = id_list(id)
    with tasks_for(projectRoot, tag, file) as api:
        results = api.remove_subtask(ids, convert=bool(convert))
    data = {"results": [r.model_dump(exclude_none=True) for r in results]}
    return ok(f"{'Converted' if convert else 'Removed'} {id}.", data)


@tool_errors
async def clear_subtasks(
    id: Annotated[str | None, Field(description="Task id(s), comma-separated; or use all.")] = None,
    all: Annotated[bool | None, Field(description="Clear the subtasks of every task.")] = None,
    file: File = None,
    projectRoot: ProjectRoot = None,
    tag: Tag = None,
) -> CallToolResult:
    """Remove all subtasks of the given tasks (or of every task)."""
    if not id and not all:
        raise ToolInputError("give id (comma-separated task ids) or all=true")
    ids = None if all else id_list(id or "")
    with tasks_for(projectRoot, tag, file) as api:
        cleared = api.clear_subtasks(ids)
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
    with tasks_for(projectRoot, tag, file) as api:
        if toTag and toTag != (fromTag or api.tag):
            moved = api.move_to_tag(
                id_list(from_),
                toTag,
                from_tag=fromTag,
                with_dependencies=bool(withDependencies),
                ignore_dependencies=bool(ignoreDependencies),
            )
            data = {"moved": moved.moved, "from": moved.from_tag, "to": moved.to_tag}
            return ok(f"Moved {from_} to tag {toTag}.", data)
        if not to:
            raise ToolInputError("give to (the destination id), or toTag to move to another tag")
        moves = api.move(from_, to)
    return ok(
        ", ".join(f"{m.from_id} → {m.to_id}" for m in moves), {"moves": [m.model_dump(by_alias=True) for m in moves]}
    )


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
    if fromBranch:
        raise ToolInputError("fromBranch is not supported; pass the tag name")
    with tasks_for(projectRoot, file=file) as api:
        source = copyFromTag or (api.tag if copyFromCurrent else None)
        created = api.add_tag(name, copy_from=source, description=description)
    return ok(f"Created tag {name} with {created.tasks} task(s).", created.model_dump())


@tool_errors
async def use_tag(
    name: Annotated[str, Field(description="Tag to switch to.")], file: File = None, projectRoot: ProjectRoot = None
) -> CallToolResult:
    """Make a tag the current one (state.json), as Task Master's use_tag does."""
    with tasks_for(projectRoot, file=file) as api:
        current = api.use_tag(name)
    return ok(f"Current tag: {name}.", {"currentTag": current})


@tool_errors
async def delete_tag(
    name: Annotated[str, Field(description="Tag to delete.")],
    yes: Annotated[bool | None, Field(description="Ignored: the call itself is the confirmation.")] = None,
    file: File = None,
    projectRoot: ProjectRoot = None,
) -> CallToolResult:
    """Delete a tag and its tasks (not master)."""
    with tasks_for(projectRoot, file=file) as api:
        deleted = api.delete_tag(name)
    return ok(f"Deleted tag {name} ({deleted.tasks} task(s)).", deleted.model_dump())


@tool_errors
async def rename_tag(
    oldName: Annotated[str, Field(description="Current name.")],
    newName: Annotated[str, Field(description="New name.")],
    file: File = None,
    projectRoot: ProjectRoot = None,
) -> CallToolResult:
    """Rename a tag (not master)."""
    with tasks_for(projectRoot, file=file) as api:
        renamed = api.rename_tag(oldName, newName)
    return ok(f"Renamed tag {oldName} to {newName}.", renamed.model_dump(by_alias=True))


@tool_errors
async def copy_tag(
    sourceName: Annotated[str, Field(description="Tag to copy.")],
    targetName: Annotated[str, Field(description="Name of the new tag.")],
    description: Annotated[str | None, Field(description="Description of the new tag.")] = None,
    file: File = None,
    projectRoot: ProjectRoot = None,
) -> CallToolResult:
    """Copy a tag's tasks into a new tag."""
    with tasks_for(projectRoot, file=file) as api:
        copied = api.copy_tag(sourceName, targetName, description=description)
    return ok(f"Copied {sourceName} to {targetName} ({copied.tasks} task(s)).", copied.model_dump())


@tool_errors
async def generate(
    output: Annotated[str | None, Field(description="Directory (default: next to tasks.json).")] = None,
    file: File = None,
    projectRoot: ProjectRoot = None,
    tag: Tag = None,
) -> CallToolResult:
    """Write one task_NNN.txt file per task, as Task Master's generate does."""
    with tasks_for(projectRoot, tag, file) as api:
        written = api.generate(output)
    directory = Path(output).expanduser() if output else api.tasks_file.parent
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
