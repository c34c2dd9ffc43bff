"""Task Master's model tools: parse_prd, expand_task, expand_all, analyze_project_complexity, research, models.

The planning tools call the same API functions as the CLI's parse-prd/expand/analyze-complexity
(taskmaster.workspace.planning: same graph, context and checkpoint thread ids, so a run interrupted in one resumes
in the other), on the process-wide router (models.py), in a worker thread that reports progress and stops at the
next graph step when the call is cancelled (jobs.py).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

from mcp.server.mcpserver import Context, MCPServer
from mcp.types import CallToolResult, ToolAnnotations
from pydantic import Field

from taskmaster.mcp.jobs import LABELS, Job, run_job
from taskmaster.mcp.models import MODELS
from taskmaster.mcp.project import File, ProjectRoot, Tag, as_int, require_default_file, settings_for
from taskmaster.mcp.results import ToolInputError, ok, tool_errors

if TYPE_CHECKING:
    from taskmaster.settings import Settings
    from taskmaster.workspace import Workspace
    from taskmaster.workspace.planning import ExpandResult
    from taskmaster.workspace.threads import OnUpdate

T = TypeVar("T")

Count = Annotated[str | int | None, Field(description="A whole number (Task Master passes it as a string).")]
Research = Annotated[bool | None, Field(description="Add context retrieved from the local knowledge base.")]
Profile = Annotated[str | None, Field(description="Model profile (embedded, ollama, vllm-2x4090, ...).")]
DEFAULT_PRD = Path(".taskmaster") / "docs" / "prd.txt"


def _workspace(settings: Settings, warnings: list[str]) -> Workspace:
    """A Workspace for one tool call on the server's shared router; its warnings (an empty knowledge base for
    `research`) go back in the tool's result."""
    return MODELS.workspace(settings, warn=warnings.append)


def _progress(job: Job, label: str) -> Callable[[str, Any], None]:
    """The API's on_update as MCP progress: counts of finished steps; a cancelled call stops at the next step."""
    counts: Counter[str] = Counter()

    def on_update(node: str, update: Any) -> None:
        counts[node] += 1
        done = ", ".join(f"{counts[n]} {LABELS[n]}" for n in LABELS if counts[n])
        job.progress(f"{label}: {done}" if done else f"{label}: {node}")
        job.check()

    return on_update


def _plan(job: Job, settings: Settings, label: str, call: Callable[..., T]) -> tuple[T, list[str]]:
    """Run one planning API call in the job's worker: `call(ws, on_update)`; returns its result and warnings."""
    warnings: list[str] = []
    job.progress(f"{label}: started")
    with _workspace(settings, warnings) as ws:
        return call(ws, _progress(job, label)), warnings


@tool_errors
async def parse_prd(
    ctx: Context,
    input: Annotated[
        str | None, Field(description="Path to the PRD (.txt, .md); default .taskmaster/docs/prd.txt.")
    ] = None,
    projectRoot: ProjectRoot = None,
    tag: Tag = None,
    output: Annotated[str | None, Field(description="Must be the project's tasks file if given.")] = None,
    numTasks: Count = None,
    force: Annotated[bool | None, Field(description="Replace the tag's existing tasks.")] = None,
    research: Research = None,
    append: Annotated[bool | None, Field(description="Append generated tasks to the existing ones.")] = None,
    depth: Annotated[int | None, Field(description="Levels of recursive expansion (default from settings).")] = None,
    profile: Profile = None,
) -> CallToolResult:
    """Turn a PRD into tasks, score them and expand complex ones recursively. Long: sends progress; a cancelled
    call keeps its checkpoint and the same call again resumes it."""
    from taskmaster.workspace import planning

    settings = settings_for(projectRoot, tag, profile)
    require_default_file(settings, output)
    num = as_int(numTasks, "numTasks")
    path = Path(input).expanduser() if input else DEFAULT_PRD

    def call(ws: Workspace, on_update: OnUpdate) -> planning.PlanResult:
        return planning.parse_prd(
            ws,
            path,
            num_tasks=num,
            depth=depth,
            append=bool(append),
            force=bool(force),
            research=bool(research),
            on_update=on_update,
        )

    result, warnings = await run_job(ctx, lambda job: _plan(job, settings, "planning", call))
    data = {
        "tasks": [t.to_json() for t in result.tasks],
        "tag": result.tag,
        "topLevel": result.top_level,
        "total": result.total,
        "thread": result.thread_id,
        "resumed": result.resumed,
        "problems": warnings + result.problems,
        "tasksFile": str(result.tasks_file),
    }
    summary = f"{len(result.tasks)} top-level tasks ({result.total} in all) written to {result.tasks_file}"
    return ok(summary + (" (resumed an interrupted run)" if result.resumed else ""), data)


