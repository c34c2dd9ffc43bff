"""next_task follows Task Master's findNextTask ordering; set_status cascades like Task Master."""

import json
from pathlib import Path

import pytest

from tasks.errors import TaskError, TaskNotFound
from tasks.model import Priority, Task, TaskStatus
from tasks.select import next_task, set_status
from tasks.tree import find_task, iter_tasks

DATA = Path(__file__).parent / "data"


def _task(task_id: int, **fields: object) -> Task:
    return Task.new(task_id, f"task {task_id}", **fields)


def _picked(tasks: list[Task]) -> str | None:
    chosen = next_task(tasks)
    return chosen[0] if chosen else None


def test_real_file_prefers_subtask_of_in_progress_parent() -> None:
    document = json.loads((DATA / "taskmaster_tagged.json").read_text(encoding="utf-8"))
    tasks = [Task.model_validate(raw) for raw in document["master"]["tasks"]]
    full_id, task = next_task(tasks) or ("", None)
    assert full_id == "2.2"  # 2.1 is done, 2.3 still waits for 2.2
    assert task is find_task(tasks, "2.2")


def test_in_progress_parent_subtasks_beat_higher_priority_top_level() -> None:
    parent = _task(2, status="in-progress", priority="low")
    parent.subtasks.extend([_task(1, status="done"), _task(2, dependencies=[1]), _task(3, dependencies=[2])])
    tasks = [_task(1, priority="high"), parent]
    assert _picked(tasks) == "2.2"


def test_subtask_ordering_priority_then_dep_count_then_id() -> None:
    parent = _task(1, status="in-progress", priority="medium")
    parent.subtasks.extend(
        [
            _task(1, status="done"),
            _task(2, dependencies=[1]),  # medium, 1 dep
            _task(3),  # medium, 0 deps
            Task.model_validate({"id": 4, "title": "inherits parent priority"}),
            _task(5, priority="high", dependencies=[1]),
        ]
    )
    tasks = [parent]
    assert _picked(tasks) == "1.5"
    parent.subtasks[4].status = TaskStatus.DONE
    assert _picked(tasks) == "1.3"  # 0 deps beats 1 dep; 1.3 beats 1.4 on id
    parent.subtasks[2].status = TaskStatus.DONE
    assert _picked(tasks) == "1.4"
    parent.priority = Priority.LOW  # 1.4 has no priority of its own, so now it ranks below medium 1.2
    assert _picked(tasks) == "1.2"


def test_top_level_ordering_priority_then_dep_count_then_id() -> None:
    tasks = [
        _task(1, status="done"),
        _task(2, priority="low"),
        _task(3, priority="medium", dependencies=[1]),
        _task(4, priority="medium"),
        _task(5, priority="medium"),
        _task(6, priority="high", dependencies=[7]),  # blocked by a pending dependency
        _task(7, priority="low", status="deferred"),
    ]
    assert _picked(tasks) == "4"
    tasks[3].status = TaskStatus.DONE
    assert _picked(tasks) == "5"
    tasks[4].status = TaskStatus.CANCELLED
    assert _picked(tasks) == "3"
    tasks[6].status = TaskStatus.DONE
    assert _picked(tasks) == "6"


def test_in_progress_top_level_task_is_eligible_and_none_when_blocked() -> None:
    assert _picked([_task(1, status="in-progress")]) == "1"
    assert _picked([_task(1, dependencies=[2]), _task(2, dependencies=[1])]) is None
    assert _picked([_task(1, status="done"), _task(2, status="review")]) is None


def test_in_progress_parent_without_eligible_subtasks_falls_back_to_top_level() -> None:
    parent = _task(1, status="in-progress")
    parent.subtasks.append(_task(1, dependencies=["2"]))
    tasks = [parent, _task(2, priority="high")]
    assert _picked(tasks) == "2"


def test_deep_in_progress_parent_offers_its_subtasks() -> None:
    grandparent = _task(3, status="pending")
    middle = _task(2, status="in-progress")
    middle.subtasks.append(_task(1, dependencies=["3.1"]))
    grandparent.subtasks.extend([_task(1, status="done"), middle])
    assert _picked([grandparent]) == "3.2.1"


def test_set_status_done_does_not_cascade_down_like_tm_core() -> None:
    parent = _task(1)
    child = _task(1, status="in-progress")
    child.subtasks.append(_task(1, status="cancelled"))
    parent.subtasks.extend([child, _task(2, status="done")])
    tasks = [parent, _task(2)]
    assert set_status(tasks, "1", "done") == ["1"]
    assert [task.status for _, task in iter_tasks(tasks)] == ["done", "in-progress", "cancelled", "done", "pending"]


def test_subtask_status_rolls_up_to_parents_like_tm_core() -> None:
    parent = _task(1)
    parent.subtasks.extend([_task(1), _task(2)])
    tasks = [parent]
    assert set_status(tasks, "1.1", "in-progress") == ["1.1", "1"]
    assert parent.status is TaskStatus.IN_PROGRESS
    assert set_status(tasks, "1.1", "done") == ["1.1"]  # one done, one pending: parent stays in-progress
    assert set_status(tasks, "1.2", "done") == ["1.2", "1"]
    assert parent.status is TaskStatus.DONE
    assert set_status(tasks, "1.1", "pending") == ["1.1", "1"]
    assert parent.status is TaskStatus.IN_PROGRESS  # one still done
    set_status(tasks, "1.2", "pending")
    assert parent.status is TaskStatus.PENDING
    set_status(tasks, "1.2", "blocked")  # mixed pending/blocked: tm-core leaves the parent alone
    assert parent.status is TaskStatus.PENDING
    assert "updatedAt" in parent.to_json() and "updatedAt" in parent.subtasks[1].to_json()


def test_set_status_other_values_do_not_cascade_and_are_checked() -> None:
    parent = _task(1)
    parent.subtasks.append(_task(1))
    assert set_status([parent], "1", TaskStatus.IN_PROGRESS) == ["1"]
    assert parent.subtasks[0].status is TaskStatus.PENDING
    assert set_status([parent], "1.1", "review") == ["1.1"]
    assert set_status([parent], "1.1", "review") == []
    with pytest.raises(TaskError, match="unknown status 'finished'; use one of: pending, in-progress"):
        set_status([parent], "1", "finished")
    with pytest.raises(TaskNotFound):
        set_status([parent], "1.9", "done")
