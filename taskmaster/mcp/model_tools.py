"""Task Master's model tools: parse_prd, expand_task, expand_all, analyze_project_complexity, research, models.

They build the same graphs with the same contexts as the CLI's parse-prd/expand/analyze-complexity/research
(taskmaster.workspace.runtime, checkpoint thread ids from the CLI's `thread_id_for`, so a run interrupted in one
resumes in the other), on the process-wide router (models.py), in a worker thread that reports progress and stops
at the next graph step when the call is cancelled (jobs.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.types import CallToolResult, ToolAnnotations
from pydantic import Field

from taskmaster.mcp.jobs import Job, run_job, stream_graph
from taskmaster.mcp.models import MODELS
from taskmaster.mcp.project import File, ProjectRoot, Tag, as_int, require_default_file, settings_for, task_file
from taskmaster.mcp.results import ToolInputError, ok, tool_errors

Count = Annotated[str | int | None, Field(description="A whole number (Task Master passes it as a string).")]
Research = Annotated[bool | None, Field(description="Add context retrieved from the local knowledge base.")]
Profile = Annotated[str | None, Field(description="Model profile (embedded, ollama, vllm-2x4090, ...).")]
DEFAULT_PRD = Path(".taskmaster") / "docs" / "prd.txt"


def _research_context(settings: Any, query: str) -> str | None:
    from taskmaster.workspace.research_context import retrieve_context

    return retrieve_context(settings, query)


def _breakdown(
    settings: Any, inputs: dict[str, Any], limits: Any, job: Job, *, replace: bool, fresh: bool, label: str
) -> tuple[dict[str, Any], bool, str]:
    """The CLI's `_run_breakdown` without the terminal: same payload, thread id, graph and context."""
    from graphs.breakdown import build_breakdown_graph
    from taskmaster.cli.graph_runs import thread_id_for
    from taskmaster.workspace.checkpoints import open_checkpointer
    from taskmaster.workspace.runtime import breakdown_context

    payload = {"inputs": inputs, "limits": limits.__dict__, "tag": settings.tag, "profile": settings.profile}
    thread_id = thread_id_for(inputs.get("mode", "parse"), payload)
    with open_checkpointer(settings) as saver:
        router = MODELS.router(settings)
        context = breakdown_context(settings, router, tasks_file=settings.tasks_file, limits=limits, replace=replace)
        state, resumed = stream_graph(
            build_breakdown_graph(saver),
            saver,
            inputs,
            context=context,
            thread_id=thread_id,
            job=job,
            fresh=fresh,
            concurrency=settings.breakdown.concurrency,
            label=label,
        )
    return state, resumed, thread_id


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
    from taskmaster.cli.inputs import read_text_input
    from taskmaster.workspace.runtime import breakdown_limits
    from tasks.tree import iter_tasks, next_child_id

    settings = settings_for(projectRoot, tag, profile)
    require_default_file(settings, output)
    num = as_int(numTasks, "numTasks")
    path = Path(input).expanduser() if input else DEFAULT_PRD
    text = read_text_input(path if path.is_absolute() else settings.project_dir / path)
    existing = task_file(settings).load()
    if existing and not (append or force):
        raise ToolInputError(
            f"tag {settings.tag!r} already has {len(existing)} tasks; use append to add or force to replace them"
        )

    def work(job: Job) -> tuple[dict[str, Any], bool, str]:
        inputs: dict[str, Any] = {
            "mode": "parse",
            "source_text": text,
            "num_tasks": num or settings.breakdown.num_tasks,
            "first_id": next_child_id(existing) if append else 1,
            "research_context": _research_context(settings, text[:2000]) if research else None,
        }
        limits = breakdown_limits(settings, depth)
        return _breakdown(settings, inputs, limits, job, replace=bool(force), fresh=False, label="planning")

    state, resumed, thread_id = await run_job(ctx, work)
    written = task_file(settings).load()
    count = sum(1 for _ in iter_tasks(written))
    data = {
        "tasks": [t.to_json() for t in written],
        "tag": settings.tag,
        "topLevel": len(state.get("tasks", [])),
        "total": count,
        "thread": thread_id,
        "resumed": resumed,
        "problems": state.get("problems", []),
        "tasksFile": str(settings.tasks_file),
    }
    summary = f"{len(written)} top-level tasks ({count} in all) written to {settings.tasks_file}"
    return ok(summary + (" (resumed an interrupted run)" if resumed else ""), data)


