"""parse-prd, goal, expand and analyze-complexity: the planning API (taskmaster.workspace.planning) from the
command line. Flags are checked, the Workspace opened, the API called with a progress bar, the result rendered."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from taskmaster.cli.common import console, err_console, fail, one_line_errors
from taskmaster.cli.options import JsonOpt, ProfileOpt, ProjectOpt, TagOpt
from taskmaster.cli.progress import graph_progress
from taskmaster.cli.render import task_tree

if TYPE_CHECKING:
    from taskmaster.workspace import Workspace
    from taskmaster.workspace.planning import PlanResult, RunInfo

NumOpt = Annotated[int | None, typer.Option("--num", "-n", help="How many tasks (or subtasks) to ask for.")]
DepthOpt = Annotated[int | None, typer.Option("--depth", help="Levels of recursive expansion.")]
ThreadOpt = Annotated[str | None, typer.Option("--thread", help="Checkpoint thread id (default: derived from input).")]
FreshOpt = Annotated[bool, typer.Option("--fresh", help="Ignore an interrupted run's checkpoint and start over.")]
ResearchOpt = Annotated[bool, typer.Option("--research", help="Add context retrieved from the knowledge base.")]
AppendOpt = Annotated[bool, typer.Option("--append", help="Add to the existing tasks.")]
ForceOpt = Annotated[bool, typer.Option("--force", help="Replace the existing tasks of the tag.")]


def _check_counts(num: int | None, depth: int | None) -> None:
    """Before anything is loaded or started, in the flags' own words (the API checks again, for Python callers)."""
    if num is not None and num < 1:
        fail(f"--num must be at least 1 (got {num}); it is how many tasks or subtasks to ask for")
    if depth is not None and depth < 0:
        fail(f"--depth must be 0 or more (got {depth})")


def _workspace(project: Path | None, tag: str | None, profile: str | None) -> Workspace:
    from taskmaster.workspace import Workspace

    def warn(message: str) -> None:
        err_console.print(f"[yellow]warning:[/] {message}")

    return Workspace.open(project, tag=tag, profile=profile, warn=warn)


def _report_run(run: RunInfo) -> None:
    """What every breakdown prints to stderr: its cost and thread, then what the graph skipped."""
    resumed = " (resumed an interrupted run)" if run.resumed else ""
    err_console.print(f"[dim]{run.usage} · thread {run.thread_id}{resumed}[/]")
    for problem in run.problems:
        err_console.print(f"[yellow]warning:[/] {problem}")


def _show_plan(result: PlanResult, as_json: bool) -> None:
    _report_run(result)
    if as_json:
        console.print_json(data=[t.to_json() for t in result.tasks])
    else:
        console.print(task_tree(result.tasks, f"Tasks ({result.tag})"))
    err_console.print(
        f"{result.top_level} top-level tasks ({result.total} in all) tasks written to {result.tasks_file}"
    )


@one_line_errors
def parse_prd(
    prd: Annotated[Path, typer.Argument(help="PRD file (markdown or text).")],
    num: NumOpt = None,
    depth: DepthOpt = None,
    append: AppendOpt = False,
    force: ForceOpt = False,
    research: ResearchOpt = False,
    thread: ThreadOpt = None,
    fresh: FreshOpt = False,
    project: ProjectOpt = None,
    tag: TagOpt = None,
    profile: ProfileOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Turn a PRD into tasks, score them and expand complex ones recursively."""
    from taskmaster.workspace.planning import parse_prd as plan

    _check_counts(num, depth)
    with _workspace(project, tag, profile) as ws, graph_progress("planning") as on_update:
        result = plan(
            ws,
            prd.absolute(),  # the path is the user's, relative to where they are, not to --project
            num_tasks=num,
            depth=depth,
            append=append,
            force=force,
            research=research,
            thread=thread,
            fresh=fresh,
            on_update=on_update,
        )
    _show_plan(result, as_json)


@one_line_errors
def goal(
    text: Annotated[str, typer.Argument(help="A goal in one or a few sentences.")],
    num: NumOpt = None,
    depth: DepthOpt = None,
    append: AppendOpt = False,
    force: ForceOpt = False,
    research: ResearchOpt = False,
    project: ProjectOpt = None,
    tag: TagOpt = None,
    profile: ProfileOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Turn a short goal into tasks (like parse-prd, from text)."""
    from taskmaster.workspace.planning import plan_goal

    if not text.strip():
        fail("the goal is empty; describe what you want to build")
    _check_counts(num, depth)
    with _workspace(project, tag, profile) as ws, graph_progress("planning") as on_update:
        result = plan_goal(
            ws, text, num_tasks=num, depth=depth, append=append, force=force, research=research, on_update=on_update
        )
    _show_plan(result, as_json)


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
    from taskmaster.workspace.planning import expand as expand_tasks

    if bool(task_id) == all_tasks:
        fail("give a task id or --all (not both)")
    _check_counts(num, depth)
    with _workspace(project, tag, profile) as ws, graph_progress("expanding") as on_update:
        result = expand_tasks(
            ws,
            task_id,
            all=all_tasks,
            num=num,
            depth=depth,
            force=force,
            prompt=context,
            research=research,
            on_update=on_update,
        )
    _report_run(result)
    for full_id, task in zip(result.ids, result.tasks, strict=True):
        console.print(task_tree([task], f"Task {full_id}"))
    failure = result.failure()
    if failure:
        fail(failure)
    err_console.print(f"expanded {len(result.ids)} task(s); tasks written to {result.tasks_file}")


@one_line_errors
def analyze_complexity(
    project: ProjectOpt = None,
    tag: TagOpt = None,
    profile: ProfileOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Score every pending top-level task's complexity (1-10) and recommend a subtask count."""
    from taskmaster.workspace.planning import analyze_complexity as analyze

    with _workspace(project, tag, profile) as ws, graph_progress("scoring") as on_update:
        result = analyze(ws, on_update=on_update)
    _report_run(result)
    err_console.print(f"complexity report written to {result.report}")
    if as_json:
        rows = [
            {"id": s.id, "title": s.title, "complexity": s.complexity, "recommendedSubtasks": s.recommended_subtasks}
            for s in result.scores
        ]
        console.print_json(data=rows)
        return
    table = Table("id", "title", "complexity", "recommended subtasks")
    for s in result.scores:
        c, r = s.complexity, s.recommended_subtasks
        table.add_row(s.id, s.title, "-" if c is None else str(c), "-" if r is None else str(r))
    console.print(table)


def register(app: typer.Typer) -> None:
    app.command("parse-prd")(parse_prd)
    app.command("goal")(goal)
    app.command("expand")(expand)
    app.command("analyze-complexity")(analyze_complexity)
