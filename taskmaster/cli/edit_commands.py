"""Task Master's editing commands, with its names and flags: add-task, add-subtask, update-task, update-subtask,
update, remove-subtask, clear-subtasks, remove-task, move, generate, complexity-report and init.

Every command is a thin shell over the TasksAPI (ws.tasks), which the MCP server's editing tools call too. The
model is only imported by the AI forms (`--prompt`), and its answer is applied afterwards under the file lock,
never while holding it.
Task Master's `-p` means `--prompt`; here `-p` stays `--project` as in every other command, so use `--prompt`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from taskmaster.cli.common import console, fail, one_line_errors
from taskmaster.cli.options import JsonOpt, ProfileOpt, ProjectOpt, TagOpt
from taskmaster.cli.task_options import tasks_api
from tasks.store import DEFAULT_TAG

IdOpt = Annotated[str | None, typer.Option("--id", "-i", help="Task id(s), comma-separated.")]
PromptOpt = Annotated[str | None, typer.Option("--prompt", help="What to write or change (the model does it).")]
TitleOpt = Annotated[str | None, typer.Option("--title", "-t", help="Title (manual form, no model).")]
DescriptionOpt = Annotated[str | None, typer.Option("--description", "-d", help="Description.")]
DetailsOpt = Annotated[str | None, typer.Option("--details", help="Implementation details.")]
TestStrategyOpt = Annotated[str | None, typer.Option("--test-strategy", help="How to verify it.")]
PriorityOpt = Annotated[str | None, typer.Option("--priority", help="critical, high, medium or low.")]
DependenciesOpt = Annotated[str | None, typer.Option("--dependencies", help="Comma-separated ids it depends on.")]
ResearchOpt = Annotated[bool, typer.Option("--research", help="Add context retrieved from the knowledge base.")]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]


def _split(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def _print(data: Any, as_json: bool, text: str) -> None:
    if as_json:
        console.print_json(json.dumps(data))
    else:
        console.print(text, markup=False, highlight=False)


@one_line_errors
def add_task_command(
    prompt: PromptOpt = None,
    title: TitleOpt = None,
    description: DescriptionOpt = None,
    details: DetailsOpt = None,
    test_strategy: TestStrategyOpt = None,
    dependencies: DependenciesOpt = None,
    priority: PriorityOpt = None,
    research: ResearchOpt = False,
    project: ProjectOpt = None,
    tag: TagOpt = None,
    profile: ProfileOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Add a task: manual with --title/--description, or written by the model from --prompt."""
    if bool(prompt) == bool(title):
        fail("give either --title (manual) or --prompt (the model writes the task), not both")
    with tasks_api(project, tag, profile) as api:
        created = api.add(
            title,
            prompt=prompt,
            description=description,
            details=details,
            test_strategy=test_strategy,
            priority=priority,
            dependencies=dependencies,
            research=research,
        )
    _print(created.task.to_json(), as_json, f"Added task {created.id}: {created.task.title}")


