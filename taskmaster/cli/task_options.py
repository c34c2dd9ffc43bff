"""How task commands reach their tasks: a TasksAPI for `--project`/`--tag` (and `--profile` for the AI forms).

The place (project dir, tasks.json, tag) is resolved by `TasksAPI.for_project`: `--tag`, else a tag set in config
(TASKMASTER_TAG or taskmaster.toml), else Task Master's active tag from `.taskmaster/state.json`, else master.
Task commands must start fast and loading Settings costs ~0.1 s of imports, so Settings are loaded only when a config
source exists; a Workspace (and the model) is opened only when an AI form needs it, and released when the command
ends. Workspace warnings print as `warning: …` on stderr.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from taskmaster.cli.common import err_console
from taskmaster.workspace.tasks_api import TasksAPI, opened_tasks


def warn(message: str) -> None:
    err_console.print(f"[yellow]warning:[/] {message}", markup=True, highlight=False)


@contextmanager
def tasks_api(project: Path | None, tag: str | None = None, profile: str | None = None) -> Iterator[TasksAPI]:
    """The TasksAPI for a command's --project/--tag/--profile, closing any workspace it opened."""
    with opened_tasks(project, tag=tag, profile=profile, warn=warn) as api:
        yield api