def _expand(
    settings: Any,
    targets: list[tuple[str, Any]],
    num: int | None,
    depth: int,
    force: bool,
    prompt: str | None,
    research: bool,
    job: Job,
) -> tuple[dict[str, Any], bool, str]:
    from taskmaster.workspace.runtime import expand_inputs

    inputs, limits = expand_inputs(
        settings, targets, num=num, depth=depth, force=force, guidance=prompt, research=research
    )
    return _breakdown(settings, inputs, limits, job, replace=False, fresh=False, label="expanding")


def _expand_result(settings: Any, targets: list[tuple[str, Any]], state: dict[str, Any], thread: str) -> dict:
    from tasks.tree import find_task

    updated = task_file(settings).load()
    parents = {node.get("parent") for node in state.get("nodes", {}).values()}
    return {
        "tasks": [{"id": i, **find_task(updated, i).to_json()} for i, _ in targets],
        "unexpanded": [i for i, _ in targets if i not in parents],
        "problems": state.get("problems", []),
        "thread": thread,
    }


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
    from tasks.tree import find_task

    settings = settings_for(projectRoot, tag, profile)
    require_default_file(settings, file)
    count = as_int(num, "num")
    targets = [(id.strip(), find_task(task_file(settings).load(), id.strip()))]
    state, _, thread = await run_job(
        ctx, lambda job: _expand(settings, targets, count, depth or 1, bool(force), prompt, bool(research), job)
    )
    data = _expand_result(settings, targets, state, thread)
    if data["unexpanded"]:
        reasons = [p for p in data["problems"] if p.startswith(f"task {id.strip()}:")]
        raise ToolInputError(reasons[0] if reasons else f"task {id} got no subtasks; retry or use a stronger profile")
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
    targets = [
        (str(t.id), t) for t in task_file(settings).load() if t.status == "pending" and (force or not t.subtasks)
    ]
    if not targets:
        raise ToolInputError("no pending tasks without subtasks to expand; use force to redo expanded ones")
    state, _, thread = await run_job(
        ctx, lambda job: _expand(settings, targets, count, 1, bool(force), prompt, bool(research), job)
    )
    data = _expand_result(settings, targets, state, thread)
    done = len(targets) - len(data["unexpanded"])
    return ok(f"Expanded {done} of {len(targets)} task(s).", data)


