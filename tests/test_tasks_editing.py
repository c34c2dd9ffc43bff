"""The model-free editing layer (tasks/editing.py, tasks/tags.py) that the CLI and the MCP server share."""

import json
from pathlib import Path

import pytest

from tasks import editing, tags
from tasks.errors import DependencyError, TaskError
from tasks.store import TaskFile
from tasks.tree import find_task


@pytest.fixture
def store(tmp_path: Path) -> TaskFile:
    path = tmp_path / ".taskmaster" / "tasks" / "tasks.json"
    store = TaskFile(path)
    for title in ("one", "two", "three"):
        editing.add_task(store, title=title, description=f"{title} desc")
    return store


def _raw(store: TaskFile, tag: str = "master") -> list[dict]:
    return json.loads(store.path.read_text())[tag]["tasks"]


def test_add_task_writes_task_masters_keys_in_order(store: TaskFile) -> None:
    created = editing.add_task(store, title="four", priority="critical", dependencies=["1", "3"])
    assert created["id"] == 4
    assert list(_raw(store)[3]) == [
        "id",
        "title",
        "description",
        "details",
        "testStrategy",
        "status",
        "dependencies",
        "priority",
        "subtasks",
    ]
    assert _raw(store)[3]["dependencies"] == [1, 3] and _raw(store)[3]["priority"] == "critical"
    with pytest.raises(TaskError, match="unknown priority"):
        editing.add_task(store, title="x", priority="urgent")
    with pytest.raises(TaskError, match="not found"):
        editing.add_task(store, title="x", dependencies=["99"])


def test_add_subtask_new_and_convert(store: TaskFile) -> None:
    editing.add_task(store, title="four", dependencies=["3"])
    first = editing.add_subtask(store, "1", title="s1")
    second = editing.add_subtask(store, "1", title="s2", dependencies=["1.1"])
    assert (first["id"], second["id"]) == ("1.1", "1.2")
    assert _raw(store)[0]["subtasks"][1]["dependencies"] == [1]  # sibling stored as a bare int
    converted = editing.add_subtask(store, "1", task_id="3")
    assert converted["id"] == "1.3"
    assert [task["id"] for task in _raw(store)] == [1, 2, 4]
    assert _raw(store)[2]["dependencies"] == ["1.3"]  # the dependency followed the converted task


def test_update_subtask_appends_timestamped_block(store: TaskFile) -> None:
    editing.add_subtask(store, "2", title="s", details="start")
    editing.update_subtask(store, "2.1", "found the cause")
    details = _raw(store)[1]["subtasks"][0]["details"]
    assert details.startswith("start\n<info added on ")
    assert details.endswith("</info added on " + details.split("<info added on ")[1].split(">")[0] + ">")
    assert "found the cause" in details
    with pytest.raises(TaskError, match="not a subtask id"):
        editing.update_subtask(store, "2", "x")


def test_update_task_fields_and_done_refused(store: TaskFile) -> None:
    editing.update_task(store, "1", fields={"title": "uno", "priority": "high"}, append="more")
    raw = _raw(store)[0]
    assert (raw["title"], raw["priority"]) == ("uno", "high")
    assert raw["details"].startswith("<info added on ") and "\nmore\n</info added on " in raw["details"]
    editing.set_task_status(store, "1", "done")
    with pytest.raises(TaskError, match="is done"):
        editing.update_task(store, "1", fields={"title": "again"})
    with pytest.raises(TaskError, match="cannot update status"):
        editing.update_task(store, "2", fields={"status": "done"})


def test_remove_subtask_convert_and_clear(store: TaskFile) -> None:
    editing.add_subtask(store, "1", title="a")
    editing.add_subtask(store, "1", title="b", dependencies=["1.1"])
    assert editing.remove_subtask(store, "1.2", convert=True) == [{"removed": "1.2", "converted_to": "4"}]
    assert _raw(store)[3]["dependencies"] == ["1.1"]
    editing.add_subtask(store, "2", title="c")
    assert editing.clear_subtasks(store) == ["1", "2"]
    assert _raw(store)[3]["dependencies"] == []  # its dependency went with the cleared subtask


def test_remove_task_drops_dependencies_on_it(store: TaskFile) -> None:
    editing.add_task(store, title="four", dependencies=["2", "3"])
    assert editing.remove_task(store, "2") == ["2"]
    assert [task["id"] for task in _raw(store)] == [1, 3, 4]
    assert _raw(store)[2]["dependencies"] == [3]


def test_move_within_tag(store: TaskFile) -> None:
    editing.add_task(store, title="four", dependencies=["3"])
    with pytest.raises(TaskError, match="already exists"):
        editing.move_task(store, "3", "1")
    editing.move_task(store, "3", "9")
    assert _raw(store)[-1]["id"] == 9 and _raw(store)[2]["dependencies"] == [9]
    editing.move_task(store, "9", "1.1")  # task → subtask
    assert _raw(store)[0]["subtasks"][0]["title"] == "three"
    assert _raw(store)[2]["dependencies"] == ["1.1"]
    editing.move_task(store, "1.1", "2.5")  # subtask → another parent
    assert find_task(store.load(), "2.5").title == "three"
    editing.move_task(store, "2.5", "7")  # subtask → top level
    assert find_task(store.load(), "7").title == "three"


