"""The tasks.json file: Task Master's tagged layout, safe concurrent edits, nothing unknown lost.

Layout (what Task Master ≥0.17 writes)::

    {"master": {"tasks": [...], "metadata": {"created": ..., "updated": ..., "description": ...}},
     "feature-x": {...}, ...}

A legacy `{"tasks": [...]}` file reads as tag "master" and is rewritten in the tagged layout the next time a write
actually changes something; its other top-level keys move into the "master" section so nothing is dropped. Only the
selected tag's `tasks` and `metadata.updated` are ever rewritten; other tags and unknown keys are copied through.
"""

import copy
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from tasks.atomic import write_text_atomic
from tasks.errors import TasksFileError
from tasks.lock import TasksLock
from tasks.model import Task

DEFAULT_TAG = "master"
LOCK_TIMEOUT_SECONDS = 30.0
# Deeper than any breakdown we generate, far below what would exhaust Python's recursion limit.
MAX_NESTING = 100

Document = dict[str, Any]


def _now_iso() -> str:
    """Timestamp in JavaScript's `toISOString()` form, which Task Master writes."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_tag_metadata(tag: str) -> dict[str, Any]:
    """Metadata for a tag we create, shaped like Task Master's."""
    now = _now_iso()
    return {"created": now, "updated": now, "description": f"Tasks for {tag} context"}


def is_legacy(document: Document) -> bool:
    """True for the pre-tags `{"tasks": [...]}` layout."""
    return isinstance(document.get("tasks"), list)


def migrate_legacy(document: Document) -> Document:
    """Tagged copy of a legacy document; extra legacy top-level keys ride along inside the master section."""
    if not is_legacy(document):
        return document
    rest = {key: value for key, value in document.items() if key not in {"tasks", "metadata"}}
    metadata = document.get("metadata")
    section: dict[str, Any] = {
        "tasks": document["tasks"],
        "metadata": metadata if isinstance(metadata, dict) else new_tag_metadata(DEFAULT_TAG),
        **rest,
    }
    return {DEFAULT_TAG: section}


def tag_names(document: Document) -> list[str]:
    """Tags in file order; a top-level key counts as a tag only if it holds a `tasks` list."""
    if is_legacy(document):
        return [DEFAULT_TAG]
    return [key for key, value in document.items() if isinstance(value, dict) and isinstance(value.get("tasks"), list)]


def tag_section(document: Document, tag: str) -> dict[str, Any] | None:
    """The `{"tasks": ..., "metadata": ...}` object for `tag`, or None if the tag does not exist."""
    if is_legacy(document):
        return {"tasks": document["tasks"], "metadata": document.get("metadata", {})} if tag == DEFAULT_TAG else None
    section = document.get(tag)
    if isinstance(section, dict) and isinstance(section.get("tasks"), list):
        return section
    return None


