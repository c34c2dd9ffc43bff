"""Tools beyond Task Master's: the local knowledge base (kb_add, kb_search), verified codegen for a task (code),
the verifier alone (verify), and bounded autonomous runs (run, run_status).

Each mirrors its CLI command (kb add/search, code, verify, run, runs) on the same functions; long ones run through
jobs.py for progress and cancellation.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.types import CallToolResult, ToolAnnotations
from pydantic import Field

from taskmaster.mcp.jobs import Job, run_job
from taskmaster.mcp.models import MODELS
from taskmaster.mcp.project import ProjectRoot, Tag, as_int, settings_for
from taskmaster.mcp.results import ToolInputError, ok, tool_errors

if TYPE_CHECKING:
    from taskmaster.settings import Settings
    from taskmaster.workspace import Workspace
    from taskmaster.workspace.coding import CodeResult
    from taskmaster.workspace.runs import RunSummary

TASK_TYPES = ("quick_edit", "standard_dev", "complex", "critical")


def _path(settings: Any, raw: str) -> Path:
    path = Path(raw).expanduser()
    return path if path.is_absolute() else settings.project_dir / path


@tool_errors
async def kb_add(
    ctx: Context,
    paths: Annotated[list[str], Field(description="Files or directories to ingest (absolute or project-relative).")],
    tags: Annotated[
        list[str] | None, Field(description="Labels for these files; kb_search can filter on them.")
    ] = None,
    projectRoot: ProjectRoot = None,
) -> CallToolResult:
    """Ingest files into the local knowledge base (markdown, rst, text, HTML, PDF, source); unchanged are skipped."""
    settings = settings_for(projectRoot)

    def work(job: Job) -> Any:
        with _workspace(settings) as ws:
            return ws.kb.add(
                [_path(settings, p) for p in paths],
                tags=tags,
                on_progress=lambda stage, done, total: job.progress(f"{stage}: {done}/{total}", total or None),
            )

    report = await run_job(ctx, work)
    data = {
        "added": report.added,
        "updated": report.updated,
        "removed": report.removed,
        "unchanged": len(report.unchanged),
        "skipped": [{"path": s.path, "reason": s.reason} for s in report.skipped],
        "passagesEmbedded": report.passages_embedded,
        "passagesReused": report.passages_reused,
    }
    return ok(
        f"{len(report.added)} added, {len(report.updated)} updated, {len(report.unchanged)} unchanged, "
        f"{len(report.skipped)} skipped",
        data,
    )


@tool_errors
async def kb_search(
    ctx: Context,
    query: Annotated[str, Field(description="What to look for.")],
    limit: Annotated[int, Field(ge=1, le=100, description="How many passages.")] = 5,
    tag: Annotated[str | None, Field(description="Only files ingested with this label.")] = None,
    source: Annotated[str | None, Field(description="Only this file.")] = None,
    projectRoot: ProjectRoot = None,
) -> CallToolResult:
    """Hybrid (dense + keyword) search of the knowledge base; retrieval only, no chat model."""
    if not query.strip():
        raise ToolInputError("the query is empty; say what to look for")
    settings = settings_for(projectRoot)

    def work(job: Job) -> Any:
        with _workspace(settings) as ws:
            return ws.kb.search(query, limit=limit, tag=tag, source=_path(settings, source) if source else None)

    hits = await run_job(ctx, work)
    data = {"hits": [h.model_dump(mode="json") for h in hits]}
    lines = [f"{i}. {h.source}:{h.line_start}-{h.line_end} ({h.score:.3f})" for i, h in enumerate(hits, 1)]
    return ok("\n".join(lines) or "No passage matched.", data)


def _workspace(settings: Settings) -> Workspace:
    return MODELS.workspace(settings)


def _review(review: str | None, edited_code: str | None) -> dict[str, Any] | None:
    if review is not None and review not in ("approve", "edit", "skip"):
        raise ToolInputError(f"unknown review {review!r}; use approve, skip or edit (with editedCode)")
    if review == "edit" and not edited_code:
        raise ToolInputError("review=edit needs your code in editedCode")
    return None if review is None else {"action": review, **({"code": edited_code} if review == "edit" else {})}


@tool_errors
async def verify(
    ctx: Context,
    file: Annotated[str, Field(description="Source file to verify.")],
    tests: Annotated[str | None, Field(description="pytest file; it imports the file as `solution`.")] = None,
    taskType: Annotated[
        str,
        Field(
            description="quick_edit, standard_dev, complex or critical.", json_schema_extra={"enum": list(TASK_TYPES)}
        ),
    ] = "standard_dev",
    language: Annotated[str | None, Field(description="Defaults from the file suffix.")] = None,
    projectRoot: ProjectRoot = None,
) -> CallToolResult:
    """Verify a code file as the agents verify their candidates: syntax, compile, sandboxed tests by task type."""
    from taskmaster.workspace.coding import verify as verify_file

    if taskType not in TASK_TYPES:
        raise ToolInputError(f"unknown taskType {taskType!r}; use one of: {', '.join(TASK_TYPES)}")
    settings = settings_for(projectRoot)
    source, test_file = _path(settings, file), _path(settings, tests) if tests else None

    def work(job: Job) -> Any:
        with _workspace(settings) as ws:
            return verify_file(ws, source, tests=test_file, task_type=taskType, language=language)

    report = await run_job(ctx, work)
    verdict = "passed" if report.passed else "failed"
    return ok(f"verification {verdict} (confidence {report.confidence:.2f})", report.model_dump(mode="json"))


@tool_errors
async def code(
    ctx: Context,
    id: Annotated[str | None, Field(description="Task id to write code for (e.g. 3 or 3.2).")] = None,
    spec: Annotated[str | None, Field(description="What the code must do, instead of a task id.")] = None,
    taskType: Annotated[str | None, Field(description="Task type instead of classifying.")] = None,
    tests: Annotated[str | None, Field(description="A pytest file the code must pass (imports `solution`).")] = None,
    review: Annotated[str | None, Field(description="Answer a pending human review: approve, skip or edit.")] = None,
    editedCode: Annotated[str | None, Field(description="Your edited code, with review=edit.")] = None,
    attempts: Annotated[int | None, Field(ge=1, description="Attempts per worker tier.")] = None,
    projectRoot: ProjectRoot = None,
    tag: Tag = None,
    profile: Annotated[str | None, Field(description="Model profile.")] = None,
) -> CallToolResult:
    """Write code for a task: generate, verify, self-debug, escalate up the tiers; a human review pauses the run
    (answer it by calling again with review). Sets the task's status from the result."""
    from taskmaster.workspace.coding import code as write_code

    if bool(id) == bool(spec):
        raise ToolInputError("give either id or spec (not both)")
    if taskType is not None and taskType not in TASK_TYPES:
        raise ToolInputError(f"unknown taskType {taskType!r}; use one of: {', '.join(TASK_TYPES)}")
    decision = _review(review, editedCode)
    settings = settings_for(projectRoot, tag, profile)
    test_file = _path(settings, tests) if tests else None

    def work(job: Job) -> CodeResult:
        def on_update(node: str, update: Any) -> None:
            job.progress(f"code: {node}")
            job.check()

        with _workspace(settings) as ws:  # run_thread waits for a cancelled call's worker on the same thread
            job.progress("writing code")
            return write_code(
                ws,
                id,
                spec=spec,
                task_type=taskType,
                tests=test_file,
                review=decision,
                attempts=attempts,
                on_update=on_update,
            )

    result = await run_job(ctx, work)
    return ok(f"code {result.status} (files in {result.out_dir})", result.model_dump(mode="json"))


