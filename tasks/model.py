"""Task Master-compatible task model.

A Task Master `tasks.json` is edited by other tools too (Task Master itself, editors, scripts), so the model has two
jobs: type the fields we reason about, and give back everything else untouched. Unknown keys are kept as pydantic
extras, fields absent from the file stay absent on write (`exclude_unset`), and the original key order is replayed
so a load/save round trip produces the same JSON text.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    PrivateAttr,
    SerializerFunctionWrapHandler,
    model_serializer,
    model_validator,
)


class TaskStatus(StrEnum):
    """Every status task-master-ai 0.43.1 reads or writes (tm-core's `TaskStatus`, incl. `blocked`, `completed`)."""

    PENDING = "pending"
    IN_PROGRESS = "in-progress"
    DONE = "done"
    REVIEW = "review"
    DEFERRED = "deferred"
    CANCELLED = "cancelled"
    BLOCKED = "blocked"
    COMPLETED = "completed"


class Priority(StrEnum):
    """Task Master priorities; `rank` makes them sortable without a lookup table at every call site."""

    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"

    @property
    def rank(self) -> int:
        """Higher is more urgent (critical=4 … low=1), matching tm-core's `priorityValues`."""
        return {Priority.CRITICAL: 4, Priority.HIGH: 3, Priority.MEDIUM: 2, Priority.LOW: 1}[self]


class Task(BaseModel):
    """One task or subtask; subtasks nest to any depth and use the same shape.

    Subtask `dependencies` follow Task Master: an int names a sibling subtask, a string like "3.1" is a full id.
    Use `to_json()` (not `model_dump`) to serialize: it also emits fields that were absent in the file but have
    since been changed in place (e.g. `task.subtasks.append(...)`), which plain `exclude_unset` would drop.

    Task Master's other spellings read as the same values and are written back as they were: a string id `"1"`
    (tm-core writes those) is `id == 1` here and `"1"` again on disk; a `null` description/details/testStrategy/
    priority/dependencies/subtasks reads as the default and stays `null` on disk until a new value is set.
    """

    model_config = ConfigDict(extra="allow", populate_by_name=True, validate_assignment=True)

    id: int
    title: str
    description: str = ""
    details: str = ""
    test_strategy: str = Field("", alias="testStrategy")
    status: TaskStatus = TaskStatus.PENDING
    dependencies: list[int | str] = Field(default_factory=list)
    priority: Priority = Priority.MEDIUM
    subtasks: list[Task] = Field(default_factory=list)
    complexity: int | float | str | None = None

    # Key order as read from the file (aliases and extras), replayed on serialization.
    _key_order: list[str] = PrivateAttr(default_factory=list)
    # The id was stored as a string ("1"), as tm-core writes it.
    _string_id: bool = PrivateAttr(default=False)
    # Standard fields stored as null; written back as null while they still hold the default.
    _null_fields: frozenset[str] = PrivateAttr(default=frozenset())

    @model_validator(mode="wrap")
    @classmethod
    def _remember_key_order(cls, data: Any, handler: ModelWrapValidatorHandler[Self]) -> Self:
        string_id = False
        nulls: set[str] = set()
        if isinstance(data, dict):
            raw_id = data.get("id")
            cleaned = dict(data)
            if isinstance(raw_id, str) and raw_id.strip().isdigit():
                cleaned["id"] = int(raw_id)
                string_id = True
            for key, value in data.items():
                if value is None and key in _NULLABLE:
                    del cleaned[key]
                    nulls.add(_FIELD_NAMES.get(key, key))
            task = handler(cleaned)
        else:
            task = handler(data)
        if isinstance(data, dict) and not task._key_order:
            task._key_order = [_ALIASES.get(str(key), str(key)) for key in data]
            task._string_id = string_id
            task._null_fields = frozenset(nulls)
        return task

    @model_serializer(mode="wrap")
    def _serialize_in_file_order(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        if self._string_id and "id" in data:
            data["id"] = str(data["id"])
        for name in self._null_fields:
            alias = _ALIASES[name]
            info = Task.model_fields[name]
            if getattr(self, name) == info.get_default(call_default_factory=True):
                data[alias] = None
        if not self._key_order:
            return data
        ordered = {key: data[key] for key in self._key_order if key in data}
        ordered.update((key, value) for key, value in data.items() if key not in ordered)
        return ordered

    def priority_or(self, fallback: Priority | None) -> Priority:
        """This task's priority if the file gives one, else `fallback` (Task Master's `st.priority || parent`)."""
        if "priority" in self.model_fields_set and "priority" not in self._null_fields:
            return self.priority
        return fallback if fallback is not None else self.priority

    @classmethod
    def new(cls, id: int, title: str, **fields: Any) -> Task:
        """Create a task that will serialize every standard field, as Task Master writes new tasks."""
        # default_factory() directly: get_default(call_default_factory=True) runs inspect.signature on the factory
        # at every call (0.7 ms per task, most of a breakdown run's framework overhead per model call).
        values: dict[str, Any] = {
            name: info.default_factory() if info.default_factory is not None else info.get_default()  # type: ignore[call-arg]
            for name, info in cls.model_fields.items()
            if name not in {"id", "title"}
        }
        values.update({_FIELD_NAMES.get(key, key): value for key, value in fields.items()})
        return cls(id=id, title=title, **values)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict with Task Master field names, omitting standard fields the source never had."""
        _mark_changed_fields_as_set(self)
        return self.model_dump(by_alias=True, mode="json", exclude_unset=True)


_ALIASES: dict[str, str] = {name: info.alias or name for name, info in Task.model_fields.items()}
_FIELD_NAMES: dict[str, str] = {alias: name for name, alias in _ALIASES.items()}
# Keys Task Master may write as null; they read as the field's default (see `Task`).
_NULLABLE = frozenset({"description", "details", "testStrategy", "priority", "dependencies", "subtasks", "status"})


def _mark_changed_fields_as_set(task: Task) -> None:
    """Fields mutated in place (list append) are not tracked by pydantic; treat any non-default value as set."""
    for name, info in Task.model_fields.items():
        if name in task.model_fields_set:
            continue
        if getattr(task, name) != info.get_default(call_default_factory=True):
            task.model_fields_set.add(name)
    for subtask in task.subtasks:
        _mark_changed_fields_as_set(subtask)
