"""Task Master's common tool arguments (projectRoot, tag, file) turned into Settings, a Workspace and its TasksAPI,
the same way the CLI turns --project/--tag into them."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

from pydantic import Field

from taskmaster.mcp.results import ToolInputError

if TYPE_CHECKING:
    from taskmaster.settings import Settings
    from taskmaster.workspace.tasks_api import TasksAPI
    from tasks.store import TaskFile

ProjectRoot = Annotated[
    str | None,
    Field(description="The directory of the project. Must be an absolute path (default: the server's directory)."),
]
Tag = Annotated[str | None, Field(description="Tag context to operate on (default: master).")]
File = Annotated[
    str | None, Field(description="Absolute path to the tasks file (default: .taskmaster/tasks/tasks.json).")
]


def settings_for(project_root: str | None, tag: str | None = None, profile: str | None = None) -> Settings:
    """The call's settings, loaded the way every shell loads them (Workspace's project_settings)."""
    from taskmaster.workspace.workspace import project_settings

    root = None
    if project_root:
        root = Path(project_root).expanduser()
        if not root.is_dir():
            raise ToolInputError(f"projectRoot {project_root} is not a directory; pass your project's absolute path")
    return project_settings(root, tag=tag, profile=profile)


def task_file(settings: Settings, file: str | None = None) -> TaskFile:
    from tasks.store import TaskFile

    if file:
        path = Path(file).expanduser()
        if not path.is_absolute():
            path = settings.project_dir / path
        if path.is_dir():
            raise ToolInputError(f"file {file} is a directory; pass the path of a tasks.json")
        return TaskFile(path, tag=settings.tag)
    return TaskFile(settings.tasks_file, tag=settings.tag)


def _warn(message: str) -> None:
    """Workspace warnings go to the server's stderr (stdout carries the protocol)."""
    print(f"warning: {message}", file=sys.stderr, flush=True)


@contextmanager
def tasks_for(
    project_root: str | None, tag: str | None = None, file: str | None = None, profile: str | None = None
) -> Iterator[TasksAPI]:
    """The TasksAPI for a tool call's projectRoot/tag/file (and profile for the prompt forms), on a Workspace that
    is closed when the call ends (model tools pass the server's process-wide router, so no model stops here)."""
    from taskmaster.workspace import Workspace

    with Workspace(settings_for(project_root, tag, profile), warn=_warn) as ws:
        yield ws.tasks.on(tasks_file=file) if file else ws.tasks


def require_default_file(settings: Settings, file: str | None) -> None:
    """Model tools write through the graphs, which use the project's tasks file; a different `file` is refused."""
    if file and task_file(settings, file).path.resolve() != settings.tasks_file.resolve():
        raise ToolInputError(
            f"file {file} is not this project's tasks file ({settings.tasks_file}); "
            "omit file, or pass the projectRoot that holds it"
        )


def id_list(ids: str) -> list[str]:
    """Task Master's comma-separated id lists ("1,3.2")."""
    parts = [part.strip() for part in str(ids).split(",") if part.strip()]
    if not parts:
        raise ToolInputError("id is empty; pass a task id like 3 or 3.2 (comma-separate several)")
    return parts


def as_int(value: str | int | None, name: str) -> int | None:
    """Task Master passes counts as strings ("5"); accept both and say clearly when it is not a number."""
    if value is None or value == "":
        return None
    try:
        number = int(str(value).strip())
    except ValueError:
        raise ToolInputError(f"{name} must be a whole number, not {value!r}") from None
    if number < 1:
        raise ToolInputError(f"{name} must be at least 1, not {number}")
    return number
