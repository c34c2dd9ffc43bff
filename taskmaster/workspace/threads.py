"""The one run-or-resume loop for checkpointed graphs, used by the CLI, MCP, the scheduler, Studio scripts and the API.

A thread id names one piece of work. Running it again resumes it where it stopped (a crash, Ctrl-C, a cancelled
MCP call, a pending human review); a finished thread either starts over (commands such as parse-prd, whose thread
id is derived from their inputs, so re-running the same command redoes it) or takes new input on the same thread
(autonomous runs, whose history counts). Human reviews (`interrupt()` in a graph) are answered through a callback;
when it has no answer the thread is left waiting and the caller says how to resume it.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

OnUpdate = Callable[[str, Any], None]  # (node name, that node's state update) for progress displays
OnInterrupt = Callable[[Any], Any]  # a pending interrupt's payload -> the answer to resume with, or None to wait
Finished = Literal["restart", "continue"]


@dataclass
class ThreadResult:
    """Where a thread stands after `run_thread`: the graph's declared output, and the review it waits for (if any)."""

    thread_id: str
    values: dict[str, Any] = field(default_factory=dict)
    waiting: Any = None  # the pending interrupt's payload
    resumed: bool = False  # True when this call continued an unfinished thread

    @property
    def is_waiting(self) -> bool:
        return self.waiting is not None


def thread_id_for(kind: str, payload: Any) -> str:
    """A stable thread id for a command and its inputs, so running the same command again resumes it."""
    digest = hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:16]
    return f"{kind}-{digest}"


_thread_locks: defaultdict[str, threading.Lock] = defaultdict(threading.Lock)
_locks_guard = threading.Lock()


def thread_lock(thread_id: str) -> threading.Lock:
    """One writer per checkpoint thread in this process: a second call for the same run (an MCP retry after a
    cancelled call, two API callers) waits for the first to stop at its next step instead of writing the thread."""
    with _locks_guard:
        return _thread_locks[thread_id]


def output_of(graph: Any, values: dict[str, Any]) -> dict[str, Any]:
    """The graph's declared output (its output schema's keys), not its working state, as `invoke` returns it."""
    channels = getattr(graph, "output_channels", None)
    if isinstance(channels, str):
        channels = [channels]
    if not channels:
        return dict(values)
    return {key: value for key, value in values.items() if key in channels}


def _command(answer: Any) -> Any:
    from langgraph.types import Command

    return Command(resume=answer)


def run_thread(
    graph: Any,
    inputs: dict[str, Any] | None,
    thread_id: str,
    *,
    context: Any = None,
    fresh: bool = False,
    finished: Finished = "restart",
    on_update: OnUpdate | None = None,
    on_interrupt: OnInterrupt | None = None,
    config: dict[str, Any] | None = None,
) -> ThreadResult:
    """Run `inputs` on `thread_id`, or resume the thread if it stopped before its end.

    `graph` must be compiled with a checkpointer. `fresh` discards an unfinished thread and starts over.
    `finished` says what a thread that already ran to its end does with `inputs`: "restart" deletes it first,
    "continue" feeds them to the same thread. A pending interrupt is answered by `on_interrupt` (repeatedly, as
    long as it answers); with no answer the result is waiting. `config` adds run options such as
    `recursion_limit` or `max_concurrency`. Calls on the same thread id in this process run one at a time.
    """
    with thread_lock(thread_id):
        run_config: dict[str, Any] = {**(config or {}), "configurable": {"thread_id": thread_id}}
        snapshot = graph.get_state(run_config)
        unfinished = bool(snapshot.values) and bool(snapshot.next)
        if snapshot.values and (fresh or (not unfinished and finished == "restart")):
            graph.checkpointer.delete_thread(thread_id)
            unfinished = False
        resumed = unfinished and not fresh
        payload: Any = inputs
        if resumed:
            payload = None  # continue from the last checkpoint
            if snapshot.interrupts:
                answer = on_interrupt(snapshot.interrupts[0].value) if on_interrupt else None
                if answer is None:
                    waiting = snapshot.interrupts[0].value
                    return ThreadResult(thread_id, output_of(graph, snapshot.values), waiting, resumed=True)
                payload = _command(answer)
        while True:
            for chunk in graph.stream(payload, run_config, context=context, stream_mode="updates"):
                if on_update is not None:
                    for node, update in chunk.items():
                        on_update(node, update)
            snapshot = graph.get_state(run_config)
            if not snapshot.interrupts:
                return ThreadResult(thread_id, output_of(graph, snapshot.values), None, resumed)
            waiting = snapshot.interrupts[0].value
            answer = on_interrupt(waiting) if on_interrupt else None
            if answer is None:
                return ThreadResult(thread_id, output_of(graph, snapshot.values), waiting, resumed)
            payload = _command(answer)