def test_move_between_tags_checks_dependencies(store: TaskFile) -> None:
    tags.add_tag(store.path, "feature")
    editing.add_task(store, title="four", dependencies=["3"])
    with pytest.raises(DependencyError, match="with-dependencies"):
        editing.move_between_tags(store.path, "4", "master", "feature")
    result = editing.move_between_tags(store.path, "4", "master", "feature", with_dependencies=True)
    assert result["moved"] == ["3", "4"]
    assert [task["id"] for task in _raw(store, "feature")] == [3, 4]
    assert [task["id"] for task in _raw(store)] == [1, 2]
    editing.add_task(store, title="five", dependencies=["2"])  # gets id 3 again in master
    with pytest.raises(TaskError, match="already exists in tag 'feature'"):
        editing.move_between_tags(store.path, "3", "master", "feature", ignore_dependencies=True)
    editing.move_task(store, "3", "5")
    editing.move_between_tags(store.path, "5", "master", "feature", ignore_dependencies=True)
    assert _raw(store, "feature")[-1]["id"] == 5 and _raw(store, "feature")[-1]["dependencies"] == []


def test_tags_lifecycle_and_state_json(store: TaskFile) -> None:
    state = tags.state_path(store.path)
    state.write_text(json.dumps({"currentTag": "master", "keep": {"me": 1}}))
    tags.add_tag(store.path, "feat", copy_from="master", description="copied")
    tags.use_tag(store.path, "feat")
    assert tags.current_tag(store.path) == "feat"
    assert json.loads(state.read_text())["keep"] == {"me": 1}
    tags.rename_tag(store.path, "feat", "feat2")
    assert tags.current_tag(store.path) == "feat2"
    tags.copy_tag(store.path, "feat2", "feat3")
    rows = {row["name"]: row for row in tags.list_tags(store.path)}
    assert rows["feat3"]["tasks"] == 3 and rows["feat2"]["current"]
    tags.delete_tag(store.path, "feat2")
    assert tags.current_tag(store.path) == "master"
    for bad, message in (("master", "reserved"), ("a b", "letters"), ("feat3", "already exists")):
        with pytest.raises(TaskError, match=message):
            tags.add_tag(store.path, bad)
    with pytest.raises(TaskError, match="cannot delete"):
        tags.delete_tag(store.path, "master")
    with pytest.raises(TaskError, match="does not exist"):
        tags.use_tag(store.path, "nope")


def test_complexity_report_in_task_masters_format(tmp_path: Path) -> None:
    from tasks.complexity_report import read_report, recommended_subtasks, report_path, write_report

    tasks_path = tmp_path / ".taskmaster" / "tasks" / "tasks.json"
    assert report_path(tasks_path, "master").name == "task-complexity-report.json"
    assert report_path(tasks_path, "loop").name == "task-complexity-report_loop.json"
    row = {"taskId": 2, "taskTitle": "two", "complexityScore": 7, "recommendedSubtasks": 4}
    write_report(tasks_path, "master", [row, {**row, "taskId": 1, "recommendedSubtasks": 0}], total_tasks=3)
    write_report(tasks_path, "master", [{**row, "recommendedSubtasks": 5}], total_tasks=3)  # replaces task 2's row
    report = read_report(report_path(tasks_path, "master"))
    assert [r["taskId"] for r in report["complexityAnalysis"]] == [1, 2]
    assert recommended_subtasks(report_path(tasks_path, "master"), "2") == 5
    assert recommended_subtasks(report_path(tasks_path, "loop"), "2") is None  # no report: None, not an error
    assert {"generatedAt", "tasksAnalyzed", "totalTasks", "thresholdScore"} <= set(report["meta"])


def test_complexity_report_command_reads_task_masters_own_report(tmp_path: Path) -> None:
    from e2e import ROOT, run_cli

    reports = tmp_path / ".taskmaster" / "reports"
    reports.mkdir(parents=True)
    source = ROOT / "tests" / "data" / "taskmaster-repo" / "task-complexity-report_loop.json"
    (reports / source.name).write_text(source.read_text())
    result = run_cli("complexity-report", "--tag", "loop", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert len(json.loads(result.stdout)["complexityAnalysis"]) == 18
    result = run_cli("complexity-report", cwd=tmp_path)
    assert result.returncode == 1 and "run `taskmaster analyze-complexity` first" in result.stderr


def test_add_tag_from_branch(tmp_path: Path) -> None:
    import subprocess

    from e2e import one_line_error, run_cli

    assert "not on a git branch" in one_line_error(run_cli("add-tag", "--from-branch", cwd=tmp_path))
    subprocess.run(["git", "init", "-q", "-b", "feature/login-ui"], cwd=tmp_path, check=True)
    result = run_cli("add-tag", "--from-branch", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert [row["name"] for row in tags.list_tags(tmp_path / ".taskmaster" / "tasks" / "tasks.json")] == [
        "feature-login-ui"
    ]
