"""Task Master's model-free task tools (get_tasks, get_task, next_task, set_task_status, dependencies, tags,
complexity_report): thin shells over the TasksAPI (ws.tasks), as the CLI's list/show/next/set-status commands are.

Nothing here imports a model stack: these answer in milliseconds (bench/mcp_latency.py).
"""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import MCPServer
from mcp.types import CallToolResult, ToolAnnotations
from pydantic import Field

from taskmaster.mcp.project import File, ProjectRoot, Tag, id_list, tasks_for
from taskmaster.mcp.results import ok, tool_errors

STATUSES = ["pending", "in-progress", "done", "review", "deferred", "cancelled", "blocked", "completed"]
TaskIds = Annotated[str, Field(description='Task id, or comma-separated ids, e.g. "1", "1.2" or "1,3.2".')]


def _task_json(full_id: str, task: Any, *, with_subtasks: bool = True, status: set[str] | None = None) -> dict:
    # A freshly loaded task has nothing mutated in place, so a plain dump equals `to_json()` without its
    # per-field default checks (those cost ~2 ms a task: 200 tasks would blow the 50 ms budget alone).
    data = {
        **task.model_dump(by_alias=True, mode="json", exclude_unset=True),
        "id": full_id if "." in full_id else task.id,
    }
    if not with_subtasks:
        data.pop("subtasks", None)
    elif status is not None and "subtasks" in data:
        data["subtasks"] = [s for s in data["subtasks"] if s.get("status", "pending") in status]
    return data


def _status_filter(status: str | None) -> set[str] | None:
    return {s.strip() for s in status.split(",") if s.strip()} if status else None


@tool_errors
async def get_tasks(
    projectRoot: ProjectRoot = None,
    status: Annotated[
        str | None, Field(description="Filter by status (e.g. 'pending', 'done'); comma-separate several.")
    ] = None,
    withSubtasks: Annotated[bool | None, Field(description="Include subtasks nested in their parents.")] = None,
    tag: Tag = None,
    file: File = None,
) -> CallToolResult:
    """Get all tasks of a tag, optionally filtered by status, with or without their subtasks."""
    with tasks_for(projectRoot, tag, file) as api:
        listing = api.list(status)
    stats = {"total": listing.total, "withSubtasks": sum(listing.by_status.values()), "byStatus": listing.by_status}
    data = {
        "tasks": [_task_json(str(t.id), t, with_subtasks=bool(withSubtasks)) for t in listing.tasks],
        "filter": status or "all",
        "tag": listing.tag,
        "stats": stats,
    }
    summary = f"{len(listing.tasks)} of {listing.total} tasks in tag {listing.tag!r}" + (
        f" with status {status}" if status else ""
    )
    return ok(summary, data)


@tool_errors
async def get_task(
    id: TaskIds,
    status: Annotated[str | None, Field(description="Filter subtasks by status (e.g. 'pending', 'done').")] = None,
    projectRoot: ProjectRoot = None,
    tag: Tag = None,
    file: File = None,
) -> CallToolResult:
    """Get one task (or several, comma-separated) with its subtasks."""
    ids = id_list(id)
    with tasks_for(projectRoot, tag, file) as api:
        entries = api.get_many(ids)
    found = [_task_json(e.id, e.task, status=_status_filter(status)) for e in entries]
    if len(found) == 1:
        return ok(f"Task {ids[0]}: {found[0]['title']} ({found[0].get('status', 'pending')})", {"task": found[0]})
    return ok(f"{len(found)} tasks: {', '.join(ids)}", {"tasks": found})


@tool_errors
async def next_task(
    file: File = None,
    complexityReport: Annotated[
        str | None, Field(description="Ignored: complexity is stored on the tasks themselves.")
    ] = None,
    projectRoot: ProjectRoot = None,
    tag: Tag = None,
) -> CallToolResult:
    """The next task to work on: pending or in-progress, every dependency done, by priority (Task Master's rule)."""
    with tasks_for(projectRoot, tag, file) as api:
        picked = api.next()
    if picked is None:
        return ok(
            "Nothing is ready: every task is done, blocked by dependencies, or deferred.",
            {"nextTask": None, "tag": api.tag},
        )
    return ok(
        f"Next: task {picked.id}: {picked.task.title}",
        {"nextTask": _task_json(picked.id, picked.task), "tag": api.tag},
    )