@tool_errors
async def run(
    ctx: Context,
    prd: Annotated[str | None, Field(description="Plan tasks from this PRD first (if the tag is empty).")] = None,
    goal: Annotated[str | None, Field(description="Plan tasks from a short goal first.")] = None,
    maxTasks: Annotated[str | int | None, Field(description="Stop after this many tasks.")] = None,
    maxMinutes: Annotated[float | None, Field(gt=0, description="Start no new task after this long.")] = None,
    tokenBudget: Annotated[str | int | None, Field(description="Start no new task past this many tokens.")] = None,
    concurrency: Annotated[int | None, Field(ge=1, le=32, description="Independent tasks worked at once.")] = None,
    resume: Annotated[str | None, Field(description="Continue this run (a thread id from run_status).")] = None,
    review: Annotated[str | None, Field(description="With resume: approve, skip or edit a pending review.")] = None,
    editedCode: Annotated[str | None, Field(description="Your edited code, with review=edit.")] = None,
    projectRoot: ProjectRoot = None,
    tag: Tag = None,
    profile: Annotated[str | None, Field(description="Model profile.")] = None,
) -> CallToolResult:
    """A bounded autonomous run: next ready task → research, code, plan or break down → verify → status, until a
    limit (maxTasks, maxMinutes, tokenBudget) or a human review stops it. Cancelling stops at the next step;
    resume it with resume=<thread>."""
    from taskmaster.workspace.runs import run as run_loop

    if prd and goal:
        raise ToolInputError("give prd or goal, not both")
    if review is not None and resume is None:
        raise ToolInputError("review answers a paused run: add resume=<thread> (see run_status)")
    first = _review(review, editedCode)
    settings = settings_for(projectRoot, tag, profile)
    max_tasks, token_budget = as_int(maxTasks, "maxTasks"), as_int(tokenBudget, "tokenBudget")

    def work(job: Job) -> RunSummary:
        def on_update(node: str, update: dict[str, Any]) -> None:
            job.check()
            ids = ", ".join(t["task_id"] for t in update.get("batch", [])) if node == "pick" else ""
            job.progress(f"working on task {ids}" if ids else f"run: {node}")

        with _workspace(settings) as ws:
            return run_loop(
                ws,
                prd=_path(settings, prd) if prd else None,
                goal=goal,
                max_tasks=max_tasks,
                max_minutes=maxMinutes,
                token_budget=token_budget,
                concurrency=concurrency,
                resume=resume,
                review=first,
                on_update=on_update,
            )

    summary = await run_job(ctx, work)
    return ok(
        f"run {summary.thread_id} stopped: {summary.stop_reason.replace('_', ' ')}; done {len(summary.done)}, "
        f"to review {len(summary.review)}",
        summary.model_dump(mode="json"),
    )