def dump_document(document: Document) -> str:
    """Serialize like Task Master (`JSON.stringify(data, null, 2)`), keeping non-ASCII text readable."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def id_key(task_id: Any) -> str:
    """Comparable form of a stored id: Task Master writes `1` and `"1"` for the same task."""
    return str(task_id).strip()


def _check_tasks_list(path: Path, tag: str, raw_tasks: Any) -> list[Any]:
    if not isinstance(raw_tasks, list):
        raise TasksFileError(
            f"tasks file {path}: tag {tag!r} has \"tasks\" as a JSON {_json_type(raw_tasks)}, not a list; "
            "make it a list of tasks (restore it from version control if unsure)"
        )
    return raw_tasks


def _json_type(value: Any) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}.get(
        type(value), "number"
    )


def _check_nesting(path: Path, tag: str, raw_tasks: list[Any]) -> None:
    """Refuse subtasks nested deeper than MAX_NESTING (iteratively, so the check itself cannot overflow)."""
    stack: list[tuple[list[Any], str, int]] = [(raw_tasks, "", 1)]
    while stack:
        level, prefix, depth = stack.pop()
        for raw in level:
            if not isinstance(raw, dict):
                continue
            full_id = f"{prefix}{raw.get('id')}"
            children = raw.get("subtasks")
            if isinstance(children, list) and children:
                if depth >= MAX_NESTING:
                    shown = full_id if len(full_id) <= 60 else f"{full_id[:40]}…"
                    raise TasksFileError(
                        f"tasks file {path}: tag {tag!r} nests subtasks more than {MAX_NESTING} levels deep "
                        f"(under task {shown}); flatten that branch by hand"
                    )
                stack.append((children, f"{full_id}.", depth + 1))


@dataclass
class BadTask:
    """A task entry we could not understand: kept in the file untouched and reported, never dropped."""

    index: int
    raw: Any
    message: str


@dataclass
class ImportedTag:
    """What `TaskFile.import_from` did to one tag."""

    added: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    replaced: bool = False


class TaskFile:
    """One tag of a Task Master tasks.json, with locked read-modify-write editing."""

    def __init__(self, path: Path | str, tag: str = DEFAULT_TAG) -> None:
        self.path = Path(path)
        self.tag = tag
        self.lock_path = Path(f"{self.path}.lock")
        # Entries of the last loaded tag that did not validate (see `BadTask`); the rest still load.
        self.problems: list[BadTask] = []

    def __repr__(self) -> str:
        return f"TaskFile({str(self.path)!r}, tag={self.tag!r})"

    def exists(self) -> bool:
        return self.path.is_file()

    def read_document(self) -> Document | None:
        """The whole parsed file, or None if it does not exist; raises TasksFileError if it is unusable."""
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise TasksFileError(f"cannot read tasks file {self.path}: {exc.strerror}; check its permissions") from exc
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise TasksFileError(
                f"tasks file {self.path} is not UTF-8 (bad byte at offset {exc.start}); re-save it as UTF-8"
            ) from exc
        if not text.strip():
            return {}
        try:
            document = json.loads(text)
        except RecursionError:
            raise TasksFileError(
                f"tasks file {self.path} nests JSON too deeply to read (subtasks more than {MAX_NESTING} levels "
                "deep?); flatten it by hand or restore it from version control"
            ) from None
        except json.JSONDecodeError as exc:
            raise TasksFileError(
                f"tasks file {self.path} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); "
                "fix it by hand or restore it from version control"
            ) from exc
        if not isinstance(document, dict):
            raise TasksFileError(
                f"tasks file {self.path} must hold a JSON object of tags, not {type(document).__name__}; "
                "restore it from version control"
            )
        return document

    def _parse_tasks(self, raw_tasks: Any, tag: str, *, strict: bool = False) -> list[Task]:
        """Validate a tag's tasks; entries that fail go to `self.problems` (or raise, with `strict`)."""
        raw_list = _check_tasks_list(self.path, tag, raw_tasks)
        _check_nesting(self.path, tag, raw_list)
        tasks: list[Task] = []
        self.problems = []
        for index, raw in enumerate(raw_list):
            try:
                tasks.append(Task.model_validate(raw))
            except ValidationError as exc:
                first = exc.errors()[0]
                where = ".".join(str(part) for part in (index, *first["loc"]))
                task_id = raw.get("id") if isinstance(raw, dict) else None
                message = (
                    f"tasks file {self.path} has an invalid task {task_id if task_id is not None else ''} "
                    f"in tag {tag!r} at tasks.{where}: {first['msg']}; fix that entry by hand"
                ).replace("task  in", "task in")
                if strict:
                    raise TasksFileError(message) from exc
                self.problems.append(BadTask(index, raw, message))
        return tasks

    def _section_for(self, document: Document) -> dict[str, Any] | None:
        """This tag's section, raising if the file has it in a shape we must not guess at."""
        legacy_tasks = document.get("tasks")
        if self.tag == DEFAULT_TAG and DEFAULT_TAG not in document and legacy_tasks is not None:
            _check_tasks_list(self.path, self.tag, legacy_tasks)
        raw = document.get(self.tag)
        if isinstance(raw, dict) and "tasks" in raw:
            _check_tasks_list(self.path, self.tag, raw["tasks"])
        return tag_section(document, self.tag)

    def load(self) -> list[Task]:
        """Tasks of this tag; [] if the file or tag does not exist yet.

        A task entry that does not validate is left out and described in `self.problems` (with its path), so one
        bad entry never hides the rest of the tag; edits keep it in the file unchanged.
        """
        self.problems = []
        document = self.read_document()
        section = self._section_for(document) if document is not None else None
        if section is None:
            return []
        return self._parse_tasks(section["tasks"], self.tag)

    def tags(self) -> list[str]:
        document = self.read_document()
        return tag_names(document) if document is not None else []

    def metadata(self) -> dict[str, Any]:
        """This tag's metadata object (a copy), {} if the tag does not exist."""
        document = self.read_document()
        section = tag_section(document, self.tag) if document is not None else None
        return dict(section.get("metadata") or {}) if section is not None else {}

    @contextmanager
    def edit_document(self) -> Iterator[Document]:
        """Locked read-modify-write of the whole document (tagged layout); written only if it changed.

        Lower-level than `edit()`, for whole-file operations such as importing tags. An exception inside the
        block leaves the file untouched.
        """
        lock = TasksLock(self.path, timeout=LOCK_TIMEOUT_SECONDS)
        lock.acquire()
        try:
            original = self.read_document()
            pristine = migrate_legacy(original) if original is not None else {}
            document = copy.deepcopy(pristine)
            yield document
            if document != pristine:
                write_text_atomic(self.path, dump_document(document))
        finally:
            lock.release()

    @contextmanager
    def edit(self) -> Iterator[list[Task]]:
        """Locked read-modify-write of this tag's tasks; mutate or replace the yielded list's contents.

        The file is rewritten (atomically, bumping `metadata.updated`) only when the tasks changed and the block
        exits normally.
        """
        with self.edit_document() as document:
            existing = self._section_for(document)
            if existing is None and self.tag in document:
                raise TasksFileError(
                    f"tasks file {self.path} has a top-level key {self.tag!r} that is not a tag; "
                    "choose a different tag name"
                )
            raw_before = existing["tasks"] if existing is not None else []
            tasks = self._parse_tasks(raw_before, self.tag)
            bad = list(self.problems)
            yield tasks
            raw_after: list[Any] = [task.to_json() for task in tasks]
            for entry in bad:  # entries we could not read go back where they were, untouched
                raw_after.insert(min(entry.index, len(raw_after)), entry.raw)
            if raw_after == raw_before:
                return
            if existing is None:
                existing = {"tasks": [], "metadata": new_tag_metadata(self.tag)}
                document[self.tag] = existing
            existing["tasks"] = raw_after
            metadata = existing.get("metadata")
            if isinstance(metadata, dict):
                metadata["updated"] = _now_iso()
            else:
                existing["metadata"] = new_tag_metadata(self.tag)

    def save(self, tasks: list[Task]) -> None:
        """Replace this tag's tasks (under the lock, like any edit)."""
        with self.edit() as current:
            current[:] = tasks

    def import_from(self, src: Path | str, *, replace: bool = False) -> dict[str, ImportedTag]:
        """Bring every tag of another Task Master file (tagged or legacy) into this file.

        `replace=True`: each imported tag's tasks and metadata overwrite ours wholesale.
        `replace=False`: tasks whose top-level id is new to the tag are appended; ids we already have are kept as
        ours and reported in `skipped` (no renumbering, so dependencies in the source stay meaningful).
        Tags that only exist here are never touched.
        """
        source_document = TaskFile(src).read_document()
        if source_document is None:
            raise TasksFileError(f"cannot import {src}: file not found; check the path")
        source = migrate_legacy(source_document)
        results: dict[str, ImportedTag] = {}
        with self.edit_document() as document:
            for tag in tag_names(source):
                incoming = source[tag]
                # Refuse to import something we could not load afterwards, naming the source file.
                TaskFile(src, tag)._parse_tasks(incoming["tasks"], tag, strict=True)
                ours = tag_section(document, tag)
                result = ImportedTag()
                if ours is None or replace:
                    document[tag] = copy.deepcopy(incoming)
                    result.added = [raw["id"] for raw in incoming["tasks"]]
                    result.replaced = ours is not None
                else:
                    known = {id_key(raw.get("id")) for raw in ours["tasks"] if isinstance(raw, dict)}
                    for raw in incoming["tasks"]:
                        if id_key(raw["id"]) in known:
                            result.skipped.append(raw["id"])
                        else:
                            ours["tasks"].append(copy.deepcopy(raw))
                            result.added.append(raw["id"])
                    if result.added and isinstance(ours.get("metadata"), dict):
                        ours["metadata"]["updated"] = _now_iso()
                results[tag] = result
        return results