def _expand(job: Job, settings: Settings, ids: list[str] | None, **options: Any) -> tuple[ExpandResult, dict]:
    """expand_task / expand_all in the job's worker: the API's expand, and the tool's data."""
    from taskmaster.workspace import planning

    def call(ws: Workspace, on_update: OnUpdate) -> ExpandResult:
        return planning.expand(ws, ids, all=ids is None, on_update=on_update, **options)

    result, warnings = _plan(job, settings, "expanding", call)
    data = {
        "tasks": [{"id": i, **t.to_json()} for i, t in zip(result.ids, result.tasks, strict=True)],
        "unexpanded": result.unexpanded,
        "problems": warnings + result.problems,
        "thread": result.thread_id,
    }
    return result, data


@tool_errors
async def expand_task(
    ctx: Context,
    id: Annotated[str, Field(description="ID of the task to expand (e.g. 3 or 3.2).")],
    num: Count = None,
    research: Research = None,
    prompt: Annotated[str | None, Field(description="Extra context for the subtask generation.")] = None,
    file: File = None,
    projectRoot: ProjectRoot = None,
    force: Annotated[bool | None, Field(description="Replace existing subtasks.")] = None,
    tag: Tag = None,
    depth: Annotated[int | None, Field(description="Levels to expand below the task (default 1).")] = None,
    profile: Profile = None,
) -> CallToolResult:
    """Break a task into subtasks (recursively up to depth levels)."""
    settings = settings_for(projectRoot, tag, profile)
    require_default_file(settings, file)
    count = as_int(num, "num")
    options = {"num": count, "depth": depth or 1, "force": bool(force), "prompt": prompt, "research": bool(research)}
    result, data = await run_job(ctx, lambda job: _expand(job, settings, [id.strip()], **options))
    failure = result.failure()
    if failure:
        raise ToolInputError(failure)
    subtasks = data["tasks"][0].get("subtasks", [])
    return ok(f"Task {id} now has {len(subtasks)} subtask(s).", data)


@tool_errors
async def expand_all(
    ctx: Context,
    num: Count = None,
    research: Research = None,
    prompt: Annotated[str | None, Field(description="Extra context for every task's subtasks.")] = None,
    force: Annotated[bool | None, Field(description="Redo tasks that already have subtasks.")] = None,
    file: File = None,
    projectRoot: ProjectRoot = None,
    tag: Tag = None,
    profile: Profile = None,
) -> CallToolResult:
    """Expand every pending top-level task into subtasks. Long: sends progress, resumable after cancellation."""
    settings = settings_for(projectRoot, tag, profile)
    require_default_file(settings, file)
    count = as_int(num, "num")
    options = {"num": count, "depth": 1, "force": bool(force), "prompt": prompt, "research": bool(research)}
    result, data = await run_job(ctx, lambda job: _expand(job, settings, None, **options))
    done = len(result.ids) - len(result.unexpanded)
    return ok(f"Expanded {done} of {len(result.ids)} task(s).", data)


@tool_errors
async def analyze_project_complexity(
    ctx: Context,
    threshold: Annotated[int | None, Field(description="Ignored: the breakdown threshold comes from settings.")] = None,
    research: Annotated[
        bool | None, Field(description="Ignored: tasks are scored from their own text (use research per task).")
    ] = None,
    output: Annotated[
        str | None, Field(description="Ignored: the report goes to .taskmaster/reports/ (Task Master's default).")
    ] = None,
    file: File = None,
    ids: Annotated[str | None, Field(description='Only these task ids, comma-separated ("1,3,5").')] = None,
    projectRoot: ProjectRoot = None,
    tag: Tag = None,
    profile: Profile = None,
) -> CallToolResult:
    """Score pending top-level tasks' complexity (1-10) and recommend a subtask count; stored on the tasks."""
    from taskmaster.workspace import planning

    settings = settings_for(projectRoot, tag, profile)
    require_default_file(settings, file)
    only = [i.strip() for i in ids.split(",") if i.strip()] if ids else None

    def call(ws: Workspace, on_update: OnUpdate) -> planning.ComplexityResult:
        return planning.analyze_complexity(ws, only, on_update=on_update)

    result, _ = await run_job(ctx, lambda job: _plan(job, settings, "scoring", call))
    rows = [s.report_row() for s in result.scores if s.complexity is not None]
    return ok(
        f"Scored {len(rows)} task(s); report in {result.report}",
        {"complexityAnalysis": rows, "reportPath": str(result.report)},
    )


