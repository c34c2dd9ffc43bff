"""The tasks API (`ws.tasks`) on a real temporary project: every public method, its pydantic results, its
TaskmasterError on bad input (tasks.json left untouched), and the fast path that opens no Settings."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from e2e import ROOT

from taskmaster.errors import AppError, TaskmasterError, TaskStoreError
from taskmaster.workspace import Workspace
from taskmaster.workspace.tasks_api import TaskEntry, TasksAPI, opened_tasks
from tasks.store import TaskFile

TASKS = [
    {"id": 1, "title": "Set up the repo", "status": "pending", "dependencies": [], "priority": "high", "subtasks": []},
    {
        "id": 2,
        "title": "Write the parser",
        "status": "pending",
        "dependencies": [1],
        "subtasks": [{"id": 1, "title": "Tokenise", "status": "pending", "dependencies": []}],
    },
    {"id": 3, "title": "Docs", "status": "deferred", "dependencies": [], "subtasks": []},
]


@pytest.fixture
def ws(isolated_project: Path) -> Workspace:
    path = isolated_project / ".taskmaster" / "tasks" / "tasks.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"master": {"tasks": TASKS, "metadata": {}}}, indent=2))
    with Workspace.open(isolated_project) as workspace:
        yield workspace


def tasks_json(ws: Workspace) -> bytes:
    return ws.paths.tasks_file.read_bytes()


def test_reading_list_get_next(ws: Workspace) -> None:
    listing = ws.tasks.list()
    assert listing.tag == "master" and listing.total == 3
    assert [t.id for t in listing.tasks] == [1, 2, 3]
    assert listing.by_status == {"pending": 3, "deferred": 1}
    assert [t.id for t in ws.tasks.list(status="pending,deferred").tasks] == [1, 2, 3]
    assert [t.id for t in ws.tasks.list(status=["deferred"]).tasks] == [3]
    assert ws.tasks.list(with_subtasks=False).tasks[1].subtasks == []
    sub = ws.tasks.get("2.1")
    assert isinstance(sub, TaskEntry) and sub.id == "2.1" and sub.task.title == "Tokenise"
    assert sub.to_json()["id"] == "2.1" and ws.tasks.get(2).to_json()["id"] == 2
    assert [e.id for e in ws.tasks.get_many("1,2.1")] == ["1", "2.1"]
    nxt = ws.tasks.next()
    assert nxt is not None and nxt.id == "1"  # 2 waits for 1; high priority first
    assert json.loads(listing.model_dump_json())["tasks"][0]["title"] == "Set up the repo"


def test_bad_input_raises_taskmaster_errors_and_changes_nothing(ws: Workspace) -> None:
    before = tasks_json(ws)
    with pytest.raises(TaskStoreError, match="task 99 not found"):
        ws.tasks.get("99")
    with pytest.raises(TaskStoreError, match="unknown status 'finished'"):
        ws.tasks.set_status("1", "finished")
    with pytest.raises(TaskStoreError, match="unknown status"):
        ws.tasks.list(status="finished")
    with pytest.raises(TaskStoreError, match="cycle"):
        ws.tasks.add_dependency("1", "2")
    with pytest.raises(AppError, match="either a title"):
        ws.tasks.add()
    with pytest.raises(AppError, match="nothing to change"):
        ws.tasks.update("1")
    with pytest.raises(AppError, match="not a subtask id"):
        ws.tasks.update_subtask("2", "note", use_model=False)
    with pytest.raises(TaskStoreError, match="reserved"):
        ws.tasks.add_tag("main")
    with pytest.raises(TaskmasterError, match="not found"):
        ws.tasks.import_file(ws.paths.project_dir / "nope.json")
    assert tasks_json(ws) == before


def test_status_and_dependencies(ws: Workspace) -> None:
    change = ws.tasks.set_status("1", "done")
    assert change.changed == ["1"] and change.status == "done"
    assert ws.tasks.set_status("2.1", "done").changed == ["2.1", "2"]  # the parent rolls up
    assert ws.tasks.add_dependency("3", "1").changed is True
    assert ws.tasks.get("3").task.dependencies == [1]
    assert ws.tasks.remove_dependency("3", "1").changed is True
    assert ws.tasks.remove_dependency("3", "1").changed is False
    assert ws.tasks.validate_dependencies().valid
    with TaskFile(ws.paths.tasks_file).edit() as tasks:
        tasks[2].dependencies = [42]
    check = ws.tasks.validate_dependencies()
    assert not check.valid and check.problems[0].kind == "missing"
    fixed = ws.tasks.validate_dependencies(fix=True)
    assert fixed.fixed and fixed.valid and ws.tasks.get("3").task.dependencies == []


def test_adding_updating_and_notes_without_a_model(ws: Workspace) -> None:
    added = ws.tasks.add("Export CSV", description="d", priority="low", dependencies="1,2")
    assert added.id == "4" and added.task.dependencies == [1, 2] and str(added.task.priority) == "low"
    sub = ws.tasks.add_subtask(4, "Write the writer", details="use csv")
    assert sub.id == "4.1" and sub.task.details == "use csv"
    converted = ws.tasks.add_subtask(2, task_id=3)
    assert converted.id == "2.2" and [t.id for t in ws.tasks.list().tasks] == [1, 2, 4]
    updated = ws.tasks.update("4", title="Export CSV and JSON", test_strategy="round trip")
    assert updated.task.title == "Export CSV and JSON" and updated.task.test_strategy == "round trip"
    noted = ws.tasks.update_subtask("4.1", "skip binary files", use_model=False)
    assert "<info added on " in noted.task.details and "skip binary files" in noted.task.details
    ws.tasks.set_status("4", "done")
    with pytest.raises(TaskStoreError, match="is done"):
        ws.tasks.update("4", title="again")


def test_removing_and_moving(ws: Workspace) -> None:
    assert [m.model_dump(by_alias=True) for m in ws.tasks.move("3", "7")] == [{"from": "3", "to": "7"}]
    assert [t.id for t in ws.tasks.list().tasks] == [1, 2, 7]
    removal = ws.tasks.remove_subtask("2.1", convert=True)
    assert removal[0].removed == "2.1" and removal[0].converted_to == "8"
    ws.tasks.add_subtask(1, "Init")
    assert ws.tasks.clear_subtasks("1") == ["1"] and ws.tasks.clear_subtasks() == []
    assert ws.tasks.remove("8") == ["8"]
    moved = ws.tasks.move_to_tag("7", "later")
    assert (moved.moved, moved.from_tag, moved.to_tag) == (["7"], "master", "later")
    assert [t.id for t in ws.tasks.on(tag="later").list().tasks] == [7]
    assert [t.id for t in ws.tasks.list().tasks] == [1, 2]


def test_tags(ws: Workspace) -> None:
    assert [(t.name, t.current, t.tasks) for t in ws.tasks.tags()] == [("master", True, 3)]
    assert ws.tasks.add_tag("feature-x", copy_from_current=True, description="fx").tasks == 3
    assert ws.tasks.copy_tag("feature-x", "feature-y").tasks == 3
    assert ws.tasks.rename_tag("feature-y", "fy").model_dump(by_alias=True) == {"from": "feature-y", "to": "fy"}
    assert ws.tasks.use_tag("fy") == "fy" and ws.tasks.current_tag() == "fy"
    assert ws.tasks.delete_tag("fy").tasks == 3
    assert ws.tasks.current_tag() == "master"  # deleting the active tag falls back to master
    rows = ws.tasks.tags(metadata=True)
    assert [t.name for t in rows] == ["master", "feature-x"] and rows[1].metadata["description"] == "fx"
    with Workspace.open(ws.paths.project_dir, tag="feature-x") as other:
        assert other.tasks.tag == "feature-x" and other.tasks.list().total == 3


def test_files_import_export_generate_report_init(ws: Workspace, tmp_path: Path) -> None:
    out = tmp_path / "export.json"
    assert ws.tasks.export_file(out) == ["master"]
    ws.tasks.remove("3")
    imported = ws.tasks.import_file(out)
    assert imported["master"].added == [3] and imported["master"].skipped == [1, 2]
    written = ws.tasks.generate(tmp_path / "files")
    assert len(written) == 3 and all(p.is_file() for p in written)
    with pytest.raises(TaskStoreError, match="analyze-complexity"):
        ws.tasks.complexity_report()
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    with opened_tasks(fresh) as api:
        created = api.init()
        assert [p.name for p in created] == ["tasks.json", "state.json"] and api.init() == []
        assert api.list().total == 0 and api.current_tag() == "master"


def test_for_project_finds_the_place_without_settings(isolated_project: Path) -> None:
    """No config source: the task commands' path loads no Settings (pydantic-settings) and no model stack."""
    probe = (
        "import sys\n"
        "from taskmaster.workspace.tasks_api import TasksAPI\n"
        "api = TasksAPI.for_project('.')\n"
        "api.init(); api.add('one'); api.set_status('1', 'done')\n"
        "heavy = ('pydantic_settings', 'langchain_core', 'openai', 'langgraph', 'torch', 'qdrant_client')\n"
        "print(api.tag, api.list().by_status, [m for m in heavy if m in sys.modules])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=isolated_project,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "HOME": str(isolated_project)},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[0] == "master {'done': 1} []"


def test_a_configured_project_goes_through_the_workspace(isolated_project: Path) -> None:
    (isolated_project / "taskmaster.toml").write_text('tag = "dev"\n')
    with TasksAPI.for_project(isolated_project) as api:
        assert api.tag == "dev"
        assert api.workspace.settings.tag == "dev"
        api.add("in dev")
    assert [t.title for t in TaskFile(api.tasks_file, tag="dev").load()] == ["in dev"]


@pytest.mark.e2e
def test_add_from_a_prompt_on_the_embedded_model(ws: Workspace, embedded_server) -> None:
    """The AI form asks the planner through the workspace's router, then writes under the lock like a manual add."""
    before = {t.id for t in ws.tasks.list().tasks}
    added = ws.tasks.add(prompt="Add a CSV export of the word counts", dependencies="1")
    assert added.id == "4" and added.task.title.strip() and str(added.task.status) == "pending"
    assert added.task.dependencies == [1] and str(added.task.priority) in ("high", "medium", "low")
    assert {t.id for t in ws.tasks.list().tasks} == before | {4}
