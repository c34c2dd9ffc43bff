"""Task Master's tag commands: tags, add-tag, use-tag, delete-tag, rename-tag, copy-tag (model-free).

They call the TasksAPI (ws.tasks), as the MCP server's tag tools do; the active tag lives in .taskmaster/state.json
so `use-tag` here is seen by task-master and the other way round.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from taskmaster.cli.common import console, fail, one_line_errors
from taskmaster.cli.options import JsonOpt, ProjectOpt
from taskmaster.cli.task_options import tasks_api

NameArg = Annotated[str, typer.Argument(help="Tag name (letters, digits, - and _).")]
DescriptionOpt = Annotated[str | None, typer.Option("--description", "-d", help="What the tag is for.")]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]


@one_line_errors
def tags_command(
    show_metadata: Annotated[bool, typer.Option("--show-metadata", help="Also show descriptions.")] = False,
    project: ProjectOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List tags with task counts; the active one is marked."""
    with tasks_api(project) as api:
        rows = api.tags()
    if as_json:
        console.print_json(json.dumps([row.model_dump(exclude={"metadata"}) for row in rows]))
        return
    if not rows:
        console.print("No tags yet. Try: taskmaster add-task --title ... or taskmaster parse-prd PRD.md")
        return
    for row in rows:
        mark = "*" if row.current else " "
        line = f"{mark} {row.name}: {row.tasks} task(s), {row.completed} done, {row.subtasks} subtask(s)"
        if show_metadata and row.description:
            line += f" — {row.description}"
        console.print(line, markup=False, highlight=False)


@one_line_errors
def add_tag_command(
    name: Annotated[str | None, typer.Argument(help="Tag name (letters, digits, - and _).")] = None,
    from_branch: Annotated[bool, typer.Option("--from-branch", help="Name it after the current git branch.")] = False,
    copy_from_current: Annotated[
        bool, typer.Option("--copy-from-current", help="Copy the active tag's tasks.")
    ] = False,
    copy_from: Annotated[str | None, typer.Option("--copy-from", help="Copy this tag's tasks.")] = None,
    description: DescriptionOpt = None,
    project: ProjectOpt = None,
) -> None:
    """Create a tag (empty, or --copy-from-current / --copy-from TAG)."""
    if not name and not from_branch:
        fail("give a tag name (or --from-branch)")
    with tasks_api(project) as api:
        result = api.add_tag(
            name,
            copy_from=copy_from,
            copy_from_current=copy_from_current,
            from_branch=from_branch,
            description=description,
        )
    console.print(f"Created tag {result.name} with {result.tasks} task(s).", markup=False)


@one_line_errors
def use_tag_command(name: NameArg, project: ProjectOpt = None) -> None:
    """Make a tag the active one (.taskmaster/state.json)."""
    with tasks_api(project) as api:
        api.use_tag(name)
    console.print(f"Now using tag {name}.", markup=False)


@one_line_errors
def delete_tag_command(name: NameArg, yes: YesOpt = False, project: ProjectOpt = None) -> None:
    """Delete a tag and its tasks (never master)."""
    if not yes and not typer.confirm(f"Delete tag {name} and all its tasks?", default=False):
        fail("nothing deleted; pass --yes to skip this question")
    with tasks_api(project) as api:
        result = api.delete_tag(name)
    console.print(f"Deleted tag {name} ({result.tasks} task(s)).", markup=False)


@one_line_errors
def rename_tag_command(
    old: Annotated[str, typer.Argument(help="Current name.")],
    new: Annotated[str, typer.Argument(help="New name.")],
    project: ProjectOpt = None,
) -> None:
    """Rename a tag."""
    with tasks_api(project) as api:
        api.rename_tag(old, new)
    console.print(f"Renamed tag {old} to {new}.", markup=False)


@one_line_errors
def copy_tag_command(
    source: Annotated[str, typer.Argument(help="Tag to copy.")],
    target: Annotated[str, typer.Argument(help="New tag name.")],
    description: DescriptionOpt = None,
    project: ProjectOpt = None,
) -> None:
    """Copy a tag and its tasks to a new tag."""
    with tasks_api(project) as api:
        result = api.copy_tag(source, target, description=description)
    console.print(f"Copied {source} to {target} ({result.tasks} task(s)).", markup=False)


def register(app: typer.Typer) -> None:
    app.command("tags")(tags_command)
    app.command("add-tag")(add_tag_command)
    app.command("use-tag")(use_tag_command)
    app.command("delete-tag")(delete_tag_command)
    app.command("rename-tag")(rename_tag_command)
    app.command("copy-tag")(copy_tag_command)