@tool_errors
async def research(
    ctx: Context,
    query: Annotated[str, Field(description="Research query (answered from the local knowledge base).")],
    taskIds: Annotated[str | None, Field(description='Task ids whose text is added as context ("15,16.2").')] = None,
    filePaths: Annotated[str | None, Field(description="Not supported: add files with kb_add instead.")] = None,
    customContext: Annotated[str | None, Field(description="Extra context text.")] = None,
    includeProjectTree: Annotated[bool | None, Field(description="Not supported (ignored).")] = None,
    detailLevel: Annotated[
        str | None, Field(description="Ignored: the answer is as long as the sources allow.")
    ] = None,
    saveTo: Annotated[
        str | None, Field(description="Append the answer to this task's details (e.g. 15 or 15.2).")
    ] = None,
    saveToFile: Annotated[bool | None, Field(description="Also save under .taskmaster/docs/research/.")] = None,
    projectRoot: ProjectRoot = None,
    tag: Tag = None,
    profile: Profile = None,
) -> CallToolResult:
    """Answer a question from the local knowledge base with numbered citations checked against the passages."""
    if not query.strip():
        raise ToolInputError("the question is empty; ask something in a few words")
    if filePaths:
        raise ToolInputError("filePaths is not supported; add the files to the knowledge base with kb_add first")
    settings = settings_for(projectRoot, tag, profile)

    def work(job: Job) -> dict[str, Any]:
        warnings: list[str] = []
        with _workspace(settings, warnings) as ws:  # run_thread waits for a cancelled call's worker
            answer = ws.research(
                query,
                tasks=taskIds,
                context=customContext,
                save_to=saveTo,
                save_file=bool(saveToFile),
                on_update=_progress(job, "researching"),
            )
        return {**answer.model_dump(mode="json"), "warnings": warnings}

    data = await run_job(ctx, work)
    text = data["answer"] or "(no answer survived the citation check)"
    return ok(text if len(text) <= 400 else text[:400] + "…", data)


@tool_errors
async def models(
    projectRoot: ProjectRoot = None,
    setMain: Annotated[str | None, Field(description="Not supported: set the profile in taskmaster.toml.")] = None,
    setResearch: Annotated[str | None, Field(description="Not supported (see setMain).")] = None,
    setFallback: Annotated[str | None, Field(description="Not supported (see setMain).")] = None,
    listAvailableModels: Annotated[bool | None, Field(description="Also list the known profiles.")] = None,
    profile: Profile = None,
) -> CallToolResult:
    """The model profile and tiers this project uses (read-only; no model is loaded to answer)."""

    if setMain or setResearch or setFallback:
        raise ToolInputError(
            "models are chosen by profile, not per role; set `profile` (and [embedded] model) in "
            "taskmaster.toml, or pass profile to a tool"
        )
    settings = settings_for(projectRoot, None, profile)
    config = MODELS.workspace(settings).model_config()
    tiers = {
        name: {"model": tier.model, "contextLength": tier.context_length, "maxOutputTokens": tier.max_output_tokens}
        for name, tier in config.tiers.items()
    }
    data: dict[str, Any] = {
        "profile": settings.profile,
        "tiers": tiers,
        "roles": dict(config.roles),
        "embeddedModel": settings.embedded.model,
    }
    if listAvailableModels:
        from taskmaster.workspace import profiles

        data["profiles"] = list(profiles.PROFILES)
    described = ", ".join(f"{name}={tier['model']}" for name, tier in tiers.items())
    return ok(f"profile {settings.profile}: {described}", data)


LONG = ToolAnnotations(read_only_hint=False, open_world_hint=False)
TOOLS = [parse_prd, expand_task, expand_all, analyze_project_complexity, research, models]


def register(server: MCPServer) -> None:
    for fn in TOOLS:
        server.add_tool(fn, name=fn.__name__, annotations=LONG)