@tool_errors
async def set_task_status(
    id: TaskIds,
    status: Annotated[str, Field(description="New status.", json_schema_extra={"enum": STATUSES})],
    file: File = None,
    complexityReport: Annotated[str | None, Field(description="Ignored (complexity lives on the tasks).")] = None,
    projectRoot: ProjectRoot = None,
    tag: Tag = None,
) -> CallToolResult:
    """Set the status of one or more tasks or subtasks; done also completes their subtasks."""
    ids = id_list(id)
    with tasks_for(projectRoot, tag, file) as api:
        change = api.set_status(ids, status)
    return ok(
        f"Set {', '.join(change.changed) or id} to {status}.",
        {"updated": change.changed, "status": status, "tag": change.tag},
    )


@tool_errors
async def add_dependency(
    id: Annotated[str, Field(description="ID of the task that will depend on another task.")],
    dependsOn: Annotated[str, Field(description="ID of the task that will become a dependency.")],
    file: File = None,
    projectRoot: ProjectRoot = None,
    tag: Tag = None,
) -> CallToolResult:
    """Make a task depend on another; refused if it would create a cycle."""
    with tasks_for(projectRoot, tag, file) as api:
        api.add_dependency(id, dependsOn)
    return ok(f"Task {id} now depends on {dependsOn}.", {"id": id, "dependsOn": dependsOn})


@tool_errors
async def remove_dependency(
    id: Annotated[str, Field(description="Task ID to remove the dependency from.")],
    dependsOn: Annotated[str, Field(description="Task ID to remove as a dependency.")],
    file: File = None,
    projectRoot: ProjectRoot = None,
    tag: Tag = None,
) -> CallToolResult:
    """Remove a dependency from a task."""
    with tasks_for(projectRoot, tag, file) as api:
        removed = api.remove_dependency(id, dependsOn).changed
    summary = f"Removed {id} → {dependsOn}." if removed else f"Task {id} did not depend on {dependsOn}."
    return ok(summary, {"id": id, "dependsOn": dependsOn, "removed": removed})


@tool_errors
async def validate_dependencies(file: File = None, projectRoot: ProjectRoot = None, tag: Tag = None) -> CallToolResult:
    """Check for missing references, self-references and cycles (changes nothing)."""
    with tasks_for(projectRoot, tag, file) as api:
        problems = [p.message for p in api.validate_dependencies().problems]
    summary = "Dependencies are valid." if not problems else f"{len(problems)} dependency problem(s): {problems[0]}"
    return ok(summary, {"valid": not problems, "problems": problems})


@tool_errors
async def fix_dependencies(file: File = None, projectRoot: ProjectRoot = None, tag: Tag = None) -> CallToolResult:
    """Remove missing and self references; cycles are reported for you to break."""
    with tasks_for(projectRoot, tag, file) as api:
        check = api.validate_dependencies(fix=True)
    fixed, remaining = check.fixed, [p.message for p in check.problems]
    summary = f"Fixed {len(fixed)} problem(s)" + (f"; {len(remaining)} remain: {remaining[0]}" if remaining else ".")
    return ok(summary, {"fixed": fixed, "remaining": remaining})


@tool_errors
async def complexity_report(
    file: Annotated[
        str | None, Field(description="Report file (default: this tag's, under .taskmaster/reports/).")
    ] = None,
    projectRoot: ProjectRoot = None,
    tag: Tag = None,
) -> CallToolResult:
    """The complexity report analyze_project_complexity wrote for this tag (Task Master's report file)."""
    with tasks_for(projectRoot, tag) as api:
        shown = api.complexity_report(api.on(tasks_file=file).tasks_file if file else None)
    rows = shown.report["complexityAnalysis"]
    return ok(f"{len(rows)} scored task(s) in {shown.path}", {**shown.report, "reportPath": str(shown.path)})


@tool_errors
async def list_tags(
    showMetadata: Annotated[bool | None, Field(description="Include each tag's metadata.")] = None,
    file: File = None,
    projectRoot: ProjectRoot = None,
) -> CallToolResult:
    """List the tags with their task counts; `current` is the tag tools use when a call names none."""
    with tasks_for(projectRoot, file=file) as api:
        rows = api.tags(metadata=bool(showMetadata))
    tags = [row.model_dump(exclude=None if showMetadata else {"metadata"}) for row in rows]
    current = next((row.name for row in rows if row.current), api.tag)
    return ok(f"{len(tags)} tag(s); current: {current}", {"tags": tags, "currentTag": current})


READ_ONLY = ToolAnnotations(read_only_hint=True)
TOOLS: list[tuple[Any, bool]] = [
    (get_tasks, True),
    (get_task, True),
    (next_task, True),
    (set_task_status, False),
    (add_dependency, False),
    (remove_dependency, False),
    (validate_dependencies, True),
    (fix_dependencies, False),
    (complexity_report, True),
    (list_tags, True),
]


def register(server: MCPServer) -> None:
    for fn, read_only in TOOLS:
        server.add_tool(fn, name=fn.__name__, annotations=READ_ONLY if read_only else None)
