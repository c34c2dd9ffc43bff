"""Start-up of a task command: `taskmaster list` on a generated 200-task file, wall time.

Target (issue 16): median of 10 runs ≤ 300 ms on 2 cores. `python -c pass` is measured the same way as the floor
no Python CLI can beat, so the ratio to it shows how much is ours. Also times `task-master list` (the npm tool) once
when it is installed (make test-tools), for comparison.
Run: .venv/bin/python bench/cli_startup.py
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_MS = 300.0
RUNS = 10
TASKS = 200
TASK_MASTER = ROOT / "tools" / "task-master" / "node_modules" / ".bin" / "task-master"


def generate(project: Path) -> None:
    """200 tasks with subtasks and dependencies, in Task Master's tagged layout."""
    tasks = []
    for task_id in range(1, TASKS + 1):
        tasks.append(
            {
                "id": task_id,
                "title": f"Task {task_id}: build part {task_id}",
                "description": "A generated task for the start-up bench.",
                "details": "Some details. " * 20,
                "testStrategy": "Check it.",
                "status": ["pending", "done", "in-progress"][task_id % 3],
                "dependencies": [task_id - 1] if task_id > 1 else [],
                "priority": ["high", "medium", "low"][task_id % 3],
                "subtasks": [
                    {"id": sub, "title": f"Step {sub}", "description": "d", "status": "pending", "dependencies": []}
                    for sub in range(1, 4)
                ],
            }
        )
    path = project / ".taskmaster" / "tasks" / "tasks.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"master": {"tasks": tasks, "metadata": {}}}, indent=2))


def timed_ms(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """(wall, CPU) milliseconds of one run; CPU (user + sys of the child) does not grow with machine load."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    wall = (time.perf_counter() - start) * 1000
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000
    return wall, cpu


def median_ms(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    timed_ms(command, cwd, env)  # warm the page cache and .pyc files
    runs = [timed_ms(command, cwd, env) for _ in range(RUNS)]
    return statistics.median(w for w, _ in runs), statistics.median(c for _, c in runs)


def main() -> None:
    env = {**os.environ, "COLUMNS": "120"}
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp)
        generate(project)
        floor, floor_cpu = median_ms([sys.executable, "-c", "pass"], project, env)
        ours, ours_cpu = median_ms([sys.executable, "-m", "taskmaster.cli", "list"], project, env)
        load = os.getloadavg()[0]
        print(f"load average {load:.1f} on {os.cpu_count()} cores (wall times grow with it; CPU times do not)")
        print(f"python -c pass (floor): {floor:.0f} ms wall, {floor_cpu:.0f} ms CPU, median of {RUNS}")
        print(
            f"taskmaster list, {TASKS} tasks: {ours:.0f} ms wall, {ours_cpu:.0f} ms CPU, median of {RUNS}; "
            f"target ≤ {TARGET_MS:.0f} ms wall; ratio to target {ours / TARGET_MS:.2f} "
            f"({'met' if ours <= TARGET_MS else 'NOT met'}); {ours / floor:.1f}x the floor wall, "
            f"{ours_cpu / max(floor_cpu, 1):.1f}x the floor CPU"
        )
        if TASK_MASTER.exists():
            theirs, theirs_cpu = timed_ms([str(TASK_MASTER), "list"], project, env)
            print(
                f"task-master list (npm 0.43.1), same file, one run: {theirs:.0f} ms wall, {theirs_cpu:.0f} ms CPU "
                f"({theirs_cpu / max(ours_cpu, 1):.0f}x our CPU)"
            )


if __name__ == "__main__":
    main()
