"""Running a checkpointed graph from the CLI: stable thread ids (so re-running the same command
resumes an interrupted run), a progress display fed by the graph's update stream, and clean-up of
finished threads."""

from __future__ import annotations

import hashlib
import json
import time
from collections import Counter
from typing import Any

from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from taskmaster.cli.common import err_console

PLAIN_EVERY_S = 5.0  # without a terminal, a progress line at most this often
LABELS = {
    "parse_section": "sections parsed",
    "score": "tasks scored",
    "expand": "tasks expanded",
    "retrieve": "searches",
    "grade": "graded",
}


def thread_id_for(kind: str, payload: Any) -> str:
    digest = hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:16]
    return f"{kind}-{digest}"


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
    """Run or resume `thread_id`; returns the final state values."""
    config: dict[str, Any] = {"configurable": {"thread_id": thread_id}, "max_concurrency": concurrency}
    snapshot = graph.get_state(config)
    has_history = bool(snapshot.values)
    resume = has_history and bool(snapshot.next) and not fresh
    if has_history and not resume:
        checkpointer.delete_thread(thread_id)  # finished (or --fresh): start over on a clean thread
    if resume:
        err_console.print(f"Resuming interrupted run {thread_id}.")
    counts: Counter[str] = Counter()
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(bar_width=None), TimeElapsedColumn())
    plain = not err_console.is_terminal  # Rich's live bar shows only on a terminal: logs get plain lines
    last_plain, last_done = -PLAIN_EVERY_S, ""
    with Progress(*columns, console=err_console, transient=True) as progress:
        bar = progress.add_task(label, total=None)
        for update in graph.stream(None if resume else inputs, config, context=context, stream_mode="updates"):
            for node in update:
                if node in LABELS:
                    counts[node] += 1
            done = ", ".join(f"{counts[n]} {LABELS[n]}" for n in LABELS if counts[n])
            progress.update(bar, description=f"{label}: {done}" if done else label)
            if plain and done != last_done and time.monotonic() - last_plain >= PLAIN_EVERY_S:
                err_console.print(f"{label}: {done}", highlight=False, soft_wrap=True)
                last_plain, last_done = time.monotonic(), done
    return dict(graph.get_state(config).values)
