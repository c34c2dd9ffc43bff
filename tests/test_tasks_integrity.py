"""Hostile or odd tasks files (issue 11) and Task Master's real forms (issue 13): one clear `error:` line naming the
place, never a traceback, never a silent wrong answer, and one bad task never hides the rest."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from e2e import ROOT, one_line_error, run_cli

from tasks.store import TaskFile

REPO_TASKS = ROOT / "tests" / "data" / "taskmaster-repo" / "tasks.json"


def _project(tmp_path: Path, document: Any) -> Path:
    path = tmp_path / ".taskmaster" / "tasks" / "tasks.json"
    path.parent.mkdir(parents=True)
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    return path


def _task(task_id: Any, **fields: Any) -> dict[str, Any]:
    return {"id": task_id, "title": f"task {task_id}", "status": "pending", "dependencies": [], **fields}


def test_duplicate_ids_are_named_and_fix_deletes_nothing(tmp_path: Path) -> None:
    document = {"master": {"tasks": [_task(1), _task(2), _task(2, title="other two", dependencies=[1])]}}
    path = _project(tmp_path, document)
    before = path.read_text()
    assert "task id 2 is ambiguous: 2 tasks share it" in one_line_error(
        run_cli("set-status", "2", "done", cwd=tmp_path)
    )
    line = one_line_error(run_cli("validate-dependencies", cwd=tmp_path))
    assert "task id 2 is used by 2 tasks" in line and "depends on itself" not in line
    line = one_line_error(run_cli("validate-dependencies", "--fix", cwd=tmp_path))
    assert "task id 2 is used by 2 tasks" in line and "nothing was changed" in line
    assert path.read_text() == before  # the second task 2 keeps its real dependency


def test_duplicate_subtask_ids_in_task_masters_own_file_are_reported_not_fatal(tmp_path: Path) -> None:
    _project(tmp_path, REPO_TASKS.read_text())
    result = run_cli("list", "--json", cwd=tmp_path)  # state-less: master tag
    assert result.returncode == 0, result.stderr
    assert len(json.loads(result.stdout)) == 93
    assert "task id 42.42 is used by 8 tasks" in one_line_error(run_cli("validate-dependencies", cwd=tmp_path))


@pytest.mark.parametrize(
    "document",
    [{"master": {"tasks": {"1": _task(1)}}}, {"tasks": {"1": _task(1)}}],
    ids=["tagged", "legacy"],
)
def test_tasks_that_are_not_a_list_are_an_error(tmp_path: Path, document: dict[str, Any]) -> None:
    _project(tmp_path, document)
    for args in (["list"], ["next"], ["validate-dependencies"], ["set-status", "1", "done"]):
        line = one_line_error(run_cli(*args, cwd=tmp_path))
        assert "tag 'master' has \"tasks\" as a JSON object, not a list" in line, args


@pytest.mark.parametrize("depth", [150, 3000])
def test_deep_nesting_is_one_error_line(tmp_path: Path, depth: int) -> None:
    opening = '{"id": 1, "title": "t", "status": "pending", "subtasks": ['
    deep = opening * depth + "]}" * depth  # written by hand: json.dumps itself cannot nest 3000 deep
    _project(tmp_path, '{"master": {"tasks": [' + deep + "]}}")
    for args in (["list"], ["next"], ["show", "1"]):
        line = one_line_error(run_cli(*args, cwd=tmp_path))
        assert "nest" in line and "deep" in line, line


def test_bad_arguments_are_one_error_line(tmp_path: Path) -> None:
    _project(tmp_path, {"master": {"tasks": [_task(1), _task(2, subtasks=[_task(1)])]}})
    cases = {
        ("set-status", "1", "finished"): "unknown status 'finished'; use one of: pending, in-progress, done",
        ("set-status", "9", "done"): "task 9 not found",
        ("set-status", "abc", "done"): "is not a dotted number",
        ("show", "2.7"): "task 2.7 not found",
        ("list", "--status", "nope"): "unknown status 'nope'",
        ("add-dependency", "--id", "2.1", "--depends-on", "1"): "cannot depend on top-level task 1",
        ("add-task", "--title", "x", "--priority", "urgent"): "unknown priority 'urgent'",
        ("add-subtask", "--parent", "9", "--title", "x"): "task 9 not found",
        ("update-subtask", "--id", "2", "--prompt", "x", "--no-ai"): "is not a subtask id",
        ("move", "--from", "1", "--to", "2"): "task 2 already exists",
        ("use-tag", "nope"): "tag 'nope' does not exist",
        ("add-tag", "master"): "reserved tag name",
        ("delete-tag", "master", "--yes"): 'cannot delete the "master" tag',
        ("remove-task", "--id", "7", "--yes"): "task 7 not found",
        ("add-dependency", "--id", "1"): "Missing option '--depends-on'; see `taskmaster add-dependency --help`",
        ("list", "--bogus"): "No such option: --bogus",
        ("show", "1", "2", "3"): "Got unexpected extra argument",
    }
    for args, expected in cases.items():
        assert expected in one_line_error(run_cli(*args, cwd=tmp_path)), args


def test_one_bad_task_is_reported_and_the_rest_load_and_survive_edits(tmp_path: Path) -> None:
    bad = {"id": 2, "title": "bad", "status": "exploded", "keep": "me"}
    path = _project(tmp_path, {"master": {"tasks": [_task(1), bad, _task(3)]}})
    result = run_cli("list", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert [task["id"] for task in json.loads(result.stdout)] == [1, 3]
    assert "invalid task 2 in tag 'master' at tasks.1.status" in result.stderr
    assert run_cli("set-status", "3", "done", cwd=tmp_path).returncode == 0
    tasks = json.loads(path.read_text())["master"]["tasks"]
    assert tasks[1] == bad and tasks[2]["status"] == "done"


def test_task_master_forms_load(tmp_path: Path) -> None:
    """What task-master 0.43.1 writes: blocked, critical, nulls, fractional complexity, string ids."""
    raw = {
        "id": "1",
        "title": "t",
        "description": None,
        "details": None,
        "testStrategy": None,
        "priority": None,
        "status": "blocked",
        "complexity": 4.5,
        "dependencies": ["2"],
        "subtasks": [{"id": 1, "title": "s", "status": "done", "parentTaskId": 1, "updatedAt": "2026-01-01T00:00:00Z"}],
    }
    critical = _task(2, priority="critical")
    path = _project(tmp_path, {"master": {"tasks": [raw, critical]}})
    store = TaskFile(path)
    tasks = store.load()
    assert store.problems == []
    assert [task.to_json() for task in tasks] == [raw, critical]
    for tag in json.loads(REPO_TASKS.read_text()):
        repo = TaskFile(REPO_TASKS, tag)
        repo.load()
        assert repo.problems == [], (tag, repo.problems[:1])


def test_import_compares_string_and_int_ids(tmp_path: Path) -> None:
    _project(tmp_path, {"master": {"tasks": [_task(1)]}})
    theirs = tmp_path / "theirs.json"
    theirs.write_text(json.dumps({"master": {"tasks": [_task("1", title="theirs"), _task("2")]}}))
    result = run_cli("import", str(theirs), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "1 task(s) imported, kept our 1 with the same ids" in result.stdout
    ids = [task["id"] for task in json.loads(run_cli("list", "--json", cwd=tmp_path).stdout)]
    assert ids == [1, "2"]
