"""`taskmaster schedule …` and `taskmaster scheduler` as a user runs them.

Option handling runs in-process through Typer's test runner (the CLI starts in ~3 s on a busy 2-core box);
the scheduler test runs the real `taskmaster scheduler` and `taskmaster run` as subprocesses.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import typer
from e2e import run_cli
from typer.testing import CliRunner, Result

from taskmaster.cli import schedule_commands
from taskmaster.scheduling.store import ScheduleStore, schedules_db

app = typer.Typer()
app.callback()(lambda: None)
schedule_commands.register(app)
runner = CliRunner()


def invoke(*args: str) -> Result:
    return runner.invoke(app, list(args))


def error_line(result: Result) -> str:
    """Like e2e.one_line_error, for an in-process result: exit 1, one `error:` line, no traceback."""
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), result.stderr
    return lines[0]


def add_json(*args: str) -> dict:
    result = invoke("schedule", "add", *args, "--json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def list_json() -> list[dict]:
    result = invoke("schedule", "list", "--json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_add_list_rm_round_trip(isolated_project: Path) -> None:
    (isolated_project / "prd.md").write_text("# A word counter\n")
    nightly = add_json("--cron", "0 2 * * *", "--prd", "prd.md", "--max-minutes", "45", "--name", "nightly")
    weekly = add_json("--cron", "30 6 * * mon", "--tag", "backend", "--max-tasks", "3")
    assert nightly["id"] != weekly["id"]

    listed = {row["id"]: row for row in list_json()}
    assert listed[nightly["id"]]["name"] == "nightly"
    assert listed[nightly["id"]]["cron"] == "0 2 * * *"
    assert listed[nightly["id"]]["runs"] == {
        "kind": "prd", "target": str((isolated_project / "prd.md").resolve()), "tag": "master"
    }  # fmt: skip
    assert listed[nightly["id"]]["max_minutes"] == 45
    assert listed[weekly["id"]]["runs"] == {"kind": "tag", "target": "backend", "tag": "backend"}
    assert listed[weekly["id"]]["max_tasks"] == 3
    assert listed[nightly["id"]]["last_outcome"] is None

    table = invoke("schedule", "list")
    assert "nightly" in table.stdout and "No scheduler is running" in table.stdout

    removed = invoke("schedule", "rm", nightly["id"])
    assert removed.exit_code == 0 and "nightly" in removed.stdout
    assert [row["id"] for row in list_json()] == [weekly["id"]]
    assert "no schedule with id" in error_line(invoke("schedule", "rm", nightly["id"]))


def test_next_run_comes_from_the_cron_expression(isolated_project: Path) -> None:
    added = add_json("--cron", "15 3 * * *", "--goal", "A word counter")
    [row] = list_json()
    assert row["id"] == added["id"]
    upcoming = datetime.fromisoformat(row["next_run"]).astimezone()
    assert (upcoming.hour, upcoming.minute, upcoming.second) == (3, 15, 0)
    assert 0 < (upcoming - datetime.now().astimezone()).total_seconds() <= 24 * 3600


def test_malformed_cron_is_a_one_line_error(isolated_project: Path) -> None:
    for expression in ("0 2 * *", "61 2 * * *", "0 2 * * funday", "every night"):
        line = error_line(invoke("schedule", "add", "--cron", expression, "--tag", "x"))
        assert "invalid cron expression" in line and "0 2 * * *" in line, line
    assert list_json() == []


def test_exactly_one_thing_to_run_and_a_readable_prd(isolated_project: Path) -> None:
    (isolated_project / "prd.md").write_text("# PRD\n")
    cases = {
        ("--cron", "0 2 * * *"): "exactly one of --prd",
        ("--cron", "0 2 * * *", "--tag", "x", "--goal", "y"): "got --goal and --tag",
        ("--cron", "0 2 * * *", "--prd", "prd.md", "--tag", "x"): "got --prd and --tag",
        ("--cron", "0 2 * * *", "--prd", "missing.md"): "missing.md not found",
        ("--cron", "0 2 * * *", "--prd", "."): "not found",
        ("--tag", "x"): "--cron",
        ("--cron", "0 2 * * *", "--every", "5", "--tag", "x"): "not both",
        ("--cron", "0 2 * * *", "--tag", "x", "--max-minutes", "0"): "--max-minutes must be at least 1",
    }
    for args, expected in cases.items():
        line = error_line(invoke("schedule", "add", *args))
        assert expected in line, (args, line)
    assert list_json() == []


def test_scheduler_fires_a_schedule_and_records_the_real_run(isolated_project: Path) -> None:
    """A real `taskmaster scheduler` fires `--every 1` on a project without tasks: `taskmaster run` stops at
    once with nothing_ready (no model call), the run is recorded, and SIGTERM stops the scheduler cleanly."""
    added = add_json("--every", "1", "--tag", "empty", "--max-minutes", "1", "--name", "loop")
    store = ScheduleStore(schedules_db(isolated_project))
    env = {**os.environ, "TASKMASTER_SCHEDULER__POLL_SECONDS": "0.5"}
    scheduler = subprocess.Popen(
        [sys.executable, "-m", "taskmaster.cli", "scheduler"],
        cwd=isolated_project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 45
        while not [r for r in store.runs(added["id"], limit=1000) if r.outcome == "ok"]:
            assert scheduler.poll() is None, scheduler.communicate()
            assert time.monotonic() < deadline, "no run recorded within 45 s"
            time.sleep(0.25)
        listed = run_cli("schedule", "list", "--json", cwd=isolated_project)
    finally:
        scheduler.send_signal(signal.SIGTERM)
        out, err = scheduler.communicate(timeout=30)
    assert scheduler.returncode == 0, err
    assert "Scheduler stopped." in out

    records = store.runs(added["id"], limit=1000)
    # Runs that overlapped the 1 s interval were skipped; the one SIGTERM cut short, if any, is "interrupted".
    assert {r.outcome for r in records} <= {"ok", "skipped", "interrupted"}, records
    run = next(r for r in records if r.outcome == "ok")
    assert (run.exit_code, run.stop_reason, run.error) == (0, "nothing_ready", None), run
    assert (run.done, run.failed, run.tokens_input, run.tokens_output) == (0, 0, 0, 0)
    assert run.thread_id
    [row] = json.loads(listed.stdout)
    assert row["last_outcome"] in ("nothing_ready", "skipped")

    runs = invoke("schedule", "runs", added["id"], "--json")
    assert any(r["stop_reason"] == "nothing_ready" for r in json.loads(runs.stdout))
    assert "no schedule with id" in error_line(invoke("schedule", "runs", "999"))
