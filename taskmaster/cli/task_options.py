"""Where task commands find their tasks: the project's tasks.json and the active tag.

The tag is `--tag`, else a tag set in config (TASKMASTER_TAG or taskmaster.toml), else Task Master's active tag
from `.taskmaster/state.json` (`currentTag`, which `use-tag` in either tool sets), else master.
"""

from __future__ import annotations

from pathlib import Path

from taskmaster.cli.options import settings_for
from taskmaster.settings import Settings
from tasks.store import TaskFile
from tasks.tags import current_tag


def task_settings(project: Path | None, tag: str | None = None) -> Settings:
    """Settings with `tag` resolved as described above."""
    settings = settings_for(project, tag)
    if not tag and "tag" not in settings.model_fields_set:
        settings = settings.model_copy(update={"tag": current_tag(settings.tasks_file)})
    return settings


def task_store(project: Path | None, tag: str | None = None) -> TaskFile:
    settings = task_settings(project, tag)
    return TaskFile(settings.tasks_file, tag=settings.tag)
