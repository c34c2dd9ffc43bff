"""Tools beyond Task Master's: the local knowledge base (kb_add, kb_search), verified codegen for a task (code),
the verifier alone (verify), and bounded autonomous runs (run, run_status).

Each mirrors its CLI command (kb add/search, code, verify, run, runs) on the same functions; long ones run through
jobs.py for progress and cancellation.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.types import CallToolResult, ToolAnnotations
from pydantic import Field

from taskmaster.mcp.jobs import Job, run_job, thread_lock
from taskmaster.mcp.models import MODELS
from taskmaster.mcp.project import ProjectRoot, Tag, as_int, settings_for, task_file
from taskmaster.mcp.results import ToolInputError, ok, tool_errors

if TYPE_CHECKING:
    from knowledge.base import KnowledgeBase

TASK_TYPES = ("quick_edit", "standard_dev", "complex", "critical")
BY_SUFFIX = {
    ".py": "python",
    ".js": "javascript",
    ".mjs": "javascript",
    ".ts": "typescript",
    ".tsx": "tsx",
    ".go": "go",
    ".rs": "rust",
}


@contextmanager
def open_kb(settings: Any) -> Iterator[KnowledgeBase]:
    from knowledge.base import KnowledgeBase

    kb = KnowledgeBase.open(settings.knowledge)
    try:
        yield kb
    finally:
        kb.close()


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
    from knowledge.documents import discover

    settings = settings_for(projectRoot)
    resolved = [_path(settings, p) for p in paths]
    existing = [p for p in resolved if p.exists()]
    if existing:
        discover(existing)  # an empty directory or unsupported file fails here, before the embedder loads

    def work(job: Job) -> Any:
        with open_kb(settings) as kb:
            return kb.add(
                resolved,
                tags=tags,
                progress=lambda stage, done, total: job.progress(f"{stage}: {done}/{total}", total or None),
            )

    report = await run_job(ctx, work)
    data = {
        "added": list(report.added),
        "updated": list(report.updated),
        "removed": list(report.removed),
        "unchanged": len(report.unchanged),
        "skipped": [{"path": str(s.path), "reason": s.reason} for s in report.skipped],
        "passagesEmbedded": report.chunks_embedded,
        "passagesReused": report.chunks_reused,
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

    def work(job: Job) -> list[Any]:
        with open_kb(settings) as kb:
            if kb.is_empty():
                raise ToolInputError("the knowledge base is empty; add documents with kb_add")
            return kb.search(query, limit=limit, source=str(_path(settings, source)) if source else None, tag=tag)

    hits = await run_job(ctx, work)
    data = {"hits": [asdict(h) for h in hits]}
    lines = [f"{i}. {h.source}:{h.line_start}-{h.line_end} ({h.score:.3f})" for i, h in enumerate(hits, 1)]
    return ok("\n".join(lines) or "No passage matched.", data)


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
    from agents.verification.strategy import verify as run_verify
    from taskmaster.cli.inputs import read_text_input

    if taskType not in TASK_TYPES:
        raise ToolInputError(f"unknown taskType {taskType!r}; use one of: {', '.join(TASK_TYPES)}")
    settings = settings_for(projectRoot)
    source = _path(settings, file)
    code = read_text_input(source, "source")
    test_code = read_text_input(_path(settings, tests), "tests") if tests else None
    lang = language or BY_SUFFIX.get(source.suffix.lower(), "python")
    report = await run_job(ctx, lambda job: run_verify(code, language=lang, tests=test_code, task_type=taskType))
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
    if bool(id) == bool(spec):
        raise ToolInputError("give either id or spec (not both)")
    if review is not None and review not in ("approve", "edit", "skip"):
        raise ToolInputError(f"unknown review {review!r}; use approve, skip or edit (with editedCode)")
    if review == "edit" and not editedCode:
        raise ToolInputError("review=edit needs your code in editedCode")
    settings = settings_for(projectRoot, tag, profile)
    decision = None if review is None else {"action": review, **({"code": editedCode} if review == "edit" else {})}
    inputs = _code_inputs(settings, id, spec, taskType, tests)
    summary, written, notes = await run_job(ctx, lambda job: _code(settings, inputs, id, decision, attempts, job))
    data = {**summary, "files": [str(p) for p in written], "notes": notes}
    return ok(f"code {summary.get('status')} (files in {written[0].parent if written else '-'})", data)


def _code_inputs(
    settings: Any, task_id: str | None, spec: str | None, task_type: str | None, tests: str | None
) -> dict:
    from agents.escalation import TASK_TYPES as KNOWN
    from taskmaster.cli.inputs import read_text_input
    from tasks.tree import find_task

    if task_type is not None and task_type not in KNOWN:
        raise ToolInputError(f"unknown taskType {task_type!r}; use one of: {', '.join(KNOWN)}")
    if task_id:
        task = find_task(task_file(settings).load(), task_id)
        parts = [
            task.title,
            task.description,
            task.details and f"Details: {task.details}",
            task.test_strategy and f"Test strategy: {task.test_strategy}",
        ]
        inputs: dict[str, Any] = {
            "spec": "\n\n".join(p for p in parts if p),
            "title": task.title,
            "task_id": task_id,
            "complexity": task.complexity,
        }
    else:
        inputs = {"spec": spec, "task_id": ""}
    inputs["task_type"] = task_type
    inputs["tests"] = read_text_input(_path(settings, tests), "tests") if tests else None
    return inputs


def _code(
    settings: Any, inputs: dict, task_id: str | None, decision: dict | None, attempts: int | None, job: Job
) -> tuple[dict[str, Any], list[Path], list[str]]:
    """The CLI's `code` flow (same thread id, graph, context and outputs) with the review answered by argument."""
    from langgraph.types import Command

    from graphs.codegen import CodegenContext, build_codegen_graph, result_summary
    from graphs.codegen.outputs import write_outputs
    from taskmaster.cli.code_commands import TASK_STATUS_FOR, _ledger, escalation_matrix
    from taskmaster.cli.graph_runs import thread_id_for
    from taskmaster.workspace.checkpoints import open_checkpointer
    from taskmaster.workspace.start_policy import start_policy_from_settings
    from tasks.select import set_status

    thread_id = thread_id_for("code", {"inputs": inputs, "tag": settings.tag})
    out_dir = settings.data_dir / "code" / (task_id or thread_id.removeprefix("code-")).replace(".", "_")
    config = {"configurable": {"thread_id": thread_id}}
    with thread_lock(thread_id), open_checkpointer(settings) as saver:
        router = MODELS.router(settings)
        graph = build_codegen_graph(saver)
        context = CodegenContext(
            router=router,
            matrix=escalation_matrix(settings, attempts),
            record=_ledger(settings),
            run_id=thread_id,
            classify_with_model=False,
            start_policy=start_policy_from_settings(settings, run_id=thread_id),
        )
        snapshot = graph.get_state(config)
        pending = bool(snapshot.next)
        if snapshot.values and not pending:
            saver.delete_thread(thread_id)
        job.progress("resuming code run" if pending else "writing code")
        if pending and snapshot.interrupts:
            stream_input: Any = Command(resume=decision) if decision else None
        else:
            stream_input = None if pending else inputs
        if stream_input is not None or (pending and not snapshot.interrupts):
            for update in graph.stream(stream_input, config, context=context, stream_mode="updates"):
                job.progress(f"code: {', '.join(update)}")
                job.check()
        state = dict(graph.get_state(config).values)
        waiting = bool(graph.get_state(config).interrupts)
    summary = {**result_summary(state), "status": "waiting" if waiting else state.get("status"), "thread": thread_id}
    written = write_outputs(out_dir, state, summary)
    if task_id and summary["status"] in TASK_STATUS_FOR:
        with task_file(settings).edit() as tasks:
            set_status(tasks, task_id, TASK_STATUS_FOR[summary["status"]])
    return summary, written, list(state.get("notes", []))


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
    from taskmaster.cli.inputs import read_text_input
    from taskmaster.workspace.autonomy import RunRequest, run_autonomous

    if prd and goal:
        raise ToolInputError("give prd or goal, not both")
    if review is not None and resume is None:
        raise ToolInputError("review answers a paused run: add resume=<thread> (see run_status)")
    if review is not None and review not in ("approve", "edit", "skip"):
        raise ToolInputError(f"unknown review {review!r}; use approve, skip or edit (with editedCode)")
    if goal is not None and not goal.strip():
        raise ToolInputError("the goal is empty; describe what you want to build")
    settings = settings_for(projectRoot, tag, profile)
    source = read_text_input(_path(settings, prd)) if prd else (f"# Goal\n\n{goal.strip()}\n" if goal else None)
    first = None if review is None else {"action": review, **({"code": editedCode} if review == "edit" else {})}
    request = RunRequest(
        source_text=source,
        max_tasks=as_int(maxTasks, "maxTasks"),
        max_minutes=maxMinutes,
        token_budget=as_int(tokenBudget, "tokenBudget"),
        concurrency=concurrency,
        resume=resume,
        review=first,
    )

    def work(job: Job) -> Any:
        def on_update(node: str, update: dict[str, Any]) -> None:
            job.check()
            ids = ", ".join(t["task_id"] for t in update.get("batch", [])) if node == "pick" else ""
            job.progress(f"working on task {ids}" if ids else f"run: {node}")

        return run_autonomous(settings, request, on_update=on_update, decide=lambda payload: None)

    summary = await run_job(ctx, work)
    return ok(
        f"run {summary.thread_id} stopped: {summary.stop_reason.replace('_', ' ')}; done {len(summary.done)}, "
        f"to review {len(summary.review)}",
        summary.as_json(),
    )


@tool_errors
async def run_status(
    thread: Annotated[str | None, Field(description="One run's task-by-task events; omit for recent runs.")] = None,
    limit: Annotated[int, Field(ge=1, le=200, description="How many recent runs.")] = 20,
    projectRoot: ProjectRoot = None,
) -> CallToolResult:
    """Recent autonomous runs (thread ids to resume), or one run's events."""
    from taskmaster.workspace.run_records import RunRecords, records_path

    settings = settings_for(projectRoot)
    records = RunRecords(records_path(settings.data_dir))
    if thread is not None:
        row = records.get(thread)
        if row is None:
            raise ToolInputError(f"no run {thread!r} in this project; list runs with run_status")
        events = [{"task_id": t, "event": e, "pid": p, **d} for t, e, p, d in records.events(thread)]
        return ok(
            f"run {thread}: {row.state}, {row.stop_reason or '-'}; {len(events)} event(s)",
            {"run": {**row.__dict__}, "events": events},
        )
    rows = [{**r.__dict__} for r in records.recent(limit)]
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
