"""`generate`: one plain-text file per task, in the layout Task Master's task files use (`task_001.txt`, or
`task_001_<tag>.txt` outside master), for people who read tasks in an editor or grep them."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from tasks.atomic import write_text_atomic
from tasks.model import Task
from tasks.store import DEFAULT_TAG


def _deps(task: Task) -> str:
    return ", ".join(str(dep) for dep in task.dependencies) or "None"


def render_task_file(task: Task) -> str:
    lines = [
        f"# Task ID: {task.id}",
        f"# Title: {task.title}",
        f"# Status: {task.status}",
        f"# Dependencies: {_deps(task)}",
        f"# Priority: {task.priority}",
        f"# Description: {task.description}",
        "# Details:",
        task.details,
        "",
        "# Test Strategy:",
        task.test_strategy,
    ]
    if task.subtasks:
        lines += ["", "# Subtasks:"]
        for sub in task.subtasks:
            lines += [
                f"## {sub.id}. {sub.title} [{sub.status}]",
                f"### Dependencies: {_deps(sub)}",
                f"### Description: {sub.description}",
                "### Details:",
                sub.details,
                "",
            ]
    return "\n".join(lines).rstrip() + "\n"


def write_task_files(tasks: Sequence[Task], directory: Path | str, tag: str) -> list[Path]:
    """Write every top-level task's file into `directory`; returns the paths written."""
    suffix = "" if tag == DEFAULT_TAG else f"_{tag}"
    written: list[Path] = []
    for task in tasks:
        path = Path(directory) / f"task_{task.id:03d}{suffix}.txt"
        write_text_atomic(path, render_task_file(task))
        written.append(path)
    return written
