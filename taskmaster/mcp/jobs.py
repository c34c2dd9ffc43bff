"""Long tools run in a worker thread: progress goes back as MCP progress notifications, and a cancelled call stops
the worker at the next graph step, so the checkpoint of every finished step stays and the next call resumes it
(as Ctrl-C does in the CLI).

A second call for the same run waits until the cancelled worker has really stopped (the per-thread lock in
taskmaster.workspace.threads.run_thread), instead of two workers writing the same thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

import anyio
import anyio.from_thread
import anyio.to_thread

T = TypeVar("T")



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


LABELS = {
    "parse_section": "sections parsed",
    "score": "tasks scored",
    "expand": "tasks expanded",
    "retrieve": "searches",
    "grade": "graded",
}