@one_line_errors
def add_subtask_command(
    parent: Annotated[str | None, typer.Option("--parent", help="Parent task id.")] = None,
    task_id: Annotated[str | None, typer.Option("--task-id", "-i", help="Existing task to convert.")] = None,
    title: TitleOpt = None,
    description: DescriptionOpt = None,
    details: DetailsOpt = None,
    dependencies: DependenciesOpt = None,
    status: Annotated[str, typer.Option("--status", "-s", help="Status of the new subtask.")] = "pending",
    project: ProjectOpt = None,
    tag: TagOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Add a subtask to --parent, or convert task --task-id into one."""
    if not parent:
        fail("give --parent, e.g. taskmaster add-subtask --parent 3 --title 'Write tests'")
    with tasks_api(project, tag) as api:
        added = api.add_subtask(
            parent,
            title,
            description=description,
            details=details,
            status=status,
            dependencies=dependencies,
            task_id=task_id,
        )
    result = {"id": added.id, "subtask": added.task.to_json()}
    _print(result, as_json, f"Added subtask {added.id}: {added.task.title}")


@one_line_errors
def update_task_command(
    task_id: IdOpt = None,
    prompt: PromptOpt = None,
    append: Annotated[bool, typer.Option("--append", help="With --prompt: append a note, keep the rest.")] = False,
    title: TitleOpt = None,
    description: DescriptionOpt = None,
    details: DetailsOpt = None,
    test_strategy: TestStrategyOpt = None,
    priority: PriorityOpt = None,
    research: ResearchOpt = False,
    project: ProjectOpt = None,
    tag: TagOpt = None,
    profile: ProfileOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Change one task: fields directly, or rewritten by the model from --prompt."""
    if not task_id:
        fail("give --id, e.g. taskmaster update-task --id 3 --prompt 'use SQLite instead'")
    fields = (title, description, details, test_strategy, priority)
    if not prompt and all(value is None for value in fields):
        fail("nothing to change: give --prompt, or fields like --title/--details/--priority")
    with tasks_api(project, tag, profile) as api:
        updated = api.update(
            task_id,
            prompt=prompt,
            append=append,
            title=title,
            description=description,
            details=details,
            test_strategy=test_strategy,
            priority=priority,
            research=research,
        )
    noted = bool(prompt and append)
    text = f"Appended a note to task {task_id}." if noted else f"Updated task {task_id}: {updated.task.title}"
    _print(updated.task.to_json(), as_json, text)


@one_line_errors
def update_subtask_command(
    subtask_id: IdOpt = None,
    prompt: PromptOpt = None,
    no_ai: Annotated[bool, typer.Option("--no-ai", help="Append the --prompt text as is, without the model.")] = False,
    research: ResearchOpt = False,
    project: ProjectOpt = None,
    tag: TagOpt = None,
    profile: ProfileOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Append a timestamped note to a subtask (the model writes it unless --no-ai)."""
    if not subtask_id or not prompt:
        fail("give --id and --prompt, e.g. taskmaster update-subtask --id 3.2 --prompt 'the API needs auth'")
    if "." not in subtask_id:
        fail(f"{subtask_id} is not a subtask id; use the parent.sub form, e.g. {subtask_id}.1")
    with tasks_api(project, tag, profile) as api:
        noted = api.update_subtask(subtask_id, prompt, use_model=not no_ai, research=research)
    _print({"id": noted.id, "subtask": noted.task.to_json()}, as_json, f"Appended a note to subtask {subtask_id}.")


@one_line_errors
def update_command(
    from_id: Annotated[str | None, typer.Option("--from", help="First task id to update.")] = None,
    prompt: PromptOpt = None,
    research: ResearchOpt = False,
    project: ProjectOpt = None,
    tag: TagOpt = None,
    profile: ProfileOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Rewrite every pending task from --from on with the model, following --prompt."""
    if not from_id or not prompt:
        fail("give --from and --prompt, e.g. taskmaster update --from 4 --prompt 'we switched to Postgres'")
    if not from_id.strip().isdigit():
        fail(f"--from {from_id!r} is not a top-level task id like 4")
    with tasks_api(project, tag, profile) as api:
        updated = api.update_from(from_id, prompt, research=research)
    data = [entry.task.to_json() for entry in updated]
    _print(data, as_json, f"Updated {len(updated)} task(s): {', '.join(entry.id for entry in updated)}")


@one_line_errors
def remove_subtask_command(
    subtask_id: IdOpt = None,
    convert: Annotated[bool, typer.Option("--convert", "-c", help="Turn it into a top-level task.")] = False,
    project: ProjectOpt = None,
    tag: TagOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Remove subtasks, or turn them into top-level tasks with --convert."""
    if not subtask_id:
        fail("give --id, e.g. taskmaster remove-subtask --id 3.2")
    with tasks_api(project, tag) as api:
        results = api.remove_subtask(subtask_id, convert=convert)
    lines = [
        f"Converted {r.removed} to task {r.converted_to}." if r.converted_to else f"Removed {r.removed}."
        for r in results
    ]
    _print([r.model_dump(exclude_none=True) for r in results], as_json, "\n".join(lines))


@one_line_errors
def clear_subtasks_command(
    task_ids: IdOpt = None,
    all_tasks: Annotated[bool, typer.Option("--all", help="Clear the subtasks of every task.")] = False,
    project: ProjectOpt = None,
    tag: TagOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Remove all subtasks of --id tasks (or --all)."""
    if bool(task_ids) == all_tasks:
        fail("give --id (comma-separated) or --all")
    with tasks_api(project, tag) as api:
        cleared = api.clear_subtasks(None if all_tasks else task_ids)
    _print(cleared, as_json, f"Cleared subtasks of {', '.join(cleared)}." if cleared else "No subtasks to clear.")


@one_line_errors
def remove_task_command(
    task_ids: IdOpt = None,
    yes: YesOpt = False,
    project: ProjectOpt = None,
    tag: TagOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Remove tasks or subtasks and every dependency on them."""
    if not task_ids:
        fail("give --id, e.g. taskmaster remove-task --id 5 --yes")
    with tasks_api(project, tag) as api:
        if not yes:
            titles = ", ".join(f"{entry.id} ({entry.task.title})" for entry in api.get_many(_split(task_ids)))
            if not typer.confirm(f"Remove {titles} and their subtasks?", default=False):
                fail("nothing removed; pass --yes to skip this question", code=1)
        removed = api.remove(task_ids)
    _print(removed, as_json, f"Removed {', '.join(removed)}.")


@one_line_errors
def move_command(
    from_ids: Annotated[str | None, typer.Option("--from", help="Task id(s) to move, comma-separated.")] = None,
    to_ids: Annotated[str | None, typer.Option("--to", help="Destination id(s) within the tag.")] = None,
    from_tag: Annotated[str | None, typer.Option("--from-tag", help="Move to another tag: source tag.")] = None,
    to_tag: Annotated[str | None, typer.Option("--to-tag", help="Move to another tag: target tag.")] = None,
    with_dependencies: Annotated[
        bool, typer.Option("--with-dependencies", help="Also move the tasks they depend on.")
    ] = False,
    ignore_dependencies: Annotated[
        bool, typer.Option("--ignore-dependencies", help="Drop dependencies that would cross tags.")
    ] = False,
    project: ProjectOpt = None,
    tag: TagOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Move tasks within a tag (--from/--to) or to another tag (--from-tag/--to-tag)."""
    if not from_ids:
        fail("give --from, e.g. taskmaster move --from 5 --to 7 (or --from 5 --from-tag a --to-tag b)")
    if not to_tag and not to_ids:
        fail("give --to (within the tag) or --to-tag (to another tag)")
    with tasks_api(project, from_tag or tag) as api:
        if to_tag:
            result = api.move_to_tag(
                from_ids,
                to_tag,
                with_dependencies=with_dependencies,
                ignore_dependencies=ignore_dependencies,
            )
            data = {"moved": result.moved, "from": result.from_tag, "to": result.to_tag}
            _print(data, as_json, f"Moved {', '.join(result.moved)} from {result.from_tag} to {to_tag}.")
            return
        moves = api.move(from_ids, to_ids or "")
    data = [move.model_dump(by_alias=True) for move in moves]
    _print(data, as_json, "\n".join(f"Moved {m.from_id} to {m.to_id}." for m in moves))


@one_line_errors
def generate_command(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Directory (default: next to tasks.json).")
    ] = None,
    project: ProjectOpt = None,
    tag: TagOpt = None,
) -> None:
    """Write one task_NNN.txt file per task next to tasks.json, as Task Master does."""
    with tasks_api(project, tag) as api:
        written = api.generate(output)
    console.print(f"Wrote {len(written)} task file(s) to {output or api.tasks_file.parent}")


@one_line_errors
def complexity_report_command(
    file: Annotated[Path | None, typer.Option("--file", "-f", help="Report file (default: this tag's).")] = None,
    project: ProjectOpt = None,
    tag: TagOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show the complexity report analyze-complexity wrote for this tag."""
    with tasks_api(project, tag) as api:
        shown = api.complexity_report(file)
    if as_json:
        console.print_json(json.dumps(shown.report))
        return
    from rich.table import Table

    table = Table(title=f"Complexity ({shown.tag}) — {shown.path}")
    for column in ("ID", "Title", "Score", "Subtasks", "Expansion prompt"):
        table.add_column(column)
    for row in shown.report.get("complexityAnalysis", []):
        table.add_row(
            str(row.get("taskId")),
            str(row.get("taskTitle", "")),
            str(row.get("complexityScore", "")),
            str(row.get("recommendedSubtasks", "")),
            str(row.get("expansionPrompt", ""))[:80],
        )
    console.print(table)


@one_line_errors
def init_command(
    project: ProjectOpt = None,
    yes: YesOpt = True,
) -> None:
    """Create .taskmaster/ (tasks.json, state.json, config) the way task-master init does."""
    with tasks_api(project, DEFAULT_TAG) as api:
        created = api.init()
    root = api.tasks_file.parent.parent
    console.print(
        f"Initialised {root}"
        + (f" ({', '.join(str(p) for p in created)})" if created else " (already there; nothing changed)")
    )


def register(app: typer.Typer) -> None:
    app.command("init")(init_command)
    app.command("add-task")(add_task_command)
    app.command("add-subtask")(add_subtask_command)
    app.command("update-task")(update_task_command)
    app.command("update-subtask")(update_subtask_command)
    app.command("update")(update_command)
    app.command("remove-subtask")(remove_subtask_command)
    app.command("clear-subtasks")(clear_subtasks_command)
    app.command("remove-task")(remove_task_command)
    app.command("move")(move_command)
    app.command("generate")(generate_command)
    app.command("complexity-report")(complexity_report_command)
