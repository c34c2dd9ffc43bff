"""Commands that read and edit tasks.json without a model: list, show, next, statuses, dependencies,
import and export.

Kept light on purpose: nothing here imports the model, graph or knowledge stacks (tests/test_cli_lazy.py checks),
so these commands start in a fraction of a second.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.segment import Segment, Segments

from taskmaster.cli.common import console, err_console, fail, one_line_errors
from taskmaster.cli.options import JsonOpt, ProjectOpt, TagOpt
from taskmaster.cli.render import task_panel, task_tree
from taskmaster.cli.task_options import tasks_api

StatusArg = Annotated[
    str | None,
    typer.Argument(help="pending, in-progress, done, review, deferred, cancelled, blocked (or use --status)"),
]
IdsArg = Annotated[str | None, typer.Argument(help="Task id(s), comma-separated (or use --id).")]


def warn_problems(problems: list[str]) -> None:
    """Name every entry the last load could not read: the rest was shown, these were not."""
    for problem in problems:
        err_console.print(f"[yellow]warning:[/] {problem}", markup=True, highlight=False)


@one_line_errors
def list_tasks(
    project: ProjectOpt = None,
    tag: TagOpt = None,
    status: Annotated[str | None, typer.Option("--status", "-s", help="Only tasks with this status.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """List tasks as a tree with status, priority, complexity and dependencies."""
    with tasks_api(project, tag) as api:
        if status is not None:
            api.list(status=status)  # refuses an unknown status before anything is shown
        listing = api.list()
    warn_problems(listing.problems)
    if as_json:
        console.print_json(json.dumps([t.to_json() for t in listing.tasks]))
        return
    if not listing.tasks:
        console.print(f"No tasks in tag {listing.tag!r} yet. Try: taskmaster parse-prd PRD.md")
        return
    # The tree keeps a parent whose subtasks match `status`, so it filters while drawing, not `api.list(status)`.
    tree = task_tree(listing.tasks, f"Tasks ({listing.tag})", status)
    # Rendered as one run of segments: printing the Text itself re-splits it per line (~0.1 s for 800 lines).
    console.print(Segments([*tree.render(console), Segment.line()]), soft_wrap=True)


@one_line_errors
def show(
    task_id: IdsArg = None,
    id_opt: Annotated[str | None, typer.Option("--id", "-i", help="Task id (Task Master's flag form).")] = None,
    project: ProjectOpt = None,
    tag: TagOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show one task (ids like 3 or 3.2.1)."""
    key = task_id or id_opt
    if not key:
        fail("give a task id, e.g. taskmaster show 3 (or --id 3)")
    with tasks_api(project, tag) as api:
        entry = api.get(key)
    if as_json:
        console.print_json(json.dumps(entry.task.to_json()))
    else:
        console.print(task_panel(key, entry.task))


@one_line_errors
def next_command(project: ProjectOpt = None, tag: TagOpt = None, as_json: JsonOpt = False) -> None:
    """Show the next task to work on (Task Master's rule)."""
    with tasks_api(project, tag) as api:
        picked = api.next()
    warn_problems(api.problems)
    if picked is None:
        if as_json:
            console.print_json("null")
        else:
            console.print("Nothing is ready: every task is done, blocked by dependencies, or deferred.")
        return
    if as_json:
        console.print_json(json.dumps({**picked.task.to_json(), "id": picked.id}))
    else:
        console.print(task_panel(picked.id, picked.task))


@one_line_errors
def set_status_command(
    task_ids: IdsArg = None,
    status: StatusArg = None,
    id_opt: Annotated[str | None, typer.Option("--id", "-i", help="Task id(s), comma-separated.")] = None,
    status_opt: Annotated[str | None, typer.Option("--status", "-s", help="The new status.")] = None,
    project: ProjectOpt = None,
    tag: TagOpt = None,
) -> None:
    """Set the status of one or more tasks (comma-separated ids); a subtask's change rolls up to its parent."""
    ids, new_status = task_ids or id_opt, status or status_opt
    if not ids or not new_status:
        fail("give ids and a status, e.g. taskmaster set-status 3 done (or --id 3 --status done)")
    with tasks_api(project, tag) as api:
        changed = api.set_status(ids, new_status).changed
    console.print(f"Set {', '.join(changed) or ids} to {new_status}." if changed else f"{ids} already {new_status}.")


