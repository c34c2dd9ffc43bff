"""Where task commands find their tasks: the project's tasks.json and the active tag.

The tag is `--tag`, else a tag set in config (TASKMASTER_TAG or taskmaster.toml), else Task Master's active tag
from `.taskmaster/state.json` (`currentTag`, which `use-tag` in either tool sets), else master.

Task commands must start fast, and loading Settings costs ~0.1 s of imports. Settings only matter here for
`tag` and `project_dir`, so they are loaded when a config source could set those (a TASKMASTER_* variable or a
taskmaster.toml in the project or user config dir); otherwise the defaults are known without loading them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from taskmaster.workspace.paths import CONFIG_NAME, WorkspacePaths, user_config_path
from tasks.store import TaskFile
from tasks.tags import current_tag


@dataclass(frozen=True)
class TaskPlace:
    """The three things a task command needs from the configuration."""

    project_dir: Path
    tasks_file: Path
    tag: str


def _configured(root: Path) -> bool:
    """True if some config source exists that Settings would read (then Settings decide)."""
    if any(key.startswith("TASKMASTER_") for key in os.environ):
        return True
    return (root / CONFIG_NAME).is_file() or user_config_path().is_file()


def task_settings(project: Path | None, tag: str | None = None) -> TaskPlace:
    """Project dir, tasks file and tag, resolved as described above."""
    root = Path(project or Path.cwd()).resolve()
    if _configured(root):
        from taskmaster.cli.options import settings_for

        settings = settings_for(project, tag)  # also falls back to state.json's currentTag
        return TaskPlace(settings.project_dir, settings.tasks_file, settings.tag)
    tasks_file = WorkspacePaths(root).tasks_file
    return TaskPlace(root, tasks_file, tag or current_tag(tasks_file))


def task_store(project: Path | None, tag: str | None = None) -> TaskFile:
    place = task_settings(project, tag)
    return TaskFile(place.tasks_file, tag=place.tag)
