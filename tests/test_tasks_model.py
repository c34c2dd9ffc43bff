"""Task model: Task Master field names, unknown-field preservation, new-task serialization."""

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from tasks.model import Priority, Task, TaskStatus

DATA = Path(__file__).parent / "data"


def test_statuses_and_priorities_use_task_master_values() -> None:
    assert [status.value for status in TaskStatus] == [
        "pending",
        "in-progress",
        "done",
        "review",
        "deferred",
        "cancelled",
        "blocked",
        "completed",
    ]
    assert TaskStatus("in-progress") is TaskStatus.IN_PROGRESS
    assert sorted(Priority, key=lambda priority: -priority.rank) == [
        Priority.CRITICAL,
        Priority.HIGH,
        Priority.MEDIUM,
        Priority.LOW,
    ]


def test_every_task_in_real_file_round_trips_with_key_order() -> None:
    document = json.loads((DATA / "taskmaster_tagged.json").read_text(encoding="utf-8"))
    for section in (document["master"], document["feature-auth"]):
        for raw in section["tasks"]:
            dumped = Task.model_validate(raw).to_json()
            assert dumped == raw
            assert json.dumps(dumped) == json.dumps(raw)  # same key order too


def test_unknown_fields_are_kept_at_task_and_subtask_level() -> None:
    raw = json.loads((DATA / "taskmaster_tagged.json").read_text(encoding="utf-8"))["master"]["tasks"][1]
    task = Task.model_validate(raw)
    assert task.model_extra == {"assignee": "dana"}
    assert task.subtasks[1].model_extra == {"parentTaskId": 2, "estimateHours": 1.5}
    assert task.dependencies == [1]
    assert task.subtasks[2].dependencies == ["2.2", 1]


def test_absent_fields_stay_absent_but_changes_are_written() -> None:
    task = Task.model_validate({"id": 7, "title": "minimal"})
    assert task.to_json() == {"id": 7, "title": "minimal"}
    task.status = TaskStatus.DONE
    task.dependencies.append(3)  # in-place mutation of a field the file never had
    task.subtasks.append(Task.new(1, "child"))
    dumped = task.to_json()
    assert dumped["status"] == "done"
    assert dumped["dependencies"] == [3]
    assert dumped["subtasks"][0]["title"] == "child"


def test_new_task_serializes_all_standard_fields() -> None:
    task = Task.new(5, "Write tests", details="use pytest", testStrategy="run it", owner="me")
    assert task.to_json() == {
        "id": 5,
        "title": "Write tests",
        "description": "",
        "details": "use pytest",
        "testStrategy": "run it",
        "status": "pending",
        "dependencies": [],
        "priority": "medium",
        "subtasks": [],
        "complexity": None,
        "owner": "me",
    }


def test_assignment_is_validated() -> None:
    task = Task.new(1, "x")
    task.status = "in-progress"  # type: ignore[assignment]
    assert task.status is TaskStatus.IN_PROGRESS
    with pytest.raises(ValidationError):
        task.priority = "urgent"  # type: ignore[assignment]
