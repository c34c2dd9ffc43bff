"""Task Master's complexity report (`.taskmaster/reports/task-complexity-report[_<tag>].json`).

`analyze-complexity` writes it in Task Master's shape (`meta` + `complexityAnalysis` rows with taskId,
taskTitle, complexityScore, recommendedSubtasks, expansionPrompt, reasoning), so either tool's `expand` and
`complexity-report` read the other's. Model-free: the scores come from the caller.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from tasks.atomic import write_text_atomic
from tasks.errors import TaskError
from tasks.select import now_iso
from tasks.store import DEFAULT_TAG

THRESHOLD = 5


def report_path(tasks_path: Path | str, tag: str) -> Path:
    """Where Task Master keeps the report for `tag` (master has no suffix)."""
    reports = Path(tasks_path).parent.parent / "reports"
    name = "task-complexity-report.json" if tag == DEFAULT_TAG else f"task-complexity-report_{tag}.json"
    return reports / name


def read_report(path: Path | str) -> dict[str, Any]:
    """The report as a dict; a TaskError naming the fix if it is missing or unreadable."""
    try:
        report = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TaskError(f"no complexity report at {path}; run `taskmaster analyze-complexity` first") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise TaskError(f"complexity report {path} is not valid JSON ({exc}); re-run analyze-complexity") from exc
    if not isinstance(report, dict) or not isinstance(report.get("complexityAnalysis"), list):
        raise TaskError(f"complexity report {path} has no complexityAnalysis list; re-run analyze-complexity")
    return report


def recommended_subtasks(path: Path | str, task_id: str | int) -> int | None:
    """The report's recommendedSubtasks for a top-level task, or None if the report or row is absent."""
    try:
        rows = read_report(path)["complexityAnalysis"]
    except TaskError:
        return None
    for row in rows:
        if isinstance(row, dict) and str(row.get("taskId")) == str(task_id):
            value = row.get("recommendedSubtasks")
            return int(value) if isinstance(value, (int, float)) else None
    return None


def write_report(
    tasks_path: Path | str,
    tag: str,
    rows: Iterable[dict[str, Any]],
    *,
    total_tasks: int,
    project_name: str = "Task Master Local",
    used_research: bool = False,
) -> Path:
    """Merge scored rows (taskId, taskTitle, complexityScore, recommendedSubtasks, expansionPrompt, reasoning)
    into the tag's report, replacing rows for the same task ids; returns the report's path."""
    path = report_path(tasks_path, tag)
    new_rows = [dict(row) for row in rows]
    try:
        kept = [row for row in read_report(path)["complexityAnalysis"]]
    except TaskError:
        kept = []
    replaced = {str(row.get("taskId")) for row in new_rows}
    analysis = [row for row in kept if str(row.get("taskId")) not in replaced] + new_rows
    analysis.sort(key=lambda row: int(row["taskId"]) if str(row.get("taskId")).isdigit() else 1 << 30)
    report = {
        "meta": {
            "generatedAt": now_iso(),
            "tasksAnalyzed": len(new_rows),
            "totalTasks": total_tasks,
            "analysisCount": len(analysis),
            "thresholdScore": THRESHOLD,
            "projectName": project_name,
            "usedResearch": used_research,
        },
        "complexityAnalysis": analysis,
    }
    write_text_atomic(path, json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    return path
