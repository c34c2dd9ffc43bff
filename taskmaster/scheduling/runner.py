"""One firing of a schedule: the public API's `run` in a subprocess, and the record of what it did.

A subprocess, not a function call, because the scheduler lives for weeks: a model server that hangs, a
segfault in a native library or a memory leak in one run must not take the scheduler down with it, and a
timeout can kill a stuck run outright. The child is this module's `main`: it opens the project's Workspace,
calls `taskmaster.workspace.runs.run` (what `taskmaster run` calls) and prints the RunSummary as JSON.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from taskmaster.scheduling.model import RunRecord, Schedule

# Extra time a run gets beyond its own --max-minutes before it is killed: the loop only checks its budget
# between tasks, and start-up (model server, checkpoint) is not counted by it.
TIMEOUT_SLACK_SECONDS = 120
TIMEOUT_SLACK_RATIO = 0.10

_BOX_CHARS = " \t│┃╭╮╰╯─━"

CommandBuilder = Callable[[Schedule], list[str]]


def build_run_command(schedule: Schedule) -> list[str]:
    """The argv of one firing: this module's `main`, with the flags `taskmaster run` takes."""
    command = [sys.executable, "-m", "taskmaster.scheduling.runner"]
    if schedule.kind == "prd":
        command += ["--prd", schedule.target]
    elif schedule.kind == "goal":
        command += ["--goal", schedule.target]
    command += ["--tag", schedule.tag, "--max-minutes", str(schedule.max_minutes)]
    if schedule.max_tasks is not None:
        command += ["--max-tasks", str(schedule.max_tasks)]
    return command


def run_timeout_seconds(schedule: Schedule) -> float:
    budget = schedule.max_minutes * 60
    return budget + max(TIMEOUT_SLACK_SECONDS, budget * TIMEOUT_SLACK_RATIO)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def parse_run_output(stdout: str) -> dict[str, Any] | None:
    """The one JSON object the run prints (a RunSummary; possibly pretty-printed over several lines)."""
    start = stdout.find("{")
    if start < 0:
        return None
    try:
        value, _ = json.JSONDecoder().raw_decode(stdout[start:])
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def error_line(stderr: str) -> str | None:
    """The CLI's `error: …` line, else the last line of stderr (a crash's exception, or the text inside a
    usage-error box), else None."""
    lines = [text for line in stderr.splitlines() if (text := line.strip(_BOX_CHARS))]
    errors = [line for line in lines if line.startswith("error:")]
    if errors:
        return errors[-1]
    return lines[-1][:500] if lines else None


class RunProcess:
    """A running firing; kept so the scheduler can stop it when it shuts down."""

    def __init__(self, command: list[str], cwd: Path) -> None:
        self.process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.stopped = False

    def stop(self) -> None:
        self.stopped = True
        self.process.terminate()


def execute(
    schedule: Schedule,
    project_dir: Path,
    *,
    command: list[str] | None = None,
    on_start: Callable[[RunProcess], None] | None = None,
) -> RunRecord:
    """Run the schedule once and describe the result; never raises for a failed or stuck run."""
    argv = command or build_run_command(schedule)
    started_at, clock = _now(), time.monotonic()
    try:
        running = RunProcess(argv, project_dir)
    except OSError as exc:
        return RunRecord(schedule.id, started_at, _now(), "error", error=f"error: could not start {argv[0]}: {exc}")
    if on_start is not None:
        on_start(running)
    try:
        stdout, stderr = running.process.communicate(timeout=run_timeout_seconds(schedule))
    except subprocess.TimeoutExpired:
        running.process.kill()
        stdout, stderr = running.process.communicate()
        return RunRecord(
            schedule.id,
            started_at,
            _now(),
            "timeout",
            exit_code=running.process.returncode,
            seconds=round(time.monotonic() - clock, 3),
            error=f"killed after {run_timeout_seconds(schedule):.0f} s (max-minutes {schedule.max_minutes} + slack)",
        )
    code = running.process.returncode
    result = parse_run_output(stdout) or {}
    tokens = result.get("tokens") or {}
    if running.stopped:
        outcome, error = "interrupted", "the scheduler stopped while this run was in progress"
    elif code == 0 and result:
        outcome, error = "ok", None
    else:
        outcome = "error"
        error = error_line(stderr) or (f"exit code {code}" if code else "no JSON result on stdout")
    return RunRecord(
        schedule.id,
        started_at,
        _now(),
        outcome,
        exit_code=code,
        thread_id=result.get("thread_id"),
        done=len(result.get("done") or []),
        failed=len(result.get("failed") or []),
        tokens_input=int(tokens.get("input") or 0),
        tokens_output=int(tokens.get("output") or 0),
        seconds=float(result.get("seconds") or round(time.monotonic() - clock, 3)),
        stop_reason=result.get("stop_reason"),
        error=error,
    )


def main(argv: list[str] | None = None) -> int:
    """The child process: run the project in the current directory (or TASKMASTER_PROJECT_DIR) once, print the
    RunSummary as JSON on stdout and problems as one `error: …` line on stderr (exit 1)."""
    parser = argparse.ArgumentParser(prog="python -m taskmaster.scheduling.runner", description=main.__doc__)
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--prd", help="Plan tasks from this PRD first (if the tag is empty).")
    source.add_argument("--goal", help="Plan tasks from a short goal first.")
    parser.add_argument("--tag", required=True, help="The Task Master tag whose tasks to work.")
    parser.add_argument("--max-minutes", type=float, required=True, help="Start no new task after this long.")
    parser.add_argument("--max-tasks", type=int, help="Stop after this many tasks.")
    args = parser.parse_args(argv)

    from taskmaster.errors import TaskmasterError
    from taskmaster.workspace import Workspace
    from taskmaster.workspace.runs import run

    def warn(message: str) -> None:
        print(f"warning: {message}", file=sys.stderr)

    try:
        with Workspace.open(tag=args.tag, warn=warn) as ws:
            summary = run(ws, prd=args.prd, goal=args.goal, max_minutes=args.max_minutes, max_tasks=args.max_tasks)
    except TaskmasterError as exc:
        print(f"error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 1
    print(summary.model_dump_json())
    if summary.failure:
        print(f"error: {summary.failure}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
