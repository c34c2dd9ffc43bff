"""Rich views of tasks: a tree for `list`, a panel for `show`."""

from __future__ import annotations

from collections.abc import Sequence

from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

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


def _label_text(text: Text, full_id: str, task: Task) -> None:
    """`task_label` appended as styled spans (no markup to parse: `list` prints hundreds of these)."""
    status = str(task.status)
    extras = [str(task.priority)]
    if task.complexity is not None:
        extras.append(f"complexity {task.complexity}")
    if task.dependencies:
        extras.append("after " + ", ".join(str(d) for d in task.dependencies))
    text.append(full_id, "bold")
    text.append(" ")
    text.append(status, STATUS_STYLE.get(status, "default"))
    text.append(f" {task.title} ")
    text.append(f"({'; '.join(extras)})", "dim")


def task_tree(tasks: Sequence[Task], title: str, status: str | None = None) -> Text:
    """The task tree, drawn with the same guides as rich.tree.Tree but as one Text.

    rich's Tree lays out every node as its own renderable, which took ~0.5 s for 800 tasks and subtasks; one
    styled Text (print it with soft_wrap=True) renders in a few milliseconds, and `list` is the command people
    run most.
    """
    text = Text(title, style="bold", end="")

    def add(items: Sequence[Task], prefix: str, indent: str) -> None:
        shown = [task for task in items if not status or str(task.status) == status or task.subtasks]
        for index, task in enumerate(shown):
            last = index == len(shown) - 1
            full_id = f"{prefix}{task.id}"
            text.append(f"\n{indent}{'└── ' if last else '├── '}")
            _label_text(text, full_id, task)
            add(task.subtasks, f"{full_id}.", indent + ("    " if last else "│   "))

    add(tasks, "", "")
    return text


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
