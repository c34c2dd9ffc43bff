"""`taskmaster run` end to end on the real embedded model: kill -9 mid-task and resume (SQLite and Postgres),
two concurrent runs on one tasks file, and a run that plans from a goal first."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from e2e import one_line_error, run_cli

from taskmaster.workspace.run_records import RunRecords
from tasks.claims import ClaimBook, claims_path
from tasks.model import Task, TaskStatus
from tasks.store import TaskFile

pytestmark = pytest.mark.e2e
FINAL = {TaskStatus.DONE, TaskStatus.REVIEW, TaskStatus.DEFERRED}
PLANNING_TITLES = [
    "Design the database schema for users",
    "Design the REST API for sessions",
    "Document the deployment steps",
    "Plan the logging strategy",
]


def planning_tasks(project: Path, count: int) -> TaskFile:
    """Planning tasks: each is one real planner call (a few seconds on SmolLM2), long enough to kill mid-way."""
    store = TaskFile(project / ".taskmaster" / "tasks" / "tasks.json")
    store.save([Task.new(i + 1, title, description=f"{title}.") for i, title in enumerate(PLANNING_TITLES[:count])])
    return store


def start_run(project: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "taskmaster.cli", "run", "--json", *args],
        cwd=project,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def records(project: Path) -> RunRecords:
    return RunRecords(project / ".taskmaster" / "state" / "runs.sqlite")


def only_thread(project: Path) -> str:
    rows = records(project).recent() if (project / ".taskmaster" / "state" / "runs.sqlite").exists() else []
    return rows[0].thread_id if rows else ""


def kill_mid_task_then_resume(project: Path, env: dict[str, str]) -> None:
    store = planning_tasks(project, 3)
    proc = start_run(project, env=env)
    try:

        def second_task_started() -> bool:
            if proc.poll() is not None:
                raise AssertionError(f"the run ended before task 2 started: {proc.communicate()}")
            thread = only_thread(project)
            return bool(thread) and any(t == "2" and e == "started" for t, e, _, _ in records(project).events(thread))

        wait_for(second_task_started, 300, "task 2 to start")
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    thread = only_thread(project)
    before = records(project).events(thread)
    finished_before = {t for t, e, _, _ in before if e == "finished"}
    assert "1" in finished_before  # completed work that must survive the kill
    assert {t.status for t in store.load() if str(t.id) == "2"} == {TaskStatus.IN_PROGRESS}

    result = run_cli("run", "--resume", thread, "--json", cwd=project, env=env, timeout=600)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["thread_id"] == thread and summary["stop_reason"] in ("all_done", "nothing_ready")

    events = records(project).events(thread)
    finished = [t for t, e, _, _ in events if e == "finished"]
    assert sorted(finished) == ["1", "2", "3"]  # every task finished exactly once: nothing lost, nothing twice
    resumed_pid = events[-1][2]
    restarted = {t for t, e, pid, _ in events if e == "started" and pid == resumed_pid}
    assert restarted.isdisjoint(finished_before)  # work finished before the kill was not redone
    assert "2" in restarted  # the task killed mid-way was redone
    assert all(t.status in FINAL for t in store.load())
    assert ClaimBook(claims_path(store.path)).claims("master") == {}  # the finished run holds no task


def test_sigkill_mid_task_resumes_without_losing_or_repeating_work(
    isolated_project: Path, embedded_server: object
) -> None:
    kill_mid_task_then_resume(isolated_project, {})


def test_sigkill_and_resume_with_the_postgres_checkpointer(
    isolated_project: Path, embedded_server: object, postgres_url: str
) -> None:
    kill_mid_task_then_resume(isolated_project, {"TASKMASTER_CHECKPOINT_URL": postgres_url})
    import psycopg

    with psycopg.connect(postgres_url) as conn:
        threads = {row[0] for row in conn.execute("SELECT DISTINCT thread_id FROM checkpoints")}
    assert only_thread(isolated_project) in threads
    assert not (isolated_project / ".taskmaster" / "state" / "checkpoints.sqlite").exists()


def test_two_concurrent_runs_share_the_work_without_taking_the_same_task(
    isolated_project: Path, embedded_server: object
) -> None:
    store = planning_tasks(isolated_project, 4)
    runs = [start_run(isolated_project), start_run(isolated_project)]
    outputs = [proc.communicate(timeout=600) for proc in runs]
    for proc, (_, err) in zip(runs, outputs, strict=True):
        assert proc.returncode == 0, err
    summaries = [json.loads(out) for out, _ in outputs]
    worked = [
        t for s in summaries for t, e, _, _ in records(isolated_project).events(s["thread_id"]) if e == "finished"
    ]
    assert sorted(worked) == ["1", "2", "3", "4"]  # each task once, across both runs
    assert all(t.status in FINAL for t in store.load())  # the file is intact and every task got an outcome


def test_run_plans_from_a_goal_then_works_the_first_task(isolated_project: Path, embedded_server: object) -> None:
    env = {"TASKMASTER_BREAKDOWN__NUM_TASKS": "2", "TASKMASTER_BREAKDOWN__MAX_DEPTH": "0"}
    result = run_cli(
        "run", "--goal", "Design a tiny note-taking CLI", "--max-tasks", "1", "--json", cwd=isolated_project, env=env
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["stop_reason"] in ("max_tasks", "all_done")
    tasks = TaskFile(isolated_project / ".taskmaster" / "tasks" / "tasks.json").load()
    assert tasks, "the goal produced no tasks"
    worked = summary["done"] + summary["review"] + summary["deferred"]
    assert len(worked) == 1
    assert summary["tokens"]["input"] > 0


def test_bad_resume_and_bad_options_fail_in_one_line(isolated_project: Path) -> None:
    assert "taskmaster runs" in one_line_error(run_cli("run", "--resume", "run-nope", cwd=isolated_project))
    assert "--prd or --goal" in one_line_error(run_cli("run", "--prd", "x.md", "--goal", "y", cwd=isolated_project))
    assert "not found" in one_line_error(run_cli("run", "--prd", "missing.md", cwd=isolated_project))
    assert "--resume" in one_line_error(run_cli("run", "--review", "approve", cwd=isolated_project))
