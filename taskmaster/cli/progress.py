"""The CLI's progress display for graph runs: an `on_update(node, update)` callback for `Workspace.run_thread` (and the
API functions that take one) that counts finished steps into a Rich progress bar on stderr.

Rich shows its live bar only on a terminal, so without one (logs, CI, an agent's subprocess) the same counts are
printed as plain lines, at most every few seconds: a long run is never silent.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from taskmaster.cli.common import err_console
from taskmaster.workspace.threads import OnUpdate

PLAIN_EVERY_S = 5.0  # without a terminal, a progress line at most this often
LABELS = {
    "parse_section": "sections parsed",
    "score": "tasks scored",
    "expand": "tasks expanded",
    "retrieve": "searches",
    "grade": "graded",
}


class _StepCounter:
    def __init__(self, progress: Progress, label: str) -> None:
        self.progress, self.label = progress, label
        self.bar = progress.add_task(label, total=None)
        self.counts: Counter[str] = Counter()
        self.plain = not err_console.is_terminal
        self.last_plain, self.last_done = -PLAIN_EVERY_S, ""

    def __call__(self, node: str, update: Any) -> None:
        if node in LABELS:
            self.counts[node] += 1
        done = ", ".join(f"{self.counts[n]} {LABELS[n]}" for n in LABELS if self.counts[n])
        self.progress.update(self.bar, description=f"{self.label}: {done}" if done else self.label)
        if self.plain and done != self.last_done and time.monotonic() - self.last_plain >= PLAIN_EVERY_S:
            err_console.print(f"{self.label}: {done}", highlight=False, soft_wrap=True)
            self.last_plain, self.last_done = time.monotonic(), done


@contextmanager
def graph_progress(label: str = "working") -> Iterator[OnUpdate]:
    """A transient progress bar labelled `label` while the block runs; yields the on_update callback that feeds it."""
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(bar_width=None), TimeElapsedColumn())
    with Progress(*columns, console=err_console, transient=True) as progress:
        yield _StepCounter(progress, label)
