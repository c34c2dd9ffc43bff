"""Long tools run in a worker thread: progress goes back as MCP progress notifications, and a cancelled call stops
the worker at the next graph step, so the checkpoint of every finished step stays and the next call resumes it
(as Ctrl-C does in the CLI).

Each checkpoint thread has a lock: a second call for the same run waits until the cancelled worker has really
stopped, instead of two workers writing the same thread.
"""

from __future__ import annotations

import threading
from collections import Counter, defaultdict
from collections.abc import Callable
from typing import Any, TypeVar

import anyio
import anyio.from_thread
import anyio.to_thread

T = TypeVar("T")

_thread_locks: defaultdict[str, threading.Lock] = defaultdict(threading.Lock)
_locks_guard = threading.Lock()


class JobCancelled(Exception):
    """The MCP client cancelled the call; raised in the worker to leave the graph between steps."""


class Job:
    """Handed to a long tool's worker: `progress` notifies the client, `check` leaves when the call is cancelled."""

    def __init__(self, report: Callable[[float, float | None, str | None], Any] | None) -> None:
        self._report = report
        self._count = 0
        self.stop = threading.Event()

    def progress(self, message: str, total: float | None = None) -> None:
        if self.stop.is_set() or self._report is None:
            return
        self._count += 1
        try:
            anyio.from_thread.run(self._report, self._count, total, message)
        except Exception:  # the client went away or the call ended; progress is best effort
            return

    def check(self) -> None:
        if self.stop.is_set():
            raise JobCancelled


async def run_job(ctx: Any, work: Callable[[Job], T]) -> T:
    """Run `work(job)` in a worker thread; on cancellation tell it to stop and let the cancellation through."""
    job = Job(ctx.report_progress if ctx is not None else None)
    try:
        return await anyio.to_thread.run_sync(work, job, abandon_on_cancel=True)
    except anyio.get_cancelled_exc_class():
        job.stop.set()
        raise


def thread_lock(thread_id: str) -> threading.Lock:
    with _locks_guard:
        return _thread_locks[thread_id]


LABELS = {
    "parse_section": "sections parsed",
    "score": "tasks scored",
    "expand": "tasks expanded",
    "retrieve": "searches",
    "grade": "graded",
}


def stream_graph(
    graph: Any,
    checkpointer: Any,
    inputs: dict[str, Any],
    *,
    context: Any,
    thread_id: str,
    job: Job,
    fresh: bool = False,
    concurrency: int = 4,
    label: str = "working",
) -> tuple[dict[str, Any], bool]:
    """Run or resume `thread_id` like the CLI's `run_graph`; returns (final state values, resumed?)."""
    with thread_lock(thread_id):
        config: dict[str, Any] = {"configurable": {"thread_id": thread_id}, "max_concurrency": concurrency}
        snapshot = graph.get_state(config)
        has_history = bool(snapshot.values)
        resume = has_history and bool(snapshot.next) and not fresh
        if has_history and not resume:
            checkpointer.delete_thread(thread_id)
        job.progress(f"{label}: resuming {thread_id}" if resume else f"{label}: started {thread_id}")
        counts: Counter[str] = Counter()
        for update in graph.stream(None if resume else inputs, config, context=context, stream_mode="updates"):
            for node in update:
                counts[node] += 1
            done = ", ".join(f"{counts[n]} {LABELS[n]}" for n in LABELS if counts[n])
            job.progress(f"{label}: {done}" if done else f"{label}: {', '.join(update)}")
            job.check()
        return dict(graph.get_state(config).values), resume
