"""Task Master tags: the sections of tasks.json, and the active one recorded in `.taskmaster/state.json`.

Same rules as task-master-ai 0.43.1's tag commands: names are letters, digits, `-` and `_`; `master`, `main` and
`default` are reserved for new names; `master` cannot be deleted or renamed; `use-tag` writes `currentTag` and
`lastSwitched` into state.json and keeps every other key there. All functions are model-free and return plain data.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

from tasks.atomic import write_text_atomic
from tasks.errors import TaskError, TasksFileError
from tasks.select import now_iso
from tasks.store import DEFAULT_TAG, TaskFile, tag_names, tag_section

_NAME = re.compile(r"^[A-Za-z0-9_-]+$")
_RESERVED = frozenset({"master", "main", "default"})


def state_path(tasks_path: Path | str) -> Path:
    """`.taskmaster/state.json` for a `.taskmaster/tasks/tasks.json`."""
    return Path(tasks_path).parent.parent / "state.json"


def read_state(tasks_path: Path | str) -> dict[str, Any]:
    """state.json as a dict ({} when absent); raises TasksFileError if it is not a JSON object."""
    path = state_path(tasks_path)
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise TasksFileError(f"{path} is not valid JSON ({exc}); fix or delete it") from exc
    if not isinstance(state, dict):
        raise TasksFileError(f"{path} must hold a JSON object; fix or delete it")
    return state


def current_tag(tasks_path: Path | str) -> str:
    """The active tag: state.json's `currentTag`, else master."""
    tag = read_state(tasks_path).get("currentTag")
    return tag if isinstance(tag, str) and tag else DEFAULT_TAG


def _check_new_name(name: str) -> str:
    name = (name or "").strip()
    if not _NAME.match(name):
        raise TaskError(f"tag name {name!r} can only contain letters, numbers, hyphens and underscores")
    if name.lower() in _RESERVED:
        raise TaskError(f"{name!r} is a reserved tag name; choose another")
    return name


def _metadata(description: str | None) -> dict[str, Any]:
    now = now_iso()
    return {"created": now, "updated": now, "description": description or f"Tag created on {now[:10]}"}


def list_tags(tasks_path: Path | str) -> list[dict[str, Any]]:
    """Each tag with its task counts, description and whether it is the active one, in file order."""
    document = TaskFile(tasks_path).read_document() or {}
    active = current_tag(tasks_path)
    rows: list[dict[str, Any]] = []
    for name in tag_names(document):
        section = tag_section(document, name) or {"tasks": []}
        raw_tasks = [raw for raw in section["tasks"] if isinstance(raw, dict)]
        metadata = section.get("metadata") if isinstance(section.get("metadata"), dict) else {}
        rows.append(
            {
                "name": name,
                "current": name == active,
                "tasks": len(raw_tasks),
                "completed": sum(1 for raw in raw_tasks if raw.get("status") == "done"),
                "subtasks": sum(len(raw.get("subtasks") or []) for raw in raw_tasks),
                "description": (metadata or {}).get("description", ""),
            }
        )
    return rows


def add_tag(
    tasks_path: Path | str, name: str, *, copy_from: str | None = None, description: str | None = None
) -> dict[str, Any]:
    """Create an empty tag, or one holding a copy of `copy_from`'s tasks. Returns `{"name", "tasks"}`."""
    name = _check_new_name(name)
    with TaskFile(tasks_path).edit_document() as document:
        if name in document:
            raise TaskError(f"tag {name!r} already exists; pick another name or use-tag {name}")
        tasks: list[Any] = []
        if copy_from is not None:
            source = tag_section(document, copy_from)
            if source is None:
                raise TaskError(f"tag {copy_from!r} does not exist; run `taskmaster tags` to see tags")
            tasks = copy.deepcopy(source["tasks"])
        document[name] = {"tasks": tasks, "metadata": _metadata(description)}
        return {"name": name, "tasks": len(tasks)}


def copy_tag(tasks_path: Path | str, source: str, target: str, *, description: str | None = None) -> dict[str, Any]:
    """Task Master's `copy-tag`: a new tag with a copy of every task of `source`."""
    return add_tag(tasks_path, target, copy_from=source, description=description or f"Copy of {source}")


def delete_tag(tasks_path: Path | str, name: str) -> dict[str, Any]:
    """Delete a tag and its tasks (never master); if it was active, master becomes active."""
    if name == DEFAULT_TAG:
        raise TaskError('cannot delete the "master" tag')
    with TaskFile(tasks_path).edit_document() as document:
        section = tag_section(document, name)
        if section is None:
            raise TaskError(f"tag {name!r} does not exist; run `taskmaster tags` to see tags")
        del document[name]
    if current_tag(tasks_path) == name:
        use_tag(tasks_path, DEFAULT_TAG)
    return {"name": name, "tasks": len(section["tasks"])}


def rename_tag(tasks_path: Path | str, old: str, new: str) -> dict[str, Any]:
    """Rename a tag in place (keeping its position in the file); the active tag follows the rename."""
    if old == DEFAULT_TAG:
        raise TaskError('cannot rename the "master" tag')
    new = _check_new_name(new)
    with TaskFile(tasks_path).edit_document() as document:
        if tag_section(document, old) is None:
            raise TaskError(f"tag {old!r} does not exist; run `taskmaster tags` to see tags")
        if new in document:
            raise TaskError(f"tag {new!r} already exists; pick another name")
        renamed = {(new if key == old else key): value for key, value in document.items()}
        document.clear()
        document.update(renamed)
    if current_tag(tasks_path) == old:
        use_tag(tasks_path, new)
    return {"from": old, "to": new}


def use_tag(tasks_path: Path | str, name: str) -> dict[str, Any]:
    """Make `name` the active tag in state.json (Task Master's `use-tag`); the tag must exist (master always may)."""
    if name != DEFAULT_TAG and name not in TaskFile(tasks_path).tags():
        raise TaskError(f"tag {name!r} does not exist; create it with `taskmaster add-tag {name}`")
    state = read_state(tasks_path)
    state["currentTag"] = name
    state["lastSwitched"] = now_iso()
    state.setdefault("branchTagMapping", {})
    state.setdefault("migrationNoticeShown", False)
    write_text_atomic(state_path(tasks_path), json.dumps(state, indent=2, ensure_ascii=False))
    return {"currentTag": name}


__all__ = [
    "add_tag",
    "copy_tag",
    "current_tag",
    "delete_tag",
    "list_tags",
    "read_state",
    "rename_tag",
    "state_path",
    "use_tag",
]