@tool_errors
async def analyze_project_complexity(
    ctx: Context,
    threshold: Annotated[int | None, Field(description="Ignored: the breakdown threshold comes from settings.")] = None,
    research: Research = None,
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
    from graphs.breakdown.roots import expansion_root
    from taskmaster.workspace.runtime import breakdown_limits

    settings = settings_for(projectRoot, tag, profile)
    require_default_file(settings, file)
    only = {i.strip() for i in ids.split(",")} if ids else None
    roots = [
        {**expansion_root(str(t.id), t, count=None, force=False), "scored": False}
        for t in task_file(settings).load()
        if t.status in ("pending", "in-progress") and (only is None or str(t.id) in only)
    ]
    if not roots:
        raise ToolInputError("no pending tasks to analyse; create some with parse_prd first")

    def work(job: Job) -> tuple[dict[str, Any], bool, str]:
        inputs = {"mode": "analyze", "roots": roots}
        return _breakdown(
            settings, inputs, breakdown_limits(settings, 0), job, replace=False, fresh=True, label="scoring"
        )

    state, _, _ = await run_job(ctx, work)
    from tasks.complexity_report import write_report

    rows = [
        {
            "taskId": int(n["id"]) if str(n["id"]).isdigit() else n["id"],
            "taskTitle": n["title"],
            "complexityScore": n.get("complexity"),
            "recommendedSubtasks": n.get("recommended"),
            "expansionPrompt": f"Break down: {n['title']}",
            "reasoning": "",
        }
        for n in state.get("nodes", {}).values()
        if n.get("complexity") is not None
    ]
    total = len(task_file(settings).load())
    path = write_report(settings.tasks_file, settings.tag, rows, total_tasks=total, used_research=bool(research))
    return ok(f"Scored {len(rows)} task(s); report in {path}", {"complexityAnalysis": rows, "reportPath": str(path)})


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
    from tasks.tree import find_task

    if not query.strip():
        raise ToolInputError("the question is empty; ask something in a few words")
    if filePaths:
        raise ToolInputError("filePaths is not supported; add the files to the knowledge base with kb_add first")
    settings = settings_for(projectRoot, tag, profile)
    tasks = task_file(settings).load()
    if saveTo:
        find_task(tasks, saveTo)  # fail before spending model time
    parts = []
    for task_id in [i.strip() for i in (taskIds or "").split(",") if i.strip()]:
        task = find_task(tasks, task_id)
        parts.append("\n".join(filter(None, [f"Task {task_id}: {task.title}", task.description, task.details])))
    task_context = "\n\n".join(filter(None, [*parts, customContext])) or None
    question = query.strip()
    state = await run_job(ctx, lambda job: _research(settings, question, task_context, job))
    data = _save_research(settings, question, state, saveTo, bool(saveToFile))
    answer = state.get("answer") or "(no answer survived the citation check)"
    return ok(answer if len(answer) <= 400 else answer[:400] + "…", data)


def _research(settings: Any, question: str, task_context: str | None, job: Job) -> dict[str, Any]:
    from graphs.research import ResearchContext, build_research_graph
    from taskmaster.cli.graph_runs import thread_id_for
    from taskmaster.mcp.own_tools import open_kb
    from taskmaster.workspace.checkpoints import open_checkpointer
    from taskmaster.workspace.research_context import research_limits

    inputs = {"question": question, "task_context": task_context}
    thread_id = thread_id_for("research", {"inputs": inputs, "profile": settings.profile})
    with open_kb(settings) as kb, open_checkpointer(settings) as saver:
        router = None if kb.is_empty() else MODELS.router(settings)  # an empty base answers without a model
        context = ResearchContext.for_knowledge_base(router, kb, limits=research_limits(settings))
        state, _ = stream_graph(
            build_research_graph(saver),
            saver,
            inputs,
            context=context,
            thread_id=thread_id,
            job=job,
            fresh=router is None,
            concurrency=settings.breakdown.concurrency,
            label="researching",
        )
    return state


def _save_research(settings: Any, question: str, state: dict[str, Any], save_to: str | None, to_file: bool) -> dict:
    import re

    from graphs.research.report import answer_markdown
    from tasks.atomic import write_text_atomic
    from tasks.tree import find_task

    text = answer_markdown(question, state)
    saved: dict[str, str] = {}
    if save_to:
        with task_file(settings).edit() as tasks:
            task = find_task(tasks, save_to)
            task.details = f"{task.details.rstrip()}\n\n{text}".lstrip() if task.details else text
        saved["task"] = save_to
    if to_file:
        slug = re.sub(r"[^a-z0-9]+", "-", question.lower()).strip("-")[:60] or "research"
        path = settings.data_dir / "docs" / "research" / f"{slug}.md"
        write_text_atomic(path, text)
        saved["file"] = str(path)
    keys = {"answer": "", "sources": [], "flags": [], "removed_sentences": 0, "queries": [], "problems": []}
    return {"question": question, **{k: state.get(k, v) for k, v in keys.items()}, "saved": saved}


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
    from taskmaster.workspace.profiles import model_config

    if setMain or setResearch or setFallback:
        raise ToolInputError(
            "models are chosen by profile, not per role; set `profile` (and [embedded] model) in "
            "taskmaster.toml, or pass profile to a tool"
        )
    settings = settings_for(projectRoot, None, profile)
    config = model_config(settings, "http://127.0.0.1:0/v1")
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
