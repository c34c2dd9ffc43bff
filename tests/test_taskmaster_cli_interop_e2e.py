"""Our AI-written tasks on the real embedded model, then read and edited by the real task-master CLI.

parse-prd, analyze-complexity (Task Master's report file, which expand follows), expand, add-task --prompt,
update-task --prompt, update-subtask and update --from run on SmolLM2 (the
embedded tier); the model's wording is weak, so the test asserts what the system guarantees: the commands
succeed, write Task Master's shapes, and task-master 0.43.1 lists, shows, picks the same next task, sets a status
and validates dependencies on the result without losing anything of ours.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from e2e import ROOT, run_cli
from task_master_npm import init_project, require_cli, tm, tm_json, tm_next_id

from tasks.select import next_task
from tasks.store import TaskFile

pytestmark = pytest.mark.e2e

SMALL = {"TASKMASTER_BREAKDOWN__MAX_DEPTH": "0", "TASKMASTER_BREAKDOWN__MAX_BREADTH": "2"}


def _ok(project: Path, *args: str) -> str:
    result = run_cli(*args, cwd=project, env=SMALL)
    assert result.returncode == 0, f"{args}: {result.stderr}"
    return result.stdout


def test_ai_edits_on_the_embedded_model_then_task_master_reads_them(isolated_project: Path, embedded_server) -> None:
    require_cli()
    project = isolated_project
    path = init_project(project)
    shutil.copy(ROOT / "examples" / "prd.md", project / "prd.md")
    _ok(project, "parse-prd", "prd.md", "-n", "2", "--force")
    _ok(project, "expand", "1", "--num", "2", "--force")
    _ok(project, "analyze-complexity")  # writes Task Master's report, which expand then follows
    report_file = project / ".taskmaster" / "reports" / "task-complexity-report.json"
    report = json.loads(report_file.read_text())
    assert {"taskId", "taskTitle", "complexityScore", "recommendedSubtasks"} <= set(report["complexityAnalysis"][0])
    last = TaskFile(path).load()[-1].id  # the tiny model may write one task or several
    for row in report["complexityAnalysis"]:
        row["recommendedSubtasks"] = 1 if row["taskId"] == last else row["recommendedSubtasks"]
    report_file.write_text(json.dumps(report))
    _ok(project, "expand", str(last), "--force")  # no --num: the report's count (1) decides
    assert len(TaskFile(path).load()[-1].subtasks) == 1
    assert report["complexityAnalysis"][0]["taskTitle"] in tm(project, "complexity-report").stdout
    added = json.loads(_ok(project, "add-task", "--prompt", "Add a CSV export of the word counts", "--json"))
    assert added["title"].strip() and added["status"] == "pending"
    before_update = TaskFile(path).load()
    updated = json.loads(_ok(project, "update-task", "--id", str(last), "--prompt", "Use SQLite", "--json"))
    assert updated["id"] == before_update[last - 1].id and updated["title"].strip()
    note = json.loads(
        _ok(project, "update-subtask", "--id", "1.1", "--prompt", "The parser must skip binary files", "--json")
    )
    assert "<info added on " in note["subtask"]["details"]
    rewritten = json.loads(
        _ok(project, "update", "--from", str(added["id"]), "--prompt", "Target Python 3.11", "--json")
    )
    assert [task["id"] for task in rewritten] == [added["id"]]
    _ok(project, "set-status", "1.1", "in-progress")

    ours_before = json.loads(path.read_text())
    theirs = tm_json(project, "list", "--format", "json", "--with-subtasks")
    assert [str(t["id"]) for t in theirs["tasks"]] == [str(t.id) for t in TaskFile(path).load()]
    shown = tm_json(project, "show", "1", "--format", "json")
    assert len(shown.get("task", shown)["subtasks"]) == len(ours_before["master"]["tasks"][0]["subtasks"])
    picked = next_task(TaskFile(path).load())
    assert picked is not None and tm_next_id(project) == picked[0]
    tm(project, "set-status", "--id", "1.1", "--status", "done")
    tm(project, "validate-dependencies")
    after = json.loads(path.read_text())
    for old, new in zip(ours_before["master"]["tasks"], after["master"]["tasks"], strict=True):
        for key in ("title", "description", "details", "testStrategy", "priority", "complexity"):
            if key in old:
                assert new.get(key) == old[key], (old["id"], key)
        assert [s["title"] for s in new.get("subtasks", [])] == [s["title"] for s in old.get("subtasks", [])]
    assert str(TaskFile(path).load()[0].subtasks[0].status) == "done"
