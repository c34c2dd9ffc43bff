"""examples/scripts/ run as a user would run them: plain Python entry scripts over the public API.

The model-free script is checked in detail; the two model scripts run end to end on the real embedded model
(SmolLM2 on every tier, as everywhere in the suite), so their output is checked for shape, not quality.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from e2e import ROOT

from tasks.model import Task, TaskStatus
from tasks.store import TaskFile

SCRIPTS = ROOT / "examples" / "scripts"


def run_script(name: str, *args: str, cwd: Path, timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPTS / name), *args],
        cwd=cwd,
        env={**os.environ, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def tasks_file(project: Path) -> TaskFile:
    return TaskFile(project / ".taskmaster" / "tasks" / "tasks.json")


def test_next_task_prints_and_starts_the_ready_task(isolated_project: Path) -> None:
    store = tasks_file(isolated_project)
    first, second = Task.new(1, "Write the parser"), Task.new(2, "Write the CLI")
    second.dependencies = ["1"]
    store.save([first, second])

    shown = run_script("next_task.py", str(isolated_project), cwd=isolated_project)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.strip() == "1. Write the parser"

    started = run_script("next_task.py", str(isolated_project), "--start", "--json", cwd=isolated_project)
    assert started.returncode == 0, started.stderr
    assert json.loads(started.stdout)["id"] == 1  # as tasks.json stores it
    assert tasks_file(isolated_project).load()[0].status == TaskStatus.IN_PROGRESS


def test_next_task_reports_a_broken_tasks_file_in_one_line(isolated_project: Path) -> None:
    path = isolated_project / ".taskmaster" / "tasks" / "tasks.json"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"\x00\x01 not json")
    result = run_script("next_task.py", str(isolated_project), cwd=isolated_project)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert [line for line in result.stderr.splitlines() if line.startswith("error:")], result.stderr


@pytest.mark.e2e
def test_research_to_markdown_writes_a_cited_report(isolated_project: Path, embedded_server: object) -> None:
    out = isolated_project / "report.md"
    question = "How should user passwords be hashed?"
    result = run_script(
        "research_to_markdown.py",
        str(isolated_project),
        question,
        "--docs",
        str(ROOT / "examples" / "kb"),
        "--out",
        str(out),
        cwd=isolated_project,
    )
    assert result.returncode == 0, result.stderr
    report = out.read_text()
    assert report.startswith("# Research report")
    assert f"## Research: {question}" in report
    assert "indexed" in result.stderr


@pytest.mark.e2e
def test_plan_and_work_plans_from_the_prd_then_runs(isolated_project: Path, embedded_server: object) -> None:
    (isolated_project / "taskmaster.toml").write_text("[breakdown]\nnum_tasks = 1\nmax_depth = 0\n")
    (isolated_project / "prd.md").write_text(
        "# Word counter\n\nA command-line tool that counts the words in a text file and prints the total.\n"
    )
    result = run_script("plan_and_work.py", str(isolated_project), "--max-tasks", "1", cwd=isolated_project)
    assert "Traceback" not in result.stderr, result.stderr
    assert result.stdout.strip(), result.stderr  # the run's JSON summary, unless the script failed before it
    summary = json.loads(result.stdout)
    assert summary["thread_id"].startswith("run-")
    expected = 1 if summary["stop_reason"] == "error" else 2 if summary["state"] == "waiting" else 0
    assert result.returncode == expected, result.stderr
    assert "planned" in result.stderr and tasks_file(isolated_project).load()
    log = isolated_project / ".taskmaster" / "reports" / "nightly.jsonl"
    assert json.loads(log.read_text().splitlines()[-1])["thread_id"] == summary["thread_id"]
