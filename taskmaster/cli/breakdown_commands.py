"""parse-prd, goal, expand and analyze-complexity: the breakdown graph from the command line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from graphs.breakdown import BreakdownLimits, build_breakdown_graph
from graphs.breakdown.roots import expansion_root
from graphs.breakdown.sections import section_budget_chars, split_sections
from taskmaster.cli.common import console, err_console, fail, one_line_errors
from taskmaster.cli.graph_runs import run_graph, thread_id_for
from taskmaster.cli.inputs import read_text_input
from taskmaster.cli.options import JsonOpt, ProfileOpt, ProjectOpt, TagOpt, settings_for, task_file
from taskmaster.cli.render import task_tree
from taskmaster.settings import Settings
from taskmaster.workspace.checkpoints import open_checkpointer
from taskmaster.workspace.models import model_router
from taskmaster.workspace.profiles import model_config
from taskmaster.workspace.runtime import breakdown_context, breakdown_limits, expand_inputs
from tasks.complexity_report import write_report
from tasks.model import TaskStatus
from tasks.tree import find_task, iter_tasks, next_child_id

NumOpt = Annotated[int | None, typer.Option("--num", "-n", help="How many tasks (or subtasks) to ask for.")]
DepthOpt = Annotated[int | None, typer.Option("--depth", help="Levels of recursive expansion.")]
ThreadOpt = Annotated[str | None, typer.Option("--thread", help="Checkpoint thread id (default: derived from input).")]
FreshOpt = Annotated[bool, typer.Option("--fresh", help="Ignore an interrupted run's checkpoint and start over.")]
# model_config needs a URL for the embedded profile to size its tiers; nothing is contacted (nothing listens on 0).
EMBEDDED_PLACEHOLDER_URL = "http://127.0.0.1:0/v1"
ResearchOpt = Annotated[bool, typer.Option("--research", help="Add context retrieved from the knowledge base.")]


def _research_context(settings: Settings, query: str) -> str | None:
    from taskmaster.workspace.research_context import retrieve_context

    return retrieve_context(settings, query)


def _check_counts(num: int | None, depth: int | None) -> None:
    """Before anything is loaded or started: --num asks for tasks, so it must be at least one."""
    if num is not None and num < 1:
        fail(f"--num must be at least 1 (got {num}); it is how many tasks or subtasks to ask for")
    if depth is not None and depth < 0:
        fail(f"--depth must be 0 or more (got {depth})")


def _planner_sections(settings: Settings, text: str) -> list[str]:
    """The PRD sections parse-prd will send, one model call each, computed without starting any server."""
    tier = model_config(settings, EMBEDDED_PLACEHOLDER_URL).tier_for("planner")[1]
    return split_sections(text.strip(), section_budget_chars(tier.context_length, tier.max_output_tokens))


def call_budget(limits: BreakdownLimits, inputs: dict[str, Any], sections: int = 0) -> int:
    """The most model calls a breakdown can need: one per PRD section and per root, then each of at most
    max_total_tasks tasks is scored once and expanded once."""
    return sections + len(inputs.get("roots", [])) + 2 * limits.max_total_tasks


def _run_breakdown(
    settings: Settings,
    inputs: dict[str, Any],
    limits: BreakdownLimits,
    *,
    replace: bool,
    thread: str | None,
    fresh: bool,
    label: str,
    sections: int = 0,
) -> dict[str, Any]:
    payload = {"inputs": inputs, "limits": limits.__dict__, "tag": settings.tag, "profile": settings.profile}
    thread_id = thread or thread_id_for(inputs.get("mode", "parse"), payload)
    with open_checkpointer(settings) as saver, model_router(settings) as shared:  # a dead database fails first
        why = " (PRD sections + tasks + 2 x breakdown.max_total_tasks)"
        router = shared.limited(call_budget(limits, inputs, sections), why)
        context = breakdown_context(settings, router, tasks_file=settings.tasks_file, limits=limits, replace=replace)
        state = run_graph(
            build_breakdown_graph(saver),
            saver,
            inputs,
            context=context,
            thread_id=thread_id,
            fresh=fresh,
            concurrency=settings.breakdown.concurrency,
            label=label,
        )
        err_console.print(f"[dim]{router.meter.summary()} · thread {thread_id}[/]")
    for problem in state.get("problems", []):
        err_console.print(f"[yellow]warning:[/] {problem}")
    return state


def _parse(
    settings: Settings,
    text: str,
    *,
    num: int | None,
    depth: int | None,
    append: bool,
    force: bool,
    research: bool,
    thread: str | None,
    fresh: bool,
    as_json: bool,
) -> None:
    _check_counts(num, depth)
    store = task_file(settings)
    existing = store.load()
    if existing and not (append or force):
        fail(f"tag {settings.tag!r} already has {len(existing)} tasks; use --append to add or --force to replace them")
    sections = len(_planner_sections(settings, text))
    most = settings.breakdown.max_total_tasks
    if sections > most:
        fail(
            f"the PRD splits into {sections} sections (one model call each), more than breakdown.max_total_tasks "
            f"({most}); split it into smaller PRDs or raise breakdown.max_total_tasks"
        )
    inputs: dict[str, Any] = {
        "mode": "parse",
        "source_text": text,
        "num_tasks": num or settings.breakdown.num_tasks,
        "first_id": next_child_id(existing) if append else 1,
        "research_context": _research_context(settings, text[:2000]) if research else None,
    }
    state = _run_breakdown(
        settings,
        inputs,
        breakdown_limits(settings, depth),
        replace=force,
        thread=thread,
        fresh=fresh,
        label="planning",
        sections=sections,
    )
    written = task_file(settings).load()
    count = sum(1 for _ in iter_tasks(written))
    if as_json:
        console.print_json(data=[t.to_json() for t in written])
    else:
        console.print(task_tree(written, f"Tasks ({settings.tag})"))
    err_console.print(
        f"{len(state.get('tasks', []))} top-level tasks ({count} in all) tasks written to {settings.tasks_file}"
    )


@one_line_errors
def parse_prd(
    prd: Annotated[Path, typer.Argument(help="PRD file (markdown or text).")],
    num: NumOpt = None,
    depth: DepthOpt = None,
    append: Annotated[bool, typer.Option("--append", help="Add to the existing tasks.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Replace the existing tasks of the tag.")] = False,
    research: ResearchOpt = False,
    thread: ThreadOpt = None,
    fresh: FreshOpt = False,
    project: ProjectOpt = None,
    tag: TagOpt = None,
    profile: ProfileOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Turn a PRD into tasks, score them and expand complex ones recursively."""
    _check_counts(num, depth)
    settings = settings_for(project, tag, profile)
    text = read_text_input(prd, max_bytes=settings.breakdown.max_prd_bytes)
    _parse(
        settings,
        text,
        num=num,
        depth=depth,
        append=append,
        force=force,
        research=research,
        thread=thread,
        fresh=fresh,
        as_json=as_json,
    )


