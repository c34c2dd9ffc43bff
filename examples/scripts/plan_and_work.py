"""Nightly plan-and-work: plan a project from its PRD if it has no tasks yet, then work through the ready tasks.

    python examples/scripts/plan_and_work.py PROJECT_DIR [--prd prd.md] [--max-tasks 3] [--max-minutes 60]

Meant for cron or a CI schedule: it prints a JSON summary of the run on stdout, appends it to
PROJECT_DIR/.taskmaster/reports/nightly.jsonl, and exits 1 when a task failed (with the command that resumes the
run), 2 when the run waits for a human review, 0 otherwise. Everything runs on the project's configured profile
(the embedded models by default).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

from taskmaster import TaskmasterError, Workspace


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("project", type=Path)
    parser.add_argument("--prd", default="prd.md", help="the PRD to plan from when the project has no tasks")
    parser.add_argument("--max-tasks", type=int, default=3)
    parser.add_argument("--max-minutes", type=float, default=60.0)
    args = parser.parse_args(argv)

    try:
        with Workspace.open(args.project, warn=lambda message: print(f"warning: {message}", file=sys.stderr)) as ws:
            if not ws.tasks.list().tasks:
                plan = ws.parse_prd(args.prd)
                print(f"planned {plan.top_level} tasks from {args.prd}", file=sys.stderr)
            summary = ws.run(max_tasks=args.max_tasks, max_minutes=args.max_minutes)
            report = ws.paths.data_dir / "reports" / "nightly.jsonl"
    except TaskmasterError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1

    record = {"at": datetime.now(UTC).isoformat(timespec="seconds"), **summary.as_json()}
    report.parent.mkdir(parents=True, exist_ok=True)
    with report.open("a", encoding="utf-8") as log:
        log.write(json.dumps(record) + "\n")
    print(json.dumps(record, indent=2))
    if summary.failure:
        print(f"error: {summary.failure}", file=sys.stderr)
        return 1
    return 2 if summary.state == "waiting" else 0


if __name__ == "__main__":
    sys.exit(main())
