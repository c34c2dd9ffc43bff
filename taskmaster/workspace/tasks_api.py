"""The public API for tasks.json: list, get, next, set-status, add, update, move, remove, dependencies and tags.

`ws.tasks` is a `TasksAPI` on the workspace's tasks file and tag; the CLI's task commands and the MCP task tools are
thin shells over it. Everything here is model-free (it calls tasks/editing.py and tasks/tags.py) except the AI forms
(`add(prompt=...)`, `update(prompt=...)`, `update_subtask(...)`, `update_from(...)`), which ask the planner
(agents/planner/editor.py) through the workspace's router first and then apply the answer under the file lock, so
no lock is ever held across a model call.

Task commands must start in a fraction of a second, so this module imports only the task model at load time, and
`TasksAPI.for_project` finds the tasks file without loading Settings when no config source exists (loading them
costs ~0.1 s of imports); a Workspace is then opened only if an AI form needs the model.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from taskmaster.errors import AppError, translated
from taskmaster.workspace.paths import CONFIG_NAME, WorkspacePaths, user_config_path
from tasks.model import Task

if TYPE_CHECKING:
    from agents.llm.router import ModelRouter
    from taskmaster.workspace.workspace import Workspace
    from tasks.store import TaskFile

Ids = str | int | Iterable[str | int]
UPDATABLE_STATUSES = ("pending", "in-progress", "blocked")  # what `update --from` rewrites


# --- results -----------------------------------------------------------------------------------------------------
class Result(BaseModel):
    """Base of the results: validators are built on first use, so importing this module (every task command) stays
    cheap; `list` builds only the models it returns."""

    model_config = ConfigDict(defer_build=True)


class TaskEntry(Result):
    """One task or subtask with its full dotted id (the task itself stores only its local id)."""

    id: str
    tag: str
    task: Task

    def to_json(self) -> dict[str, Any]:
        """The task as tasks.json stores it, with `id` the full id for a subtask (as Task Master's tools show it)."""
        return {**self.task.to_json(), "id": self.id if "." in self.id else self.task.id}


class TaskList(Result):
    """`list`: the tag's top-level tasks (filtered by status when asked), counts, and entries that did not load."""

    tag: str
    status: list[str] | None = Field(None, description="The status filter, None for all.")
    tasks: list[Task]
    total: int = Field(description="Top-level tasks in the tag, before filtering.")
    by_status: dict[str, int] = Field(description="Tasks and subtasks at every depth, by status.")
    problems: list[str] = Field(default_factory=list, description="Entries the load could not read (left in place).")


class StatusChange(Result):
    status: str
    changed: list[str] = Field(description="Every full id whose status changed, incl. rolled-up parents.")
    tag: str


class DependencyChange(Result):
    id: str
    depends_on: str
    changed: bool


class DependencyProblem(Result):
    kind: str
    message: str


class DependencyCheck(Result):
    """`validate-dependencies`: what `fix` repaired and what remains (duplicates and cycles need a human)."""

    fixed: list[str] = Field(default_factory=list)
    problems: list[DependencyProblem] = Field(default_factory=list)
    load_problems: list[str] = Field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not self.problems


class SubtaskRemoval(Result):
    removed: str
    converted_to: str | None = None


class Move(Result):
    model_config = ConfigDict(populate_by_name=True, defer_build=True)

    from_id: str = Field(alias="from")
    to_id: str = Field(alias="to")


class TagMove(Result):
    moved: list[str]
    from_tag: str
    to_tag: str


class TagRename(Result):
    model_config = ConfigDict(populate_by_name=True, defer_build=True)

    old: str = Field(alias="from")
    new: str = Field(alias="to")


class TagInfo(Result):
    name: str
    current: bool
    tasks: int
    completed: int
    subtasks: int
    description: str = ""
    metadata: dict[str, Any] | None = None


class TagChange(Result):
    """A tag created, copied or deleted, with how many tasks it holds (held)."""

    name: str
    tasks: int


class ImportedTag(Result):
    added: list[int]
    skipped: list[int]
    replaced: bool


class ComplexityReport(Result):
    path: Path
    tag: str
    report: dict[str, Any]


def _split(value: Ids | None) -> list[str]:
    if value is None:
        return []
    parts = str(value).split(",") if isinstance(value, (str, int)) else [str(item) for item in value]
    return [part.strip() for part in parts if part.strip()]


def _configured(root: Path) -> bool:
    """True if a config source exists that Settings would read (then Settings decide the place)."""
    if any(key.startswith("TASKMASTER_") for key in os.environ):
        return True
    return (root / CONFIG_NAME).is_file() or user_config_path().is_file()


class TasksAPI:
    """Typed task operations on one tag of one tasks.json. Get it as `ws.tasks` (or `TasksAPI.for_project`)."""

    def __init__(
        self,
        tasks_file: Path,
        tag: str,
        *,
        project_dir: Path,
        workspace: Workspace | Callable[[], Workspace] | None = None,
    ) -> None:
        self.tasks_file = Path(tasks_file)
        self.tag = tag
        self.project_dir = Path(project_dir)
        self._workspace_source = workspace
        self._opened: Workspace | None = None  # a workspace this object opened itself, closed by `close()`
        # Entries the last read could not understand (left in the file untouched), one message each.
        self.problems: list[str] = []

    # --- construction ------------------------------------------------------------------------------------------
    @classmethod
    def of(cls, ws: Workspace) -> TasksAPI:
        """The API on the workspace's tasks file and tag (what `ws.tasks` returns)."""
        return cls(ws.paths.tasks_file, ws.settings.tag, project_dir=ws.paths.project_dir, workspace=ws)

    @classmethod
    def for_project(
        cls,
        project: str | Path | None = None,
        *,
        tag: str | None = None,
        profile: str | None = None,
        warn: Callable[[str], None] | None = None,
    ) -> TasksAPI:
        """The API for a project directory, opening a Workspace only when Settings could change the answer.

        With no TASKMASTER_* variable and no taskmaster.toml (project or user), the tasks file and tag are known
        without loading Settings, and a Workspace is opened on first need (an AI form); `close()` releases it.
        """
        root = Path(project or Path.cwd()).resolve()

        def open_workspace() -> Workspace:
            from taskmaster.workspace.workspace import Workspace

            return Workspace.open(project, tag=tag, profile=profile, warn=warn)

        if _configured(root):
            with translated():
                ws = open_workspace()
            api = cls.of(ws)
            api._opened = ws
            return api
        from tasks.tags import current_tag

        tasks_file = WorkspacePaths(root).tasks_file
        with translated():
            chosen = tag or current_tag(tasks_file)
        return cls(tasks_file, chosen, project_dir=root, workspace=open_workspace)

    def on(self, *, tag: str | None = None, tasks_file: str | Path | None = None) -> TasksAPI:
        """The same API on another tag and/or another tasks file (MCP's `file` argument); shares the workspace."""
        path = Path(tasks_file).expanduser() if tasks_file else self.tasks_file
        if not path.is_absolute():
            path = self.project_dir / path
        if path.is_dir():
            raise AppError(f"file {tasks_file} is a directory; pass the path of a tasks.json")
        other = TasksAPI(path, tag or self.tag, project_dir=self.project_dir, workspace=self._workspace_source)
        return other

    def close(self) -> None:
        """Release the workspace this object opened (never one it was given)."""
        if self._opened is not None:
            self._opened.close()
            self._opened = None

    def __enter__(self) -> TasksAPI:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def workspace(self) -> Workspace:
        """The workspace behind this API (opened now if this API was made without one, then closed by `close()`)."""
        return self._workspace()

    def _workspace(self) -> Workspace:
        source = self._workspace_source
        if source is None:
            raise AppError("this TasksAPI has no workspace; get it from Workspace.open(...).tasks for model edits")
        if not callable(source):  # a Workspace given to us (`ws.tasks`)
            return source
        if self._opened is None:
            with translated():
                self._opened = source()
        return self._opened

    def store(self, tag: str | None = None) -> TaskFile:
        """The underlying tasks.json tag (tasks.store.TaskFile), for callers that need the raw layer."""
        from tasks.store import TaskFile

        return TaskFile(self.tasks_file, tag=tag or self.tag)

    def _load(self) -> list[Task]:
        store = self.store()
        tasks = store.load()
        self.problems = [problem.message for problem in store.problems]
        return tasks

    def _entry(self, full_id: str, task: Task) -> TaskEntry:
        return TaskEntry(id=full_id, tag=self.tag, task=task)

    # --- reading -----------------------------------------------------------------------------------------------
    def list(self, status: str | Iterable[str] | None = None, *, with_subtasks: bool = True) -> TaskList:
        """The tag's top-level tasks; `status` (one, a list, or comma-separated) keeps tasks with those statuses."""
        from collections import Counter

        from tasks.select import parse_status
        from tasks.tree import iter_tasks

        wanted = _split(status) if status else None
        with translated():
            statuses = [parse_status(s).value for s in wanted] if wanted else None
            tasks = self._load()
        counts = Counter(str(task.status) for _, task in iter_tasks(tasks))
        shown = [task for task in tasks if statuses is None or str(task.status) in statuses]
        if not with_subtasks:
            shown = [task.model_copy(update={"subtasks": []}) for task in shown]
        return TaskList(
            tag=self.tag,
            status=statuses,
            tasks=shown,
            total=len(tasks),
            by_status=dict(counts),
            problems=self.problems,
        )

    def get(self, task_id: str | int) -> TaskEntry:
        """One task or subtask by full id (3 or 3.2.1); TaskStoreError names an unknown id."""
        return self.get_many([task_id])[0]

    def get_many(self, task_ids: Ids) -> list[TaskEntry]:
        """Several tasks (comma-separated or listed ids), read in one load."""
        from tasks.tree import find_task

        ids = _split(task_ids)
        if not ids:
            raise AppError("no task id given; pass ids like 3 or 3,4 or 3.2")
        with translated():
            tasks = self._load()
            return [self._entry(key, find_task(tasks, key)) for key in ids]

    def next(self) -> TaskEntry | None:
        """The task Task Master's `next` picks (pending or in progress, dependencies done, by priority), or None."""
        from tasks.select import next_task

        with translated():
            picked = next_task(self._load())
        return None if picked is None else self._entry(*picked)

    def complexity_report(self, file: str | Path | None = None) -> ComplexityReport:
        """The report analyze-complexity wrote for this tag (or `file`)."""
        from tasks.complexity_report import read_report, report_path

        path = Path(file) if file else report_path(self.tasks_file, self.tag)
        with translated():
            return ComplexityReport(path=path, tag=self.tag, report=read_report(path))

    # --- status and dependencies -------------------------------------------------------------------------------
    def set_status(self, task_ids: Ids, status: str) -> StatusChange:
        """Set the status of tasks or subtasks; a subtask's change rolls up to its parents (Task Master's rule)."""
        from tasks.editing import set_task_status

        with translated():
            changed = set_task_status(self.store(), _split(task_ids), status)
        return StatusChange(status=str(status).strip(), changed=changed, tag=self.tag)

    def add_dependency(self, task_id: str | int, depends_on: str | int) -> DependencyChange:
        """Make a task wait for another; refused (TaskStoreError) if either is unknown or it would make a cycle."""
        from tasks.dependencies import add_dependency

        with translated(), self.store().edit() as tasks:
            add_dependency(tasks, task_id, depends_on)
        return DependencyChange(id=str(task_id), depends_on=str(depends_on), changed=True)

    def remove_dependency(self, task_id: str | int, depends_on: str | int) -> DependencyChange:
        from tasks.dependencies import remove_dependency

        with translated(), self.store().edit() as tasks:
            removed = remove_dependency(tasks, task_id, depends_on)
        return DependencyChange(id=str(task_id), depends_on=str(depends_on), changed=removed)

    def validate_dependencies(self, *, fix: bool = False) -> DependencyCheck:
        """Duplicate ids, missing and self references, cycles; `fix` removes missing and self references first."""
        from tasks.dependencies import fix_dependencies, validate_dependencies

        store = self.store()
        fixed: list[str] = []
        with translated():
            if fix:
                with store.edit() as tasks:
                    fixed = [str(problem) for problem in fix_dependencies(tasks)]
                    problems = validate_dependencies(tasks)
            else:
                problems = validate_dependencies(store.load())
        return DependencyCheck(
            fixed=fixed,
            problems=[DependencyProblem(kind=p.kind, message=str(p)) for p in problems],
            load_problems=[problem.message for problem in store.problems],
        )

    # --- adding and editing ------------------------------------------------------------------------------------
    def add(
        self,
        title: str | None = None,
        *,
        prompt: str | None = None,
        description: str | None = None,
        details: str | None = None,
        test_strategy: str | None = None,
        priority: str | None = None,
        dependencies: Ids | None = None,
        research: bool = False,
        router: ModelRouter | None = None,
    ) -> TaskEntry:
        """Add a top-level task with the next free id: from `title` (no model), or written by the model from
        `prompt` (fields given here win over the model's). `research` adds knowledge-base passages to the prompt."""
        from tasks import editing

        if bool(prompt) == bool(title):
            raise AppError("give either a title (manual) or a prompt (the model writes the task), not both")
        fields: dict[str, Any] = {
            "title": title or "",
            "description": description or "",
            "details": details or "",
            "test_strategy": test_strategy or "",
            "priority": priority,
        }
        if prompt:
            from agents.planner.editor import draft_task

            with translated():
                existing = [(str(task.id), task.title) for task in self.store().load()]
                request = self._with_research(prompt, research)
                draft = draft_task(router or self._workspace().router(), request, existing)
            fields = {
                "title": draft.title,
                "description": description or draft.description,
                "details": details or draft.details,
                "test_strategy": test_strategy or draft.test_strategy,
                "priority": priority or draft.priority,
            }
        with translated():
            created = editing.add_task(self.store(), dependencies=_split(dependencies), **fields)
        return self._entry(str(created["id"]), Task.model_validate(created))

    def add_subtask(
        self,
        parent: str | int,
        title: str | None = None,
        *,
        description: str | None = None,
        details: str | None = None,
        status: str = "pending",
        dependencies: Ids | None = None,
        task_id: str | int | None = None,
    ) -> TaskEntry:
        """Add a subtask to `parent`, or convert top-level task `task_id` into one (dependencies follow it)."""
        from tasks import editing

        with translated():
            result = editing.add_subtask(
                self.store(),
                parent,
                title=title,
                description=description or "",
                details=details or "",
                status=status or "pending",
                dependencies=_split(dependencies),
                task_id=task_id,
            )
        return self._entry(result["id"], Task.model_validate(result["subtask"]))

    def update(
        self,
        task_id: str | int,
        *,
        prompt: str | None = None,
        append: bool = False,
        title: str | None = None,
        description: str | None = None,
        details: str | None = None,
        test_strategy: str | None = None,
        priority: str | None = None,
        research: bool = False,
        router: ModelRouter | None = None,
    ) -> TaskEntry:
        """Change one task or subtask: fields directly, or rewritten by the model for `prompt` (fields given here
        win); with `append`, the model writes a timestamped note instead and the rest is kept. Done tasks are
        refused."""
        from tasks import editing

        fields = {
            name: value
            for name, value in (
                ("title", title),
                ("description", description),
                ("details", details),
                ("testStrategy", test_strategy),
                ("priority", priority),
            )
            if value is not None
        }
        if not prompt and not fields:
            raise AppError("nothing to change: give a prompt, or fields like title, details or priority")
        note = None
        key = str(task_id).strip()
        if prompt:
            with translated():
                task = self.get(key).task
                change = self._with_research(prompt, research)
                model = router or self._workspace().router()
                if append:
                    from agents.planner.editor import task_note

                    note = task_note(model, task, change)
                else:
                    from agents.planner.editor import revision_fields

                    fields = {**revision_fields(model, task, change), **fields}
        with translated():
            updated = editing.update_task(self.store(), key, fields=fields, append=note)
        return self._entry(key, Task.model_validate(updated))

    def update_subtask(
        self,
        subtask_id: str | int,
        prompt: str,
        *,
        use_model: bool = True,
        research: bool = False,
        router: ModelRouter | None = None,
    ) -> TaskEntry:
        """Append a timestamped note to a subtask's details: written by the model from `prompt`, or `prompt` as is
        with `use_model=False` (the CLI's --no-ai)."""
        from tasks import editing

        key = str(subtask_id).strip()
        if "." not in key:
            raise AppError(f"{key} is not a subtask id; use the parent.sub form, e.g. {key}.1")
        if not (prompt or "").strip():
            raise AppError("nothing to add; pass the note as the prompt")
        note = prompt
        if use_model:
            from agents.planner.editor import task_note

            with translated():
                subtask = self.get(key).task
                note = task_note(router or self._workspace().router(), subtask, self._with_research(prompt, research))
        with translated():
            result = editing.update_subtask(self.store(), key, note)
        return self._entry(key, Task.model_validate(result["subtask"]))

    def update_from(
        self,
        from_id: str | int,
        prompt: str,
        *,
        research: bool = False,
        router: ModelRouter | None = None,
        on_progress: Callable[[str, int], None] | None = None,
    ) -> list[TaskEntry]:
        """Rewrite every pending, in-progress or blocked top-level task with id ≥ `from_id` for `prompt` (the CLI's
        `update --from`). All revisions are asked for first, then applied: no lock is held across model calls.
        `on_progress(message, total)` is called after each task's revision."""
        from agents.planner.editor import revision_fields
        from tasks import editing

        try:
            start = int(str(from_id).strip())
        except ValueError:
            raise AppError(f"from {from_id!r} is not a top-level task id like 4") from None
        if not (prompt or "").strip():
            raise AppError("nothing to change; pass the change as the prompt")
        store = self.store()
        with translated():
            targets = [t for t in store.load() if t.id >= start and str(t.status) in UPDATABLE_STATUSES]
        if not targets:
            raise AppError(f"no pending tasks with id {start} or higher; see `taskmaster list`")
        revisions: list[tuple[str, dict[str, Any]]] = []
        with translated():
            change = self._with_research(prompt, research)
            model = router or self._workspace().router()
            for task in targets:
                revisions.append((str(task.id), revision_fields(model, task, change)))
                if on_progress is not None:
                    on_progress(f"revised task {task.id}", len(targets))
            updated = [editing.update_task(store, key, fields=fields) for key, fields in revisions]
        return [self._entry(str(data["id"]), Task.model_validate(data)) for data in updated]

    def _with_research(self, prompt: str, research: bool) -> str:
        if not research:
            return prompt
        return prompt + f"\n\nBackground:\n{self._workspace().retrieve_context(prompt) or ''}"

    # --- removing and moving -----------------------------------------------------------------------------------
    def remove(self, task_ids: Ids) -> list[str]:
        """Remove tasks or subtasks and every dependency on them; returns the ids removed."""
        from tasks import editing

        with translated():
            return editing.remove_task(self.store(), _split(task_ids))

    def remove_subtask(self, subtask_ids: Ids, *, convert: bool = False) -> list[SubtaskRemoval]:
        """Remove subtasks, or with `convert` make each a new top-level task (dependencies follow)."""
        from tasks import editing

        with translated():
            results = editing.remove_subtask(self.store(), _split(subtask_ids), convert=convert)
        return [SubtaskRemoval.model_validate(result) for result in results]

    def clear_subtasks(self, task_ids: Ids | None = None) -> list[str]:
        """Remove every subtask of the given tasks (all tasks when None); returns the ids that had some."""
        from tasks import editing

        with translated():
            return editing.clear_subtasks(self.store(), None if task_ids is None else _split(task_ids))

    def move(self, from_ids: Ids, to_ids: Ids) -> list[Move]:
        """Task Master's `move --from --to` within the tag (pairs in order); dependencies follow the moved tasks."""
        from tasks import editing

        with translated():
            moves = editing.move_task(self.store(), ",".join(_split(from_ids)), ",".join(_split(to_ids)))
        return [Move.model_validate(move) for move in moves]

    def move_to_tag(
        self,
        task_ids: Ids,
        to_tag: str,
        *,
        from_tag: str | None = None,
        with_dependencies: bool = False,
        ignore_dependencies: bool = False,
    ) -> TagMove:
        """Move top-level tasks (with subtasks) from this tag (or `from_tag`) to `to_tag`, keeping their ids."""
        from tasks import editing

        with translated():
            result = editing.move_between_tags(
                self.tasks_file,
                _split(task_ids),
                from_tag or self.tag,
                to_tag,
                with_dependencies=with_dependencies,
                ignore_dependencies=ignore_dependencies,
            )
        return TagMove(moved=result["moved"], from_tag=result["from"], to_tag=result["to"])

    # --- tags --------------------------------------------------------------------------------------------------
    def tags(self, *, metadata: bool = False) -> list[TagInfo]:
        """Every tag in file order with its counts; `current` marks the active one (state.json's currentTag)."""
        from tasks import tags

        with translated():
            rows = [TagInfo.model_validate(row) for row in tags.list_tags(self.tasks_file)]
            if metadata:
                for row in rows:
                    row.metadata = self.store(row.name).metadata()
        return rows

    def current_tag(self) -> str:
        """The active tag recorded in state.json (what a call naming no tag uses)."""
        from tasks.tags import current_tag

        with translated():
            return current_tag(self.tasks_file)

    def add_tag(
        self,
        name: str | None = None,
        *,
        copy_from: str | None = None,
        copy_from_current: bool = False,
        from_branch: bool = False,
        description: str | None = None,
    ) -> TagChange:
        """Create a tag: empty, or a copy of `copy_from` (or the active tag); `from_branch` names it after the
        project's git branch, as Task Master's --from-branch does."""
        from tasks import tags

        if from_branch:
            name = self._branch_tag()
        if not name:
            raise AppError("give a tag name (or from_branch)")
        with translated():
            source = copy_from or (tags.current_tag(self.tasks_file) if copy_from_current else None)
            return TagChange.model_validate(
                tags.add_tag(self.tasks_file, name, copy_from=source, description=description)
            )

    def _branch_tag(self) -> str:
        """The current git branch as a tag name (characters a tag cannot hold become '-')."""
        import re
        import subprocess

        try:
            branch = subprocess.run(
                ["git", "symbolic-ref", "--short", "HEAD"],
                cwd=self.project_dir,
                capture_output=True,
                text=True,
                timeout=30,
            ).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            branch = ""
        if not branch or branch == "HEAD":
            raise AppError(f"{self.project_dir} is not on a git branch; give the tag name instead of --from-branch")
        return re.sub(r"[^A-Za-z0-9_-]+", "-", branch).strip("-")

    def use_tag(self, name: str) -> str:
        """Make `name` the active tag (state.json, seen by task-master too); returns it."""
        from tasks import tags

        with translated():
            return str(tags.use_tag(self.tasks_file, name)["currentTag"])

    def delete_tag(self, name: str) -> TagChange:
        """Delete a tag and its tasks (never master); master becomes active if it was."""
        from tasks import tags

        with translated():
            return TagChange.model_validate(tags.delete_tag(self.tasks_file, name))

    def rename_tag(self, old: str, new: str) -> TagRename:
        """Rename a tag in place (never master); the active tag follows the rename."""
        from tasks import tags

        with translated():
            return TagRename.model_validate(tags.rename_tag(self.tasks_file, old, new))

    def copy_tag(self, source: str, target: str, *, description: str | None = None) -> TagChange:
        from tasks import tags

        with translated():
            return TagChange.model_validate(tags.copy_tag(self.tasks_file, source, target, description=description))

    # --- files -------------------------------------------------------------------------------------------------
    def import_file(self, source: str | Path, *, replace: bool = False) -> dict[str, ImportedTag]:
        """Import every tag of a Task Master tasks.json; tags here are merged (our ids win) unless `replace`."""
        path = Path(source)
        if not path.is_file():
            raise AppError(f"{path} not found; give the path to a Task Master tasks.json")
        with translated():
            results = self.store().import_from(path, replace=replace)
        return {tag: ImportedTag(added=r.added, skipped=r.skipped, replaced=r.replaced) for tag, r in results.items()}

    def export_file(self, dest: str | Path, *, tag: str | None = None) -> list[str]:
        """Write a Task Master tasks.json (every tag, or only `tag`); returns the tags written."""
        from tasks.interop import export_taskmaster
        from tasks.store import TaskFile

        with translated():
            return export_taskmaster(TaskFile(self.tasks_file), dest, tag)

    def generate(self, output: str | Path | None = None) -> list[Path]:
        """One task_NNN.txt per task (Task Master's `generate`), next to tasks.json unless `output` is given."""
        from tasks.task_files import write_task_files

        directory = Path(output).expanduser() if output else self.tasks_file.parent
        with translated():
            return write_task_files(self.store().load(), directory, self.tag)

    def init(self) -> list[Path]:
        """Create .taskmaster/ (tasks.json with an empty master tag, state.json) as `task-master init` does;
        returns the files created (none when they exist)."""
        from tasks.store import DEFAULT_TAG, dump_document, new_tag_metadata
        from tasks.tags import state_path, use_tag

        root = self.tasks_file.parent.parent
        for sub in ("tasks", "docs", "reports", "templates"):
            (root / sub).mkdir(parents=True, exist_ok=True)
        created: list[Path] = []
        if not self.tasks_file.exists():
            document = {DEFAULT_TAG: {"tasks": [], "metadata": new_tag_metadata(DEFAULT_TAG)}}
            self.tasks_file.write_text(dump_document(document), encoding="utf-8")
            created.append(self.tasks_file)
        state = state_path(self.tasks_file)
        if not state.exists():
            with translated():
                use_tag(self.tasks_file, DEFAULT_TAG)
            created.append(state)
        return created


@contextmanager
def opened_tasks(
    project: str | Path | None = None,
    *,
    tag: str | None = None,
    profile: str | None = None,
    warn: Callable[[str], None] | None = None,
) -> Iterator[TasksAPI]:
    """`TasksAPI.for_project` as a `with` block that releases any workspace (and model) it opened."""
    api = TasksAPI.for_project(project, tag=tag, profile=profile, warn=warn)
    try:
        yield api
    finally:
        api.close()
