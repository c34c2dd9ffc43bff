"""Options shared by many commands, and the one place that turns them into Settings."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tasks.store import TaskFile

if TYPE_CHECKING:  # importing Settings costs ~0.1 s; task commands usually do without (cli/task_options.py)
    from taskmaster.settings import Settings

ProjectOpt = Annotated[
    Path | None, typer.Option("--project", "-p", help="Project directory (default: current directory).")
]
TagOpt = Annotated[
    str | None, typer.Option("--tag", help="Task Master tag to work on (default: the active tag, see use-tag).")
]
ProfileOpt = Annotated[
    str | None, typer.Option("--profile", help="Model profile: embedded, vllm-2x4090, ollama, lmstudio, localai, …")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


def settings_for(project: Path | None, tag: str | None = None, profile: str | None = None) -> Settings:
    from taskmaster.workspace.workspace import project_settings

    return project_settings(project, tag=tag, profile=profile)


def task_file(settings: Settings) -> TaskFile:
    return TaskFile(settings.tasks_file, tag=settings.tag)
