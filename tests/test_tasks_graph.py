"""Tree navigation by dotted ids and dependency validation, fixing and editing."""

import json
from pathlib import Path

import pytest

from tasks.dependencies import (
    DependencyProblem,
    add_dependency,
    fix_dependencies,
    remove_dependency,
    topological_order,
    validate_dependencies,
)
from tasks.errors import DependencyError, TaskNotFound
from tasks.model import Task
from tasks.tree import find_task, iter_tasks, next_child_id, parent_of, resolve_dependency

DATA = Path(__file__).parent / "data"


def _real_tasks() -> list[Task]:
    document = json.loads((DATA / "taskmaster_tagged.json").read_text(encoding="utf-8"))
    return [Task.model_validate(raw) for raw in document["master"]["tasks"]]


def _tasks(spec: dict[int, list[int | str]]) -> list[Task]:
    return [Task.new(task_id, f"task {task_id}", dependencies=deps) for task_id, deps in spec.items()]


def test_iter_tasks_yields_full_dotted_ids_depth_first() -> None:
    ids = [full_id for full_id, _ in iter_tasks(_real_tasks())]
    assert ids == ["1", "2", "2.1", "2.2", "2.3", "3", "3.1", "3.2", "3.2.1", "4"]


def test_find_task_and_parent_at_any_depth() -> None:
    tasks = _real_tasks()
    assert find_task(tasks, "3.2.1").title == "Port findNextTask"
    assert find_task(tasks, 4).title == "Write user documentation"
    assert parent_of(tasks, "3.2.1") is find_task(tasks, "3.2")
    assert parent_of(tasks, "3") is None
    with pytest.raises(TaskNotFound, match=r"^task 9 not found; run `taskmaster list` to see ids$"):
        find_task(tasks, "9")
    with pytest.raises(TaskNotFound, match=r"task 3\.7 not found"):
        parent_of(tasks, "3.7")
    with pytest.raises(TaskNotFound, match="not a dotted number"):
        find_task(tasks, "abc")


def test_next_child_id() -> None:
    tasks = _real_tasks()
    assert next_child_id(tasks) == 5
    assert next_child_id(find_task(tasks, "2")) == 4
    assert next_child_id(find_task(tasks, "3.2.1")) == 1


def test_resolve_dependency_follows_task_master_conventions() -> None:
    assert resolve_dependency("3.2", 1) == "3.1"
    assert resolve_dependency("3.2.1", 4) == "3.2.4"
    assert resolve_dependency("4", 3) == "3"
    assert resolve_dependency("3.2", "1.1") == "1.1"


def test_real_file_has_no_problems_and_a_valid_order() -> None:
    tasks = _real_tasks()
    assert validate_dependencies(tasks) == []
    order = topological_order(tasks)
    assert sorted(order) == sorted(full_id for full_id, _ in iter_tasks(tasks))
    for full_id, task in iter_tasks(tasks):
        for dep in task.dependencies:
            assert order.index(resolve_dependency(full_id, dep)) < order.index(full_id)


def test_validate_reports_missing_self_and_cycles_with_path() -> None:
    tasks = _tasks({1: [3], 2: [2, 9], 3: [1]})
    problems = validate_dependencies(tasks)
    assert DependencyProblem("missing", "2", "9") in problems
    assert DependencyProblem("self", "2", "2") in problems
    cycles = [problem for problem in problems if problem.kind == "cycle"]
    assert len(cycles) == 1
    assert str(cycles[0]) == "dependency cycle: 1 → 3 → 1"
    assert str(DependencyProblem("missing", "2", "9")) == "task 2 depends on 9, which does not exist"


def test_cycle_across_nesting_levels_is_found() -> None:
    tasks = _tasks({1: [], 2: ["3.1.1"], 3: []})
    child = Task.new(1, "child", dependencies=[])
    child.subtasks.append(Task.new(1, "grandchild", dependencies=["2.1"]))
    tasks[2].subtasks.append(child)
    tasks[1].subtasks.append(Task.new(1, "b", dependencies=["3.1.1"]))
    tasks[0].subtasks.append(Task.new(1, "a", dependencies=["2"]))  # "1.1" → sibling "1.2" (toFullSubId): missing
    problems = validate_dependencies(tasks)
    assert [str(problem) for problem in problems] == [
        "task 1.1 depends on 1.2, which does not exist",
        "dependency cycle: 3.1.1 → 2.1 → 3.1.1",
    ]


def test_fix_removes_missing_and_self_refs_only() -> None:
    tasks = _tasks({1: [3], 2: [2, 9, 1, 1], 3: [1]})
    removed = fix_dependencies(tasks)
    assert {(problem.kind, problem.task_id, problem.detail) for problem in removed} == {
        ("self", "2", "2"),
        ("missing", "2", "9"),
    }
    assert tasks[1].dependencies == [1]
    assert [problem.kind for problem in validate_dependencies(tasks)] == ["cycle"]


def test_add_dependency_refuses_cycles_and_unknown_ids() -> None:
    tasks = _tasks({1: [], 2: [1], 3: [2]})
    with pytest.raises(DependencyError, match="would create a cycle 1 → 3 → 2 → 1"):
        add_dependency(tasks, "1", "3")
    with pytest.raises(DependencyError, match="cannot depend on itself"):
        add_dependency(tasks, 2, 2)
    with pytest.raises(TaskNotFound, match="task 7 not found"):
        add_dependency(tasks, "1", "7")
    with pytest.raises(TaskNotFound):
        add_dependency(tasks, "7", "1")
    assert tasks[0].dependencies == []
    add_dependency(tasks, "3", "1")
    add_dependency(tasks, "3", "1")  # idempotent
    assert tasks[2].dependencies == [2, 1]


def test_add_dependency_stores_task_master_forms() -> None:
    tasks = _real_tasks()
    add_dependency(tasks, "3.2.1", "3.1")  # already there as a string: no duplicate
    assert find_task(tasks, "3.2.1").dependencies == ["3.1"]
    find_task(tasks, "3.2").subtasks.append(Task.new(2, "sibling"))
    add_dependency(tasks, "3.2.1", "3.2.2")  # sibling → bare int
    add_dependency(tasks, "4", "2.3")  # other level → dotted string
    assert find_task(tasks, "3.2.1").dependencies == ["3.1", 2]
    assert find_task(tasks, "4").dependencies == [3, 2, "2.3"]


def test_remove_dependency_handles_both_forms() -> None:
    tasks = _real_tasks()
    assert remove_dependency(tasks, "2.3", "2.1") is True
    assert find_task(tasks, "2.3").dependencies == ["2.2"]
    assert remove_dependency(tasks, "2.3", "2.2") is True
    assert find_task(tasks, "2.3").dependencies == []
    assert remove_dependency(tasks, "2.3", "2.2") is False


def test_topological_order_rejects_cycles_and_keeps_file_order() -> None:
    assert topological_order(_tasks({1: [], 2: [], 3: [1], 4: []})) == ["1", "2", "3", "4"]
    assert topological_order(_tasks({1: [3], 2: [], 3: []})) == ["2", "3", "1"]
    with pytest.raises(DependencyError, match="cycle 1 → 2 → 1"):
        topological_order(_tasks({1: [2], 2: [1]}))


def test_long_chain_does_not_hit_recursion_limit() -> None:
    tasks = _tasks({task_id: ([task_id - 1] if task_id > 1 else []) for task_id in range(1, 3001)})
    tasks[0].dependencies = [3000]
    problems = validate_dependencies(tasks)
    assert len(problems) == 1
    assert problems[0].detail.startswith("1 → 3000 → 2999")
