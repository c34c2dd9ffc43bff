"""`taskmaster runs`: a run whose process died shows as interrupted, and thread ids are never cut (issue 11)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from e2e import run_cli
from stub_server import stub_openai_server

from taskmaster.workspace.run_records import RunRecords, records_path
from tasks.model import Task
from tasks.store import TaskFile


def runs_json(project: Path) -> list[dict]:
    result = run_cli("runs", "--json", cwd=project)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_a_run_killed_with_sigkill_shows_as_interrupted(isolated_project: Path) -> None:
    """A real `taskmaster run` against a slow loopback model, killed mid-task with kill -9."""
    TaskFile(isolated_project / ".taskmaster" / "tasks" / "tasks.json").save(
        [Task.new(1, "Design the database schema", description="Tables for users and sessions.")]
    )
    with stub_openai_server('{"tasks": []}', reply_delay_s=60) as url:
        env = {**os.environ, "TASKMASTER_PROFILE": "openai-compatible", "TASKMASTER_BASE_URL": url}
        proc = subprocess.Popen(
            [sys.executable, "-m", "taskmaster.cli", "run", "--max-tasks", "1"],
            cwd=isolated_project,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 60
            rows: list[dict] = []
            while time.monotonic() < deadline and not (rows and rows[0]["state"] == "running"):
                time.sleep(0.2)
                if records_path(isolated_project / ".taskmaster").exists():
                    rows = [r.__dict__ for r in RunRecords(records_path(isolated_project / ".taskmaster")).recent()]
            assert rows and rows[0]["state"] == "running", rows
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    listed = runs_json(isolated_project)
    assert [(r["state"], r["stop_reason"]) for r in listed] == [("interrupted", "process_died")]
    table = run_cli("runs", cwd=isolated_project)
    assert "interrupted" in table.stdout


def test_a_live_run_stays_running(tmp_path: Path) -> None:
    records = RunRecords(tmp_path / "runs.sqlite")
    records.start("run-alive", "master", {})
    assert records.get("run-alive").state == "running"  # this very process is its owner


def test_thread_ids_are_never_cut_in_narrow_terminals(isolated_project: Path) -> None:
    records = RunRecords(records_path(isolated_project / ".taskmaster"))
    long_id = "run-" + "0123456789abcdef" * 4  # 68 characters
    records.start(long_id, "master", {})
    records.finish(long_id, "stopped", "max_tasks", {"done": ["1"], "review": [], "deferred": []})
    records.event(long_id, "12.3.4.5.6.7.8.9.10.11.12.13.14", "finished", {"outcome": "done"})
    for columns in ("60", "80"):
        listed = run_cli("runs", cwd=isolated_project, env={"COLUMNS": columns})
        assert long_id in listed.stdout, listed.stdout
        events = run_cli("runs", long_id, cwd=isolated_project, env={"COLUMNS": columns})
        assert long_id in events.stdout and "12.3.4.5.6.7.8.9.10.11.12.13.14" in events.stdout, events.stdout


def _open_records(path: str) -> None:
    from taskmaster.workspace.run_records import RunRecords

    with RunRecords(Path(path)).db.connect():
        pass


def test_runs_opening_a_new_records_file_at_once_all_succeed(tmp_path: Path) -> None:
    """Two concurrent runs both added the owner columns to a new file; the second ALTER failed (a CI flake).
    The migrations now run once under the write lock (storage.sqlite)."""
    import multiprocessing

    for trial in range(10):
        path = str(tmp_path / f"runs-{trial}.sqlite")
        procs = [multiprocessing.Process(target=_open_records, args=(path,)) for _ in range(4)]
        for proc in procs:
            proc.start()
        for proc in procs:
            proc.join()
        assert [proc.exitcode for proc in procs] == [0, 0, 0, 0], trial
