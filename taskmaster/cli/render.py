"""Rich views of tasks: a tree for `list`, a panel for `show`."""

from __future__ import annotations

from collections.abc import Sequence

from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.tree import Tree

from tasks.model import Task

STATUS_STYLE = {
    "pending": "yellow",
    "in-progress": "cyan",
    "done": "green",
    "review": "magenta",
    "deferred": "dim",
    "cancelled": "dim strike",
    "blocked": "red",
    "completed": "green",
}


def task_label(full_id: str, task: Task) -> str:
    status = str(task.status)
    extras = [str(task.priority)]
    if task.complexity is not None:
        extras.append(f"complexity {task.complexity}")
    if task.dependencies:
        extras.append("after " + ", ".join(str(d) for d in task.dependencies))
    title = task.title.replace("[", r"\[")
    style = STATUS_STYLE.get(status, "default")
    return f"[bold]{full_id}[/] [{style}]{status}[/] {title} [dim]({'; '.join(extras)})[/]"


def task_tree(tasks: Sequence[Task], title: str, status: str | None = None) -> Tree:
    root = Tree(f"[bold]{title}[/]")

    def add(branch: Tree, items: Sequence[Task], prefix: str) -> None:
        for task in items:
            full_id = f"{prefix}{task.id}"
            if status and str(task.status) != status and not task.subtasks:
                continue
            add(branch.add(task_label(full_id, task)), task.subtasks, f"{full_id}.")

    add(root, tasks, "")
    return root


def task_panel(full_id: str, task: Task) -> Panel:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    table.add_row("Status", str(task.status))
    table.add_row("Priority", str(task.priority))
    table.add_row("Complexity", "-" if task.complexity is None else str(task.complexity))
    table.add_row("Depends on", ", ".join(str(d) for d in task.dependencies) or "-")
    table.add_row("Description", escape(task.description or "-"))
    table.add_row("Details", escape(task.details or "-"))
    table.add_row("Test strategy", escape(task.test_strategy or "-"))
    if task.subtasks:
        table.add_row("Subtasks", "\n".join(task_label(f"{full_id}.{s.id}", s) for s in task.subtasks))
    return Panel(table, title=escape(f"Task {full_id}: {task.title}"), expand=False)
