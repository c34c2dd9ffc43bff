"""Every file and directory a project keeps on disk, defined once.

Task Master's own layout comes first (`.taskmaster/tasks/tasks.json`, `.taskmaster/state.json`, the complexity
reports under `.taskmaster/reports/`, all found through tasks/), so the two tools share a project; our own state sits
beside it under `.taskmaster/state/` (databases), `.taskmaster/cache/`, `.taskmaster/code/` and so on. Nothing else
in the app builds these paths: the Workspace hands them to the stores it opens.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

CONFIG_NAME = "taskmaster.toml"


def user_config_path() -> Path:
    """The user's own settings file, read after the project's."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "taskmaster" / CONFIG_NAME


@dataclass(frozen=True)
class WorkspacePaths:
    project_dir: Path

    @property
    def config_file(self) -> Path:
        """The project's settings file (the user's own lives in ~/.config/taskmaster/)."""
        return self.project_dir / CONFIG_NAME

    @property
    def data_dir(self) -> Path:
        """Task Master's directory; everything the project stores lives under it."""
        return self.project_dir / ".taskmaster"

    @property
    def tasks_file(self) -> Path:
        return self.data_dir / "tasks" / "tasks.json"

    @property
    def state_dir(self) -> Path:
        return self.data_dir / "state"

    @property
    def checkpoints(self) -> Path:
        """LangGraph's SQLite checkpointer (unless `checkpoint_url` points at Postgres)."""
        return self.state_dir / "checkpoints.sqlite"

    @property
    def ledger(self) -> Path:
        """Every codegen attempt and routing decision."""
        return self.state_dir / "ledger.sqlite"

    @property
    def runs(self) -> Path:
        """Autonomous runs and their task events."""
        return self.state_dir / "runs.sqlite"

    @property
    def schedules(self) -> Path:
        """`taskmaster schedule` entries, their run history and the scheduler's heartbeat."""
        return self.state_dir / "schedules.sqlite"

    @property
    def claims(self) -> Path:
        """Which run holds which task; beside tasks.json because workers claim through the tasks file's lock."""
        return self.tasks_file.with_name(self.tasks_file.stem + ".claims.sqlite")

    @property
    def response_cache(self) -> Path:
        return self.data_dir / "cache" / "responses.sqlite"

    @property
    def code_dir(self) -> Path:
        """Where `code` and `run` write generated code, one folder per task."""
        return self.data_dir / "code"

    def code_dir_for(self, label: str) -> Path:
        return self.code_dir / label.replace(".", "_")

    @property
    def research_dir(self) -> Path:
        """Saved research answers (`research --save`)."""
        return self.data_dir / "docs" / "research"

    @property
    def serve_dir(self) -> Path:
        """Pid files and logs of servers started by `taskmaster serve`."""
        return self.data_dir / "serve"