@one_line_errors
def goal(
    text: Annotated[str, typer.Argument(help="A goal in one or a few sentences.")],
    num: NumOpt = None,
    depth: DepthOpt = None,
    append: Annotated[bool, typer.Option("--append")] = False,
    force: Annotated[bool, typer.Option("--force")] = False,
    research: ResearchOpt = False,
    project: ProjectOpt = None,
    tag: TagOpt = None,
    profile: ProfileOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Turn a short goal into tasks (like parse-prd, from text)."""
    if not text.strip():
        fail("the goal is empty; describe what you want to build")
    _check_counts(num, depth)
    settings = settings_for(project, tag, profile)
    _parse(
        settings,
        f"# Goal\n\n{text.strip()}\n",
        num=num,
        depth=depth,
        append=append,
        force=force,
        research=research,
        thread=None,
        fresh=False,
        as_json=as_json,
    )


@one_line_errors
def expand(
    task_id: Annotated[str | None, typer.Argument(help="Task to expand (e.g. 3 or 3.2).")] = None,
    all_tasks: Annotated[bool, typer.Option("--all", help="Expand every pending top-level task.")] = False,
    num: NumOpt = None,
    depth: Annotated[int, typer.Option("--depth", help="Levels to expand below the task.")] = 1,
    force: Annotated[bool, typer.Option("--force", help="Replace existing subtasks.")] = False,
    context: Annotated[str | None, typer.Option("--context", help="Extra guidance for the planner.")] = None,
    research: ResearchOpt = False,
    project: ProjectOpt = None,
    tag: TagOpt = None,
    profile: ProfileOpt = None,
) -> None:
    """Break a task (or all pending tasks) into subtasks, recursively up to --depth levels."""
    if bool(task_id) == all_tasks:
        fail("give a task id or --all (not both)")
    _check_counts(num, depth)
    settings = settings_for(project, tag, profile)
    tasks = task_file(settings).load()
    if all_tasks:
        targets = [(str(t.id), t) for t in tasks if t.status == TaskStatus.PENDING and (force or not t.subtasks)]
        if not targets:
            fail("no pending tasks without subtasks to expand; use --force to redo expanded ones")
    else:
        targets = [(str(task_id), find_task(tasks, str(task_id)))]
    inputs, limits = expand_inputs(
        settings, targets, num=num, depth=depth, force=force, guidance=context, research=research
    )
    state = _run_breakdown(settings, inputs, limits, replace=False, thread=None, fresh=False, label="expanding")
    updated = task_file(settings).load()
    for full_id, _ in targets:
        task = find_task(updated, full_id)
        console.print(task_tree([task], f"Task {full_id}"))
    parents = {node.get("parent") for node in state.get("nodes", {}).values()}
    unexpanded = [full_id for full_id, _ in targets if full_id not in parents]
    if unexpanded:
        reasons = [p for p in state.get("problems", []) if p.startswith(f"task {unexpanded[0]}:")]
        fail(reasons[0] if reasons else f"task {unexpanded[0]} got no subtasks; retry or use a stronger profile")
    err_console.print(f"expanded {len(targets)} task(s); tasks written to {settings.tasks_file}")


@one_line_errors
def analyze_complexity(
    project: ProjectOpt = None,
    tag: TagOpt = None,
    profile: ProfileOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Score every pending top-level task's complexity (1-10) and recommend a subtask count."""
    settings = settings_for(project, tag, profile)
    tasks = task_file(settings).load()
    roots = [
        {**expansion_root(str(t.id), t, count=None, force=False), "scored": False}
        for t in tasks
        if t.status in (TaskStatus.PENDING, TaskStatus.IN_PROGRESS)
    ]
    if not roots:
        fail("no pending tasks to analyse; create some with parse-prd first")
    state = _run_breakdown(
        settings,
        {"mode": "analyze", "roots": roots},
        breakdown_limits(settings, 0),
        replace=False,
        thread=None,
        fresh=True,
        label="scoring",
    )
    nodes = state.get("nodes", {})
    rows = [(n["id"], n["title"], n.get("complexity"), n.get("recommended")) for n in nodes.values()]
    report = write_report(  # Task Master's report file: its expand and complexity-report read it, as do ours
        settings.tasks_file,
        settings.tag,
        [
            {
                "taskId": int(i) if str(i).isdigit() else i,
                "taskTitle": t,
                "complexityScore": c,
                "recommendedSubtasks": r,
                "expansionPrompt": f"Break down: {t}",
                "reasoning": "",
            }
            for i, t, c, r in rows
            if c is not None
        ],
        total_tasks=len(tasks),
    )
    err_console.print(f"complexity report written to {report}")
    if as_json:
        console.print_json(
            data=[{"id": i, "title": t, "complexity": c, "recommendedSubtasks": r} for i, t, c, r in rows]
        )
        return
    table = Table("id", "title", "complexity", "recommended subtasks")
    for i, t, c, r in rows:
        table.add_row(i, t, "-" if c is None else str(c), "-" if r is None else str(r))
    console.print(table)


def register(app: typer.Typer) -> None:
    app.command("parse-prd")(parse_prd)
    app.command("goal")(goal)
    app.command("expand")(expand)
    app.command("analyze-complexity")(analyze_complexity)
