"""Next task: print the task to work on now (Task Master's rule: ready, highest priority, lowest id) and, with
--start, mark it in progress. No model is involved, so it answers at once.

    python examples/scripts/next_task.py PROJECT_DIR [--start] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from taskmaster import TaskmasterError, Workspace


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("project", type=Path)
    parser.add_argument("--start", action="store_true", help="set the task's status to in-progress")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    try:
        with Workspace.open(args.project) as ws:
            task = ws.tasks.next()
            if task is None:
                print("nothing is ready: every task is done, blocked or waiting on a dependency", file=sys.stderr)
                return 0
            if args.start:
                ws.tasks.set_status(task.id, "in-progress")
    except TaskmasterError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(task.to_json(), indent=2))
    else:
        print(f"{task.id}. {task.task.title}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