@one_line_errors
def add_dependency_command(
    task_id: Annotated[str, typer.Option("--id", help="Task that waits.")],
    depends_on: Annotated[str, typer.Option("--depends-on", help="Task it waits for.")],
    project: ProjectOpt = None,
    tag: TagOpt = None,
) -> None:
    """Make a task depend on another; refused if it would create a cycle."""
    with tasks_api(project, tag) as api:
        api.add_dependency(task_id, depends_on)
    console.print(f"Task {task_id} now depends on {depends_on}.")


@one_line_errors
def remove_dependency_command(
    task_id: Annotated[str, typer.Option("--id")],
    depends_on: Annotated[str, typer.Option("--depends-on")],
    project: ProjectOpt = None,
    tag: TagOpt = None,
) -> None:
    """Remove a dependency."""
    with tasks_api(project, tag) as api:
        removed = api.remove_dependency(task_id, depends_on).changed
    console.print(
        f"Removed {task_id} → {depends_on}." if removed else f"Task {task_id} did not depend on {depends_on}."
    )


@one_line_errors
def validate_dependencies_command(
    project: ProjectOpt = None,
    tag: TagOpt = None,
    fix: Annotated[bool, typer.Option("--fix", help="Remove missing and self references.")] = False,
) -> None:
    """Check for duplicate ids, missing references, self-references and cycles; exit 1 if any remain."""
    with tasks_api(project, tag) as api:
        check = api.validate_dependencies(fix=fix)
    for fixed in check.fixed:
        console.print(f"fixed: {fixed}")
    warn_problems(check.load_problems)
    problems = check.problems
    if problems:
        for problem in problems[1:]:
            err_console.print(f"  {problem.message}", markup=False, highlight=False)
        hint = "give them distinct ids by hand" if problems[0].kind == "duplicate" else "edit them or use --fix"
        fail(f"{len(problems)} dependency problem(s): {problems[0].message}; {hint}")
    console.print("Dependencies are valid.")


@one_line_errors
def import_command(
    source: Annotated[Path, typer.Argument(help="A Task Master tasks.json (tagged or legacy).")],
    project: ProjectOpt = None,
    replace: Annotated[bool, typer.Option("--replace", help="Overwrite tags that exist here.")] = False,
) -> None:
    """Import every tag of a Task Master tasks.json; existing tags are merged unless --replace."""
    with tasks_api(project) as api:
        results = api.import_file(source, replace=replace)
    for tag, result in results.items():
        skipped = f", kept our {len(result.skipped)} with the same ids" if result.skipped else ""
        console.print(f"{tag}: {len(result.added)} task(s) imported{skipped}")


@one_line_errors
def export_command(
    dest: Annotated[Path, typer.Argument(help="Where to write the Task Master file.")],
    project: ProjectOpt = None,
    tag: Annotated[str | None, typer.Option("--tag", help="Export only this tag.")] = None,
) -> None:
    """Export to a Task Master tasks.json that the npm tool reads."""
    with tasks_api(project) as api:
        written = api.export_file(dest, tag=tag)
    console.print(f"Exported {', '.join(written)} to {dest}")


def register(app: typer.Typer) -> None:
    app.command("list")(list_tasks)
    app.command("show")(show)
    app.command("next")(next_command)
    app.command("set-status")(set_status_command)
    app.command("add-dependency")(add_dependency_command)
    app.command("remove-dependency")(remove_dependency_command)
    app.command("validate-dependencies")(validate_dependencies_command)
    app.command("import")(import_command)
    app.command("export")(export_command)
