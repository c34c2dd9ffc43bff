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
    from taskmaster.settings import load_settings
    from tasks.tags import current_tag

    overrides: dict[str, object] = {}
    if tag:
        overrides["tag"] = tag
    if profile:
        overrides["profile"] = profile
    settings = load_settings(project, **overrides)
    if "tag" not in settings.model_fields_set:  # no --tag and none configured: Task Master's active tag
        settings.tag = current_tag(settings.tasks_file)
    return settings


def task_file(settings: Settings) -> TaskFile:
    return TaskFile(settings.tasks_file, tag=settings.tag)
