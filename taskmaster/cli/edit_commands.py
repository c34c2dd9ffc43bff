"""Task Master's editing commands, with its names and flags: add-task, add-subtask, update-task, update-subtask,
update, remove-subtask, clear-subtasks, remove-task, move, generate, complexity-report and init.

Every edit goes through tasks/editing.py (the same functions the MCP server calls). The model is only imported
by the AI forms (`--prompt`), and its answer is applied afterwards under the file lock, never while holding it.
Task Master's `-p` means `--prompt`; here `-p` stays `--project` as in every other command, so use `--prompt`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from taskmaster.cli.common import console, fail, one_line_errors
from taskmaster.cli.options import JsonOpt, ProfileOpt, ProjectOpt, TagOpt
from taskmaster.cli.task_options import task_settings, task_store
from tasks import editing
from tasks.complexity_report import read_report, report_path
from tasks.store import DEFAULT_TAG, dump_document, new_tag_metadata
from tasks.tree import find_task

if TYPE_CHECKING:
    from agents.llm.router import ModelRouter

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


@contextmanager
def _router(project: Path | None, tag: str | None, profile: str | None) -> Iterator[ModelRouter]:
    """The local model tiers, imported only for the AI forms of these commands."""
    from taskmaster.cli.options import settings_for
    from taskmaster.workspace.models import model_router

    with model_router(settings_for(project, tag, profile)) as router:
        yield router


def _research(project: Path | None, query: str) -> str:
    from taskmaster.cli.options import settings_for
    from taskmaster.workspace.research_context import retrieve_context

    return retrieve_context(settings_for(project), query) or ""


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
    store = task_store(project, tag)
    fields: dict[str, Any] = {
        "title": title or "",
        "description": description or "",
        "details": details or "",
        "test_strategy": test_strategy or "",
        "priority": priority,
    }
    if prompt:
        from agents.planner.editor import draft_task

        existing = [(str(task.id), task.title) for task in store.load()]
        request = prompt + (f"\n\nBackground:\n{_research(project, prompt)}" if research else "")
        with _router(project, tag, profile) as router:
            draft = draft_task(router, request, existing)
        fields = {
            "title": draft.title,
            "description": description or draft.description,
            "details": details or draft.details,
            "test_strategy": test_strategy or draft.test_strategy,
            "priority": priority or draft.priority,
        }
    created = editing.add_task(store, dependencies=_split(dependencies), **fields)
    _print(created, as_json, f"Added task {created['id']}: {created['title']}")


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
    result = editing.add_subtask(
        task_store(project, tag),
        parent,
        title=title,
        description=description or "",
        details=details or "",
        status=status,
        dependencies=_split(dependencies),
        task_id=task_id,
    )
    _print(result, as_json, f"Added subtask {result['id']}: {result['subtask']['title']}")


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
    store = task_store(project, tag)
    fields = {
        key: value
        for key, value in (
            ("title", title),
            ("description", description),
            ("details", details),
            ("testStrategy", test_strategy),
            ("priority", priority),
        )
        if value is not None
    }
    if not prompt and not fields:
        fail("nothing to change: give --prompt, or fields like --title/--details/--priority")
    note = None
    if prompt:
        change = prompt + (f"\n\nBackground:\n{_research(project, prompt)}" if research else "")
        task = find_task(store.load(), task_id)
        with _router(project, tag, profile) as router:
            if append:
                from agents.planner.editor import task_note

                note = task_note(router, task, change)
            else:
                fields = {**_revision(router, task, change), **fields}
    if note is not None:
        appended = editing.update_task(store, task_id, fields=fields, append=note)
        _print(appended, as_json, f"Appended a note to task {task_id}.")
        return
    updated_task = editing.update_task(store, task_id, fields=fields)
    _print(updated_task, as_json, f"Updated task {task_id}: {updated_task['title']}")


def _revision(router: ModelRouter, task: Any, change: str) -> dict[str, Any]:
    from agents.planner.editor import revision_fields  # imported here: task commands never load the model stack

    return revision_fields(router, task, change)


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
    store = task_store(project, tag)
    if "." not in subtask_id:
        fail(f"{subtask_id} is not a subtask id; use the parent.sub form, e.g. {subtask_id}.1")
    note = prompt
    if not no_ai:
        from agents.planner.editor import task_note

        subtask = find_task(store.load(), subtask_id)
        update = prompt + (f"\n\nBackground:\n{_research(project, prompt)}" if research else "")
        with _router(project, tag, profile) as router:
            note = task_note(router, subtask, update)
    result = editing.update_subtask(store, subtask_id, note)
    _print(result, as_json, f"Appended a note to subtask {subtask_id}.")


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
    try:
        start = int(from_id)
    except ValueError:
        fail(f"--from {from_id!r} is not a top-level task id like 4")
    store = task_store(project, tag)
    targets = [t for t in store.load() if t.id >= start and str(t.status) in ("pending", "in-progress", "blocked")]
    if not targets:
        fail(f"no pending tasks with id {start} or higher; see taskmaster list")
    change = prompt + (f"\n\nBackground:\n{_research(project, prompt)}" if research else "")
    updated: list[dict[str, Any]] = []
    with _router(project, tag, profile) as router:
        revisions = [(str(task.id), _revision(router, task, change)) for task in targets]
    for task_key, fields in revisions:  # applied after the model is done: no lock held across model calls
        updated.append(editing.update_task(store, task_key, fields=fields))
    _print(updated, as_json, f"Updated {len(updated)} task(s): {', '.join(str(t['id']) for t in updated)}")


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
    results = editing.remove_subtask(task_store(project, tag), subtask_id, convert=convert)
    lines = [
        f"Converted {r['removed']} to task {r['converted_to']}." if "converted_to" in r else f"Removed {r['removed']}."
        for r in results
    ]
    _print(results, as_json, "\n".join(lines))


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
    cleared = editing.clear_subtasks(task_store(project, tag), None if all_tasks else task_ids)
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
    store = task_store(project, tag)
    if not yes:
        tasks = store.load()
        titles = ", ".join(f"{key} ({find_task(tasks, key).title})" for key in _split(task_ids))
        if not typer.confirm(f"Remove {titles} and their subtasks?", default=False):
            fail("nothing removed; pass --yes to skip this question", code=1)
    removed = editing.remove_task(store, task_ids)
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
    if to_tag:
        settings = task_settings(project, tag)
        source_tag = from_tag or settings.tag
        result = editing.move_between_tags(
            settings.tasks_file,
            from_ids,
            source_tag,
            to_tag,
            with_dependencies=with_dependencies,
            ignore_dependencies=ignore_dependencies,
        )
        _print(result, as_json, f"Moved {', '.join(result['moved'])} from {source_tag} to {to_tag}.")
        return
    if not to_ids:
        fail("give --to (within the tag) or --to-tag (to another tag)")
    moves = editing.move_task(task_store(project, from_tag or tag), from_ids, to_ids)
    _print(moves, as_json, "\n".join(f"Moved {m['from']} to {m['to']}." for m in moves))


@one_line_errors
def generate_command(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Directory (default: next to tasks.json).")
    ] = None,
    project: ProjectOpt = None,
    tag: TagOpt = None,
) -> None:
    """Write one task_NNN.txt file per task next to tasks.json, as Task Master does."""
    from tasks.task_files import write_task_files

    store = task_store(project, tag)
    written = write_task_files(store.load(), output or store.path.parent, store.tag)
    console.print(f"Wrote {len(written)} task file(s) to {output or store.path.parent}")


@one_line_errors
def complexity_report_command(
    file: Annotated[Path | None, typer.Option("--file", "-f", help="Report file (default: this tag's).")] = None,
    project: ProjectOpt = None,
    tag: TagOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show the complexity report analyze-complexity wrote for this tag."""
    settings = task_settings(project, tag)
    path = file or report_path(settings.tasks_file, settings.tag)
    report = read_report(path)
    if as_json:
        console.print_json(json.dumps(report))
        return
    from rich.table import Table

    table = Table(title=f"Complexity ({settings.tag}) — {path}")
    for column in ("ID", "Title", "Score", "Subtasks", "Expansion prompt"):
        table.add_column(column)
    for row in report.get("complexityAnalysis", []):
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
    settings = task_settings(project, DEFAULT_TAG)
    root = settings.tasks_file.parent.parent
    for sub in ("tasks", "docs", "reports", "templates"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    created: list[str] = []
    if not settings.tasks_file.exists():
        settings.tasks_file.write_text(
            dump_document({DEFAULT_TAG: {"tasks": [], "metadata": new_tag_metadata(DEFAULT_TAG)}}), encoding="utf-8"
        )
        created.append(str(settings.tasks_file))
    state = root / "state.json"
    if not state.exists():
        from tasks.tags import use_tag

        use_tag(settings.tasks_file, DEFAULT_TAG)
        created.append(str(state))
    console.print(
        f"Initialised {root}" + (f" ({', '.join(created)})" if created else " (already there; nothing changed)")
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