@tool_errors
async def run_status(
    thread: Annotated[str | None, Field(description="One run's task-by-task events; omit for recent runs.")] = None,
    limit: Annotated[int, Field(ge=1, le=200, description="How many recent runs.")] = 20,
    projectRoot: ProjectRoot = None,
) -> CallToolResult:
    """Recent autonomous runs (thread ids to resume), or one run's events."""
    from taskmaster.workspace import runs as api

    settings = settings_for(projectRoot)
    with _workspace(settings) as ws:
        if thread is not None:
            status = api.run_status(ws, thread)
            return ok(
                f"run {thread}: {status.run.state}, {status.run.stop_reason or '-'}; {len(status.events)} event(s)",
                status.model_dump(mode="json"),
            )
        rows = [r.model_dump(mode="json") for r in api.runs(ws, limit)]
    return ok(f"{len(rows)} recent run(s)" if rows else "no runs yet; start one with run", {"runs": rows})


TOOLS: list[tuple[Any, bool]] = [
    (kb_add, False),
    (kb_search, True),
    (verify, True),
    (code, False),
    (run, False),
    (run_status, True),
]


def register(server: MCPServer) -> None:
    for fn, read_only in TOOLS:
        server.add_tool(fn, name=fn.__name__, annotations=ToolAnnotations(read_only_hint=read_only))
