"""Legacy: running a checkpointed graph the CLI built itself, with the CLI's progress display.

Commands that go through the Workspace API do not use this (their progress comes from cli/progress.py through
`on_update`, their run-or-resume loop is `Workspace.run_thread`). `run_graph` stays for the commands that still
build their own graph (knowledge_commands' research) and is the same loop underneath; `thread_id_for` is
threads.thread_id_for, kept importable from here for those callers.
"""

from __future__ import annotations

from typing import Any

from taskmaster.cli.common import err_console
from taskmaster.cli.progress import graph_progress
from taskmaster.workspace.threads import run_thread, thread_id_for

__all__ = ["run_graph", "thread_id_for"]


def run_graph(
    graph: Any,
    checkpointer: Any,
    inputs: dict[str, Any],
    *,
    context: Any,
    thread_id: str,
    fresh: bool = False,
    concurrency: int = 4,
    label: str = "working",
) -> dict[str, Any]:
    """Run or resume `thread_id` on `graph` (compiled with `checkpointer`); returns the final state values."""
    with graph_progress(label) as on_update:
        result = run_thread(
            graph,
            inputs,
            thread_id,
            context=context,
            fresh=fresh,
            on_update=on_update,
            config={"max_concurrency": concurrency},
        )
    if result.resumed:
        err_console.print(f"Resumed interrupted run {thread_id}.")
    return result.values
